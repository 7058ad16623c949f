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
import hashlib
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

from harness import Failure, Gateway, Receiver, Server, Tally, answer, bearer, call, cli, create_database, member_tokens, seed, sign_in, wait_for
from wsclient import WebSocket

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


def postgres_restarts(arguments, tally):
    """PostgreSQL restarted mid-storm, RUNS times in a row, on one instance."""
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



# --- one instance cut off from PostgreSQL -----------------------------------------------------------

NAMESPACE = "tgfaults"
# Instance A lives in the namespace, reached by the check over one veth pair (HTTP) and reaching PostgreSQL over
# another (through a forwarder on the host): silencing the second leaves the first, as a cut link to the database
# server would. Instance B, on the host, reaches PostgreSQL directly.
HTTP_LINK = ("tgf-http0", "tgf-http1", "10.203.2.1", "10.203.2.2")
DATABASE_LINK = ("tgf-db0", "tgf-db1", "10.203.1.1", "10.203.1.2")


def ip(*args, check=True):
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise Failure(f"ip {' '.join(args)} failed: {done.stderr.strip()}")
    return done


class Namespace:
    """A network namespace with two veth pairs to the host; removed (with its links) on exit."""

    def __enter__(self):
        self.__exit__()
        ip("netns", "add", NAMESPACE)
        ip("-n", NAMESPACE, "link", "set", "lo", "up")
        for host_side, inside, host_address, inside_address in (HTTP_LINK, DATABASE_LINK):
            ip("link", "add", host_side, "type", "veth", "peer", "name", inside, "netns", NAMESPACE)
            ip("addr", "add", host_address + "/24", "dev", host_side)
            ip("link", "set", host_side, "up")
            ip("-n", NAMESPACE, "addr", "add", inside_address + "/24", "dev", inside)
            ip("-n", NAMESPACE, "link", "set", inside, "up")
        return self

    def silence_database_link(self):
        """The host drops every packet to A's end of the database link: A's queries and connection attempts
        get no answer at all, as behind a cut cable or a silent firewall."""
        ip("route", "add", "blackhole", DATABASE_LINK[3] + "/32")

    def restore_database_link(self):
        ip("route", "del", "blackhole", DATABASE_LINK[3] + "/32")

    def __exit__(self, *exc):
        ip("route", "del", "blackhole", DATABASE_LINK[3] + "/32", check=False)
        for host_side, *_ in (HTTP_LINK, DATABASE_LINK):
            ip("link", "del", host_side, check=False)
        ip("netns", "del", NAMESPACE, check=False)


class Forwarder:
    """Forwards TCP from `listen` to `target`, a thread per direction: PostgreSQL listens on loopback only."""

    def __init__(self, listen, target):
        self.target = target
        self.server = socket.create_server(listen)
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self.pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def pipe(source, sink):
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.server.close()


def timed(server, method, path, headers=None, body=None, timeout=CLIENT_DEADLINE):
    started = time.monotonic()
    try:
        response = call(method, server.url(path), headers, body, timeout=timeout)
        return response.status, response.headers.get("retry-after"), time.monotonic() - started
    except OSError as error:
        return type(error).__name__, None, time.monotonic() - started


def cut_off_instance(arguments, tally):
    """Instance A's link to PostgreSQL silenced while B still reaches it; ten members logged out through B."""
    check = tally.check
    folder = tempfile.mkdtemp(prefix="teamgate-cutoff-")
    database = create_database(arguments.postgres, "teamgate_cutoff_" + os.path.basename(folder).split("-")[-1].lower())
    key, _ = seed(database, 40, folder)
    numbers, tokens_of = member_tokens(folder)
    postgres_port = urllib.parse.urlsplit(arguments.postgres).port
    with Namespace() as namespace:
        forwarder = Forwarder((DATABASE_LINK[2], 0), ("127.0.0.1", postgres_port))
        through_link = database.replace(f"127.0.0.1:{postgres_port}", f"{DATABASE_LINK[2]}:{forwarder.port}")
        quiet = ["--otp-sender", "log", "--rate-limit-per-second", "0", "--log-level", "warning"]
        a = Server(quiet, database=through_link, folder=folder, name="a", host=HTTP_LINK[3], prefix=["ip", "netns", "exec", NAMESPACE])
        b = Server(quiet, database=database, folder=folder, name="b")
        try:
            a.start()
            b.start()
            leaving, staying = numbers[:10], numbers[10:20]
            check("cut-off: before the cut, A answers 200 for every member's token",
                  all(call("GET", a.url("/me"), bearer(tokens_of[n][0])).status == 200 for n in leaving + staying))
            namespace.silence_database_link()
            cut = time.monotonic()
            logouts = [timed(b, "POST", "/team-member/logout", {"x-public-key": key}, {"userPhoneNumber": n})[0] for n in leaving]
            check("cut-off: B, still reaching PostgreSQL, logs the ten members out (201)", logouts == [201] * 10, f"{logouts}")
            answers = []
            with ThreadPoolExecutor(8) as pool:
                for n in leaving + staying:
                    for token in tokens_of[n][:2]:
                        answers.append((n in leaving, pool.submit(timed, a, "GET", "/me", bearer(token))))
                answers = [(left, future.result()) for left, future in answers]
            statuses = {}
            for _, (status, _, _) in answers:
                statuses[status] = statuses.get(status, 0) + 1
            slowest = max(took for _, (_, _, took) in answers)
            print(f"     (A cut off: GET /me answered {statuses}, slowest {slowest:.2f} s)")
            check("cut-off: A never answers 200 for a logged-out member's token", not any(left and s == 200 for left, (s, _, _) in answers))
            check("cut-off: A fails closed: every session check is 503 with Retry-After (it cannot confirm the epoch)",
                  all(s == 503 and retry for _, (s, retry, _) in answers), f"{statuses}")
            # One deadline is 2 s; a second round (or a connection's wait plus a statement's) would be 4 s at least. What lies
            # between is the loaded machine: cancelling a lease or a statement hung on the silent link takes it a moment.
            check("cut-off: no session check on A waited past 3.5 s (the 2 s database deadline, and no second round)", slowest < 3.5, f"{slowest:.2f} s")
            health = timed(a, "GET", "/health")
            ready = wait_for(lambda: timed(a, "GET", "/ready")[0] == 503, 5, step=0.2)
            check("cut-off: A's /health stays 200 and its /ready says 503, so a balancer moves its traffic to B",
                  health[0] == 200 and ready, f"/health {health}")
            check("cut-off: B kept serving meanwhile (/ready 200, a staying member's token 200)",
                  b.answers("/ready") and call("GET", b.url("/me"), bearer(tokens_of[staying[0]][0])).status == 200)
            namespace.restore_database_link()
            restored = time.monotonic()
            back = wait_for(lambda: a.answers("/ready") and call("GET", a.url("/me"), bearer(tokens_of[staying[0]][0])).status == 200, 20, step=0.2)
            took = time.monotonic() - restored
            print(f"     (cut for {restored - cut:.1f} s; A served again {took:.1f} s after the link came back)")
            check("cut-off: A serves again by itself within 15 s of the link coming back, without a restart", back and took < 15, f"{took:.1f} s")
            refused = [call("GET", a.url("/me"), bearer(t)) for n in leaving for t in tokens_of[n]]
            check("cut-off: afterwards A refuses every token of the members B logged out (401, admin_logout)",
                  all(r.status == 401 and (r.json or {}).get("reason") == "admin_logout" for r in refused),
                  f"{[r.status for r in refused][:10]}")
            stopping = time.monotonic()
            a.process.terminate()
            try:
                a.process.wait(timeout=10)
                stopped = True
            except subprocess.TimeoutExpired:
                stopped = False
            check("cut-off: SIGTERM ends A within 10 s", stopped, f"{time.monotonic() - stopping:.1f} s")
        except Exception as error:
            tally.crashed(error, "the cut-off section ran to the end")
            print(a.log_tail(30))
        finally:
            a.stop()
            b.stop()
            forwarder.close()


# --- clocks that disagree between instances ---------------------------------------------------------

def skewed_instances(arguments, tally):
    """Two instances on one PostgreSQL, B's clock five minutes ahead (libfaketime), deliveries to a slow receiver."""
    check = tally.check
    folder = tempfile.mkdtemp(prefix="teamgate-skew-")
    database = create_database(arguments.postgres, "teamgate_skew_" + os.path.basename(folder).split("-")[-1].lower())
    key, _ = seed(database, 40, folder)
    numbers, _ = member_tokens(folder)
    sent = []

    def slow(handler):
        sent.append(handler.headers.get("X-TeamGate-Delivery"))
        time.sleep(1.5)
        answer(204)(handler)

    receiver = Receiver(slow)
    offset = os.path.join(folder, "faketime")
    with open(offset, "w") as file:
        file.write("+300\n")
    ahead = {**FAKETIME_ENVIRONMENT, "LD_PRELOAD": libfaketime(), "FAKETIME_TIMESTAMP_FILE": offset}
    args = ["--otp-sender", "log", "--webhook-allowed-hosts", "127.0.0.1", "--rate-limit-per-second", "0", "--log-level", "warning"]
    a = Server(args, database=database, folder=folder, name="a")
    b = Server(args, database=database, folder=folder, name="b", env=ahead)
    try:
        a.start()
        b.start()
        hook = call("POST", a.url("/webhooks"), {"x-public-key": key}, {"url": receiver.url(), "events": ["team_member.logged_out"]})
        if hook.status != 201:
            raise Failure(f"the webhook was not created: {hook.status} {hook.value}")
        logged_out = [logout(a, key, n)[0] for n in numbers[:30]]
        delivered = wait_for(lambda: len(set(sent)) >= 30, 60, step=0.2)
        time.sleep(3)  # long enough for a second send of any of them to arrive
        doubles = len(sent) - len(set(sent))
        print(f"     (B five minutes ahead: {len(sent)} sends of {len(set(sent))} deliveries)")
        check("skew: thirty logouts, thirty deliveries, each sent once though the instances' clocks differ by 5 min (leases on PostgreSQL's clock)",
              logged_out == [201] * 30 and delivered and doubles == 0, f"{doubles} sent twice")
    except Exception as error:
        tally.crashed(error, "the skew section ran to the end")
        print(b.log_tail(30))
    finally:
        a.stop()
        b.stop()
        receiver.stop()


# --- a full disk ------------------------------------------------------------------------------------

class Tmpfs:
    """A small tmpfs mounted on a folder of its own: the disk under a SQLite file that can be filled."""

    def __init__(self, megabytes):
        self.path = tempfile.mkdtemp(prefix="teamgate-tmpfs-")
        os.chmod(self.path, 0o755)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", self.path], capture_output=True, text=True)
        if done.returncode != 0:
            raise Failure(f"mounting a tmpfs failed (the check needs root): {done.stderr.strip()}")

    def fill(self):
        """Writes a filler file until the disk refuses: the database then has no room to grow."""
        try:
            with open(os.path.join(self.path, "filler"), "wb") as filler:
                while True:
                    filler.write(b"\0" * 65536)
                    filler.flush()
        except OSError:
            pass  # ENOSPC: full, as intended (closing the file may say it again)

    def make_room(self):
        os.remove(os.path.join(self.path, "filler"))

    def close(self):
        done = subprocess.run(["umount", self.path], capture_output=True, text=True)
        if done.returncode != 0:
            print(f"     (umount {self.path} failed: {done.stderr.strip()})")
        shutil.rmtree(self.path, ignore_errors=True)


def full_disk(tally):
    """SQLite on a 48 MB tmpfs, filled during a logout storm."""
    check = tally.check
    disk = Tmpfs(48)
    database = os.path.join(disk.path, "teamgate.sqlite")
    folder = tempfile.mkdtemp(prefix="teamgate-full-")
    server = Server(["--otp-sender", "log", "--rate-limit-per-second", "0", "--log-level", "warning"], database=database, folder=folder)
    try:
        key, _ = seed(database, 600, folder)
        numbers, tokens_of = member_tokens(folder)
        server.start()
        before = [logout(server, key, n)[0] for n in numbers[:50]]
        check("full disk: logouts before the disk fills are acknowledged (201)", before == [201] * 50, f"{before}")
        filling = threading.Thread(target=disk.fill)
        with ThreadPoolExecutor(16) as pool:
            storm = pool.map(lambda n: logout(server, key, n), numbers[50:400])
            filling.start()
            answers = dict(zip(numbers[50:400], storm))
        filling.join()
        answers.update({n: (201, None, 0) for n in numbers[:50]})
        statuses = {}
        for status, _, _ in answers.values():
            statuses[status] = statuses.get(status, 0) + 1
        print(f"     (350 logouts while the disk fills: {statuses})")
        check("full disk: the fault happened (some logouts refused with 507)", statuses.get(507, 0) > 0, f"{statuses}")
        check("full disk: every logout is 201 or 507 Insufficient Storage with Retry-After, none 500, none hung",
              all(s == 201 or (s == 507 and retry) for s, retry, _ in answers.values()), f"{statuses}")
        check("full disk: /ready says 503 while writes fail", wait_for(lambda: timed(server, "GET", "/ready")[0] == 503, 5, step=0.2))
        staying = numbers[500]
        check("full disk: live sessions are still checked from memory (200)", call("GET", server.url("/me"), bearer(tokens_of[staying][0])).status == 200)
        acknowledged = [n for n, (s, _, _) in answers.items() if s == 201]
        check("full disk: /ready stays 503 while the disk is still full (it asks the disk for room before a probe write)",
              not wait_for(lambda: server.answers("/ready"), 3, step=0.5))
        disk.make_room()
        made_room = time.monotonic()
        check("full disk: a logout while the disk is still full is 507 (or 201, if it fitted in the log's space)",
              logout(server, key, numbers[460])[0] in (201, 507))
        recovered = wait_for(lambda: server.answers("/ready") and logout(server, key, numbers[450])[0] == 201, 10, step=0.2)
        print(f"     (writes resumed {time.monotonic() - made_room:.1f} s after room was made)")
        check("full disk: writes resume and /ready is 200 within 10 s of room being made, without a restart", recovered)
        retried = [logout(server, key, n)[0] for n, (s, _, _) in answers.items() if s == 507][:50]
        check("full disk: a refused logout retried now succeeds (201)", retried and all(s == 201 for s in retried), f"{retried[:10]}")
        server.terminate()
        server.start()
        lost = [n for n in acknowledged for t in tokens_of[n] if call("GET", server.url("/me"), bearer(t)).status != 401]
        check(f"full disk: after a restart every acknowledged logout holds ({len(acknowledged)} of them)", not lost, f"{lost[:5]}")
        server.terminate()
        integrity = subprocess.run(["sqlite3", database, "PRAGMA integrity_check"], capture_output=True, text=True).stdout.strip()
        check("full disk: the file passes integrity_check", integrity == "ok", integrity[:200])
    except Exception as error:
        tally.crashed(error, "the full-disk section ran to the end")
        print(server.log_tail(30))
    finally:
        server.stop()
        disk.close()
        shutil.rmtree(folder, ignore_errors=True)


# --- an fsync that fails --------------------------------------------------------------------------

FAILING_FSYNC = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
/* fsync and fdatasync fail with EIO while the file TEAMGATE_FAIL_FSYNC_WHEN names exists, as a disk failing. */
static int failing(void) { const char *flag = getenv("TEAMGATE_FAIL_FSYNC_WHEN"); return flag && access(flag, F_OK) == 0; }
int fsync(int fd) { static int (*real)(int); if (!real) real = dlsym(RTLD_NEXT, "fsync"); if (failing()) { errno = EIO; return -1; } return real(fd); }
int fdatasync(int fd) { static int (*real)(int); if (!real) real = dlsym(RTLD_NEXT, "fdatasync"); if (failing()) { errno = EIO; return -1; } return real(fd); }
"""


def failing_fsync(tally):
    """fsync fails with EIO (an LD_PRELOAD shim) in the middle of logouts, on SQLite."""
    check = tally.check
    folder = tempfile.mkdtemp(prefix="teamgate-fsync-")
    source, shim, flag = (os.path.join(folder, name) for name in ("failing_fsync.c", "failing_fsync.so", "fail-fsync"))
    with open(source, "w") as file:
        file.write(FAILING_FSYNC)
    compiler = shutil.which("cc") or shutil.which("clang")  # Swift's toolchain brings clang
    if compiler is None:
        raise Failure("no C compiler (cc or clang) to build the fsync shim")
    built = subprocess.run([compiler, "-shared", "-fPIC", "-o", shim, source, "-ldl"], capture_output=True, text=True)
    if built.returncode != 0:
        raise Failure(f"compiling the fsync shim failed: {built.stderr}")
    database = os.path.join(folder, "teamgate.sqlite")
    args = ["--otp-sender", "log", "--rate-limit-per-second", "0", "--log-level", "warning"]
    server = Server(args, database=database, folder=folder, env={"LD_PRELOAD": shim, "TEAMGATE_FAIL_FSYNC_WHEN": flag})
    try:
        key, _ = seed(database, 200, folder)
        numbers, tokens_of = member_tokens(folder)
        server.start()
        before = [logout(server, key, n)[0] for n in numbers[:20]]
        check("fsync: logouts before the fault are acknowledged (201)", before == [201] * 20, f"{before}")
        open(flag, "w").close()
        failed_at = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            after = list(pool.map(lambda n: logout(server, key, n), numbers[20:100]))
        statuses = {}
        for status, _, _ in after:
            statuses[status] = statuses.get(status, 0) + 1
        print(f"     (logouts after fsync began failing: {statuses})")
        check("fsync: no logout is acknowledged once fsync failed (503 with Retry-After, or the instance gone)",
              all(s != 201 and s != 500 for s, _, _ in after) and any(s == 503 for s, _, _ in after), f"{statuses}")
        try:
            code = server.process.wait(timeout=12)
        except subprocess.TimeoutExpired:
            code = None
        print(f"     (the instance exited with {code}, {time.monotonic() - failed_at:.1f} s after the first failed fsync)")
        check("fsync: the instance stops by itself with a non-zero status (74) for its supervisor to restart it", code == 74, f"{code}")
        os.remove(flag)
        server.start()
        held = [call("GET", server.url("/me"), bearer(t)) for n in numbers[:20] for t in tokens_of[n]]
        check("fsync: restarted, every logout acknowledged before the fault holds (401)", all(r.status == 401 for r in held),
              f"{[r.status for r in held][:10]}")
        check("fsync: restarted, it writes again (a logout 201)", logout(server, key, numbers[150])[0] == 201)
        server.terminate()
        integrity = subprocess.run(["sqlite3", database, "PRAGMA integrity_check"], capture_output=True, text=True).stdout.strip()
        check("fsync: the file passes integrity_check", integrity == "ok", integrity[:200])
    except Exception as error:
        tally.crashed(error, "the fsync section ran to the end")
        print(server.log_tail(30))
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)



# --- the clock stepped ----------------------------------------------------------------------------

# The offset is read from a file at every reading of the clock (FAKETIME_NO_CACHE: a cached one was seen to lag by
# seconds on a loaded machine); the monotonic clock is left alone, as an NTP step leaves it.
# FAKETIME_SHARED is set beforehand (and unused, without shared memory): libfaketime would otherwise add it to the
# environment as it loads, which moves the environment block, and Swift's runtime, which finds the arguments next to
# it, would see none.
FAKETIME_ENVIRONMENT = {"FAKETIME_NO_CACHE": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1", "FAKETIME_DONT_RESET": "1",
                        "FAKETIME_DISABLE_SHM": "1", "FAKETIME_SHARED": "unused unused"}


def libfaketime():
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))
    if not found:
        raise Failure("libfaketime was not found: install Debian's faketime package (scripts/install-test-deps does)")
    return found[0]


def clock_steps(tally):
    """The system clock stepped +1 h and back (libfaketime, the monotonic clock left alone, as NTP steps it)."""
    check = tally.check
    folder = tempfile.mkdtemp(prefix="teamgate-clock-")
    offset = os.path.join(folder, "faketime")

    def step(seconds):
        """Sets the server's clock `seconds` off the real one (libfaketime reads the file at every reading of the clock)."""
        with open(offset, "w") as file:
            file.write(f"{seconds:+d}\n")
        time.sleep(0.3)

    with open(offset, "w") as file:
        file.write("+0\n")
    environment = {**FAKETIME_ENVIRONMENT, "LD_PRELOAD": libfaketime(), "FAKETIME_TIMESTAMP_FILE": offset}
    gateway = Gateway()
    server = Server(["--otp-sender", f"webhook:{gateway.url()}", "--session-lifetime-hours", "1", "--log-level", "warning"],
                    folder=folder, env=environment)
    try:
        key, _ = seed(server.database, 5, folder)
        numbers, _ = member_tokens(folder)
        server.start()
        device = sign_in(server, numbers[0], gateway)
        check("clock: a session signed in for one hour is live (200)", call("GET", server.url("/me"), bearer(device.token)).status == 200)
        guesser = "127.0.0.9"
        wrong = [call("POST", server.url("/auth/login"), None, {"phoneNumber": numbers[1], "code": "000000"}, source=guesser).status
                 for _ in range(12)]
        check("clock: wrong codes from one address are throttled (429)", wrong[-1] == 429, f"{wrong}")
        step(3660)
        expired = call("GET", server.url("/me"), bearer(device.token))
        check("clock: one hour and a minute later, the session has expired (401)", expired.status == 401, f"{expired.status}")
        still = call("POST", server.url("/auth/login"), None, {"phoneNumber": numbers[1], "code": "000000"}, source=guesser).status
        check("clock: a step forward refills no rate limit (still 429: limits run on the monotonic clock)", still == 429, f"{still}")
        step(0)
        revived = call("GET", server.url("/me"), bearer(device.token))
        check("clock: stepped back an hour, the expired session stays expired (401)", revived.status == 401, f"{revived.status}")
        first = call("POST", server.url("/auth/otp"), None, {"phoneNumber": numbers[2]}).status
        older = gateway.wait_code(numbers[2])
        step(-3600)
        second = call("POST", server.url("/auth/otp"), None, {"phoneNumber": numbers[2]}).status
        newer = gateway.wait_code(numbers[2])
        signed = call("POST", server.url("/auth/login"), None, {"phoneNumber": numbers[2], "code": newer, "deviceName": "after the step"})
        check("clock: a code asked for after a step back is the number's newest: it signs in (201)",
              first == 202 and second == 202 and older and newer and signed.status == 201, f"{first} {second} {signed.status} {signed.value}")
        if signed.status == 201:
            live = call("GET", server.url("/me"), bearer(signed.json["token"]))
            check("clock: the session made after the step back is live (200) and ends at logout (401)",
                  live.status == 200 and logout(server, key, numbers[2])[0] == 201
                  and call("GET", server.url("/me"), bearer(signed.json["token"])).status == 401)
    except Exception as error:
        tally.crashed(error, "the clock section ran to the end")
        print(server.log_tail(30))
    finally:
        server.stop()
        gateway.stop()
        shutil.rmtree(folder, ignore_errors=True)


# --- SIGTERM with hanging peers -------------------------------------------------------------------

def hang(seconds):
    def respond(handler):
        time.sleep(seconds)
        answer(204)(handler)
    return respond


def half_sent_logout(server, key, number):
    """A logout whose head and first bytes of body are sent: the server has accepted it and waits for the rest."""
    body = json.dumps({"userPhoneNumber": number}).encode()
    connection = socket.create_connection(("127.0.0.1", server.port), timeout=15)
    connection.sendall(f"POST /team-member/logout HTTP/1.1\r\nHost: 127.0.0.1\r\nx-public-key: {key}\r\n"
                       f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body[:4])
    return connection, body[4:]


def finish(connection, rest):
    """Sends the rest of the body; the answer's status, or the error that came instead."""
    try:
        connection.sendall(rest)
        status_line = connection.makefile("rb").readline().decode("latin-1")
        return int(status_line.split()[1]) if status_line else "closed without an answer"
    except OSError as error:
        return type(error).__name__
    finally:
        connection.close()


def shutdown_with_hanging_peers(tally):
    """SIGTERM while the SMS gateway and a webhook receiver hang for a minute, sockets open, requests in flight."""
    check = tally.check
    folder = tempfile.mkdtemp(prefix="teamgate-shutdown-")
    hanging_gateway, hanging_receiver = Receiver(hang(60)), Receiver(hang(60))
    args = ["--otp-sender", f"webhook:{hanging_gateway.url('/otp')}", "--webhook-allowed-hosts", "127.0.0.1",
            "--rate-limit-per-second", "0", "--log-level", "warning"]
    server = Server(args, folder=folder)
    receiver = Receiver()
    try:
        key, _ = seed(server.database, 60, folder)
        numbers, tokens_of = member_tokens(folder)
        server.start()
        hook = call("POST", server.url("/webhooks"), {"x-public-key": key}, {"url": hanging_receiver.url(), "events": ["team_member.logged_out"]})
        if hook.status != 201:
            raise Failure(f"the webhook was not created: {hook.status} {hook.value}")
        for n in numbers[40:60]:
            call("POST", server.url("/auth/otp"), None, {"phoneNumber": n})
        logged_out = [logout(server, key, n)[0] for n in numbers[:20]]
        check("shutdown: twenty logouts acknowledged while their webhooks hang (201)", logged_out == [201] * 20, f"{logged_out}")
        wait_for(lambda: len(hanging_receiver.hits) >= 4 and len(hanging_gateway.hits) >= 8, 5)
        socket_device = type("Device", (), {"token": tokens_of[numbers[30]][0]})()
        listening = WebSocket(server.port, socket_device)
        # Requests the server has accepted and is reading when SIGTERM comes: each body's last bytes are sent after it.
        pending = [half_sent_logout(server, key, n) for n in numbers[20:28]]
        time.sleep(0.2)
        stopping = time.monotonic()
        server.process.terminate()
        time.sleep(0.3)
        answered = [finish(connection, rest) for connection, rest in pending]
        try:
            code = server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            code = None
        took = time.monotonic() - stopping
        print(f"     (SIGTERM with a hanging gateway and receiver: exited with {code} after {took:.1f} s)")
        check("shutdown: SIGTERM ends the process within 10 s, status 0, however hung its peers are",
              code == 0 and took <= 10, f"{code} after {took:.1f} s")
        check("shutdown: every request accepted before SIGTERM, its body still arriving, was answered (201)",
              answered == [201] * len(pending), f"{answered}")
        listening.wait(lambda socket: any(m.get("type") == "server.going_away" for _, m in socket.inbox), 2)
        check("shutdown: an open socket was told server.going_away", any(m.get("type") == "server.going_away" for _, m in listening.inbox),
              f"{[m for _, m in listening.inbox]}")
        listening.close()
        # The same database, now with a receiver that answers: the deliveries cut short were handed back.
        hits_before = len(hanging_receiver.hits)
        hooks = call("GET", server.start().url("/webhooks"), {"x-public-key": key}).json["data"]
        check("shutdown: the deliveries cut short were handed back, due at once: sent again within 5 s of the restart",
              wait_for(lambda: len(hanging_receiver.hits) > hits_before, 5), f"{hits_before} hits before")
        call("DELETE", server.url(f"/webhooks/{hooks[0]['id']}"), {"x-public-key": key})
        held = [call("GET", server.url("/me"), bearer(t)).status for n in numbers[:20] for t in tokens_of[n]]
        check("shutdown: after the restart every acknowledged logout holds (401)", all(s == 401 for s in held), f"{held[:10]}")
        server.terminate()
    except Exception as error:
        tally.crashed(error, "the shutdown section ran to the end")
        print(server.log_tail(30))
    finally:
        server.stop()
        for peer in (hanging_gateway, hanging_receiver, receiver):
            peer.stop()


# --- hostile backups ------------------------------------------------------------------------------

HOSTILE = {
    "a trigger that revives ended sessions": ["CREATE TRIGGER revive AFTER UPDATE OF ended_at ON sessions BEGIN "
                                              "UPDATE sessions SET ended_at = NULL WHERE id = NEW.id; END"],
    "a dropped column": ["ALTER TABLE sessions DROP COLUMN acknowledged_at"],
    "a dropped index": ["DROP INDEX sessions_by_revocation"],
    "an added view": ["CREATE VIEW everyone AS SELECT * FROM members"],
    "a session of a member who is not there": ["PRAGMA foreign_keys = OFF",
                                               "UPDATE sessions SET member_id = 'mem_nobody' WHERE rowid = (SELECT MIN(rowid) FROM sessions)"],
}


def digest(path):
    with open(path, "rb") as file:
        return hashlib.sha256(file.read()).hexdigest()


def hostile_backups(tally):
    """`teamgate restore` given backups that are valid SQLite but not what TeamGate wrote, and one it should take."""
    check = tally.check
    folder = tempfile.mkdtemp(prefix="teamgate-restore-")
    database = os.path.join(folder, "teamgate.sqlite")
    server = Server(["--otp-sender", "log", "--log-level", "warning"], database=database, folder=folder)
    try:
        key, _ = seed(database, 30, folder)
        numbers, tokens_of = member_tokens(folder)
        backup = os.path.join(folder, "good.sqlite")
        cli("backup", "--database", database, "--to", backup)
        server.start()
        logged_out = [logout(server, key, n)[0] for n in numbers[:5]]
        server.kill()  # SIGKILL: the old database keeps a write-ahead log with those logouts in it
        check("restore: the old database has a write-ahead log to keep", os.path.getsize(database + "-wal") > 0 and logged_out == [201] * 5)
        before = (digest(database), digest(database + "-wal"))
        for what, statements in HOSTILE.items():
            hostile = os.path.join(folder, "hostile.sqlite")
            shutil.copy(backup, hostile)
            connection = sqlite3.connect(hostile)
            for statement in statements:
                connection.execute(statement)
            connection.commit()
            connection.close()
            done = cli("restore", "--database", database, "--from", hostile, check=False)
            untouched = (digest(database), digest(database + "-wal")) == before
            check(f"restore: a backup with {what} is refused (exit 1, says why), the old database untouched",
                  done.returncode == 1 and "not restored" in done.stderr and untouched, f"{done.returncode} {done.stderr.strip()[:200]}")
            os.remove(hostile)
        done = cli("restore", "--database", database, "--from", backup, "--end-sessions", check=False)
        check("restore --end-sessions: a good backup is restored and says how many sessions it ended",
              done.returncode == 0 and re.search(r"\b\d+ sessions ended", done.stdout), f"{done.returncode} {done.stdout}{done.stderr}")
        kept = sqlite3.connect(database + ".before-restore")
        # Ended in their rows, or by an end still appended as a record.
        ended_before = kept.execute("SELECT COUNT(*) FROM sessions s WHERE s.ended_at IS NOT NULL "
                                    "OR EXISTS (SELECT 1 FROM session_ends e WHERE e.session_id = s.id)").fetchone()[0]
        kept.close()
        check("restore: the old database is kept whole beside it, its log folded in (the five logouts' sessions ended)",
              ended_before >= 5 and not os.path.exists(database + "-wal"), f"{ended_before}")
        server.start()
        answers = [call("GET", server.url("/me"), bearer(t)).status for n in numbers for t in tokens_of[n][:1]]
        check("restore --end-sessions: every session of the backup is refused (401), those logged out after it included",
              all(s == 401 for s in answers), f"{answers[:10]}")
        server.terminate()
    except Exception as error:
        tally.crashed(error, "the restore section ran to the end")
        print(server.log_tail(30))
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


SECTIONS = {
    "restarts": lambda arguments, tally: postgres_restarts(arguments, tally),
    "cut-off": lambda arguments, tally: cut_off_instance(arguments, tally),
    "skew": lambda arguments, tally: skewed_instances(arguments, tally),
    "full-disk": lambda arguments, tally: full_disk(tally),
    "fsync": lambda arguments, tally: failing_fsync(tally),
    "clock": lambda arguments, tally: clock_steps(tally),
    "shutdown": lambda arguments, tally: shutdown_with_hanging_peers(tally),
    "restore": lambda arguments, tally: hostile_backups(tally),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", required=True, help="an administrator's postgres:// URL of the cluster in --postgres-dir")
    parser.add_argument("--postgres-dir", required=True, help="the folder of that throwaway cluster, which the check restarts")
    parser.add_argument("--only", action="append", choices=sorted(SECTIONS), help="run only these sections (all by default)")
    arguments = parser.parse_args()
    tally = Tally("faults-check")
    for name, section in SECTIONS.items():
        if arguments.only and name not in arguments.only:
            continue
        print(f"--- {name}")
        try:
            section(arguments, tally)
        except Exception as error:  # a section that could not even be set up is one failure, saying why
            tally.crashed(error, f"the {name} section could be set up")
    sys.exit(tally.finish())


if __name__ == "__main__":
    main()
