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
import http.client
import json
import os
import re
import secrets as random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from types import SimpleNamespace

import demo_server
from harness import Gateway, Tally
from wsclient import Refused, WebSocket

THROWAWAY = os.path.join(demo_server.ROOT, "scripts", "postgres-throwaway")
OWNER, AGENTS, REFUSED = "+919800000001", ["+919800000002", "+919800000003"], "+919800000004"

tally = Tally("secrets-log-check")
check = tally.check


class Client:
    """HTTP to the server, redirects not followed, JSON or text bodies."""

    def __init__(self, port):
        self.port = port

    def call(self, method, path, body=None, headers=None, form=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            if form is not None:
                data, kind = urllib.parse.urlencode(form), "application/x-www-form-urlencoded"
            else:
                data, kind = (json.dumps(body) if body is not None else None), "application/json"
            connection.request(method, path, body=data, headers={"content-type": kind, **(headers or {})})
            response = connection.getresponse()
            raw = response.read()
            try:
                value = json.loads(raw or b"null")
            except ValueError:
                value = raw.decode(errors="replace")
            return response.status, value, response.headers
        finally:
            connection.close()


def cli(binary, database, stderr, *args):
    done = subprocess.run([binary, *args, "--database", database], capture_output=True, text=True)
    stderr.append(done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"teamgate {' '.join(args[:2])} failed:\n{done.stderr or done.stdout}")
    return done.stdout


def exercise(label, binary, database, folder, gateway):
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

    created = json.loads(cli(binary, database, stderr, "org", "create", "--name", "Acme", "--owner-phone", OWNER, "--json"))
    key = secret("API key (org create)", created["apiKey"])
    for index, phone in enumerate(AGENTS + [REFUSED]):
        cli(binary, database, stderr, "members", "add", "--name", f"Agent {index}", "--phone", phone)
    cli_key = secret("API key (keys create)", json.loads(cli(binary, database, stderr, "keys", "create", "--name", "cli key", "--json"))["apiKey"])
    gateway_secret = secret("code gateway secret", "gw-" + random.token_hex(16))

    port = demo_server.free_port()
    log_path = os.path.join(folder, f"server-{label}.log")
    server = subprocess.Popen([binary, "serve", "--database", database, "--port", str(port), "--log-level", "trace",
                               "--otp-sender", "webhook:" + gateway.url(), "--otp-webhook-secret", gateway_secret,
                               # The webhook below goes to the local gateway, which only an allowed host may be.
                               "--webhook-allowed-hosts", "127.0.0.1"],
                              stdout=open(log_path, "w"), stderr=subprocess.STDOUT)
    client = Client(port)
    call = client.call
    try:
        deadline = time.time() + 30
        while True:
            try:
                if call("GET", "/health")[0] == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline or server.poll() is not None:
                raise RuntimeError(f"{label}: the server did not start:\n" + open(log_path).read()[-2000:])
            time.sleep(0.05)

        tokens = []
        for phone in AGENTS:
            status, _, _ = call("POST", "/auth/otp", {"phoneNumber": phone})
            code = secret("sign-in code", gateway.wait_code(phone))
            step(f"a code for {phone}", status == 202 and code, f"{status}, code {code}")
            wrong = "000000" if code != "000000" else "111111"
            status, _, _ = call("POST", "/auth/login", {"phoneNumber": phone, "code": wrong, "deviceName": "phone"})
            step("a wrong code is refused", status == 401, status)
            status, body, _ = call("POST", "/auth/login", {"phoneNumber": phone, "code": code, "deviceName": "phone"})
            step(f"{phone} signs in", status == 201, f"{status} {body}")
            tokens.append(secret("session token", body["token"]))
            step("GET /me takes the token", call("GET", "/me", headers={"Authorization": f"Bearer {body['token']}"})[0] == 200)
        step("GET /team with the org's key", call("GET", "/team", headers={"x-public-key": key})[0] == 200)
        step("GET /team with the CLI's key", call("GET", "/team", headers={"x-public-key": cli_key})[0] == 200)

        # The browser's way to the events: the token in the query string.
        ws = WebSocket(port, SimpleNamespace(token=tokens[0]))
        first = ws.next_message(5)
        step("the ?token= socket opens with session.active", first and first[1].get("type") == "session.active", first)
        status, body, _ = call("POST", "/team-member/logout", {"userPhoneNumber": AGENTS[0], "reason": "log check"},
                               {"x-public-key": key, "Idempotency-Key": "log-check"})
        step("a logout by x-public-key with an Idempotency-Key", status == 201, f"{status} {body}")
        event = ws.next_message(5)
        step("the socket hears session.ended", event and event[1].get("type") == "session.ended", event)
        if event:
            ws.send_json({"type": "ack", "revocationId": event[1].get("revocationId")})
        ws.wait(lambda s: s.close_code is not None, 4)
        ws.close()
        try:
            WebSocket(port, SimpleNamespace(token=tokens[0])).close()
            step("a socket for the ended session is refused", False, "it opened")
        except Refused:
            pass
        status, _, _ = call("GET", "/me/events?token=" + urllib.parse.quote(tokens[0]))
        step("a plain GET /me/events?token= for the ended session: 401", status == 401, status)
        made_up = secret("made-up session token", "tgs_" + random.token_urlsafe(32))
        step("GET /me/events?token= with a made-up token: 401", call("GET", "/me/events?token=" + made_up)[0] == 401)
        step("GET /me with a made-up token: 401", call("GET", "/me", headers={"Authorization": f"Bearer {made_up}"})[0] == 401)

        step("a logout by Authorization: Bearer <key>",
             call("POST", "/team-member/logout", {"userPhoneNumber": AGENTS[0]}, {"Authorization": f"Bearer {key}"})[0] == 201)
        step("GET /me with the ended token: 401", call("GET", "/me", headers={"Authorization": f"Bearer {tokens[0]}"})[0] == 401)
        step("the member's own /auth/logout", call("POST", "/auth/logout", {}, {"Authorization": f"Bearer {tokens[1]}"})[0] in (200, 201, 204))
        status, hook, _ = call("POST", "/webhooks", {"url": gateway.url("/hook"), "events": ["team_member.logged_out"]}, {"x-public-key": key})
        step("a webhook is made", status == 201, f"{status} {hook}")
        secret("webhook secret", hook.get("secret") if isinstance(hook, dict) else None)
        step("a logout that the webhook reports", call("POST", "/team-member/logout", {"userPhoneNumber": AGENTS[1]}, {"x-public-key": key})[0] == 201)
        wrong_key = secret("wrong API key", key[:-4] + ("abcd" if not key.endswith("abcd") else "wxyz"))
        step("a wrong key is refused", call("POST", "/team-member/logout", {"userPhoneNumber": AGENTS[1]}, {"x-public-key": wrong_key})[0] == 401)

        # The console: sign-in by form, the cookie, a CSRF-protected form.
        status, page, _ = call("POST", "/console/otp", form={"phone": OWNER})
        code = secret("console sign-in code", gateway.wait_code(OWNER))
        step("the console sends the owner a code", status == 200 and code, f"{status}, code {code}")
        status, page, headers = call("POST", "/console/login", form={"phone": OWNER, "code": code or ""})
        cookie = re.match(r"tg_console=([^;]*)", headers.get("Set-Cookie") or "")
        step("the console signs the owner in (303 and the tg_console cookie)", status == 303 and cookie, f"{status} {headers.get('Set-Cookie')}")
        console_token = secret("console session token (cookie)", cookie.group(1) if cookie else None)
        jar = {"Cookie": f"tg_console={console_token}"}
        csrf = secret("console CSRF token", hashlib.sha256(f"teamgate-console-csrf:{console_token}".encode()).hexdigest())
        step("GET /console/team with the cookie", call("GET", "/console/team", headers=jar)[0] == 200)
        status, _, headers = call("POST", "/console/keys", headers=jar, form={"name": "console key", "csrf": csrf})
        location = headers.get("Location") or ""
        status, page, _ = call("GET", location, headers=jar) if status == 303 else (status, "", None)
        found = re.search(r'value="(key_[A-Za-z0-9_-]+)"', page if isinstance(page, str) else "")
        step("the console makes a key and shows it once", status == 200 and found, f"{status} {location}")
        console_key = secret("API key (console)", found.group(1) if found else None)
        step("the console's key works on the API", call("GET", "/team", headers={"x-public-key": console_key or "none"})[0] == 200)
        status, _, _ = call("POST", "/console/keys", headers=jar, form={"name": "forged", "csrf": "0" * 64})
        step("a form with a wrong CSRF token is refused (403)", status == 403, status)
        status, _, _ = call("POST", "/console/logout", headers=jar, form={"csrf": csrf})
        step("the console signs out", status == 303, status)

        # The gateway fails this one number: the server logs it, a line a request of this run caused.
        gateway.refuse.add(REFUSED)
        step("a code for the number the gateway refuses is promised (202)", call("POST", "/auth/otp", {"phoneNumber": REFUSED})[0] == 202)
        hook_id = hook.get("id", "") if isinstance(hook, dict) else ""
        deadline = time.time() + 5
        while True:  # the webhook's delivery (signed with its secret), and meanwhile the refused code
            status, deliveries, _ = call("GET", f"/webhooks/{hook_id}/deliveries", headers={"x-public-key": key})
            delivered = [d for d in (deliveries.get("data", []) if isinstance(deliveries, dict) else []) if d.get("lastStatus") == 204]
            if delivered or time.time() > deadline:
                break
            time.sleep(0.1)
        step("the webhook's delivery reached the gateway (204)", delivered, deliveries)
        deadline = time.time() + 5
        while "A sign-in code could not be sent" not in open(log_path, errors="replace").read() and time.time() < deadline:
            time.sleep(0.1)
    finally:
        server.terminate()
        server.wait()
    return secrets, open(log_path, errors="replace").read(), "".join(stderr), failed


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
    binary = demo_server.binary()
    folder = tempfile.mkdtemp(prefix="teamgate-secrets-")
    os.chmod(folder, 0o755)
    gateway = Gateway()
    throwaway = None
    admin = os.environ.get("TEAMGATE_TEST_POSTGRES")
    role = database = None
    try:
        judge("SQLite", *exercise("sqlite", binary, os.path.join(folder, "teamgate.sqlite"), folder, gateway))

        gateway.refuse.clear()
        if not admin:
            throwaway = os.path.join(folder, "pg")
            done = subprocess.run([THROWAWAY, "start", throwaway, str(demo_server.free_port())], capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError("scripts/postgres-throwaway could not start PostgreSQL:\n" + done.stderr)
            admin = done.stdout.strip().splitlines()[-1]
        suffix = random.token_hex(4)
        role, database, password = f"tg_secrets_{suffix}", f"tg_secrets_{suffix}", "pw" + random.token_hex(16)
        subprocess.run(["psql", admin, "-v", "ON_ERROR_STOP=1", "-qc", f"CREATE ROLE {role} LOGIN PASSWORD '{password}'",
                        "-c", f"CREATE DATABASE {database} OWNER {role}"], check=True, capture_output=True)
        parts = urllib.parse.urlsplit(admin)
        url = f"postgres://{role}:{password}@{parts.hostname}:{parts.port or 5432}/{database}"
        secrets, log, stderr, failed = exercise("postgres", binary, url, folder, gateway)
        judge("PostgreSQL", secrets + [("PostgreSQL password", password)], log, stderr, failed)
    except Exception as error:
        check("the check ran to the end", False, repr(error))
    finally:
        gateway.stop()
        if role and admin:
            subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)", "-c", f"DROP ROLE IF EXISTS {role}"],
                           capture_output=True)
        if throwaway:
            subprocess.run([THROWAWAY, "stop", throwaway], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
    print(f"secrets-log-check: {time.time() - started:.0f} s")
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
