"""Two TeamGate instances on one PostgreSQL. A member signs in on A and holds `/me/events` open on B; an
admin logs them out through A; B tells the device within 2 s, closes the socket with 4001, refuses the
token, and still refuses it after B is killed and started again, while another member's socket on B hears
nothing. Then the delay from a logout's 201 to the device's session.ended, over 200+ members, with the
sockets on the instance that ends the sessions and on the other one: p50/p99/max printed and written
to artifacts/cluster-delays.json.

Then no window on B: 100 members signed in on A and each used once on B (so B's in-memory index holds
the session), logged out one at a time through A; right after each 201, before anything else is read,
`GET /me` on B with that member's token must be 401 admin_logout, every one. Twice: with notifications
working, and with B's LISTEN connection terminated (pg_terminate_backend) right before the burst and
again every few milliseconds during it, so B hears no notification; what then refuses the tokens is
B's per-request epoch check (or, at most once a second, its catch-up timer). B's listener is told apart
from A's by matching pg_stat_activity.client_port with the TCP sockets of B's process (/proc).

    python3 scripts/checks/cluster_check.py                       # on a throwaway PostgreSQL (scripts/postgres-throwaway)
    python3 scripts/checks/cluster_check.py --database URL        # on an existing, empty PostgreSQL database
    python3 scripts/checks/cluster_check.py --database x.sqlite   # one instance only (B is A), on a new SQLite file

Needs nothing beyond the standard library: the WebSocket client (wsclient.py, shared with the bench) is a
minimal RFC 6455 one, so that one thread can wait on the logout's answer and every device's socket at once
and time each by arrival.
TEAMGATE_BINARY names the server binary (default: `swift build --show-bin-path`, as the other checks)."""

import argparse
import json
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from harness import ROOT, Failure, Gateway, Server, Tally, ThrowawayPostgres, bearer, cli, create_database, sign_in
from wsclient import Refused, TimedLogout, WebSocket, percentiles

ARTIFACTS = os.path.join(ROOT, "artifacts")
OWNER = "+919600000001"
LOGGED_OUT = "+919600000002"  # the scenario's member: signed in on A, socket on B, logged out through A
BYSTANDER = "+919600000003"  # signed in on B, socket on B, never logged out
EVENT_WINDOW = 2.0  # seconds the issue allows between the 201 and the device hearing it

tally = Tally("cluster-check")
check = tally.check


def instance(name, database, otp_url, folder):
    """One `teamgate serve` of the pair, restartable on the same port."""
    return Server(["--otp-sender", "webhook:" + otp_url, "--rate-limit-per-second", "0", "--log-level", "warning",
                   # Hundreds of devices sign in from this one address: the per-address code limit is not what is measured.
                   "--sign-in-codes-per-address", "100000"], database=database, name=name, folder=folder)


# --- WebSocket (the client is in wsclient.py) ------------------------------------------------------

def open_socket(port, device):
    """A device's socket, checked to open with its own session.active."""
    ws = WebSocket(port, device)
    first = ws.next_message(5)
    if not first or first[1].get("type") != "session.active" or first[1].get("sessionId") != device.session_id:
        ws.close()
        raise Failure(f"{device.phone}'s socket on :{port} did not open with its session.active: {first and first[1]}")
    return ws


# --- the scenario ----------------------------------------------------------------------------------

def revocation_devices(server, key, revocation_id):
    reply = server.call("GET", f"/revocations/{urllib.parse.quote(revocation_id)}", {"x-public-key": key})
    return reply.value.get("sessions", []) if reply.status == 200 and isinstance(reply.value, dict) else []


def scenario(a, b, key, gateway):
    """The issue's scenario: signed in on A, socket on B, logged out through A."""
    on = f"on {b.name}" if b is not a else f"on {b.name} (one instance: B is A)"
    member = sign_in(a, LOGGED_OUT, gateway)
    bystander = sign_in(b, BYSTANDER, gateway)
    ws = WebSocket(b.port, member)
    first = ws.next_message(5)
    check(f"a socket {on} for a session made on {a.name} opens with session.active",
          first and first[1].get("type") == "session.active" and first[1].get("sessionId") == member.session_id, first)
    quiet_ws = open_socket(b.port, bystander)

    sent = time.perf_counter()
    reply = a.call("POST", "/team-member/logout", {"x-public-key": key}, {"userPhoneNumber": member.phone})
    answered = time.perf_counter()
    status, body = reply.status, reply.value
    check(f"the logout through {a.name} answers 201 with one session ended",
          status == 201 and body.get("sessionsEnded") == 1 and str(body.get("revocationId", "")).startswith("rev_"), f"{status} {body}")
    revocation_id = body.get("revocationId") if isinstance(body, dict) else None

    event = ws.next_message(max(0.0, answered + EVENT_WINDOW - time.perf_counter()))
    check(f"the socket {on} hears session.ended within {EVENT_WINDOW:.0f} s of the 201 (admin_logout, the logout's revocationId)",
          event is not None and event[1].get("type") == "session.ended" and event[1].get("reason") == "admin_logout"
          and event[1].get("revocationId") == revocation_id and event[1].get("sessionId") == member.session_id,
          f"got {event and event[1]}")
    if event:
        print(f"     (event {1000 * (event[0] - answered):+.1f} ms after the 201, {1000 * (event[0] - sent):.1f} ms after sending the logout)")
        ws.send_json({"type": "ack", "revocationId": revocation_id})
    ws.wait(lambda s: s.close_code is not None, 2 * EVENT_WINDOW)
    check("then the server closes it with code 4001 (after the device's ack)", ws.close_code == 4001, f"close code {ws.close_code}")
    ws.close()

    quiet = quiet_ws.next_message(0.5)
    check(f"another member's socket {on} hears nothing for 0.5 s and stays open",
          quiet is None and quiet_ws.close_code is None and not quiet_ws.eof, f"got {quiet and quiet[1]}, close {quiet_ws.close_code}")
    quiet_ws.close()

    reply = b.call("GET", "/me", bearer(member.token))
    status, body = reply.status, reply.value
    check(f"GET /me {on} refuses the logged-out token: 401 admin_logout", status == 401 and body.get("reason") == "admin_logout", f"{status} {body}")
    status = b.call("GET", "/me", bearer(bystander.token)).status
    check(f"GET /me {on} still takes the other member's token (200)", status == 200, status)
    # hummingbird-websocket answers a refused upgrade with its own 400 and no body; a plain GET says why.
    try:
        WebSocket(b.port, member).close()
        refused = None
    except Refused as error:
        refused = error.status
    reply = b.call("GET", "/me/events?token=" + urllib.parse.quote(member.token))
    status, body = reply.status, reply.value
    check(f"a new socket {on} for the ended session is refused at the upgrade; a plain GET /me/events says 401 admin_logout",
          refused is not None and status == 401 and body.get("reason") == "admin_logout", f"upgrade: {refused or 101}, plain GET: {status} {body}")

    devices = revocation_devices(a, key, revocation_id)
    check(f"GET /revocations/{{id}} through {a.name} shows the device told and confirming (notifiedAt, acknowledgedAt)",
          len(devices) == 1 and devices[0].get("notifiedAt") and devices[0].get("acknowledgedAt"), devices)

    b.kill()
    b.start()
    reply = b.call("GET", "/me", bearer(member.token))
    status, body = reply.status, reply.value
    check(f"after {b.name} is killed and started again, the token is still refused there (401)", status == 401, f"{status} {body}")
    status = b.call("GET", "/me", bearer(bystander.token)).status
    check("and the other member's token still works there (200)", status == 200, status)


# --- the delay measurement -------------------------------------------------------------------------

def measure(label, socket_server, logout_server, key, devices):
    """Opens every device's socket on `socket_server`, then logs the members out one at a time through
    `logout_server`, timing the 201 and the session.ended on one selector. Returns the summary."""
    print(f"cluster-check: {label}: opening {len(devices)} sockets on {socket_server.name}, logging out through {logout_server.name}")
    sockets = [open_socket(socket_server.port, device) for device in devices]
    logout = TimedLogout(logout_server.port, key)
    selector = selectors.DefaultSelector()
    selector.register(logout, selectors.EVENT_READ)
    for ws in sockets:
        selector.register(ws, selectors.EVENT_READ)
    after_answer, after_send, answer_time = [], [], []
    wrong, stray, missing, revocations = [], [], [], []

    def pump(timeout):
        for selected, _ in selector.select(timeout):
            source = selected.fileobj
            source.read()
            if isinstance(source, WebSocket) and source.eof:
                selector.unregister(source)

    try:
        for ws in sockets:
            sent = time.perf_counter()
            logout.send(ws.device.phone)
            event = None
            deadline = sent + 5
            while (logout.answer is None or event is None) and time.perf_counter() < deadline:
                pump(max(0.0, deadline - time.perf_counter()))
                for other in sockets:
                    while other.inbox:
                        arrived, message = other.inbox.pop(0)
                        if other is ws and event is None:
                            event = (arrived, message)
                            # Acked at once, as a device would: exercises acknowledgedAt and lets the server close early.
                            ws.send_json({"type": "ack", "revocationId": message.get("revocationId")})
                        else:
                            stray.append((other.device.phone, message))
            if logout.answer is None:
                raise Failure(f"{label}: no answer to the logout of {ws.device.phone} within 5 s")
            answered, status, body = logout.answer
            revocation_id = body.get("revocationId") if isinstance(body, dict) else None
            if status != 201:
                wrong.append(f"{ws.device.phone}: logout answered {status} {body}")
            if event is None:
                missing.append(ws.device.phone)
                if len(missing) >= 3 and not after_answer:
                    raise Failure(f"{label}: the first devices never heard their session.ended; giving up")
                continue
            arrived, message = event
            if (message.get("type"), message.get("reason"), message.get("revocationId")) != ("session.ended", "admin_logout", revocation_id):
                wrong.append(f"{ws.device.phone}: heard {message} after {body}")
            after_answer.append(1000 * (arrived - answered))
            after_send.append(1000 * (arrived - sent))
            answer_time.append(1000 * (answered - sent))
            revocations.append(revocation_id)
        # The servers close each socket after its ack: wait for the last closes.
        deadline = time.perf_counter() + 2 * EVENT_WINDOW
        while any(ws.close_code is None and not ws.eof for ws in sockets) and time.perf_counter() < deadline:
            pump(0.1)
    finally:
        selector.close()
        logout.close()
        for ws in sockets:
            ws.close()

    n = len(devices)
    check(f"{label}: {n} logouts answered 201, each device heard session.ended with its logout's revocationId", not wrong and not missing,
          f"{len(wrong)} wrong, {len(missing)} missing: {(wrong + missing)[:3]}")
    late = [d for d in after_answer if d > EVENT_WINDOW * 1000]
    check(f"{label}: every session.ended came within {EVENT_WINDOW:.0f} s of its 201", after_answer and not late, f"{len(late)} late, max {max(after_answer, default=0):.0f} ms")
    check(f"{label}: no other socket heard anything", not stray, stray[:3])
    unclosed = [ws.device.phone for ws in sockets if ws.close_code != 4001]
    check(f"{label}: every socket was closed with 4001 after its ack", not unclosed, f"{len(unclosed)} not: {unclosed[:3]}")
    # A few revocations, read through the instance that made them: told and confirmed, even when B told the device.
    sample = [r for r in revocations[:3] + revocations[-1:] if r]
    unconfirmed = [r for r in sample if not all(d.get("notifiedAt") and d.get("acknowledgedAt") for d in revocation_devices(logout_server, key, r) or [{}])]
    check(f"{label}: GET /revocations/{{id}} shows notifiedAt and acknowledgedAt ({len(sample)} sampled)", sample and not unconfirmed, unconfirmed)

    if not after_answer:
        return None
    result = {"logouts": len(after_answer), "eventAfter201Ms": percentiles(after_answer), "eventAfterSendMs": percentiles(after_send),
              "logout201Ms": percentiles(answer_time), "eventBefore201": sum(1 for d in after_answer if d < 0)}
    for what, key_name in [("session.ended after the 201", "eventAfter201Ms"), ("session.ended after sending", "eventAfterSendMs"),
                           ("the 201 after sending", "logout201Ms")]:
        s = result[key_name]
        print(f"     {what:<28} p50 {s['p50']:8.2f} ms   p99 {s['p99']:8.2f} ms   max {s['max']:8.2f} ms")
    print(f"     the event came before the 201 in {result['eventBefore201']} of {len(after_answer)}")
    return result


# --- no window on B --------------------------------------------------------------------------------

def local_ports(pid, remote_port):
    """The local ports of process `pid`'s TCP connections to `remote_port` (its PostgreSQL connections)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[len("socket:["):-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        try:
            rows = open(f"/proc/{pid}/net/{table}").read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[9] in inodes and int(fields[2].rsplit(":", 1)[1], 16) == remote_port:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


class ListenerCutter:
    """Terminates a server's LISTEN connection to PostgreSQL, once or every few milliseconds, through one
    psql session. The server's backend is found in pg_stat_activity by its last query (LISTEN …) and by
    its client_port being one of the server process's own sockets to PostgreSQL."""

    def __init__(self, database, server):
        self.server = server
        self.pg_port = urllib.parse.urlsplit(database).port or 5432
        self.psql = subprocess.Popen(["psql", database, "-qAtX"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.terminated = []  # backend pids, in order
        self.stopping = threading.Event()
        self.thread = None

    def query(self, sql):
        self.psql.stdin.write(sql + ";\n\\echo __done__\n")
        self.psql.stdin.flush()
        lines = []
        while True:
            line = self.psql.stdout.readline()
            if not line:
                raise Failure("psql ended: " + "".join(lines))
            if line.strip() == "__done__":
                return [l.strip() for l in lines if l.strip()]
            lines.append(line)

    def cut(self):
        """Terminates the server's LISTEN backends; returns their pids."""
        ports = local_ports(self.server.process.pid, self.pg_port)
        if not ports:
            return []
        # Materialized first, so pg_terminate_backend is called for the rows chosen and no others.
        rows = self.query("WITH listeners AS MATERIALIZED (SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' "
                          f"AND query ILIKE 'LISTEN%' AND client_port IN ({', '.join(map(str, sorted(ports)))})) "
                          "SELECT pid FROM listeners WHERE pg_terminate_backend(pid)")
        pids = [int(r) for r in rows if r.isdigit() and int(r) not in self.terminated]
        self.terminated += pids
        return pids

    def keep_cutting(self):
        def loop():
            while not self.stopping.is_set():
                self.cut()
                self.stopping.wait(0.005)
        self.thread = threading.Thread(target=loop, daemon=True)
        self.thread.start()

    def stop(self):
        self.stopping.set()
        if self.thread:
            self.thread.join()
        self.psql.stdin.close()
        self.psql.wait()


def refused_at_once(label, a, b, key, devices, cutter=None):
    """Each member logged out through A, then at once GET /me on B with their token: 401 admin_logout, every one."""
    me, logout = b.connection(), a.connection()  # each kept alive

    def status_on(connection, method, path, headers, body=None):
        reply = connection.call(method, path, headers, body)
        return reply.status, reply.value

    try:
        # B reads each session from disk once and keeps it in its index: the refusal below must come from the index.
        known = [status_on(me, "GET", "/me", bearer(device.token))[0] for device in devices]
        check(f"{label}: B takes each of the {len(devices)} tokens made on A (200) before the logouts", all(s == 200 for s in known),
              f"{sum(1 for s in known if s != 200)} not 200")
        cut_first = []
        if cutter:
            cut_first = cutter.cut()
            check(f"{label}: B's LISTEN connection found and terminated before the burst (backend {cut_first})", len(cut_first) == 1, cut_first)
            cutter.keep_cutting()
        answers, refusals = [], []
        started = time.perf_counter()
        for device in devices:
            answers.append(status_on(logout, "POST", "/team-member/logout", {"x-public-key": key}, {"userPhoneNumber": device.phone}))
            refusals.append(status_on(me, "GET", "/me", bearer(device.token)))
        seconds = time.perf_counter() - started
        if cutter:
            cutter.stop()
            print(f"     (B's listener terminated {len(cutter.terminated)} times: once before the burst, "
                  f"{len(cutter.terminated) - len(cut_first)} more times as it reconnected during it)")
    finally:
        me.close()
        logout.close()
    print(f"     ({len(devices)} logouts and GET /me in {seconds:.2f} s)")
    not_created = [f"{d.phone}: {s} {body}" for d, (s, body) in zip(devices, answers) if s != 201]
    check(f"{label}: {len(devices)} logouts through A answered 201", not not_created, f"{len(not_created)} not: {not_created[:3]}")
    taken = [f"{d.phone}: {s} " + (body["reason"] if isinstance(body, dict) and "reason" in body else str(body)[:300]) for d, (s, body) in zip(devices, refusals)
             if not (s == 401 and isinstance(body, dict) and body.get("reason") == "admin_logout")]
    check(f"{label}: GET /me on B right after each 201 refuses the token, 401 admin_logout, {len(devices)} of {len(devices)}",
          not taken, f"{len(taken)} not refused: {taken[:3]}")
    if taken:
        print(f"--- last lines of server {b.name}'s log:\n{b.log_tail(40)}")


# --- main ------------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="PostgreSQL URL of an empty database, or a SQLite path (one instance only); "
                        "default: a throwaway PostgreSQL")
    parser.add_argument("--members", type=int, default=int(os.environ.get("CLUSTER_MEMBERS", "200")), help="members per measurement (200)")
    parser.add_argument("--immediate", type=int, default=int(os.environ.get("CLUSTER_IMMEDIATE", "100")),
                        help="members per GET-right-after-the-201 burst (100)")
    parser.add_argument("--binary", help="the teamgate binary (default: TEAMGATE_BINARY, else the debug build's)")
    parser.add_argument("--out", help="where the delays go (artifacts/cluster-delays.json; -sqlite.json with a SQLite file)")
    args = parser.parse_args()

    if args.binary:
        os.environ["TEAMGATE_BINARY"] = args.binary  # harness.binary() reads it
    started = time.time()
    folder = tempfile.mkdtemp(prefix="teamgate-cluster-")
    postgres = None
    gateway = Gateway()
    servers = []
    try:
        if args.database is None:
            postgres = ThrowawayPostgres(folder)
            database = create_database(postgres.start(), "teamgate_cluster")
        else:
            database = args.database
        shared = database.startswith(("postgres://", "postgresql://"))
        kind = "postgresql" if shared else "sqlite"
        out = args.out or os.path.join(ARTIFACTS, "cluster-delays.json" if shared else "cluster-delays-sqlite.json")
        print(f"cluster-check: {kind} database {database if shared else os.path.abspath(database)}, {args.members} members per measurement")

        cli("org", "create", "--name", "Cluster Check", "--owner-phone", OWNER, database=database, json_output=True)
        key = cli("keys", "create", "--name", "cluster check", database=database, json_output=True)["apiKey"]
        for phone, name in [(LOGGED_OUT, "Asha Rao"), (BYSTANDER, "Ravi Kumar")]:
            cli("members", "add", "--name", name, "--phone", phone, database=database, json_output=True)

        a = instance("A", database, gateway.url(), folder)
        servers.append(a)
        a.start()
        if shared:
            b = instance("B", database, gateway.url(), folder)
            servers.append(b)
            b.start()
        else:
            b = a  # one process owns a SQLite file: the "other instance" parts run on the same one
        print("cluster-check: " + ", ".join(f"server {server.name} on :{server.port}" for server in servers))

        scenario(a, b, key, gateway)

        # Bulk members through the Team API (the CLI adds one per process); one set per measurement,
        # since a logout ends the member's sessions for good.
        sets = [[f"+9197{run}{i:07d}" for i in range(args.members)] for run in (range(2) if shared else range(1))]
        # Two more sets for the bursts of GET /me right after the 201 (with and without B's notifications).
        sets += [[f"+9197{run}{i:07d}" for i in range(args.immediate)] for run in (range(2, 4) if shared else range(2, 3))]
        everyone = [phone for numbers in sets for phone in numbers]
        for start in range(0, len(everyone), 500):
            batch = [{"name": f"Agent {phone[-7:]}", "phone": phone, "orgRoleId": 3} for phone in everyone[start:start + 500]]
            reply = a.call("POST", "/team/members", {"x-public-key": key}, {"members": batch})
            if reply.status not in (200, 201):
                raise Failure(f"POST /team/members answered {reply.status} {reply.value}")
        with ThreadPoolExecutor(max_workers=8) as pool:
            devices = [list(pool.map(lambda phone: sign_in(a, phone, gateway), numbers)) for numbers in sets]
        print(f"cluster-check: {len(everyone)} members added and signed in on A")

        results = {"oneInstance": measure("one instance", a, a, key, devices[0]),
                   "twoInstances": measure("two instances", b, a, key, devices[1]) if shared else None}
        if shared:
            refused_at_once("no window, notifications on", a, b, key, devices[2])
            cutter = ListenerCutter(database, b)
            try:
                refused_at_once("no window, B's listener terminated", a, b, key, devices[3], cutter)
            finally:
                cutter.stop()
        else:
            refused_at_once("no window (one instance: B is A)", a, b, key, devices[1])
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(out, "w") as file:
            json.dump({"database": kind, "membersPerMeasurement": args.members, "measuredAt": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                       "note": "milliseconds; eventAfter201Ms is negative when the device heard before the admin's 201 arrived",
                       **results}, file, indent=2)
            file.write("\n")
        print(f"cluster-check: delays written to {out}")
        if not shared:
            print("cluster-check: SQLite: the two-instance parts ran on one instance; run with PostgreSQL for the real check")
    except Exception as error:  # anything unexpected (a body of the wrong shape too) fails the check, after the cleanup
        tally.crashed(error)
        for server in servers:
            print(f"--- last lines of server {server.name}'s log:\n{server.log_tail()}")
    finally:
        for server in servers:
            server.terminate()
        gateway.stop()
        if postgres:
            postgres.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print(f"cluster-check: {time.time() - started:.0f} s")
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
