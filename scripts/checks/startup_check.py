"""Start-up and memory at a size CI affords: 100,000 members signed in on 1–5 devices each (about 300,000
sessions), seeded through the bulk path. Proven:

- the server answers its first request within 2 s of being started, before its index is loaded;
- while the index loads, GET /me answers from the database: a live token is taken (200), and an ended
  one is refused (401 with its reason);
- /ready says "ready" within 60 s, and the log's "Session index warm" line gives the load's time;
- the index holds every live session in at most 120 bytes each (its tables, as the log reports them);
- the server's RSS grew by at most 250 bytes per live session over its RSS on an empty database;
- once warm, the same tokens get the same answers, and a logout's tokens are refused at once.

Bounds have headroom over what a release build measures (about 60–90 bytes a session, first answer in
a fraction of a second), so they catch a regression, not noise. TEAMGATE_BINARY names the binary;
STARTUP_MEMBERS the number of members (100000)."""

import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import demo_server
from harness import Tally
from crash_check import member_tokens

MEMBERS = int(os.environ.get("STARTUP_MEMBERS", "100000"))


def get(port, path, token=None, key=None, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if key:
        headers["x-public-key"] = key
        headers["content-type"] = "application/json"
    connection.request("POST" if body else "GET", path, body=body, headers=headers)
    response = connection.getresponse()
    payload = response.read()
    return response.status, (json.loads(payload) if payload else {})


def rss_bytes(process):
    for line in open(f"/proc/{process.pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def start(database, log):
    """Starts the server; returns it, its port and the seconds until its first answer."""
    port = demo_server.free_port()
    started = time.monotonic()
    process = subprocess.Popen(
        [demo_server.binary(), "serve", "--database", database, "--port", str(port), "--otp-sender", "log",
         "--rate-limit-per-second", "0", "--log-level", "notice"], stdout=log, stderr=subprocess.STDOUT)
    while time.monotonic() - started < 30:
        try:
            if get(port, "/health")[0] == 200:
                return process, port, time.monotonic() - started
        except OSError:
            time.sleep(0.01)
    process.kill()
    raise RuntimeError("server did not start")


def wait_ready(port, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if get(port, "/ready")[0] == 200:
            return True
        time.sleep(0.05)
    return False


def main():
    tally = Tally("startup-check")
    check = tally.check
    folder = tempfile.mkdtemp(prefix="teamgate-startup-")
    try:
        # The baseline: the same server on an empty database.
        with open(os.path.join(folder, "empty.log"), "w") as log:
            empty, port, _ = start(os.path.join(folder, "empty.sqlite"), log)
            check("an empty database is ready at once", wait_ready(port, 10))
            baseline = rss_bytes(empty)
            empty.terminate()
            empty.wait(10)

        database = os.path.join(folder, "teamgate.sqlite")
        seeded = subprocess.run([demo_server.binary(), "bench", "seed", "--database", database, "--members", str(MEMBERS), "--out", folder],
                                capture_output=True, text=True)
        if seeded.returncode != 0:
            print(seeded.stdout[-2000:], seeded.stderr[-2000:])
            raise RuntimeError("bench seed failed")
        key = open(os.path.join(folder, "key.txt")).read().strip()
        numbers, tokens_of = member_tokens(folder)
        sessions = sum(len(tokens) for tokens in tokens_of.values())
        # Members to log out before the restart (ended), and to check live throughout, spread over the load order.
        ended_numbers = numbers[1::MEMBERS // 50][:25]
        live_numbers = numbers[2::MEMBERS // 50][:25]

        with open(os.path.join(folder, "first.log"), "w") as log:
            first, port, _ = start(database, log)
            check("the first start is ready", wait_ready(port, 120))
            for number in ended_numbers:
                get(port, "/team-member/logout", key=key, body=json.dumps({"userPhoneNumber": number}))
            first.terminate()
            first.wait(10)

        log_path = os.path.join(folder, "server.log")
        with open(log_path, "w") as log:
            server, port, first_answer = start(database, log)
            check(f"first answer within 2 s of starting ({first_answer:.2f} s), {sessions} sessions on disk", first_answer <= 2.0)
            loading = get(port, "/ready")[0] == 503
            print(f"note: index {'still loading' if loading else 'already warm'} at the first checks")
            live_answers = [get(port, "/me", token=tokens_of[number][0])[0] for number in live_numbers]
            ended_answers = [get(port, "/me", token=tokens_of[number][0]) for number in ended_numbers]
            check("at start, live tokens are taken", live_answers == [200] * len(live_numbers), str(live_answers))
            check("at start, ended tokens are refused as logged out by an admin",
                  all(status == 401 and body.get("reason") == "admin_logout" for status, body in ended_answers),
                  str(ended_answers[:3]))
            check("/ready says ready within 60 s", wait_ready(port, 60))
            time.sleep(0.5)
            warm_line = next((line for line in open(log_path) if "Session index warm" in line), "")
            match = re.search(r"bytes=(\d+).*seconds=([\d.]+) sessions=(\d+)", warm_line)
            check("the log says when the index is warm, with its size", match is not None, warm_line)
            if match:
                index_bytes, seconds, indexed = int(match.group(1)), float(match.group(2)), int(match.group(3))
                live_sessions = sessions - sum(len(tokens_of[number]) for number in ended_numbers)
                check(f"the index holds every live session ({indexed} of {live_sessions}), warm after {seconds:.2f} s", indexed == live_sessions)
                per_session = index_bytes / max(indexed, 1)
                check(f"the index takes {per_session:.0f} bytes a session (at most 120)", per_session <= 120)
            growth = (rss_bytes(server) - baseline) / sessions
            check(f"RSS grew {growth:.0f} bytes a session over an empty database's (at most 250)", growth <= 250)
            check("once warm, the same live tokens are taken",
                  [get(port, "/me", token=tokens_of[number][0])[0] for number in live_numbers] == [200] * len(live_numbers))
            check("once warm, the same ended tokens are refused",
                  all(get(port, "/me", token=tokens_of[number][0])[0] == 401 for number in ended_numbers))
            target = live_numbers[0]
            status, _ = get(port, "/team-member/logout", key=key, body=json.dumps({"userPhoneNumber": target}))
            check("a logout once warm is answered 201", status == 201, str(status))
            check("and every token of that member is refused at once",
                  all(get(port, "/me", token=token)[0] == 401 for token in tokens_of[target]))
            server.terminate()
            server.wait(10)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
