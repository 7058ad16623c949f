"""A soak: one TeamGate server on a fresh SQLite file under steady mixed traffic for `--minutes` (60), its
process and files sampled every `--sample-seconds` (10), to find what only time shows: memory, descriptors or
threads that creep up, a WAL that is never checkpointed, a request that starts to hang.

    python3 scripts/checks/soak_check.py                                  # the hour (scripts/soak runs this)
    python3 scripts/checks/soak_check.py --minutes 2 --sample-seconds 2   # CI's size

The server: `bench seed` of 3,000 members (1-5 sessions each), `--otp-sender webhook:` the harness Gateway,
`--session-lifetime-hours 1`, `--webhook-retry-seconds 1`, `--rate-limit-per-second 0` (the logouts here are
load, not a key being throttled), `--webhook-allowed-hosts 127.0.0.1`, the access log on (as in production).
A webhook for `team_member.logged_out` and `session.ended`, registered through the API with the seeded key,
points at a flaky receiver: 10 % of deliveries answered 500, 5 % held ~3 s before the 204.

The traffic, from one Python thread each (paced, so the load is the same at minute 1 and minute 60):
- sign-ins, two threads, ~1.5/s each: POST /auth/otp, the code from the Gateway, POST /auth/login, from a pool of
  ~1,000 127.0.x.y addresses (so the per-address code limits are not what is met); now and then a member signs
  one of their devices out (POST /auth/logout);
- GET /me, ~15/s, with tokens the books hold (mostly live, some ended), on a kept-alive connection and on fresh
  ones from rotating addresses;
- admin logouts, ~2/s: POST /team-member/logout with `x-public-key` and `{"userPhoneNumber"}`;
- WebSockets: /me/events opened at `--sockets-per-second` (10), each held 0.5-3 s (so ~17 are open at once)
  and closed; a fifth of them for any token the books hold, so ended ones are refused (401 with the reason);
- sessions that expire: 300 seeded members, kept out of sign-ins and logouts, have their sessions' expiry set
  (in the SQLite file, before the server starts) to moments spread over 5-85 % of the run, so expiry happens in
  a 2-minute run too (`--session-lifetime-hours 1` makes the hour-long run's early sign-ins expire as well); a
  watcher holds /me/events open on a few of them across their expiry (one it could not open in time, as when the
  machine paused and its wall clock was stepped on waking, is skipped and counted);
- an address spray, ~8/s, each request from a new random address: POST /auth/otp for strangers' numbers, some
  wrong codes on /auth/login and made-up tokens on GET /me, so the in-memory per-address limits meet many
  addresses. As root, `ip route add local 2001:db8:77::/64 dev lo` (removed at the end if this check added it;
  an existing one is used and left), the server on `--host ::` and each client socket bound with
  IPV6_FREEBIND to a random address of that block; otherwise random addresses of 127.128.0.0/9 (loopback,
  no root needed).
Per-member locks serialise each member's sign-ins and logouts, so the check knows what every token must get.

Sampled: VmRSS (and RssAnon), open descriptors (/proc/PID/fd), Threads, the database file and its -wal, and
from /metrics the sessions in memory, open sockets and the webhook queue. At the end a table of the samples
and the least-squares slope per minute of each over the samples after the warm-up (the first 20 % of the run).

Asserted (W = the minutes after the warm-up):
- RSS slope below max(1 MB/min, 16 MB / W): 1 MB/min for the hour (about 30 requests and 10 sockets a second,
  so ~1.7 KB kept per socket opened, or ~0.5 KB per request, is enough to cross it); for a short run a
  bound of 16 MB over the window (10 MB/min at 2 minutes), where early allocations (SQLite's caches, the limiter
  tables of the spray, malloc's arenas) weigh more: a CI run catches only a gross leak. Never above 400 MB;
- descriptors: slope below max(0.5/min, 16 / W) and never above the warm-up's highest + 24 (the load holds
  about 17 sockets and a few connections at once, which the warm-up's highest already includes, give or take
  ten; the flaky receiver up to 4 deliveries);
- threads: slope below max(0.5/min, 8 / W) and never above the warm-up's highest + 8;
- the WAL never above 32 MB, and its highest in the second half of the run at most the first half's + 4 MB
  (SQLite checkpoints and reuses it);
- the database file may grow (sessions, codes, audit events and deliveries are kept): its growth from the seed
  to after the server's stop (counted in pages, with the WAL checkpointed into it), per write the traffic
  caused (sign-ins, logouts, sign-outs; each brings rows in several tables and their indexes), below 8 KB
  (about 1.2 KB here: higher in a short run, where the first inserts split the seed's packed pages);
- no request answered 500 (nor any other 5xx), none failed at the transport, none hung past 10 s (a 429 is
  an expected answer and only counted);
- every answer the books can predict is right: /me and /me/events 200/101 for a live token, 401 with the
  reason (admin_logout, signed_out, expired) for an ended one, during the run and in a sweep at the end; each
  logout's `sessionsEnded` equals the live sessions the books hold; every code asked for a member reached the
  Gateway; each watched socket heard `session.ended` "expired" within 3 s of its session's expiry;
- after the load stops, the webhook queue drains within 45 s once the receiver answers 204;
- /ready answers 200 at the end, and SIGTERM ends the server within 10 s.
Reported only: the slopes of RssAnon, the database and the index; deliveries by outcome; rows per table; the
sessions in memory against the books' live and expired counts; whether the server left its WAL behind at exit;
warnings and errors in the server's log.

`--keep` keeps the folder (database, server log) when everything passed too; it is always kept on a failure.
TEAMGATE_BINARY names the server binary (default: `swift build --show-bin-path`, as the other checks)."""

import argparse
import hashlib
import http.client
import itertools
import os
import random
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from datetime import datetime

from harness import bound_call as harness_bound_call
from harness import Failure, Gateway, Receiver, Server, Tally, answer, bearer, call, member_tokens, seed, wait_for
from wsclient import Refused, WebSocket

MEMBERS = 3000
EXPIRING_MEMBERS = 300
HUNG = 10  # seconds: an answer later than this is a hung request
CLIENT_TIMEOUT = 15
V6_BLOCK = "2001:db8:77::/64"
V6_PREFIX = "2001:db8:77:0:"
HOOK_EVENTS = ["team_member.logged_out", "session.ended"]
SIGN_IN_ADDRESSES = [f"127.0.{a}.{b}" for a in range(10, 14) for b in range(1, 255)]
ME_ADDRESSES = [f"127.0.20.{b}" for b in range(1, 255)]
SWEEP_ADDRESSES = [f"127.0.{a}.{b}" for a in range(30, 40) for b in range(1, 255)]

tally = Tally("soak-check")
check = tally.check


# --- what every request got ------------------------------------------------------------------------

class Stats:
    """Every request's outcome, by kind: statuses, transport errors, 5xx, hung ones; and the books' verdicts."""

    def __init__(self):
        self.lock = threading.Lock()
        self.statuses = {}  # kind -> {status: count}
        self.errors = []  # (kind, error, seconds)
        self.server_errors = []  # (kind, status, body)
        self.hung = []  # (kind, seconds, what)
        self.slowest = 0.0
        self.requests = 0
        self.wrong = []  # answers the books predicted otherwise
        self.notes = {}  # counted happenings: 'sockets refused 401', 'GET /me limited (429)', ...
        self.crashes = []  # tracebacks of load threads that stopped

    def timed(self, kind, send):
        """Runs `send` (which returns a Response); records its outcome; returns the Response or None."""
        started = time.monotonic()
        try:
            response = send()
        except (OSError, http.client.HTTPException) as error:
            took = time.monotonic() - started
            with self.lock:
                self.requests += 1
                self.errors.append((kind, f"{type(error).__name__}: {error}", round(took, 2)))
                if took > HUNG or isinstance(error, TimeoutError):
                    self.hung.append((kind, round(took, 2), type(error).__name__))
            return None
        took = time.monotonic() - started
        with self.lock:
            self.requests += 1
            self.slowest = max(self.slowest, took)
            by_status = self.statuses.setdefault(kind, {})
            by_status[response.status] = by_status.get(response.status, 0) + 1
            if response.status >= 500:
                self.server_errors.append((kind, response.status, response.body[:300]))
            if took > HUNG:
                self.hung.append((kind, round(took, 2), response.status))
        return response

    def count(self, what, n=1):
        with self.lock:
            self.notes[what] = self.notes.get(what, 0) + n

    def mistake(self, what):
        with self.lock:
            self.wrong.append(what)


# --- the books: every token and what it must get ---------------------------------------------------

class Token:
    __slots__ = ("token", "phone", "expires", "ended", "pending", "unknowable")

    def __init__(self, token, phone, expires):
        self.token = token
        self.phone = phone
        self.expires = expires  # epoch seconds
        self.ended = None  # the reason, once the books know it ended
        self.pending = False  # a request that may end it is on its way
        self.unknowable = False  # its end raced its expiry, or its request got no answer

    def expected(self, now):
        """What GET /me must answer now: 'live', a 401 reason, or None when it cannot be said."""
        if self.pending or self.unknowable:
            return None
        if self.ended:
            return self.ended
        if abs(self.expires - now) < 3:
            return None
        return "expired" if self.expires <= now else "live"


class Member:
    def __init__(self, phone):
        self.phone = phone
        self.lock = threading.Lock()
        self.tokens = []  # not known to have ended


class Books:
    def __init__(self):
        self.lock = threading.Lock()
        self.members = {}
        self.regular = []  # signed in and logged out
        self.expiring = []  # only expire
        self.everything = []  # every Token ever
        self.pool = []  # tokens possibly live, for /me and sockets
        self.sign_ins = self.logouts = self.sign_outs = 0

    def add(self, token):
        with self.lock:
            self.everything.append(token)
            self.pool.append(token)
        self.members[token.phone].tokens.append(token)

    def counted(self, what):
        with self.lock:
            setattr(self, what, getattr(self, what) + 1)

    def pick_live(self):
        """A token of the pool that the books still think live (ended or expired ones are dropped on the way)."""
        now = time.time()
        with self.lock:
            while self.pool:
                i = random.randrange(len(self.pool))
                token = self.pool[i]
                if token.ended is None and token.expires > now - 5:
                    return token
                self.pool[i] = self.pool[-1]
                self.pool.pop()
        return None

    def pick_any(self):
        with self.lock:
            return random.choice(self.everything)

    def live_count(self, now):
        with self.lock:
            return sum(1 for t in self.everything if t.ended is None and t.expires > now)


def judge(stats, what, token, before, after, status, reason):
    """Compares an answer with the books' prediction, when the prediction held all through the request."""
    if before is None or before != after:
        return
    if status == 429:
        stats.count(f"{what} limited (429)")
        return
    right = (status in (200, 101)) if before == "live" else (status == 401 and reason == before)
    if not right:
        stats.mistake(f"{what} for a token the books call {before} ({token.phone}): {status} {reason}")


# --- clients from other addresses ------------------------------------------------------------------

def bound_call(host, port, method, path, headers=None, body=None, source=None, timeout=CLIENT_TIMEOUT):
    return harness_bound_call(host, port, method, path, headers, body, source=source, timeout=timeout)


def ipv6_block():
    """Makes 2001:db8:77::/64 local on lo. Returns (usable, added_here); says why when it is not usable."""
    if os.geteuid() != 0:
        print("note: not root: the address spray uses 127.128.0.0/9 instead of an IPv6 block")
        return False, False
    done = subprocess.run(["ip", "route", "add", "local", V6_BLOCK, "dev", "lo"], capture_output=True, text=True)
    if done.returncode == 0:
        return True, True
    if "File exists" in done.stderr:
        print(f"note: the route for {V6_BLOCK} already exists: used, and left in place")
        return True, False
    print(f"note: `ip route add local {V6_BLOCK} dev lo` failed ({done.stderr.strip()}): the spray uses 127.128.0.0/9")
    return False, False


def remove_ipv6_block():
    done = subprocess.run(["ip", "route", "del", "local", V6_BLOCK, "dev", "lo"], capture_output=True, text=True)
    check(f"the route for {V6_BLOCK} this check added is removed", done.returncode == 0, done.stderr.strip())


def random_v6():
    return V6_PREFIX + ":".join(f"{random.getrandbits(16):x}" for _ in range(4))


def random_v4():
    return f"127.{random.randrange(128, 255)}.{random.randrange(256)}.{random.randrange(1, 255)}"


# --- the load --------------------------------------------------------------------------------------

class Load:
    def __init__(self, server, gateway, key, books, stats, deadline, spray_v6, scale, sockets_rate):
        self.server = server
        self.gateway = gateway
        self.key = key
        self.books = books
        self.stats = stats
        self.deadline = deadline
        self.spray_v6 = spray_v6
        self.scale = scale
        self.sockets_rate = sockets_rate
        self.stop = threading.Event()
        self.watched = []  # (phone, expiry, heard: (seconds after expiry, reason, close code) or None)

    def paced(self, rate, step):
        """Calls `step` about `rate` times a second until told to stop."""
        interval = 1.0 / (rate * self.scale)
        following = time.monotonic()
        while not self.stop.is_set():
            step()
            following += interval * random.uniform(0.5, 1.5)
            self.stop.wait(max(0.0, following - time.monotonic()))
            following = max(following, time.monotonic() - 5 * interval)  # a slow step is not made up with a burst

    def thread(self, name, target, *args):
        def run():
            try:
                target(*args)
            except Exception:  # a bug of this check, or a server answer it cannot read: the thread's FAIL
                self.stats.crashes.append(f"{name}:\n{traceback.format_exc()}")
        worker = threading.Thread(target=run, name=name, daemon=True)
        worker.start()
        return worker

    def start(self):
        addresses = itertools.cycle(SIGN_IN_ADDRESSES)
        lock = threading.Lock()

        def next_address():
            with lock:
                return next(addresses)
        return [self.thread("sign-in 1", self.paced, 1.5, lambda: self.sign_in(next_address())),
                self.thread("sign-in 2", self.paced, 1.5, lambda: self.sign_in(next_address())),
                self.thread("me", self.me_loop),
                self.thread("logout", self.paced, 2, self.logout),
                *([self.thread("sockets", self.sockets_loop, self.sockets_rate)] if self.sockets_rate > 0 else []),
                self.thread("expiry watcher", self.watch_expiries),
                self.thread("spray", self.paced, 8, self.spray)]

    # sign-ins and sign-outs

    def sign_in(self, source):
        member = random.choice(self.books.regular)
        with member.lock:
            self.gateway.codes.pop(member.phone, None)  # a code that came too late for an earlier try
            reply = self.stats.timed("POST /auth/otp", lambda: call(
                "POST", self.server.url("/auth/otp"), body={"phoneNumber": member.phone}, source=source, timeout=CLIENT_TIMEOUT))
            if reply is None or reply.status != 202:
                return
            code = self.gateway.wait_code(member.phone, timeout=10)
            if code is None:
                self.stats.mistake(f"no code reached the gateway within 10 s for {member.phone}")
                return
            reply = self.stats.timed("POST /auth/login", lambda: call(
                "POST", self.server.url("/auth/login"), body={"phoneNumber": member.phone, "code": code, "deviceName": "soak"},
                source=source, timeout=CLIENT_TIMEOUT))
            if reply is None or reply.status != 201:
                if reply is not None and reply.status != 429:
                    self.stats.mistake(f"POST /auth/login with the gateway's code answered {reply.status} {reply.body[:200]!r}")
                return
            expires = datetime.fromisoformat(reply.json["expiresAt"].replace("Z", "+00:00")).timestamp()
            self.books.add(Token(reply.json["token"], member.phone, expires))
            self.books.counted("sign_ins")
            if random.random() < 0.15:
                self.sign_out(member)

    def sign_out(self, member):
        """One of the member's devices signs itself out (the caller holds the member's lock)."""
        now = time.time()
        candidates = [t for t in member.tokens if t.ended is None and t.expires > now + 5]
        if not candidates:
            return
        token = random.choice(candidates)
        token.pending = True
        reply = self.stats.timed("POST /auth/logout", lambda: call(
            "POST", self.server.url("/auth/logout"), bearer(token.token), timeout=CLIENT_TIMEOUT))
        if reply is None:
            token.unknowable = True
        elif reply.status in (200, 204):
            token.ended = "signed_out"
            self.books.counted("sign_outs")
        else:
            self.stats.mistake(f"POST /auth/logout for a live token answered {reply.status} {reply.body[:200]!r}")
            token.unknowable = True
        token.pending = False
        member.tokens = [t for t in member.tokens if t.ended is None]

    # admin logouts

    def logout(self):
        member = random.choice(self.books.regular)
        with member.lock:
            now = time.time()
            targets = [t for t in member.tokens if t.ended is None and t.expires > now + 3]
            racing = [t for t in member.tokens if t.ended is None and abs(t.expires - now) <= 3]
            for t in targets + racing:
                t.pending = True
            body = {"userPhoneNumber": member.phone}
            if random.random() < 0.2:
                body["reason"] = "soak check"
            reply = self.stats.timed("POST /team-member/logout", lambda: call(
                "POST", self.server.url("/team-member/logout"), {"x-public-key": self.key}, body, timeout=CLIENT_TIMEOUT))
            if reply is None:
                for t in targets + racing:
                    t.unknowable = True
            elif reply.status == 201:
                ended = (reply.json or {}).get("sessionsEnded")
                if not racing and ended != len(targets):
                    self.stats.mistake(f"logout of {member.phone} ended {ended} sessions; the books hold {len(targets)} live")
                for t in targets:
                    t.ended = "admin_logout"
                for t in racing:
                    t.unknowable = True
                self.books.counted("logouts")
            elif reply.status != 429:
                self.stats.mistake(f"POST /team-member/logout answered {reply.status} {reply.body[:200]!r}")
            for t in targets + racing:
                t.pending = False
            member.tokens = [t for t in member.tokens if t.ended is None and not t.unknowable]

    # GET /me

    def me_loop(self):
        connection = self.server.connection(timeout=CLIENT_TIMEOUT)
        turn = 0
        try:
            def step():
                nonlocal turn
                turn += 1
                token = self.books.pick_any() if turn % 10 == 0 else self.books.pick_live()
                if token is None:
                    return
                before = token.expected(time.time())
                if turn % 5 == 0:
                    source = ME_ADDRESSES[turn // 5 % len(ME_ADDRESSES)]
                    reply = self.stats.timed("GET /me", lambda: call("GET", self.server.url("/me"), bearer(token.token),
                                                                      source=source, timeout=CLIENT_TIMEOUT))
                else:
                    reply = self.stats.timed("GET /me", lambda: connection.call("GET", "/me", bearer(token.token)))
                if reply is not None:
                    judge(self.stats, "GET /me", token, before, token.expected(time.time()), reply.status,
                          (reply.json or {}).get("reason") if reply.status != 200 else None)
            self.paced(15, step)
        finally:
            connection.close()

    # sockets

    def sockets_loop(self, rate):
        """Opens about `rate` sockets a second, each held 0.5-3 s (so ~2 x rate are open at once), then closed."""
        held = []  # (socket, when to close it)
        try:
            def step():
                self.open_socket(held)
                ready, _, _ = select.select([ws for ws, _ in held], [], [], 0) if held else ([], [], [])
                for ws in ready:
                    ws.read()
                now = time.monotonic()
                for entry in [e for e in held if e[1] <= now]:
                    held.remove(entry)
                    self.close_socket(entry[0])
            self.paced(rate, step)
        finally:
            for ws, _ in held:
                ws.close()

    def open_socket(self, held):
        token = self.books.pick_any() if random.random() < 0.2 else self.books.pick_live()
        if token is None:
            return
        before = token.expected(time.time())
        started = time.monotonic()
        try:
            ws = WebSocket(self.server.port, token)
        except Refused as refused:
            self.stats.count(f"sockets refused {refused.status}")
            judge(self.stats, "GET /me/events", token, before, token.expected(time.time()), refused.status,
                  (refused.body or {}).get("reason") if isinstance(refused.body, dict) else None)
            return
        except (OSError, Failure) as error:
            with self.stats.lock:
                self.stats.errors.append(("GET /me/events", f"{type(error).__name__}: {error}", round(time.monotonic() - started, 2)))
            return
        judge(self.stats, "GET /me/events", token, before, token.expected(time.time()), 101, None)
        self.stats.count("sockets opened")
        held.append((ws, time.monotonic() + random.uniform(0.5, 3)))

    def close_socket(self, ws):
        try:
            ws.wait(lambda w: w.inbox, 2)
            first = ws.inbox[0][1] if ws.inbox else None
            if first is None or first.get("type") not in ("session.active", "session.ended"):
                self.stats.mistake(f"a socket for a live token heard first {first}")
            for _, message in ws.inbox:
                if message.get("type") in ("session.ended", "socket.replaced"):
                    self.stats.count(f"sockets told {message.get('type')} {message.get('reason')}")
        finally:
            ws.close()

    def watch_expiries(self):
        """Holds /me/events open on expiring sessions across their expiry, one after another."""
        run = self.deadline - time.time()
        spacing = max(10.0, run / 60)
        following = time.time() + 5
        for token in sorted((t for m in self.books.expiring for t in m.tokens[:1]), key=lambda t: t.expires):
            if self.stop.is_set():
                return
            if token.expires < following or token.expires > self.deadline - 5:
                continue
            following = token.expires + spacing
            if self.stop.wait(max(0.0, token.expires - 4 - time.time())):
                return
            # The wait runs on the monotonic clock, the expiry on the wall clock: when the machine pauses (a VM
            # snapshot stopped CI's for 6 s), the wall clock is stepped on waking and the moment is gone.
            sent = time.time()
            if sent > token.expires - 1:
                self.stats.count("expiry watcher: woke after the moment to open (the machine paused), skipped")
                continue
            try:
                ws = WebSocket(self.server.port, token)
            except (Refused, OSError, Failure) as error:
                answered = time.time()
                reason = error.body.get("reason") if isinstance(error, Refused) and isinstance(error.body, dict) else None
                if reason == "expired" and answered >= token.expires:
                    self.stats.count("expiry watcher: answered after the expiry (the machine paused), skipped")
                    continue
                self.stats.mistake(f"a socket for a session {token.expires - sent:.2f} s before its expiry (answered "
                                   f"{token.expires - answered:.2f} s before it) was refused: {error} {error.body if isinstance(error, Refused) else ''}")
                continue
            try:
                ws.wait(lambda w: any(m.get("type") == "session.ended" for _, m in w.inbox) and w.close_code is not None,
                        token.expires - time.time() + 6)
                heard = next(((at, m) for at, m in ws.inbox if m.get("type") == "session.ended"), None)
                if heard:
                    late = heard[0] - time.perf_counter() + time.time() - token.expires
                    self.watched.append((token.phone, token.expires, (round(late, 2), heard[1].get("reason"), ws.close_code)))
                else:
                    self.watched.append((token.phone, token.expires, None))
            finally:
                ws.close()

    # the spray

    def spray(self):
        source = random_v6() if self.spray_v6 else random_v4()
        host = "::1" if self.spray_v6 else "127.0.0.1"
        port = self.server.port
        kind = random.random()
        if kind < 0.7:
            stranger = f"+1415{random.randrange(10**7):07d}"
            self.stats.timed("spray POST /auth/otp", lambda: bound_call(host, port, "POST", "/auth/otp", body={"phoneNumber": stranger}, source=source))
        elif kind < 0.85:
            phone = random.choice(self.books.regular).phone
            body = {"phoneNumber": phone, "code": f"{random.randrange(10**6):06d}", "deviceName": "spray"}
            reply = self.stats.timed("spray POST /auth/login", lambda: bound_call(host, port, "POST", "/auth/login", body=body, source=source))
            if reply is not None and reply.status == 201:
                self.stats.mistake(f"a guessed code signed {phone} in")
        else:
            made_up = "tgs_" + "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(43))
            self.stats.timed("spray GET /me", lambda: bound_call(host, port, "GET", "/me", bearer(made_up), source=source))


# --- samples ---------------------------------------------------------------------------------------

def proc_status(pid):
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "RssAnon", "Threads"):
                values[name] = int(rest.split()[0])
    return values


def file_mb(path):
    try:
        return os.path.getsize(path) / 2**20
    except FileNotFoundError:
        return 0.0


def metrics(server, stats):
    reply = stats.timed("GET /metrics", lambda: server.call("GET", "/metrics", timeout=CLIENT_TIMEOUT))
    found = {}
    if reply is None or reply.status != 200:
        return found
    for line in reply.body.decode(errors="replace").splitlines():
        if line.startswith("#") or " " not in line:
            continue
        name, _, value = line.rpartition(" ")
        try:
            found[name] = float(value)
        except ValueError:
            continue
    return found


def sample(server, stats, started):
    pid = server.process.pid
    status = proc_status(pid)
    found = metrics(server, stats)
    return {"t": (time.monotonic() - started) / 60,
            "rss": status["VmRSS"] / 1024, "anon": status.get("RssAnon", 0) / 1024,
            "fds": len(os.listdir(f"/proc/{pid}/fd")), "threads": status["Threads"],
            "db": file_mb(server.database), "wal": file_mb(server.database + "-wal"),
            "index": found.get("teamgate_sessions_in_memory"), "sockets": found.get("teamgate_open_sockets"),
            "queue": found.get("teamgate_webhook_queue_depth"), "requests": stats.requests}


COLUMNS = [("t", "min", "{:.2f}"), ("rss", "RSS MB", "{:.1f}"), ("anon", "anon MB", "{:.1f}"), ("fds", "fds", "{}"),
           ("threads", "threads", "{}"), ("db", "db MB", "{:.2f}"), ("wal", "wal MB", "{:.2f}"), ("index", "index", "{:.0f}"),
           ("sockets", "sockets", "{:.0f}"), ("queue", "queue", "{:.0f}"), ("rate", "req/s", "{:.0f}")]


def print_table(samples):
    print("  ".join(f"{title:>8}" for _, title, _ in COLUMNS))
    previous = None
    for s in samples:
        s["rate"] = (s["requests"] - previous["requests"]) / max(1e-9, (s["t"] - previous["t"]) * 60) if previous else 0
        previous = s
        print("  ".join(f"{('-' if s[k] is None else form.format(s[k])):>8}" for k, _, form in COLUMNS))


def slope(points):
    """Least-squares slope of (x, y) points; 0 with fewer than two."""
    points = [(x, y) for x, y in points if y is not None]
    if len(points) < 2:
        return 0.0
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0


# --- set-up ----------------------------------------------------------------------------------------

def stagger_expiries(database, books, expiring, first, last):
    """Sets the seeded sessions of the `expiring` members to expire at moments spread over [first, last]."""
    tokens = [token for member in expiring for token in member.tokens]
    random.shuffle(tokens)
    with sqlite3.connect(database) as db:
        for i, token in enumerate(tokens):
            token.expires = round(first + (last - first) * i / max(1, len(tokens) - 1))
            changed = db.execute("UPDATE sessions SET expires_at = ? WHERE token_hash = ?",
                                 (int(token.expires * 1000), hashlib.sha256(token.token.encode()).digest())).rowcount
            if changed != 1:
                raise Failure(f"no seeded session has the SHA-256 of token {token.token[:8]}…: cannot set its expiry")
    db.close()
    return len(tokens)


def content_mb(database):
    """The database's size in pages, once whatever its WAL holds is checkpointed into the file (the server is stopped)."""
    db = sqlite3.connect(database)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        pages, size = db.execute("PRAGMA page_count").fetchone()[0], db.execute("PRAGMA page_size").fetchone()[0]
    finally:
        db.close()
    return pages * size / 2**20


def table_rows(database):
    """Rows per table of the stopped server's SQLite file (read only)."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        names = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        counts = {n: db.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
    db.close()
    return counts


def create_hook(server, key, url):
    reply = server.call("POST", "/webhooks", {"x-public-key": key}, {"url": url, "events": HOOK_EVENTS})
    if reply.status != 201:
        raise Failure(f"POST /webhooks answered {reply.status} {reply.body[:200]!r}")
    return reply.json["id"]


class Flaky:
    """The webhook receiver's answers: 10 % 500, 5 % a 3 s wait before the 204; all 204 once `healthy`."""

    def __init__(self):
        self.healthy = False

    def __call__(self, handler):
        roll = random.random()
        if not self.healthy and roll < 0.10:
            answer(500)(handler)
            return
        if not self.healthy and roll < 0.15:
            time.sleep(3)
        answer(204)(handler)


def log_problems(server):
    """The server's warning, error and critical lines, by message (its bracketed source and text, ids cut)."""
    found = {}
    for line in server.log().splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[1] in ("warning", "error", "critical"):
            text = parts[2]
            text = text[text.find("[") :] if "[" in text else text
            key = f"{parts[1]} {text[:160]}"
            found[key] = found.get(key, 0) + 1
    return found


# --- the run ---------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60, help="how long the traffic runs (60)")
    parser.add_argument("--sample-seconds", type=float, default=10, help="seconds between samples (10)")
    parser.add_argument("--load", type=float, default=1.0, help="a factor on every thread's pace (1.0)")
    parser.add_argument("--sockets-per-second", type=float, default=10, help="/me/events sockets opened a second (10; 0: none but the expiry watcher's)")
    parser.add_argument("--keep", action="store_true", help="keep the folder (database, server log) even when all passed")
    arguments = parser.parse_args()
    duration = arguments.minutes * 60
    # SIGTERM (a CI timeout) unwinds like Ctrl-C, so the server is stopped and the route removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    folder = tempfile.mkdtemp(prefix="teamgate-soak-")
    v6, route_added = ipv6_block()
    stats, books = Stats(), Books()
    server = gateway = receiver = None
    load = None
    try:
        database = os.path.join(folder, "teamgate.sqlite")
        key, _ = seed(database, MEMBERS, folder)
        numbers, tokens_of = member_tokens(folder)
        for phone in numbers:
            books.members[phone] = Member(phone)
        far = time.time() + 30 * 24 * 3600
        for phone, tokens in tokens_of.items():
            for token in tokens:
                books.add(Token(token, phone, far))  # bench seed's sessions last 30 days; the expiring ones are set below
        books.expiring = [books.members[p] for p in numbers[-EXPIRING_MEMBERS:]]
        books.regular = [books.members[p] for p in numbers[:-EXPIRING_MEMBERS]]
        planned = time.time() + 5  # the traffic starts about then
        staggered = stagger_expiries(database, books, books.expiring, planned + 0.05 * duration, planned + 0.85 * duration)
        seeded_mb = content_mb(database)

        gateway = Gateway()
        flaky = Flaky()
        receiver = Receiver(flaky)
        args = ["--otp-sender", "webhook:" + gateway.url(), "--session-lifetime-hours", "1", "--webhook-retry-seconds", "1",
                "--rate-limit-per-second", "0", "--webhook-allowed-hosts", "127.0.0.1"]
        if v6:
            args += ["--host", "::"]
        server = Server(args, database=database, folder=folder, ready="/ready").start()
        if v6:  # the spray's path, tried once: a bound socket to ::1
            probe = bound_call("::1", server.port, "GET", "/health", source=random_v6(), timeout=5)
            if probe.status != 200:
                raise Failure(f"GET /health from {V6_BLOCK} answered {probe.status}")
        hook = create_hook(server, key, receiver.url())
        print(f"binary {server.command[0]} ({datetime.fromtimestamp(os.path.getmtime(server.command[0])).isoformat(timespec='seconds')})")
        print(f"server pid {server.process.pid} on :{server.port}{' (host ::)' if v6 else ''}, {MEMBERS} members, "
              f"{len(books.everything)} seeded sessions ({staggered} set to expire during the run), webhook {hook}; "
              f"spray from {'random ' + V6_BLOCK if v6 else 'random 127.128.0.0/9'}; {arguments.minutes:g} min, "
              f"a sample every {arguments.sample_seconds:g} s")

        started = time.monotonic()
        load = Load(server, gateway, key, books, stats, time.time() + duration, v6, arguments.load, arguments.sockets_per_second)
        threads = load.start()
        samples = [sample(server, stats, started)]
        while time.monotonic() - started < duration:
            time.sleep(min(arguments.sample_seconds, max(0.0, duration - (time.monotonic() - started))))
            if server.process.poll() is not None:
                raise Failure(f"the server exited with {server.process.poll()} during the soak:\n{server.log_tail(40)}")
            samples.append(sample(server, stats, started))
            if len(samples) % max(1, int(60 / arguments.sample_seconds)) == 0:
                s = samples[-1]
                print(f"  {s['t']:.1f} min: RSS {s['rss']:.1f} MB, {s['fds']} fds, {s['threads']} threads, WAL {s['wal']:.1f} MB, "
                      f"{stats.requests} requests", flush=True)
        load.stop.set()
        for worker in threads:
            worker.join(30)
        still = [w.name for w in threads if w.is_alive()]

        # after the load: the webhook queue, the books' sweep, /ready, SIGTERM
        flaky.healthy = True
        drained_at = time.monotonic()
        drained = wait_for(lambda: metrics(server, stats).get("teamgate_webhook_queue_depth") == 0, 45, step=1)
        drain_seconds = time.monotonic() - drained_at
        found = metrics(server, stats)
        now = time.time()
        live = books.live_count(now)
        sweep = random.sample(books.everything, min(3000, len(books.everything)))
        addresses = itertools.cycle(SWEEP_ADDRESSES)
        for i, token in enumerate(sweep):
            source = next(addresses) if i % 40 == 0 else source
            before = token.expected(time.time())
            if before is None:
                continue
            reply = stats.timed("sweep GET /me", lambda: call("GET", server.url("/me"), bearer(token.token), source=source, timeout=CLIENT_TIMEOUT))
            if reply is not None:
                judge(stats, "sweep GET /me", token, before, token.expected(time.time()), reply.status,
                      (reply.json or {}).get("reason") if reply.status != 200 else None)
        verdicts = {}
        for t in sweep:
            verdict = t.expected(time.time())
            verdicts[verdict] = verdicts.get(verdict, 0) + 1
        judged = len(sweep) - verdicts.get(None, 0)
        ready = stats.timed("GET /ready", lambda: server.call("GET", "/ready", timeout=CLIENT_TIMEOUT))
        stopping = time.monotonic()
        server.process.terminate()
        try:
            code = server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            code = None
        stop_seconds = time.monotonic() - stopping
        server.kill()
        wal_left = file_mb(server.database + "-wal") if os.path.exists(server.database + "-wal") else None
        final_mb = content_mb(server.database)
        rows = table_rows(server.database)

        # the figures
        print()
        print_table(samples)
        warm = duration / 60 * 0.2
        after = [s for s in samples if s["t"] >= warm]
        window = (after[-1]["t"] - after[0]["t"]) if len(after) > 1 else 0
        slopes = {k: slope([(s["t"], s[k]) for s in after]) for k in ("rss", "anon", "fds", "threads", "db", "wal", "index", "queue")}
        print(f"\nslopes per minute over {len(after)} samples after the {warm:.1f}-minute warm-up ({window:.1f} min): "
              + ", ".join(f"{k} {v:+.3f}" for k, v in slopes.items()))
        warm_samples = [s for s in samples if s["t"] < warm] or samples[:1]
        writes = books.sign_ins + books.logouts + books.sign_outs
        growth_kb = (final_mb - seeded_mb) * 1024 / max(1, writes)
        print(f"traffic: {stats.requests} requests; {books.sign_ins} sign-ins, {books.logouts} logouts, {books.sign_outs} sign-outs; "
              f"slowest answer {stats.slowest:.2f} s")
        for kind, by_status in sorted(stats.statuses.items()):
            print(f"  {kind}: {dict(sorted(by_status.items()))}")
        print(f"  counted: {dict(sorted(stats.notes.items()))}")
        print(f"database: {seeded_mb:.2f} MB seeded, {final_mb:.2f} MB after the stop (its pages, the WAL checkpointed): "
              f"{growth_kb:.2f} KB per write ({writes} writes); the server left "
              + ("no WAL" if wal_left is None else f"its WAL ({wal_left:.2f} MB) behind, not checkpointed at exit"))
        outcomes = {k.split('"')[1]: int(v) for k, v in found.items() if k.startswith("teamgate_webhook_deliveries_total{")}
        print(f"  rows after the run: {rows}")
        print(f"webhook deliveries: {outcomes}; receiver got {len(receiver.hits)}; queue drained in {drain_seconds:.1f} s"
              if drained else f"webhook deliveries: {outcomes}; queue NOT drained after {drain_seconds:.1f} s")
        expired = sum(1 for t in books.everything if t.ended is None and not t.unknowable and t.expires <= now)
        print(f"sessions in memory at the end: {found.get('teamgate_sessions_in_memory')}; the books: {live} live, "
              f"{expired} expired (never ended)")
        print(f"sweep: {len(sweep)} tokens, by what the books expect: {dict(sorted(verdicts.items(), key=str))}")
        heard = [w for w in load.watched if w[2]]
        print(f"expiry watcher: {len(load.watched)} sockets, lateness (s, reason, close): {[w[2] for w in load.watched]}")
        problems = log_problems(server)
        print(f"server log: {sum(problems.values())} warning/error lines" + "".join(f"\n  {n} x {p}" for p, n in sorted(problems.items())))
        print(f"SIGTERM: exit {code} after {stop_seconds:.2f} s")

        # the checks
        check("every load thread ran to the end", not stats.crashes and not still, "\n".join(stats.crashes) + f" still running: {still}")
        rss_bound = max(1.0, 16 / max(window, 1e-9))
        check(f"RSS slope after the warm-up below {rss_bound:.1f} MB/min", slopes["rss"] < rss_bound, f"{slopes['rss']:+.3f} MB/min")
        check("RSS never above 400 MB", max(s["rss"] for s in samples) < 400, f"{max(s['rss'] for s in samples):.0f} MB")
        for measure, per_minute, margin, total in (("fds", 0.5, 24, 16), ("threads", 0.5, 8, 8)):
            bound = max(per_minute, total / max(window, 1e-9))
            check(f"{measure} slope after the warm-up below {bound:.2f}/min", slopes[measure] < bound, f"{slopes[measure]:+.3f}/min")
            ceiling = max(s[measure] for s in warm_samples) + margin
            highest = max(s[measure] for s in samples)
            check(f"{measure} never above the warm-up's highest + {margin} ({ceiling})", highest <= ceiling, f"highest {highest}")
        half = duration / 60 / 2
        first_wal = max([s["wal"] for s in samples if s["t"] < half] or [0])
        second_wal = max([s["wal"] for s in samples if s["t"] >= half] or [0])
        check("the WAL never above 32 MB", max(s["wal"] for s in samples) <= 32, f"{max(s['wal'] for s in samples):.1f} MB")
        check("the WAL stops growing: its highest in the second half at most the first half's + 4 MB",
              second_wal <= first_wal + 4, f"first half {first_wal:.1f} MB, second {second_wal:.1f} MB")
        check("the database grows less than 8 KB per write", growth_kb < 8, f"{growth_kb:.2f} KB")
        check("no request answered 5xx", not stats.server_errors, f"{len(stats.server_errors)}: {stats.server_errors[:5]}")
        check("no request failed at the transport", not stats.errors, f"{len(stats.errors)}: {stats.errors[:5]}")
        check(f"no request hung past {HUNG} s", not stats.hung, f"{stats.hung[:5]}")
        check("every answer the books could predict was right", not stats.wrong, f"{len(stats.wrong)}: {stats.wrong[:8]}")
        check(f"the sweep judged tokens at the end ({judged} of {len(sweep)})", judged > len(sweep) // 2, str(judged))
        check("the traffic was what was planned (sign-ins, logouts, sockets, spray all happened)",
              books.sign_ins > 0 and books.logouts > 0 and (stats.notes.get("sockets opened", 0) > 0 or arguments.sockets_per_second <= 0)
              and sum(stats.statuses.get("spray POST /auth/otp", {}).values()) > 0, "")
        check("every watched socket heard session.ended expired within 3 s of its expiry, then 4001",
              load.watched and len(heard) == len(load.watched)
              and all(-1 <= w[2][0] <= 3 and w[2][1] == "expired" and w[2][2] == 4001 for w in heard), str(load.watched))
        check("the webhook queue drained within 45 s after the load", bool(drained), f"{found.get('teamgate_webhook_queue_depth')}")
        check("/ready answers 200 at the end", ready is not None and ready.status == 200, f"{ready and ready.status}")
        check("SIGTERM ends the server within 10 s", code is not None, f"{stop_seconds:.1f} s")
    except Exception as error:  # the check's own failure is one FAIL, with the server's log
        tally.crashed(error)
        if server is not None:
            print(server.log_tail(40))
    finally:
        if load is not None:
            load.stop.set()
        if server is not None:
            server.terminate()
        for part in (gateway, receiver):
            if part is not None:
                part.stop()
        if route_added:
            remove_ipv6_block()
    if tally.failed or arguments.keep:
        print(f"kept for a look: {folder}")
    else:
        shutil.rmtree(folder, ignore_errors=True)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
