"""Faults TeamGate must survive: PostgreSQL restarted in the middle of a logout storm, ten times in a row, on one
instance. For every run:

- every logout is answered within its deadline (5 s on the client): 201, or 503 with Retry-After while the
  database is away; never a 500, never a hang;
- the instance serves again by itself: within 5 s of the restart a new logout gets 201 and /ready 200, without
  restarting TeamGate;
- nothing acknowledged is lost: every session token of every member whose logout got 201 is refused (401,
  admin_logout), and a member whose logout got 503 is either (the write did not commit, or committed as the
  connection broke: the caller is told to retry, and a retry is idempotent);
- at the end, SIGTERM ends the instance within 10 s.

    python3 scripts/checks/faults_check.py --postgres URL --postgres-dir DIR

URL is an administrator's URL of the throwaway cluster in DIR (scripts/postgres-throwaway start DIR): the check
restarts that cluster with pg_ctl. FAULTS_RUNS sets the number of restarts (10)."""

import argparse
import glob
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from harness import Server, Tally, bearer, call, create_database, member_tokens, seed, wait_for

RUNS = int(os.environ.get("FAULTS_RUNS", "10"))
LOGOUTS_PER_RUN = 150
CLIENT_DEADLINE = 5


def pg_ctl(directory, *args):
    """Runs the cluster's pg_ctl as its owner, its output to the cluster's log (never a pipe the server keeps)."""
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    tool = os.path.join(binaries[-1], "pg_ctl") if binaries else "pg_ctl"
    owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    with open(os.path.join(directory, "log"), "a") as log:
        done = subprocess.run(owner + [tool, "-D", os.path.join(directory, "data"), "-l", os.path.join(directory, "log"), *args],
                              stdout=log, stderr=log, cwd=directory)
    if done.returncode != 0:
        raise RuntimeError(f"pg_ctl {' '.join(args)} failed with {done.returncode}; see {directory}/log")


def logout(server, key, number):
    started = time.monotonic()
    try:
        response = call("POST", server.url("/team-member/logout"), {"x-public-key": key}, {"userPhoneNumber": number},
                        timeout=CLIENT_DEADLINE)
        return response.status, response.headers.get("retry-after"), time.monotonic() - started
    except OSError as error:
        return type(error).__name__, None, time.monotonic() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", required=True, help="an administrator's postgres:// URL of the cluster in --postgres-dir")
    parser.add_argument("--postgres-dir", required=True, help="the folder of that throwaway cluster, which the check restarts")
    arguments = parser.parse_args()
    tally = Tally("faults-check")
    check = tally.check
    folder = tempfile.mkdtemp(prefix="teamgate-faults-")
    database = create_database(arguments.postgres, "teamgate_faults_" + os.path.basename(folder).split("-")[-1].lower())
    key, _ = seed(database, RUNS * LOGOUTS_PER_RUN + 50, folder)
    numbers, tokens_of = member_tokens(folder)
    server = Server(["--otp-sender", "log", "--rate-limit-per-second", "0", "--log-level", "warning"], database=database, folder=folder)
    server.start()
    acknowledged, unanswered, statuses, slowest, recoveries = [], [], {}, 0.0, []
    try:
        for run in range(RUNS):
            batch = numbers[run * LOGOUTS_PER_RUN:(run + 1) * LOGOUTS_PER_RUN]
            answers = {}

            def restart_mid_storm():
                wait_for(lambda: len(answers) >= LOGOUTS_PER_RUN // 3, 30, step=0.005)
                pg_ctl(arguments.postgres_dir, "restart", "-m", "fast", "-w")

            restarting = threading.Thread(target=restart_mid_storm)
            restarting.start()
            with ThreadPoolExecutor(16) as pool:
                for number, answer in zip(batch, pool.map(lambda n: logout(server, key, n), batch)):
                    answers[number] = answer
            restarting.join()
            restarted = time.monotonic()
            for number, (status, retry_after, took) in answers.items():
                statuses[status] = statuses.get(status, 0) + 1
                slowest = max(slowest, took)
                if status == 201:
                    acknowledged.append(number)
                elif status == 503 and retry_after:
                    unanswered.append(number)
            spare = numbers[-(run + 1)]
            recovered = wait_for(lambda: logout(server, key, spare)[0] == 201 and server.answers("/ready"), 5, step=0.1)
            recoveries.append(time.monotonic() - restarted if recovered else None)
        print(f"answers over {RUNS} restarts: {statuses}; slowest {slowest:.2f} s; recovered after "
              + ", ".join("never" if r is None else f"{r:.2f} s" for r in recoveries))
        check("every logout was answered 201 or 503 with Retry-After, none 500, none hung",
              statuses.get(201, 0) + len(unanswered) == RUNS * LOGOUTS_PER_RUN, f"{statuses}")
        check(f"no answer took longer than the client's {CLIENT_DEADLINE} s", slowest < CLIENT_DEADLINE, f"{slowest:.2f} s")
        check(f"the instance served again by itself after each of the {RUNS} restarts, within 5 s",
              all(r is not None for r in recoveries), f"{recoveries}")
        check("the restarts happened mid-storm (some logouts acknowledged in every run)", len(acknowledged) > RUNS * 10, f"{len(acknowledged)}")
        lost = []
        for number in acknowledged:
            for token in tokens_of[number]:
                response = call("GET", server.url("/me"), bearer(token))
                if response.status != 401 or (response.json or {}).get("reason") != "admin_logout":
                    lost.append((number, response.status))
        print(f"{len(acknowledged)} acknowledged, {len(lost)} lost")
        check("every acknowledged logout holds: each of those members' tokens is refused with admin_logout", not lost, f"{lost[:5]}")
        untouched = numbers[RUNS * LOGOUTS_PER_RUN:RUNS * LOGOUTS_PER_RUN + 10]
        check("members never logged out are still signed in",
              all(call("GET", server.url("/me"), bearer(tokens_of[n][0])).status == 200 for n in untouched[:-1]))
        stopping = time.monotonic()
        server.process.terminate()
        try:
            code = server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            code = None
        check("SIGTERM ends the instance within 10 s after the restarts", code is not None, f"{time.monotonic() - stopping:.1f} s")
    except Exception as error:  # the check's own failure is reported as one, with the server's log
        tally.crashed(error)
        print(server.log_tail(40))
    finally:
        server.stop()
    sys.exit(tally.finish())


if __name__ == "__main__":
    main()
