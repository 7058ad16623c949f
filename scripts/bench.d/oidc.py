"""Prepares the bench's OpenID Connect routes, for members signed in on the seeded devices (their session token as
the browser's `teamgate_session` cookie: the authorize endpoint redirects straight back with a code).

`app` registers an app with the bench's key, makes codes and exchanges them, writes access.txt (access tokens, for the
introspection and userinfo routes) and prints the app's client id and secret on one line. `codes` makes fresh codes
for the token route, each exchanged once, into codes.txt, right before that route: codes last a minute, so it stops
at --within seconds (20 by default) however many it has made by then; on PostgreSQL, where each code is a durable
write of its own, 30,000 take longer than a code lasts.

    python3 scripts/bench.d/oidc.py app BASE_URL --key KEY --tokens tokens.txt --access 4000 --out DIR
    python3 scripts/bench.d/oidc.py codes BASE_URL --client ID --tokens tokens.txt --count 30000 --within 20 --out DIR"""

import argparse
import base64
import hashlib
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

REDIRECT = "http://127.0.0.1/bench-callback"
VERIFIER = "bench-verifier-0123456789-0123456789-0123456789"


def connection(base):
    parsed = urllib.parse.urlsplit(base)
    return http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)


local = threading.local()


def call(base, method, path, body=None, headers=None):
    if getattr(local, "connection", None) is None:
        local.connection = connection(base)
    local.connection.request(method, path, body=body, headers=headers or {})
    response = local.connection.getresponse()
    data = response.read()
    return response.status, dict(response.getheaders()), data


def authorize_query(client_id):
    challenge = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
    return urllib.parse.urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT,
                                   "scope": "openid profile phone", "code_challenge": challenge, "code_challenge_method": "S256"})


def code(base, query, device):
    status, headers, data = call(base, "GET", "/oidc/authorize?" + query, headers={"Cookie": f"teamgate_session={device}"})
    location = headers.get("Location", "")
    codes = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query).get("code")
    if status != 302 or not codes:
        raise RuntimeError(f"authorize answered {status} {location[:200]} {data[:200]!r}")
    return codes[0]


def read_devices(path):
    with open(path) as file:
        return [line.strip() for line in file if line.strip()]


def app(args):
    status, _, data = call(args.base, "POST", "/oidc/clients", json.dumps({"name": "Bench app", "redirectUris": [REDIRECT]}),
                           {"x-public-key": args.key, "Content-Type": "application/json"})
    if status != 201:
        sys.exit(f"oidc.py: registering the app answered {status}: {data[:300]!r}")
    registered = json.loads(data)
    basic = "Basic " + base64.b64encode(f"{registered['clientId']}:{registered['clientSecret']}".encode()).decode()
    devices = read_devices(args.tokens)
    query = authorize_query(registered["clientId"])

    def exchange(value):
        body = urllib.parse.urlencode({"grant_type": "authorization_code", "code": value, "redirect_uri": REDIRECT, "code_verifier": VERIFIER})
        status, _, data = call(args.base, "POST", "/oidc/token", body,
                               {"Authorization": basic, "Content-Type": "application/x-www-form-urlencoded"})
        if status != 200:
            raise RuntimeError(f"the token endpoint answered {status}: {data[:300]!r}")
        return json.loads(data)["access_token"]

    with ThreadPoolExecutor(16) as pool:
        access = list(pool.map(exchange, pool.map(lambda index: code(args.base, query, devices[index % len(devices)]), range(args.access))))
    with open(os.path.join(args.out, "access.txt"), "w") as file:
        file.write("\n".join(access) + "\n")
    print(registered["clientId"], registered["clientSecret"])


def codes(args):
    devices = read_devices(args.tokens)
    query = authorize_query(args.client)
    deadline = time.monotonic() + args.within
    made = []

    def worker(offset):
        # Each of the 16 workers takes every 16th device; a worker stops at the deadline or the count.
        mine = []
        for index in range(offset, args.count, 16):
            if time.monotonic() >= deadline:
                break
            mine.append(code(args.base, query, devices[index % len(devices)]))
        return mine

    with ThreadPoolExecutor(16) as pool:
        for mine in pool.map(worker, range(16)):
            made.extend(mine)
    if not made:
        sys.exit("oidc.py: no code made before the deadline")
    with open(os.path.join(args.out, "codes.txt"), "w") as file:
        file.write("\n".join(made) + "\n")
    print(len(made))


def main():
    parser = argparse.ArgumentParser()
    phases = parser.add_subparsers(dest="phase", required=True)
    app_phase = phases.add_parser("app")
    app_phase.add_argument("base")
    app_phase.add_argument("--key", required=True)
    app_phase.add_argument("--tokens", required=True)
    app_phase.add_argument("--access", type=int, default=4000)
    app_phase.add_argument("--out", required=True)
    codes_phase = phases.add_parser("codes")
    codes_phase.add_argument("base")
    codes_phase.add_argument("--client", required=True)
    codes_phase.add_argument("--tokens", required=True)
    codes_phase.add_argument("--count", type=int, default=30000)
    codes_phase.add_argument("--within", type=float, default=20)
    codes_phase.add_argument("--out", required=True)
    args = parser.parse_args()
    if args.phase == "app":
        app(args)
    else:
        codes(args)


if __name__ == "__main__":
    main()
