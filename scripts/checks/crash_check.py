"""Durability under a crash. A new database is seeded with 3,000 members signed in on 1–5 devices each;
their logouts are sent 64 at a time, and the server is killed with SIGKILL once 40% have been
answered. Proven, on that database:

- every logout that got an answer got 201 (a 500 or any other status fails the check);
- no request timed out or lost its connection before the SIGKILL was sent; those that lost it
  after (in flight at the kill, or sent to the dead server) are counted and printed, not failed;
- the kill came mid-stream (some logouts were never sent);
- (SQLite) `PRAGMA integrity_check` is "ok" after the crash;
- after a restart on the same database, `GET /me` with every session token of every member whose
  logout was answered 201 is refused 401 with reason `admin_logout`, and every session token of every
  member whose logout was never sent is still taken (200). Members whose logout was in flight at the
  kill may be either, and are not checked.

Prints "N acknowledged, 0 lost".

    python3 scripts/checks/crash_check.py                 # on a new SQLite file
    python3 scripts/checks/crash_check.py --postgres URL  # on a new database of the PostgreSQL server at URL
                                                          # (an administrator's URL, as TEAMGATE_TEST_POSTGRES)

Only TeamGate's process is killed: the operating system (SQLite) and the database server (PostgreSQL)
stay up, so a power loss is not simulated. A lost 201 here would mean TeamGate answered before its
commit, or that the restarted instance's index missed an ended session.
TEAMGATE_BINARY names the server binary; CRASH_MEMBERS the number of members (3000)."""

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from harness import Server, Tally, bearer, create_database, member_tokens, seed

MEMBERS = int(os.environ.get("CRASH_MEMBERS", "3000"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", help="an administrator's postgres:// URL; a fresh database is made on that server")
    arguments = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="teamgate-crash-")
    label = "crash-check" + (" (PostgreSQL)" if arguments.postgres else "")
    tally = Tally(label)
    check = tally.check
    if arguments.postgres:
        database = create_database(arguments.postgres, "teamgate_crash_" + os.path.basename(folder).split("-")[-1].lower())
    else:
        database = os.path.join(folder, "teamgate.sqlite")
    key, _ = seed(database, MEMBERS, folder)
    numbers, tokens_of = member_tokens(folder)
    server = Server(["--otp-sender", "log", "--rate-limit-per-second", "0", "--log-level", "warning"], database=database, folder=folder)
    server.start()

    # Every logout's fate: "201" or another status as text, "timeout" or "connection" with the time it
    # failed; a number absent from `outcome` was never sent (the pool drained after the kill).
    outcome = {}
    lock = threading.Lock()
    answered = [0]
    killed = threading.Event()
    kill_time = [None]
    local = threading.local()

    def logout(number):
        if killed.is_set():
            return
        try:
            if not hasattr(local, "connection"):
                local.connection = server.connection(timeout=5)  # kept alive; after an error, the next call opens a new one
            reply = local.connection.call("POST", "/team-member/logout", {"x-public-key": key}, {"userPhoneNumber": number})
            with lock:
                answered[0] += 1
                outcome[number] = (str(reply.status), time.monotonic(), reply.body[:200])
        except (socket.timeout, TimeoutError):
            with lock:
                outcome[number] = ("timeout", time.monotonic(), b"")
        except (OSError, http.client.HTTPException):
            with lock:
                outcome[number] = ("connection", time.monotonic(), b"")

    def killer():
        # Kill once about 40% of the logouts have been answered: mid-stream, with commits in flight.
        while answered[0] < MEMBERS * 0.4 and server.process.poll() is None:
            time.sleep(0.001)
        kill_time[0] = time.monotonic()
        server.process.send_signal(signal.SIGKILL)
        killed.set()

    threading.Thread(target=killer, daemon=True).start()
    with ThreadPoolExecutor(max_workers=64) as pool:
        list(pool.map(logout, numbers))
    server.process.wait()
    killed.wait(5)
    print(f"{label}: killed the server with SIGKILL after {answered[0]} answers")

    acknowledged = [n for n, (what, _, _) in outcome.items() if what == "201"]
    refused = [(n, what, body) for n, (what, _, body) in outcome.items() if what not in ("201", "timeout", "connection")]
    failed_early = [(n, what) for n, (what, at, _) in outcome.items() if what in ("timeout", "connection") and at < kill_time[0]]
    failed_late = [what for n, (what, at, _) in outcome.items() if what in ("timeout", "connection") and at >= kill_time[0]]
    never_sent = [n for n in numbers if n not in outcome]
    print(f"{label}: {len(acknowledged)} answered 201, {len(refused)} answered otherwise, "
          f"{len(failed_early)} timed out or lost their connection before the kill; after it: "
          f"{failed_late.count('connection')} connection errors, {failed_late.count('timeout')} timeouts (in flight or sent to the dead server); "
          f"{len(never_sent)} never sent")
    check(f"every logout that was answered was answered 201 ({len(acknowledged)} of {len(acknowledged) + len(refused)})",
          acknowledged and not refused, f"{len(refused)} not 201, e.g. {refused[:3]}")
    check("no logout timed out or lost its connection before the SIGKILL", not failed_early, f"{len(failed_early)}: {failed_early[:3]}")
    check("the kill came mid-stream: some logouts were never sent", len(never_sent) > 0, "every logout was sent before the kill")

    if arguments.postgres:
        integrity = None  # PostgreSQL checks its own pages; that the restarted server answers is what matters there.
    else:
        integrity = sqlite3.connect(database).execute("PRAGMA integrity_check").fetchone()[0]
        check(f"database integrity after the crash: {integrity}", integrity == "ok")

    server.start()  # again, on the same port and database
    ended_tokens = [t for n in acknowledged for t in tokens_of[n]]
    live_tokens = [t for n in never_sent for t in tokens_of[n]]
    checked = {}

    def me(token):
        if not hasattr(local, "me"):
            local.me = server.connection(timeout=10)
        try:
            reply = local.me.call("GET", "/me", bearer(token))
        except (OSError, http.client.HTTPException) as error:
            return token, f"error {error!r}"
        if reply.status == 401:
            try:
                return token, f"401 {json.loads(reply.body).get('reason')}"
            except ValueError:
                return token, "401 (no JSON body)"
        return token, str(reply.status)

    try:
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=16) as pool:
            checked = dict(pool.map(me, ended_tokens + live_tokens))
        print(f"{label}: restarted; {len(ended_tokens) + len(live_tokens)} tokens presented to GET /me in {time.monotonic() - started:.1f} s")
    finally:
        server.terminate()

    lost = sorted({n for n in acknowledged for t in tokens_of[n] if checked.get(t) != "401 admin_logout"})
    wrong = [(t[:12] + "…", checked.get(t)) for t in ended_tokens if checked.get(t) != "401 admin_logout"]
    check(f"after the restart, GET /me refuses every token of every acknowledged member: 401 admin_logout "
          f"({len(ended_tokens)} tokens of {len(acknowledged)} members)", acknowledged and not lost,
          f"{len(wrong)} tokens of {len(lost)} members not refused so, e.g. {wrong[:3]}")
    kept_wrong = [(t[:12] + "…", checked.get(t)) for t in live_tokens if checked.get(t) != "200"]
    check(f"and still takes every token of every member never logged out: 200 ({len(live_tokens)} tokens of {len(never_sent)} members)",
          live_tokens and not kept_wrong, f"{len(kept_wrong)} not 200, e.g. {kept_wrong[:3]}")
    print(f"{label}: {len(acknowledged)} acknowledged, {len(lost)} lost")
    if tally.failed:
        print(f"{label}: the database and the server's log are kept in {folder}")
    else:
        shutil.rmtree(folder, ignore_errors=True)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
