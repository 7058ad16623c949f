"""Durability under a crash: thousands of concurrent logouts, the server killed with SIGKILL in the
middle, a restart on the same database, and every logout that was answered 201 checked to have ended
all its member's sessions. Prints "N acknowledged, 0 lost".

    python3 scripts/checks/crash_check.py                 # on a new SQLite file
    python3 scripts/checks/crash_check.py --postgres URL  # on a new database of the PostgreSQL server at URL
                                                          # (an administrator's URL, as TEAMGATE_TEST_POSTGRES)

On PostgreSQL the database server stays up: what is tested is that TeamGate answers 201 only once the
commit is done, and that a restarted instance (reloading its index) refuses every ended session."""

import argparse
import http.client
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import demo_server

MEMBERS = int(os.environ.get("CRASH_MEMBERS", "3000"))


def start_server(database, port, log):
    process = subprocess.Popen(
        [demo_server.binary(), "serve", "--database", database, "--port", str(port), "--otp-sender", "log",
         "--rate-limit-per-second", "0", "--log-level", "warning"], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", help="an administrator's postgres:// URL; a fresh database is made on that server")
    arguments = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="teamgate-crash-")
    label = "crash-check" + (" (PostgreSQL)" if arguments.postgres else "")
    if arguments.postgres:
        name = "teamgate_crash_" + os.path.basename(folder).split("-")[-1].lower()
        subprocess.run(["psql", arguments.postgres, "-v", "ON_ERROR_STOP=1", "-qc", f'CREATE DATABASE "{name}"'], check=True)
        database = arguments.postgres.rsplit("/", 1)[0] + "/" + name
    else:
        database = os.path.join(folder, "teamgate.sqlite")
    subprocess.run([demo_server.binary(), "bench", "seed", "--database", database, "--members", str(MEMBERS), "--out", folder],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    key = open(os.path.join(folder, "key.txt")).read().strip()
    numbers = open(os.path.join(folder, "numbers.txt")).read().split()
    port = demo_server.free_port()
    log = open(os.path.join(folder, "server.log"), "w")
    server = start_server(database, port, log)

    acknowledged = []
    lock = threading.Lock()
    answered = [0]
    killed = threading.Event()
    local = threading.local()

    def logout(number):
        if killed.is_set():
            return
        try:
            if not hasattr(local, "connection"):
                local.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            local.connection.request("POST", "/team-member/logout", body=json.dumps({"userPhoneNumber": number}),
                                     headers={"x-public-key": key, "content-type": "application/json"})
            response = local.connection.getresponse()
            response.read()
            with lock:
                answered[0] += 1
                if response.status == 201:
                    acknowledged.append(number)
        except (OSError, http.client.HTTPException):
            local.__dict__.pop("connection", None)

    def killer():
        # Kill once about 40% of the logouts have been answered: mid-stream, with commits in flight.
        while answered[0] < MEMBERS * 0.4:
            time.sleep(0.001)
        server.send_signal(signal.SIGKILL)
        killed.set()

    threading.Thread(target=killer, daemon=True).start()
    with ThreadPoolExecutor(max_workers=64) as pool:
        list(pool.map(logout, numbers))
    server.wait()
    print(f"{label}: killed the server with SIGKILL after {answered[0]} answers")

    # PostgreSQL checks its own pages; that the restarted server answers is what matters there.
    integrity = "ok" if arguments.postgres else sqlite3.connect(database).execute("PRAGMA integrity_check").fetchone()[0]
    server = start_server(database, port, log)
    lost = []
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for number in acknowledged:
            connection.request("GET", "/team-member/sessions?userPhoneNumber=" + number.replace("+", "%2B"), headers={"x-public-key": key})
            sessions = json.loads(connection.getresponse().read())["data"]
            if not sessions or any(s["state"] == "active" for s in sessions):
                lost.append(number)
    finally:
        server.terminate()
        server.wait()
    print(f"{label}: database integrity after the crash: {integrity}")
    print(f"{label}: {len(acknowledged)} acknowledged, {len(lost)} lost")
    ok = integrity == "ok" and not lost and len(acknowledged) > 0
    print(f"{label}: {1 if ok else 0} passed, {0 if ok else 1} failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
