"""Runs a full session of real use against a server logging at debug level — setup from the CLI, codes
through a webhook gateway, sign-ins, admin calls with good and bad keys, logouts — then greps the
server's log for every API key, session token and sign-in code that was used: none may appear."""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

import demo_server
from harness import Gateway

def call(base, method, path, body=None, headers=None):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def main():
    folder = tempfile.mkdtemp(prefix="teamgate-secrets-")
    database = os.path.join(folder, "teamgate.sqlite")
    binary = demo_server.binary()
    created = json.loads(subprocess.run([binary, "org", "create", "--database", database, "--name", "Acme", "--owner-phone", "+919800000001", "--json"],
                                        check=True, capture_output=True, text=True).stdout)
    key = created["apiKey"]
    for index, phone in enumerate(["+919800000002", "+919800000003"]):
        subprocess.run([binary, "members", "add", "--database", database, "--name", f"Agent {index}", "--phone", phone], check=True, capture_output=True)

    gateway = Gateway()
    port = demo_server.free_port()
    log_path = os.path.join(folder, "server.log")
    server = subprocess.Popen([binary, "serve", "--database", database, "--port", str(port), "--log-level", "trace",
                               "--otp-sender", "webhook:" + gateway.url(), "--otp-webhook-secret", "gateway-secret",
                               # The webhook below goes to the local gateway, which only an allowed host may be.
                               "--webhook-allowed-hosts", "127.0.0.1"],
                              stdout=open(log_path, "w"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(base + "/health")
            break
        except OSError:
            time.sleep(0.05)

    secrets = [key, "gateway-secret"]
    tokens = []
    for phone in ["+919800000002", "+919800000003"]:
        call(base, "POST", "/auth/otp", {"phoneNumber": phone})
        code = gateway.wait_code(phone)
        assert code, f"no code reached the gateway for {phone}"
        secrets.append(code)
        wrong = "000000" if code != "000000" else "111111"
        call(base, "POST", "/auth/login", {"phoneNumber": phone, "code": wrong, "deviceName": "phone"})
        status, body = call(base, "POST", "/auth/login", {"phoneNumber": phone, "code": code, "deviceName": "phone"})
        assert status == 201, body
        tokens.append(body["token"])
        secrets.append(body["token"])
        call(base, "GET", "/me", headers={"Authorization": f"Bearer {body['token']}"})
    call(base, "GET", "/team", headers={"x-public-key": key})
    call(base, "POST", "/team-member/logout", {"userPhoneNumber": "+919800000002", "reason": "log check"}, {"x-public-key": key, "Idempotency-Key": "log-check"})
    call(base, "POST", "/team-member/logout", {"userPhoneNumber": "+919800000002"}, {"Authorization": f"Bearer {key}"})
    call(base, "GET", "/me", headers={"Authorization": f"Bearer {tokens[0]}"})
    call(base, "POST", "/auth/logout", {}, {"Authorization": f"Bearer {tokens[1]}"})
    status, hook = call(base, "POST", "/webhooks", {"url": gateway.url("/hook"), "events": ["team_member.logged_out"]}, {"x-public-key": key})
    secrets.append(hook["secret"])
    call(base, "POST", "/team-member/logout", {"userPhoneNumber": "+919800000003"}, {"x-public-key": key})
    wrong_key = key[:-4] + "abcd"
    call(base, "POST", "/team-member/logout", {"userPhoneNumber": "+919800000003"}, {"x-public-key": wrong_key})
    secrets.append(wrong_key)
    time.sleep(1)
    server.terminate()
    server.wait()
    gateway.stop()

    log = open(log_path).read()
    found = [s[:8] + "…" for s in secrets if re.search(r"(?<![A-Za-z0-9_-])" + re.escape(s) + r"(?![A-Za-z0-9_-])", log)]
    lines = log.count("\n")
    print(f"secrets-log-check: {len(secrets)} secrets used ({len(tokens)} tokens, {len(tokens)} codes, 2 keys, 2 webhook secrets), "
          f"{lines} log lines at trace level, {len(found)} found {found}")
    print(f"secrets-log-check: {0 if found else 1} passed, {1 if found else 0} failed")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
