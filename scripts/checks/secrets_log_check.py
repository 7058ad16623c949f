"""No secret in the logs. A session of real use is run twice against a server logging at trace level:
on a SQLite file, then on PostgreSQL through a role that has a password, given in the database URL.
Each run: an organisation, members and a second API key made with the CLI (`org create`, `members add`,
`keys create`); sign-in codes through a local gateway (a wrong code tried first); `GET /me`; `GET /team`
with both keys; a device's `/me/events?token=` WebSocket that hears its session end, then a refused one
and a plain `GET /me/events?token=` for the ended and for a made-up token; logouts by `x-public-key`
(with an Idempotency-Key) and by `Authorization: Bearer`; a member's own `/auth/logout`; a webhook made
and a delivery of it answered 204 by the gateway; the console: a code by `POST /console/otp`,
`POST /console/login`, a page read with the `tg_console` cookie, a key made with the session's CSRF
token and used on the API, a form with a wrong CSRF token refused, a sign-out; a wrong key, a made-up
token. Each step's answer is checked, so a run that did not happen cannot pass.

Every secret used — API keys (org create, keys create, the console's), session tokens (API and console
cookie), console CSRF tokens, sign-in codes, webhook signing secrets, the code gateway's secret, a
wrong key, the PostgreSQL password — is then looked for in the server's log, and in what the CLI wrote
to stderr, as it is, URL-encoded, and hex-encoded whole or any 16 bytes of it (PostgreSQL's driver logs
rows as hex at trace level, a long row as its first and last 32 bytes): none may appear. So that a
silent log cannot pass, each run also requires trace-level lines in the log and a line caused by a
request of the run (the gateway refuses one number's code, and the server logs that a code could not
be sent). TeamGate logs no line per request (it has no request-logging middleware), so the log of a
run holds no request path or header to look in.

The PostgreSQL run uses TEAMGATE_TEST_POSTGRES (an administrator's URL) when set, else a throwaway
cluster (scripts/postgres-throwaway). Such clusters trust loopback, so the password is passed in the
URL but never checked by PostgreSQL. TEAMGATE_BINARY names the server binary."""

import hashlib
import json
import os
import re
import secrets as random
import shutil
import sys
import tempfile
import time
import urllib.parse
from types import SimpleNamespace

from harness import Gateway, Server, Tally, ThrowawayPostgres, bearer, cli, psql, wait_for
from wsclient import Refused, WebSocket

OWNER, AGENTS, REFUSED = "+919800000001", ["+919800000002", "+919800000003"], "+919800000004"

tally = Tally("secrets-log-check")
check = tally.check


def exercise(label, database, folder, gateway):
    """One session of real use on `database`. Returns (secrets as (kind, value), server log, CLI stderr, failed steps)."""
    secrets, failed, stderr = [], [], []

    def secret(kind, value):
        if value:
            secrets.append((kind, value))
        return value

    def step(what, condition, detail=""):
        if not condition:
            failed.append(f"{what}: {detail}")
        return condition

    created = cli("org", "create", "--name", "Acme", "--owner-phone", OWNER, "--json", database=database, stderr=stderr)
    key = secret("API key (org create)", json.loads(created)["apiKey"])
    for index, phone in enumerate(AGENTS + [REFUSED]):
        cli("members", "add", "--name", f"Agent {index}", "--phone", phone, database=database, stderr=stderr)
    made = cli("keys", "create", "--name", "cli key", "--json", database=database, stderr=stderr)
    cli_key = secret("API key (keys create)", json.loads(made)["apiKey"])
    gateway_secret = secret("code gateway secret", "gw-" + random.token_hex(16))

    server = Server(["--log-level", "trace", "--otp-sender", "webhook:" + gateway.url(), "--otp-webhook-secret", gateway_secret,
                     # The webhook below goes to the local gateway, which only an allowed host may be.
                     "--webhook-allowed-hosts", "127.0.0.1"], database=database, name=label, folder=folder)
    port = server.port
    call = server.call

    try:
        server.start()

        tokens = []
        for phone in AGENTS:
            status = call("POST", "/auth/otp", body={"phoneNumber": phone}).status
            code = secret("sign-in code", gateway.wait_code(phone))
            step(f"a code for {phone}", status == 202 and code, f"{status}, code {code}")
            wrong = "000000" if code != "000000" else "111111"
            status = call("POST", "/auth/login", body={"phoneNumber": phone, "code": wrong, "deviceName": "phone"}).status
            step("a wrong code is refused", status == 401, status)
            reply = call("POST", "/auth/login", body={"phoneNumber": phone, "code": code, "deviceName": "phone"})
            status, body = reply.status, reply.value
            step(f"{phone} signs in", status == 201, f"{status} {body}")
            tokens.append(secret("session token", body["token"]))
            step("GET /me takes the token", call("GET", "/me", bearer(body["token"])).status == 200)
        step("GET /team with the org's key", call("GET", "/team", {"x-public-key": key}).status == 200)
        step("GET /team with the CLI's key", call("GET", "/team", {"x-public-key": cli_key}).status == 200)

        # The browser's way to the events: the token in the query string.
        ws = WebSocket(port, SimpleNamespace(token=tokens[0]), via="query")
        first = ws.next_message(5)
        step("the ?token= socket opens with session.active", first and first[1].get("type") == "session.active", first)
        reply = call("POST", "/team-member/logout", {"x-public-key": key, "Idempotency-Key": "log-check"},
                     {"userPhoneNumber": AGENTS[0], "reason": "log check"})
        status, body = reply.status, reply.value
        step("a logout by x-public-key with an Idempotency-Key", status == 201, f"{status} {body}")
        event = ws.next_message(5)
        step("the socket hears session.ended", event and event[1].get("type") == "session.ended", event)
        if event:
            ws.send_json({"type": "ack", "revocationId": event[1].get("revocationId")})
        ws.wait(lambda s: s.close_code is not None, 4)
        ws.close()
        try:
            WebSocket(port, SimpleNamespace(token=tokens[0]), via="query").close()
            step("a socket for the ended session is refused", False, "it opened")
        except Refused:
            pass
        status = call("GET", "/me/events?token=" + urllib.parse.quote(tokens[0])).status
        step("a plain GET /me/events?token= for the ended session: 401", status == 401, status)
        made_up = secret("made-up session token", "tgs_" + random.token_urlsafe(32))
        step("GET /me/events?token= with a made-up token: 401", call("GET", "/me/events?token=" + made_up).status == 401)
        step("GET /me with a made-up token: 401", call("GET", "/me", bearer(made_up)).status == 401)

        step("a logout by Authorization: Bearer <key>",
             call("POST", "/team-member/logout", bearer(key), {"userPhoneNumber": AGENTS[0]}).status == 201)
        step("GET /me with the ended token: 401", call("GET", "/me", bearer(tokens[0])).status == 401)
        step("the member's own /auth/logout", call("POST", "/auth/logout", bearer(tokens[1]), {}).status in (200, 201, 204))
        reply = call("POST", "/webhooks", {"x-public-key": key}, {"url": gateway.url("/hook"), "events": ["team_member.logged_out"]})
        status, hook = reply.status, reply.value
        step("a webhook is made", status == 201, f"{status} {hook}")
        secret("webhook secret", hook.get("secret") if isinstance(hook, dict) else None)
        step("a logout that the webhook reports", call("POST", "/team-member/logout", {"x-public-key": key}, {"userPhoneNumber": AGENTS[1]}).status == 201)
        wrong_key = secret("wrong API key", key[:-4] + ("abcd" if not key.endswith("abcd") else "wxyz"))
        step("a wrong key is refused", call("POST", "/team-member/logout", {"x-public-key": wrong_key}, {"userPhoneNumber": AGENTS[1]}).status == 401)

        # The console: sign-in by form, the cookie, a CSRF-protected form.
        status = call("POST", "/console/otp", form={"phone": OWNER}).status
        code = secret("console sign-in code", gateway.wait_code(OWNER))
        step("the console sends the owner a code", status == 200 and code, f"{status}, code {code}")
        reply = call("POST", "/console/login", form={"phone": OWNER, "code": code or ""})
        status, headers = reply.status, reply.headers
        cookie = re.match(r"tg_console=([^;]*)", headers.get("set-cookie") or "")
        step("the console signs the owner in (303 and the tg_console cookie)", status == 303 and cookie, f"{status} {headers.get('set-cookie')}")
        console_token = secret("console session token (cookie)", cookie.group(1) if cookie else None)
        jar = {"Cookie": f"tg_console={console_token}"}
        csrf = secret("console CSRF token", hashlib.sha256(f"teamgate-console-csrf:{console_token}".encode()).hexdigest())
        step("GET /console/team with the cookie", call("GET", "/console/team", jar).status == 200)
        reply = call("POST", "/console/keys", jar, form={"name": "console key", "csrf": csrf})
        status, location = reply.status, reply.headers.get("location") or ""
        # The sign-in's code is still fresh, so the key is made at once and shown in the POST's own answer (201).
        page = reply.value
        found = re.search(r'value="(key_[A-Za-z0-9_-]+)"', page if isinstance(page, str) else "")
        step("the console makes a key and shows it once, in the POST's answer (201)", status == 201 and found, f"{status} {location}")
        console_key = secret("API key (console)", found.group(1) if found else None)
        step("the console's key works on the API", call("GET", "/team", {"x-public-key": console_key or "none"}).status == 200)
        status = call("POST", "/console/keys", jar, form={"name": "forged", "csrf": "0" * 64}).status
        step("a form with a wrong CSRF token is refused (403)", status == 403, status)
        status = call("POST", "/console/logout", jar, form={"csrf": csrf}).status
        step("the console signs out", status == 303, status)

        # The gateway fails this one number: the server logs it, a line a request of this run caused.
        gateway.refuse.add(REFUSED)
        step("a code for the number the gateway refuses is promised (202)", call("POST", "/auth/otp", body={"phoneNumber": REFUSED}).status == 202)
        hook_id = hook.get("id", "") if isinstance(hook, dict) else ""
        seen = {}

        def delivered():  # the webhook's delivery (signed with its secret), and meanwhile the refused code
            seen["deliveries"] = call("GET", f"/webhooks/{hook_id}/deliveries", {"x-public-key": key}).value
            page = seen["deliveries"]
            return [d for d in (page.get("data", []) if isinstance(page, dict) else []) if d.get("lastStatus") == 204]

        step("the webhook's delivery reached the gateway (204)", wait_for(delivered, 5, step=0.1), seen.get("deliveries"))
        wait_for(lambda: "A sign-in code could not be sent" in server.log(), 5, step=0.1)
    finally:
        server.terminate()
    return secrets, server.log(), "".join(stderr), failed


HEX_WINDOW = 16  # bytes: NIO prints a long buffer as its first and last 32 bytes, so a secret may show only in part


def forms(value):
    """The spellings a secret could take in a log: as it is, URL-encoded, and hex (either case) — whole,
    or any 16 bytes of it."""
    spellings = {urllib.parse.quote(value, safe="")}
    data = value.encode()
    pieces = [data] if len(data) <= HEX_WINDOW else [data[i:i + HEX_WINDOW] for i in range(len(data) - HEX_WINDOW + 1)]
    for piece in pieces:
        spellings |= {piece.hex(), piece.hex().upper()}
    return sorted(spellings - {value})


def found_in(text, secrets):
    hits = []
    for kind, value in secrets:
        if re.search(r"(?<![A-Za-z0-9_-])" + re.escape(value) + r"(?![A-Za-z0-9_-])", text):
            hits.append(f"{kind} {value[:8]}…")
            continue
        spelling = next((spelling for spelling in forms(value) if spelling in text), None)
        if spelling:
            hits.append(f"{kind} {value[:8]}… as {spelling[:16]}…")
    return hits


def judge(label, secrets, log, stderr, failed):
    check(f"{label}: the session ran as described ({len(secrets)} secrets used)", not failed, failed[:5])
    kinds = {}
    for kind, _ in secrets:
        kinds[kind] = kinds.get(kind, 0) + 1
    print(f"     {', '.join(f'{n} {k}' for k, n in kinds.items())}")
    trace_lines = sum(1 for line in log.splitlines() if " trace " in line[:40])
    check(f"{label}: the log is at trace level ({trace_lines} trace lines of {log.count(chr(10))})", trace_lines > 0)
    check(f"{label}: the log holds a line a request of the run caused (a refused code)", "A sign-in code could not be sent" in log)
    hits = found_in(log, secrets)
    check(f"{label}: no secret in the server's log, as it is, URL-encoded or hex (whole or 16 bytes of it)", not hits, hits)
    hits = found_in(stderr, secrets)
    check(f"{label}: none in what the CLI wrote to stderr", not hits, hits)


def main():
    started = time.time()
    folder = tempfile.mkdtemp(prefix="teamgate-secrets-")
    os.chmod(folder, 0o755)
    gateway = Gateway()
    throwaway = None
    admin = os.environ.get("TEAMGATE_TEST_POSTGRES")
    role = database = None
    try:
        judge("SQLite", *exercise("sqlite", os.path.join(folder, "teamgate.sqlite"), folder, gateway))

        gateway.refuse.clear()
        if not admin:
            throwaway = ThrowawayPostgres(folder)
            admin = throwaway.start()
        suffix = random.token_hex(4)
        role, database, password = f"tg_secrets_{suffix}", f"tg_secrets_{suffix}", "pw" + random.token_hex(16)
        psql(admin, f"CREATE ROLE {role} LOGIN PASSWORD '{password}'", f"CREATE DATABASE {database} OWNER {role}")
        parts = urllib.parse.urlsplit(admin)
        url = f"postgres://{role}:{password}@{parts.hostname}:{parts.port or 5432}/{database}"
        secrets, log, stderr, failed = exercise("postgres", url, folder, gateway)
        judge("PostgreSQL", secrets + [("PostgreSQL password", password)], log, stderr, failed)
    except Exception as error:
        tally.crashed(error)
    finally:
        gateway.stop()
        if role and admin:
            psql(admin, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)", f"DROP ROLE IF EXISTS {role}", check=False)
        if throwaway:
            throwaway.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print(f"secrets-log-check: {time.time() - started:.0f} s")
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
