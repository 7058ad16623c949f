"""Attacks against a real TeamGate server; each check is something an attacker must not achieve: webhooks aimed at
private addresses or led there by a redirect; a hanging or gzip-bomb receiver holding up others or eating
memory; /auth/otp telling members, strangers and locked members apart; locking the owner out of codes from
another address; guessing codes across many numbers; spoofing X-Forwarded-For; unlimited unknown keys and
tokens; more than 5 sockets per session; guessable list cursors. Receivers and 127.0.0.x clients are local."""

import functools
import os
import secrets
import struct
import sys
import threading
import time
import urllib.parse
import zlib
from types import SimpleNamespace

from harness import Receiver, Tally, answer, binary, start_server, wait_for
from wsclient import WebSocket

tally = Tally("security-check")
check = tally.check
STRANGER = "+14155550123"
HOOK_EVENTS = ["team_member.logged_out"]
LOCAL_HOOKS = ["--webhook-allowed-hosts", "127.0.0.1"]


def admin(server, method, path, body=None, source=None):
    return server.call(method, path, {"x-public-key": server.api_key}, body, source=source)


def ask_code(server, phone, source=None, headers=None):
    return server.call("POST", "/auth/otp", headers, {"phoneNumber": phone}, source=source)


def log_out(server, phone, **extra):
    return admin(server, "POST", "/team-member/logout", {"userPhoneNumber": phone, **extra})


def create_hook(server, url):
    reply = admin(server, "POST", "/webhooks", {"url": url, "events": HOOK_EVENTS})
    if reply.status != 201:
        raise RuntimeError(f"webhook at {url} not created: {reply.status} {reply.body[:200]!r}")
    return reply.json["id"]


def deliveries(server, hook_id):
    return (admin(server, "GET", f"/webhooks/{hook_id}/deliveries").json or {}).get("data") or []


def private_webhook_targets_are_refused():
    with start_server(demo=True) as server:
        port = server.port
        targets = ["http://169.254.169.254/latest/meta-data/", f"http://127.0.0.1:{port}/", "http://10.0.0.5/", "http://[::1]/",
                   "http://2130706433/", "http://0x7f000001/", "http://0177.0.0.1/", "http://[::ffff:127.0.0.1]/",
                   "http://100.64.0.1/", "http://192.168.1.1/", "http://172.16.0.1/", "http://[fe80::1]/", "http://[fc00::1]/",
                   "http://224.0.0.1/", "http://0.0.0.0/", f"http://localhost:{port}/"]
        for url in targets:
            reply = admin(server, "POST", "/webhooks", {"url": url, "events": HOOK_EVENTS})
            body = reply.json or {}
            messages = body.get("message") if isinstance(body, dict) else None
            refused = (reply.status == 400 and body.get("statusCode") == 400 and body.get("error") == "Bad Request"
                       and isinstance(messages, list) and any("private" in str(m).lower() for m in messages))
            check(f"a webhook at {url} is refused as private (400)", refused, f"{reply.status} {reply.body[:160]!r}")
        reply = admin(server, "POST", "/webhooks", {"url": "http://1.1.1.1/hook", "events": HOOK_EVENTS})
        check("a webhook at a public address is still accepted (201)", reply.status == 201, f"{reply.status} {reply.body[:160]!r}")


def redirect_does_not_reach_inside():
    with Receiver(answer(204)) as inside, Receiver(answer(307, [("Location", inside.url("/stolen"))])) as redirect, \
            start_server(LOCAL_HOOKS, demo=True) as server:
        hook = create_hook(server, redirect.url())
        reply = log_out(server, server.member("Meera Iyer").phone)
        check("the logout that fires the webhook answers 201", reply.status == 201, str(reply.status))
        answered = wait_for(lambda: [d for d in deliveries(server, hook) if d.get("lastStatus") is not None], 10, step=0.25)
        delivery = (answered or deliveries(server, hook) or [{}])[0]
        time.sleep(0.3)
        check("a 307 from the receiver is recorded as its answer, not followed (lastStatus 307, not delivered)",
              delivery.get("lastStatus") == 307 and delivery.get("state") in ("pending", "failed"), str(delivery))
        check("the redirect's target inside got no request", not inside.hits and redirect.hits,
              f"inside got {len(inside.hits)}, redirector got {len(redirect.hits)}")


def hanging_receiver_does_not_delay_others():
    release = threading.Event()
    with start_server(LOCAL_HOOKS, demo=True) as server, Receiver(lambda handler: release.wait(30)) as hang, \
            Receiver(answer(204)) as good:
        create_hook(server, hang.url())  # reads the request, never answers
        create_hook(server, good.url())
        delays = []
        for name in ["Vikram Shah", "Meera Iyer"]:
            seen = len(good.hits)
            reply = log_out(server, server.member(name).phone)
            answered = time.monotonic()
            arrived = wait_for(lambda: len(good.hits) > seen, 4)
            delays.append(round(good.hits[seen] - answered, 2) if arrived and reply.status == 201 else None)
        check("a good receiver gets each delivery within 2 s of the 201 while another receiver hangs",
              all(d is not None and d <= 2 for d in delays), f"delays {delays} s (None: not within 4 s)")
        check("the hanging receiver was contacted (so the test means something)", wait_for(lambda: hang.hits, 3), "no request")
        release.set()  # ends the server's stuck requests, so it stops promptly


def gzip_bomb(segments=128, segment_size=16 << 20):
    """A valid gzip stream of segments × segment_size zeros (2 GiB), about 2 MB on the wire: one
    compressed segment repeated (a full flush makes each copy independent of what came before)."""
    zeros = bytes(segment_size)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    segment = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = functools.reduce(lambda crc, _: zlib.crc32(zeros, crc), range(segments), 0)
    head = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    tail = compressor.flush() + struct.pack("<II", crc, (segments * segment_size) & 0xFFFFFFFF)
    return head, segment, segments, tail


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


def gzip_bomb_does_not_take_memory(limit_mb=300):
    head, segment, count, tail = gzip_bomb()
    stop = threading.Event()

    def respond(handler):
        handler.send_response(200)
        for name, value in [("Content-Type", "application/json"), ("Content-Encoding", "gzip"),
                            ("Content-Length", str(len(head) + len(segment) * count + len(tail)))]:
            handler.send_header(name, value)
        handler.end_headers()
        try:
            handler.wfile.write(head)
            for _ in range(count):
                if stop.is_set():
                    return
                handler.wfile.write(segment)
                time.sleep(0.02)
            handler.wfile.write(tail)
        except OSError:
            pass

    with Receiver(respond) as bomb, start_server(LOCAL_HOOKS, demo=True) as server:
        pid = server.process.pid
        hook = create_hook(server, bomb.url())
        log_out(server, server.member("Rohan Das").phone)
        peak, slowest, delivery = rss_mb(pid), 0.0, None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and server.process.poll() is None:
            peak = max(peak, rss_mb(pid))
            if peak > limit_mb:
                stop.set()  # the server is already over the limit: spare the machine
            started = time.monotonic()
            try:
                healthy = server.call("GET", "/health", timeout=3).status == 200
            except OSError:
                healthy = False
            slowest = max(slowest, time.monotonic() - started if healthy else 99)
            delivery = next(iter(deliveries(server, hook)), None)
            if delivery and delivery.get("state") == "delivered":
                break
            time.sleep(0.1)
        stop.set()
        check("the server stays up and answers /health within 1 s during a gzip bomb",
              server.process.poll() is None and slowest < 1, f"slowest /health {slowest:.2f} s, exit {server.process.poll()}")
        check(f"the server's RSS stays under {limit_mb} MB", peak < limit_mb, f"peak {peak:.0f} MB")
        check("the bomb's delivery is recorded as delivered with lastStatus 200 within 15 s",
              bool(delivery) and delivery.get("state") == "delivered" and delivery.get("lastStatus") == 200, str(delivery))


def same_answer(what, a, b):
    check(f"{what}: same status, body and header names",
          a.status == b.status and a.body == b.body and sorted(a.headers) == sorted(b.headers),
          f"\n  {a.status} {a.body[:200]!r} {sorted(a.headers)}\n  {b.status} {b.body[:200]!r} {sorted(b.headers)}")


def sign_in_does_not_tell_members_from_strangers():
    with Receiver(answer(204)) as gateway, start_server(["--otp-sender", "webhook:" + gateway.url("/otp"), *LOCAL_HOOKS], demo=True) as server:
        vikram, meera, rohan = (server.member(n) for n in ["Vikram Shah", "Meera Iyer", "Rohan Das"])
        member, stranger = ask_code(server, vikram.phone, "127.0.0.4"), ask_code(server, STRANGER, "127.0.0.5")
        check("/auth/otp answers 202 for a member", member.status == 202, str(member.status))
        same_answer("/auth/otp for a member and for a stranger", member, stranger)
        sent = wait_for(lambda: gateway.to(vikram.phone), 3)
        check("the member's code reaches the gateway", bool(sent) and "code" in sent[-1], str(sent))

        def sequence(phone, source):
            return [(r.status, "retry-after" in r.headers) for r in (ask_code(server, phone, source) for _ in range(6))]
        ours, theirs = sequence(meera.phone, "127.0.0.6"), sequence("+14155550124", "127.0.0.7")
        check("6 requests: a member and a stranger both get 202 x5 then 429 with Retry-After",
              ours == theirs == [(202, False)] * 5 + [(429, True)], f"member {ours} stranger {theirs}")

        locked = log_out(server, rohan.phone, lockForMinutes=60)
        check("locking a member through the API answers 201", locked.status == 201, str(locked.status))
        before = len(gateway.to(rohan.phone))
        member, stranger = ask_code(server, rohan.phone, "127.0.0.8"), ask_code(server, "+14155550125", "127.0.0.9")
        check("/auth/otp for a locked member is 202, never 423, without lockedUntil",
              member.status == 202 and b"lockedUntil" not in member.body, f"{member.status} {member.body[:200]!r}")
        same_answer("/auth/otp for a locked member and for a stranger", member, stranger)
        notice = wait_for(lambda: gateway.to(rohan.phone)[before:], 3)
        check("the locked member's gateway message is a lock notice without a code",
              bool(notice) and all("code" not in m and m.get("type") == "locked" for m in notice), str(notice))


def code_limit_is_per_address():
    with Receiver(answer(204)) as gateway, start_server(["--otp-sender", "webhook:" + gateway.url("/otp"), *LOCAL_HOOKS], demo=True) as server:
        owner = server.members[0]
        answers = []
        while len(answers) < 10 and 429 not in answers:
            answers.append(ask_code(server, owner.phone, "127.0.0.2").status)
        check("an attacker at 127.0.0.2 asking codes for the owner's number reaches 429", 429 in answers, str(answers))
        wait_for(lambda: len(gateway.to(owner.phone)) >= answers.count(202), 3)
        time.sleep(0.2)
        before = len(gateway.to(owner.phone))
        reply = ask_code(server, owner.phone, "127.0.0.3")
        check("the owner at 127.0.0.3 still gets 202", reply.status == 202, f"{reply.status} {reply.body[:200]!r}")
        fresh = wait_for(lambda: gateway.to(owner.phone)[before:], 3)
        check("and the gateway receives a fresh code for the owner", bool(fresh) and "code" in fresh[-1], str(fresh))
        code = fresh[-1].get("code") if fresh else None
        login = code and server.call("POST", "/auth/login", body={"phoneNumber": owner.phone, "code": code, "deviceName": "security check"},
                                     source="127.0.0.3")
        check("the owner signs in with it from 127.0.0.3 (201)", login and login.status == 201,
              f"{login.status} {login.body[:200]!r}" if login else "no fresh code to sign in with")


def code_guessing_is_capped_per_address():
    with start_server(demo=True) as server:
        numbers = [m.phone for m in server.members]
        for phone in numbers:
            ask_code(server, phone, "127.0.0.9")
        numbers += [f"+1415555{200 + i:04d}" for i in range(20 - len(numbers))]
        replies = [server.call("POST", "/auth/login", body={"phoneNumber": numbers[i % 20], "code": "000000", "deviceName": "guess"},
                               source="127.0.0.11") for i in range(100)]
        statuses = [r.status for r in replies]
        first = next((i for i, s in enumerate(statuses) if s == 429), None)
        check("100 wrong codes over 20 numbers from one address meet a 429", first is not None, str(statuses))
        check("no more than 50 wrong codes are answered before that", len(statuses) - statuses.count(429) <= 50,
              f"{len(statuses) - statuses.count(429)} non-429 answers, first 429 at #{first}")
        check("the answers before it are 401 and every one after it is 429",
              first is not None and set(statuses[:first]) <= {401} and set(statuses[first:]) == {429}, str(statuses))
        check("the 429 carries Retry-After", first is not None and "retry-after" in replies[first].headers,
              str(replies[first].headers if first is not None else None))


def exhaust(server, phone, forwarded, source=None):
    answers = []
    while len(answers) < 8 and 429 not in answers:
        answers.append(ask_code(server, phone, source, {"X-Forwarded-For": forwarded}).status)
    return answers


def forwarded_for_counts_only_from_trusted_proxies():
    with start_server(["--trusted-proxies", "127.0.0.1"], demo=True) as server:
        answers = exhaust(server, "+14155550301", "203.0.113.7")
        check("behind a trusted proxy, client 203.0.113.7 reaches 429", 429 in answers, str(answers))
        reply = ask_code(server, "+14155550301", headers={"X-Forwarded-For": "203.0.113.8"})
        check("and client 203.0.113.8 through the same proxy still gets 202", reply.status == 202, str(reply.status))
        answers = exhaust(server, "+14155550302", "203.0.113.20", "127.0.0.2")
        reply = ask_code(server, "+14155550302", "127.0.0.2", {"X-Forwarded-For": "203.0.113.21"})
        check("from an untrusted peer (127.0.0.2) a new X-Forwarded-For does not reset the limit",
              429 in answers and reply.status == 429, f"{answers} then {reply.status}")
    with start_server(demo=True) as server:
        answers = exhaust(server, "+14155550303", "203.0.113.7")
        reply = ask_code(server, "+14155550303", headers={"X-Forwarded-For": "203.0.113.8"})
        check("without --trusted-proxies, X-Forwarded-For is ignored (still 429)", 429 in answers and reply.status == 429,
              f"{answers} then {reply.status}")


def limited(label, send):
    replies = []
    while len(replies) < 200 and (not replies or replies[-1].status != 429):
        replies.append(send())
    statuses = [r.status for r in replies]
    check(f"{label}: the first is 401", statuses[0] == 401, str(statuses[:5]))
    check(f"{label}: 429 with Retry-After comes before 200 tries", statuses[-1] == 429 and "retry-after" in replies[-1].headers,
          f"{len(statuses)} tries, last {statuses[-1]}, counts {dict((s, statuses.count(s)) for s in set(statuses))}")


def unknown_credentials_are_limited_per_address():
    with start_server(demo=True) as server:
        phone = server.member("Rohan Das").phone
        limited("random API keys on /team-member/logout from one address",
                lambda: server.call("POST", "/team-member/logout", {"x-public-key": "key_" + secrets.token_urlsafe(24)},
                                    {"userPhoneNumber": phone}, source="127.0.0.12"))
        limited("random session tokens on /me from one address",
                lambda: server.call("GET", "/me", {"Authorization": "Bearer tgs_" + secrets.token_urlsafe(32)}, source="127.0.0.13"))


def a_session_holds_at_most_five_sockets():
    with start_server(demo=True) as server:
        device = SimpleNamespace(token=server.member("Vikram Shah").tokens[0])
        sockets = []
        try:
            for _ in range(6):  # a refused upgrade (wsclient.Refused) is this section's FAIL
                sockets.append(WebSocket(server.port, device))
                time.sleep(0.05)
            oldest = sockets[0]
            closed = oldest.wait(lambda ws: ws.close_code is not None, 3) or oldest.eof
            check("the 6th socket of one session makes the server close the oldest", closed,
                  f"close code {oldest.close_code}, messages {[m for _, m in oldest.inbox]}")
            still = [not ws.wait(lambda w: w.close_code is not None, 0.2) and not ws.eof for ws in sockets[1:]]
            check("the newest 5 stay open", all(still), str(still))
        finally:
            for ws in sockets:
                ws.close()


def pages_follow_opaque_cursors():
    with start_server(demo=True) as server:
        everyone = [m["id"] for m in admin(server, "GET", "/team").json["data"]]
        first = admin(server, "GET", "/team?limit=2").json or {}
        check("GET /team?limit=2 gives 2 members and a nextCursor string",
              len(first.get("data") or []) == 2 and isinstance(first.get("nextCursor"), str), str(first)[:300])
        seen, page, pages = [], first, 0
        for pages in range(1, 10):
            seen += [m["id"] for m in page.get("data") or []]
            cursor = page.get("nextCursor")
            if not isinstance(cursor, str):
                break
            page = admin(server, "GET", "/team?limit=2&cursor=" + urllib.parse.quote(cursor)).json or {}
        check("following nextCursor gives every member once, as GET /team lists them, over several pages",
              seen == everyone and pages >= 2, f"{pages} page(s): {seen} vs {everyone}")
        for name in ["Rohan Das", "Meera Iyer"]:
            log_out(server, server.member(name).phone)
        audit = admin(server, "GET", "/audit-events?limit=1").json or {}
        cursor = audit.get("nextCursor")
        check("GET /audit-events's nextCursor is an opaque string, not a plain integer",
              isinstance(cursor, str) and not cursor.strip().lstrip("-").isdigit(), repr(cursor))
        if isinstance(cursor, str):
            after = admin(server, "GET", "/audit-events?limit=1&cursor=" + urllib.parse.quote(cursor))
            data = (after.json or {}).get("data") or [{}]
            check("and it leads to the next event", after.status == 200 and data[0].get("id") != audit["data"][0]["id"],
                  f"{after.status} {after.body[:200]!r}")


SECTIONS = [private_webhook_targets_are_refused, redirect_does_not_reach_inside, hanging_receiver_does_not_delay_others,
            gzip_bomb_does_not_take_memory, sign_in_does_not_tell_members_from_strangers, code_limit_is_per_address,
            code_guessing_is_capped_per_address, forwarded_for_counts_only_from_trusted_proxies,
            unknown_credentials_are_limited_per_address, a_session_holds_at_most_five_sockets, pages_follow_opaque_cursors]


def main():
    path = binary()
    if not os.path.exists(path):
        check("the teamgate binary is built", False, path)
        return tally.finish()
    started = time.monotonic()
    for section in SECTIONS:
        print(f"-- {section.__name__}")
        try:
            section()
        except Exception as error:  # a section that cannot go on is one FAIL, and the others still run
            tally.crashed(error, f"{section.__name__} ran to the end")
    print(f"({time.monotonic() - started:.0f} s)")
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
