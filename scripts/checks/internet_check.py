""""Safe to put on the internet", second pass, against a real server: guesses spread over an IPv6 /64 and over many
/64s; bodies a foreign web page can make a browser send; /metrics telling members from strangers; the headers
every answer carries; settings that used to pass validation and crash the server later.

As root, `ip route add local 2001:db8:1::/48 dev lo` (removed at the end if this check added it) makes a whole
block this machine's: each client socket is bound, with IPV6_FREEBIND, to an address of it, the server on `::`.
Without root the IPv6 part is skipped and says so."""

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time

from harness import Gateway, Tally, binary, bound_call, start_server

tally = Tally("internet-check")
check = tally.check
BLOCK = "2001:db8:1::/48"
STRANGER = "+14155550177"


def local_block():
    """Makes BLOCK local on lo; returns whether this check added the route (None: not usable)."""
    if os.geteuid() != 0:
        print("note: not root: the IPv6 block checks are skipped")
        return None
    done = subprocess.run(["ip", "route", "add", "local", BLOCK, "dev", "lo"], capture_output=True, text=True)
    if done.returncode == 0:
        return True
    if "File exists" in done.stderr:
        return False
    print(f"note: `ip route add local {BLOCK} dev lo` failed ({done.stderr.strip()}): the IPv6 block checks are skipped")
    return None


def guess(server, phone, source):
    body = {"phoneNumber": phone, "code": "000000", "deviceName": "guess"}
    return bound_call("::1", server.port, "POST", "/auth/login", body=body, source=source)


def guesses_from_a_block():
    added = local_block()
    if added is None:
        return
    try:
        with start_server(["--host", "::"], demo=True) as server:
            owner = server.members[0]
            # One /64: forty addresses of it share the per-address limits (5 wrong codes per number).
            statuses = [guess(server, owner.phone, f"2001:db8:1:1::{i + 1:x}").status for i in range(40)]
            check("40 addresses of one /64 guessing the Owner's code: 5 answered 401, then 429 (the /64 is one address)",
                  statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}, statuses)
            # Many /64s: the number's own ceiling, across every address, pauses it after 10 wrong codes in a row.
            spread = [guess(server, owner.phone, f"2001:db8:1:{100 + i:x}::1") for i in range(12)]
            statuses = [reply.status for reply in spread]
            check("guesses from 12 different /64s: the Owner's number pauses after its 10th wrong code in a row (429 with Retry-After)",
                  statuses[:5] == [401] * 5 and 429 in statuses and all("retry-after" in r.headers for r in spread if r.status == 429),
                  statuses)
            asked = bound_call("::1", server.port, "POST", "/auth/otp", body={"phoneNumber": owner.phone}, source="2001:db8:1:200::1")
            check("while paused, a code for the number is refused too (429), from a fresh /64", asked.status == 429, asked.status)
            # A stranger's number pauses the same way: the pause says nothing about membership.
            theirs = [guess(server, STRANGER, f"2001:db8:1:{300 + i:x}::1").status for i in range(12)]
            ours = [guess(server, server.members[1].phone, f"2001:db8:1:{400 + i:x}::1").status for i in range(12)]
            check("a stranger's number and a member's get the same answers to the same spread of guesses", theirs == ours, f"{ours} / {theirs}")
            metrics = server.call("GET", "/metrics").body.decode()
            paused = re.search(r"^teamgate_sign_in_number_pauses_total (\d+)", metrics, re.M)
            check("the pauses are counted in /metrics, without a number", paused is not None and int(paused.group(1)) >= 3
                  and owner.phone[1:] not in metrics, paused.group(0) if paused else "no series")
            warnings = [line for line in server.log().splitlines() if "reached a pause" in line]
            check("the pause is logged as a warning, without the number",
                  len(warnings) >= 3 and all("warning" in line and owner.phone[1:] not in line for line in warnings), warnings[:1])
    finally:
        if added:
            subprocess.run(["ip", "route", "del", "local", BLOCK, "dev", "lo"], capture_output=True, text=True)


def bodies_a_foreign_page_can_send():
    with start_server(demo=True) as server:
        body = json.dumps({"phoneNumber": server.members[0].phone})
        answers = {}
        for content_type in ["text/plain", "application/x-www-form-urlencoded", None, "application/json"]:
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            try:
                connection.request("POST", "/auth/otp", body=body, headers={"Content-Type": content_type} if content_type else {})
                answers[content_type or "no type"] = connection.getresponse().status
            finally:
                connection.close()
        check("POST /auth/otp: text/plain, a form type and no type are 415; application/json is 202",
              answers == {"text/plain": 415, "application/x-www-form-urlencoded": 415, "no type": 415, "application/json": 202}, answers)


def metrics_say_nothing_about_a_number():
    gateway = Gateway()
    with gateway, start_server(["--otp-sender", "webhook:" + gateway.url("/otp"), "--webhook-allowed-hosts", "127.0.0.1"], demo=True) as server:
        def sign_in_series():
            text = server.call("GET", "/metrics").body.decode()
            return {m.group(1): float(m.group(2)) for m in re.finditer(r'^teamgate_sign_in_codes_total\{outcome="([a-z_]+)"\} (\S+)', text, re.M)}

        def delta(phone, source, sentinel):
            """What one code request for `phone` moves on /metrics. The codes are sent after the answer, in
            order: once a member's request made just after it (`sentinel`) has its code at the gateway, the
            first one's sending is over too."""
            before = sign_in_series()
            server.call("POST", "/auth/otp", body={"phoneNumber": phone}, source=source)
            server.call("POST", "/auth/otp", body={"phoneNumber": sentinel}, source=source.replace(".2", ".3", 1))
            gateway.wait_code(sentinel)
            after = sign_in_series()
            return {k: after.get(k, 0) - before.get(k, 0) for k in set(before) | set(after) if after.get(k, 0) != before.get(k, 0)}

        vikram, meera, rohan = (server.member(name).phone for name in ("Vikram Shah", "Meera Iyer", "Rohan Das"))
        server.call("POST", "/team-member/logout", {"x-public-key": server.api_key}, {"userPhoneNumber": rohan, "lockForMinutes": 60})
        member = delta(vikram, "127.0.0.21", meera)
        stranger = delta(STRANGER, "127.0.0.22", meera)
        locked = delta(rohan, "127.0.0.23", meera)
        check("/metrics moves alike for a member's, a stranger's and a locked member's code request",
              member == stranger == locked and member == {"requested": 2}, f"member {member}, stranger {stranger}, locked {locked}")
        text = server.call("GET", "/metrics").body.decode()
        check("no outcome on /metrics names membership or a lock", not re.search(r"not_a_member|locked_notice|outcome=\"sent\"", text), "")


def headers_on_every_answer():
    with start_server(demo=True) as server:
        team = server.call("GET", "/team", {"x-public-key": server.api_key})
        missing = server.call("GET", "/nothing")
        check("API answers (and errors) carry Cache-Control: no-store and X-Content-Type-Options: nosniff",
              all(r.headers.get("cache-control") == "no-store" and r.headers.get("x-content-type-options") == "nosniff" for r in (team, missing)),
              f"{team.headers.get('cache-control')} {missing.headers.get('cache-control')}")
        policy = server.call("GET", "/docs").headers.get("content-security-policy", "")
        check("pages' CSP has form-action 'self' and base-uri 'none'", "form-action 'self'" in policy and "base-uri 'none'" in policy, policy)


def settings_that_crashed_later():
    for flag, value in [("--session-lifetime-hours", "3000000000000"), ("--idle-timeout-seconds", "10000000000"),
                        ("--webhook-retry-seconds", "1e300")]:
        done = subprocess.run([binary(), "serve", "--demo", "--port", "0", flag, value], capture_output=True, text=True, timeout=30)
        check(f"serve {flag} {value} is refused at start-up (exit 2, the flag named)", done.returncode == 2 and flag in done.stderr,
              f"exit {done.returncode}: {done.stderr.strip()[:200]}")


def trickled_headers_are_cut_off():
    # The idle timer (3 s here) restarts at every byte; the headers' own deadline does not.
    with start_server(["--idle-timeout-seconds", "3"], demo=True) as server:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=15)
        started = time.monotonic()
        closed_after = None
        try:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            for _ in range(20):
                sock.sendall(b"X")
                sock.settimeout(1)
                try:
                    if sock.recv(1) == b"":
                        closed_after = time.monotonic() - started
                        break
                except socket.timeout:
                    continue
        except OSError:
            closed_after = time.monotonic() - started
        finally:
            sock.close()
        check("headers trickled a byte a second are cut off by their deadline (3 s here), though the idle timer never fires",
              closed_after is not None and closed_after < 8, closed_after)


def connections_are_capped_per_address():
    with start_server(["--connections-per-address", "5"], demo=True) as server:
        held = []
        try:
            for _ in range(5):
                sock = socket.create_connection(("127.0.0.1", server.port), timeout=5, source_address=("127.0.0.41", 0))
                held.append(sock)
                # Answered, so counted: a connection the kernel accepted may reach the server's count after a later
                # one (channels start on several event loops), and the sixth would then take its place.
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                if not sock.recv(64).startswith(b"HTTP/1.1 200"):
                    raise RuntimeError("one of the first five connections was not served")
            extra = socket.create_connection(("127.0.0.1", server.port), timeout=5, source_address=("127.0.0.41", 0))
            held.append(extra)
            extra.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                answered = extra.recv(64)
            except OSError:
                answered = b""
            other = server.call("GET", "/health", source="127.0.0.42").status
            check("a sixth connection from an address holding 5 is closed unanswered; another address is served",
                  answered == b"" and other == 200, f"{answered!r} {other}")
        finally:
            for sock in held:
                sock.close()
        again = server.call("GET", "/health", source="127.0.0.41").status
        check("once its connections close, the address is served again", again == 200, again)


def main():
    for run in (trickled_headers_are_cut_off, connections_are_capped_per_address, guesses_from_a_block, bodies_a_foreign_page_can_send, metrics_say_nothing_about_a_number, headers_on_every_answer,
                settings_that_crashed_later):
        try:
            run()
        except Exception as error:  # one failing part does not hide the others
            tally.crashed(error)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
