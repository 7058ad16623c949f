"""Prepares the bench's OpenID Connect routes: registers an app with the bench's key, then, for members signed in
on the seeded devices (their session token as the browser's `teamgate_session` cookie: the authorize endpoint redirects
straight back with a code), makes codes and exchanges some of them. Writes access.txt (access tokens, for the
introspection and userinfo routes) and codes.txt (fresh codes, each exchanged once by the token route), and prints
the app's client id and secret on one line.

    python3 scripts/bench.d/oidc.py BASE_URL --key KEY --tokens tokens.txt --access 4000 --codes 30000 --out DIR"""

import argparse
import base64
import http.client
import json
import os
import sys
import threading
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("--key", required=True)
    parser.add_argument("--tokens", required=True)
    parser.add_argument("--access", type=int, default=4000)
    parser.add_argument("--codes", type=int, default=30000)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    status, _, data = call(args.base, "POST", "/oidc/clients", json.dumps({"name": "Bench app", "redirectUris": [REDIRECT]}),
                           {"x-public-key": args.key, "Content-Type": "application/json"})
    if status != 201:
        sys.exit(f"oidc.py: registering the app answered {status}: {data[:300]!r}")
    app = json.loads(data)
    basic = "Basic " + base64.b64encode(f"{app['clientId']}:{app['clientSecret']}".encode()).decode()
    with open(args.tokens) as file:
        devices = [line.strip() for line in file if line.strip()]
    challenge = base64.urlsafe_b64encode(__import__("hashlib").sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
    query = urllib.parse.urlencode({"response_type": "code", "client_id": app["clientId"], "redirect_uri": REDIRECT,
                                    "scope": "openid profile phone", "code_challenge": challenge, "code_challenge_method": "S256"})

    def code(index):
        status, headers, data = call(args.base, "GET", "/oidc/authorize?" + query, headers={"Cookie": f"teamgate_session={devices[index % len(devices)]}"})
        location = headers.get("Location", "")
        codes = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query).get("code")
        if status != 302 or not codes:
            raise RuntimeError(f"authorize answered {status} {location[:200]} {data[:200]!r}")
        return codes[0]

    def exchange(value):
        body = urllib.parse.urlencode({"grant_type": "authorization_code", "code": value, "redirect_uri": REDIRECT, "code_verifier": VERIFIER})
        status, _, data = call(args.base, "POST", "/oidc/token", body,
                               {"Authorization": basic, "Content-Type": "application/x-www-form-urlencoded"})
        if status != 200:
            raise RuntimeError(f"the token endpoint answered {status}: {data[:300]!r}")
        return json.loads(data)["access_token"]

    with ThreadPoolExecutor(16) as pool:
        access = list(pool.map(exchange, pool.map(code, range(args.access))))
        codes = list(pool.map(code, range(args.access, args.access + args.codes)))
    with open(os.path.join(args.out, "access.txt"), "w") as file:
        file.write("\n".join(access) + "\n")
    with open(os.path.join(args.out, "codes.txt"), "w") as file:
        file.write("\n".join(codes) + "\n")
    print(app["clientId"], app["clientSecret"])


if __name__ == "__main__":
    main()
