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

import os
import re
import shutil
import sys
import tempfile
import time

from harness import Server, Tally, bearer, member_tokens, seed, wait_for

MEMBERS = int(os.environ.get("STARTUP_MEMBERS", "100000"))


def rss_bytes(process):
    for line in open(f"/proc/{process.pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


SERVERS = []  # stopped at the end, whatever happened


def start(database, folder, name):
    """Starts the server on `database`, its log server-NAME.log; `started_after` is the seconds until its first answer."""
    SERVERS.append(Server(["--otp-sender", "log", "--rate-limit-per-second", "0", "--log-level", "notice"],
                          database=database, folder=folder, name=name))
    return SERVERS[-1].start()


def status_of(server, path, token=None):
    return server.call("GET", path, bearer(token) if token else None).status


def me(server, token):
    reply = server.call("GET", "/me", bearer(token))
    return reply.status, reply.json or {}


def log_out(server, key, number):
    return server.call("POST", "/team-member/logout", {"x-public-key": key}, {"userPhoneNumber": number}).status


def wait_ready(server, seconds):
    return wait_for(lambda: status_of(server, "/ready") == 200, seconds)


def main():
    tally = Tally("startup-check")
    check = tally.check
    folder = tempfile.mkdtemp(prefix="teamgate-startup-")
    try:
        # The baseline: the same server on an empty database.
        empty = start(os.path.join(folder, "empty.sqlite"), folder, "empty")
        check("an empty database is ready at once", wait_ready(empty, 10))
        baseline = rss_bytes(empty.process)
        empty.terminate()

        database = os.path.join(folder, "teamgate.sqlite")
        key, _ = seed(database, MEMBERS, folder)
        numbers, tokens_of = member_tokens(folder)
        sessions = sum(len(tokens) for tokens in tokens_of.values())
        # Members to log out before the restart (ended), and to check live throughout, spread over the load order.
        ended_numbers = numbers[1::MEMBERS // 50][:25]
        live_numbers = numbers[2::MEMBERS // 50][:25]

        first = start(database, folder, "first")
        check("the first start is ready", wait_ready(first, 120))
        for number in ended_numbers:
            log_out(first, key, number)
        first.terminate()

        server = start(database, folder, "")
        first_answer = server.started_after
        check(f"first answer within 2 s of starting ({first_answer:.2f} s), {sessions} sessions on disk", first_answer <= 2.0)
        loading = status_of(server, "/ready") == 503
        print(f"note: index {'still loading' if loading else 'already warm'} at the first checks")
        live_answers = [status_of(server, "/me", tokens_of[number][0]) for number in live_numbers]
        ended_answers = [me(server, tokens_of[number][0]) for number in ended_numbers]
        check("at start, live tokens are taken", live_answers == [200] * len(live_numbers), str(live_answers))
        check("at start, ended tokens are refused as logged out by an admin",
              all(status == 401 and body.get("reason") == "admin_logout" for status, body in ended_answers),
              str(ended_answers[:3]))
        check("/ready says ready within 60 s", wait_ready(server, 60))
        time.sleep(0.5)
        warm_line = next((line for line in server.log().splitlines() if "Session index warm" in line), "")
        match = re.search(r"bytes=(\d+).*seconds=([\d.]+) sessions=(\d+)", warm_line)
        check("the log says when the index is warm, with its size", match is not None, warm_line)
        if match:
            index_bytes, seconds, indexed = int(match.group(1)), float(match.group(2)), int(match.group(3))
            live_sessions = sessions - sum(len(tokens_of[number]) for number in ended_numbers)
            check(f"the index holds every live session ({indexed} of {live_sessions}), warm after {seconds:.2f} s", indexed == live_sessions)
            per_session = index_bytes / max(indexed, 1)
            check(f"the index takes {per_session:.0f} bytes a session (at most 120)", per_session <= 120)
        growth = (rss_bytes(server.process) - baseline) / sessions
        check(f"RSS grew {growth:.0f} bytes a session over an empty database's (at most 250)", growth <= 250)
        check("once warm, the same live tokens are taken",
              [status_of(server, "/me", tokens_of[number][0]) for number in live_numbers] == [200] * len(live_numbers))
        check("once warm, the same ended tokens are refused",
              all(status_of(server, "/me", tokens_of[number][0]) == 401 for number in ended_numbers))
        target = live_numbers[0]
        answered = log_out(server, key, target)
        check("a logout once warm is answered 201", answered == 201, str(answered))
        check("and every token of that member is refused at once",
              all(status_of(server, "/me", token) == 401 for token in tokens_of[target]))
        server.terminate()
    finally:
        for server in SERVERS:
            server.terminate()
        shutil.rmtree(folder, ignore_errors=True)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
