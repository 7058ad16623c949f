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
token; and OpenID Connect: an app registered with the CLI (`oidc-clients add`, its back-channel logout URI on a
local receiver, so the server runs with `--webhook-allowed-hosts 127.0.0.1`) and one by `POST /oidc/clients`; the
code flow through TeamGate's sign-in page with plain HTTP (`GET /oidc/authorize` with PKCE S256, the code asked for
on the page and taken from the gateway, a wrong code first, then a 302 back to the app with code, state and iss and
the `teamgate_session` cookie); SCIM: a provisioning token made with the CLI (`scim-tokens create`), a user provisioned with
it and deactivated (a signed-in agent's session ends), a made-up token refused; `POST /oidc/token` (client_secret_basic), `GET /oidc/userinfo`, `POST /oidc/introspect`, a
refresh, a wrong client secret (401), `POST /oidc/revoke`; the `teamgate_session` cookie's straight-back code, used twice
(400 invalid_grant); RP-initiated logout with the ID token (`GET /oidc/logout?id_token_hint=`, back to the
post-logout URI); a second sign-in to the API's app, then the admin's logout, whose back-channel logout token the
receiver captures. Each step's answer is checked, so a run that did not happen cannot pass.

Every secret used — API keys (org create, keys create, the console's), provisioning tokens (made and made-up), session tokens (API, console cookie,
`teamgate_session` cookie), console CSRF tokens, sign-in codes, webhook signing secrets, the code gateway's secret, a wrong
key, OIDC client secrets (CLI and API) and a wrong one, authorization codes, PKCE verifiers, OIDC access and
refresh tokens, ID tokens and logout tokens (whole), each base64 line (16 characters or more) of the OIDC signing
key's private PEM as the database holds it (read after the run: sqlite3, or psql), the PostgreSQL password — is
then looked for in the server's log, and in what the CLI wrote to stderr, as it is, URL-encoded, and hex-encoded
whole or any 16 bytes of it (PostgreSQL's driver logs rows as hex at trace level, a long row as its first and last
32 bytes): none may appear. So that a
silent log cannot pass, each run also requires trace-level lines in the log and a line caused by a
request of the run (the gateway refuses one number's code, and the server logs that a code could not
be sent). TeamGate's access log writes one line per request with its method, route pattern (`/webhooks/{id}/deliveries`,
never the path or its query string), status, duration and client address, and no header, so a secret can reach
the log only by another way.

The PostgreSQL run uses TEAMGATE_TEST_POSTGRES (an administrator's URL) when set, else a throwaway
cluster (scripts/postgres-throwaway). Such clusters trust loopback, so the password is passed in the
URL but never checked by PostgreSQL. TEAMGATE_BINARY names the server binary."""

import base64
import hashlib
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

from harness import Gateway, Receiver, Server, Tally, ThrowawayPostgres, answer, bearer, cli, psql, wait_for
from wsclient import Refused, WebSocket

OWNER, AGENTS, REFUSED = "+919800000001", ["+919800000002", "+919800000003", "+919800000006"], "+919800000004"
OIDC_MEMBER = "+919800000005"  # signs in to the OpenID Connect apps

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
    for index, phone in enumerate(AGENTS + [REFUSED, OIDC_MEMBER]):
        cli("members", "add", "--name", f"Agent {index}", "--phone", phone, database=database, stderr=stderr)
    made = cli("keys", "create", "--name", "cli key", "--json", database=database, stderr=stderr)
    cli_key = secret("API key (keys create)", json.loads(made)["apiKey"])
    gateway_secret = secret("code gateway secret", "gw-" + random.token_hex(16))
    made = cli("scim-tokens", "create", "--name", "Entra ID", "--json", database=database, stderr=stderr)
    scim_token = secret("provisioning token (scim-tokens create)", json.loads(made)["token"])

    # The apps' side of OpenID Connect: a local receiver of back-channel logouts (form bodies, `logout_token=<JWT>`);
    # the redirect URIs are on it too, though a browser's redirect is never followed here.
    logout_tokens = []

    def receive_logout(handler):
        logout_tokens.extend(urllib.parse.parse_qs(handler.body.decode(errors="replace")).get("logout_token", []))
        answer(204)(handler)

    backchannel = Receiver(receive_logout)
    cli_redirect, cli_post_logout, api_redirect = backchannel.url("/callback/cli"), backchannel.url("/signed-out"), backchannel.url("/callback/api")
    registered = cli("oidc-clients", "add", "--name", "CLI app", "--redirect-uri", cli_redirect, "--post-logout-redirect-uri", cli_post_logout,
                     "--backchannel-logout-uri", backchannel.url("/backchannel/cli"), "--webhook-allowed-hosts", "127.0.0.1", "--json",
                     database=database, stderr=stderr)
    cli_app = json.loads(registered)
    secret("OIDC client secret (CLI)", cli_app.get("clientSecret"))
    step("the CLI registers an app (its client id and secret)", cli_app.get("clientId") and cli_app.get("clientSecret"), cli_app)

    server = Server(["--log-level", "trace", "--otp-sender", "webhook:" + gateway.url(), "--otp-webhook-secret", gateway_secret,
                     # The webhook below goes to the local gateway, and the apps' back-channel logouts to a local
                     # receiver: only an allowed host may be either.
                     "--webhook-allowed-hosts", "127.0.0.1"], database=database, name=label, folder=folder)
    call = server.call

    try:
        server.start()
        port = server.port

        agent_tokens = []
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
            agent_tokens.append(secret("session token", body["token"]))
            step("GET /me takes the token", call("GET", "/me", bearer(body["token"])).status == 200)
        step("GET /team with the org's key", call("GET", "/team", {"x-public-key": key}).status == 200)
        step("GET /team with the CLI's key", call("GET", "/team", {"x-public-key": cli_key}).status == 200)

        # The browser's way to the events: the token in the query string.
        ws = WebSocket(port, SimpleNamespace(token=agent_tokens[0]), via="query")
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
            WebSocket(port, SimpleNamespace(token=agent_tokens[0]), via="query").close()
            step("a socket for the ended session is refused", False, "it opened")
        except Refused:
            pass
        status = call("GET", "/me/events?token=" + urllib.parse.quote(agent_tokens[0])).status
        step("a plain GET /me/events?token= for the ended session: 401", status == 401, status)
        made_up = secret("made-up session token", "tgs_" + random.token_urlsafe(32))
        step("GET /me/events?token= with a made-up token: 401", call("GET", "/me/events?token=" + made_up).status == 401)
        step("GET /me with a made-up token: 401", call("GET", "/me", bearer(made_up)).status == 401)

        step("a logout by Authorization: Bearer <key>",
             call("POST", "/team-member/logout", bearer(key), {"userPhoneNumber": AGENTS[0]}).status == 201)
        step("GET /me with the ended token: 401", call("GET", "/me", bearer(agent_tokens[0])).status == 401)
        step("the member's own /auth/logout", call("POST", "/auth/logout", bearer(agent_tokens[1]), {}).status in (200, 201, 204))
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

        # OpenID Connect: two apps (the CLI's, registered before the server started, and one made over the API), the
        # code flow through TeamGate's sign-in page, the token endpoint, userinfo, introspection, refresh, revocation,
        # a used code refused, RP-initiated and back-channel logouts.
        reply = call("POST", "/oidc/clients", {"x-public-key": key},
                     {"name": "API app", "redirectUris": [api_redirect], "backchannelLogoutUri": backchannel.url("/backchannel/api")})
        status, api_app = reply.status, reply.value
        step("an app is registered over the API (201, with its secret)", status == 201 and isinstance(api_app, dict) and api_app.get("clientSecret"),
             f"{status} {api_app}")
        api_app = api_app if isinstance(api_app, dict) else {}
        secret("OIDC client secret (API)", api_app.get("clientSecret"))

        def basic(client_id, client_secret):
            pair = f"{urllib.parse.quote(client_id, safe='')}:{urllib.parse.quote(client_secret, safe='')}"
            return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}

        def authorization(app, redirect_uri, label):
            verifier = secret("PKCE verifier", random.token_urlsafe(48))
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            return verifier, {"response_type": "code", "client_id": app.get("clientId", ""), "redirect_uri": redirect_uri,
                              "scope": "openid profile phone offline_access", "state": f"state-{label}-" + random.token_hex(6),
                              "nonce": "nonce-" + random.token_hex(8), "code_challenge": challenge, "code_challenge_method": "S256"}

        def code_from(reply, parameters, what):
            """The code of a 302 back to the app (checked: its redirect_uri, state and iss)."""
            location = reply.headers.get("location") or ""
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
            good = (reply.status == 302 and location.startswith(parameters["redirect_uri"] + "?")
                    and query.get("state") == [parameters["state"]] and query.get("iss") and query.get("code"))
            step(what, good, f"{reply.status} {location[:120]}")
            return secret("authorization code", query["code"][0] if good else None)

        def browser_sign_in(app, redirect_uri, phone, label, wrong_first):
            """The sign-in page, step by step, with plain HTTP. Returns (parameters, verifier, code, teamgate_session token)."""
            verifier, parameters = authorization(app, redirect_uri, label)
            reply = call("GET", "/oidc/authorize?" + urllib.parse.urlencode(parameters))
            page = reply.value if isinstance(reply.value, str) else ""
            step(f"{label}: GET /oidc/authorize shows the sign-in page (200)", reply.status == 200 and 'name="phone"' in page, reply.status)
            reply = call("POST", "/oidc/authorize", form={**parameters, "step": "code", "phone": phone})
            page = reply.value if isinstance(reply.value, str) else ""
            code = secret("sign-in code (OIDC page)", gateway.wait_code(phone))
            step(f"{label}: the page asks for the code (200, the Code field) and the gateway gets it",
                 reply.status == 200 and 'name="code"' in page and code, f"{reply.status}, code {code}")
            if wrong_first:
                wrong = "000000" if code != "000000" else "111111"
                reply = call("POST", "/oidc/authorize", form={**parameters, "step": "sign-in", "phone": phone, "code": wrong})
                step(f"{label}: a wrong code on the page is refused (401, no cookie)", reply.status == 401 and not reply.headers.get("set-cookie"),
                     reply.status)
            reply = call("POST", "/oidc/authorize", form={**parameters, "step": "sign-in", "phone": phone, "code": code or ""})
            cookie = re.match(r"teamgate_session=(tgs_[^;]*)", reply.headers.get("set-cookie") or "")
            step(f"{label}: the teamgate_session cookie is set", cookie, reply.headers.get("set-cookie"))
            sso = secret("teamgate_session session token (cookie)", cookie.group(1) if cookie else None)
            return parameters, verifier, code_from(reply, parameters, f"{label}: signed in, 302 back to the app with code, state and iss"), sso

        def exchange(app, parameters, verifier, code, label):
            reply = call("POST", "/oidc/token", basic(app.get("clientId", ""), app.get("clientSecret", "")),
                         form={"grant_type": "authorization_code", "code": code or "none", "redirect_uri": parameters["redirect_uri"],
                               "code_verifier": verifier})
            tokens = reply.value if isinstance(reply.value, dict) else {}
            step(f"{label}: the code is exchanged (200: access, refresh and ID tokens)",
                 reply.status == 200 and all(tokens.get(k) for k in ("access_token", "refresh_token", "id_token")), f"{reply.status} {reply.value}")
            secret("OIDC access token", tokens.get("access_token"))
            secret("OIDC refresh token", tokens.get("refresh_token"))
            secret("ID token", tokens.get("id_token"))
            return tokens

        def introspect(app, token):
            reply = call("POST", "/oidc/introspect", basic(app["clientId"], app["clientSecret"]), form={"token": token or "none"})
            return reply.status, reply.value.get("active") if isinstance(reply.value, dict) else None

        # The CLI's app: a sign-in on the page (a wrong code first), its tokens used, refreshed, revoked.
        cli_app = cli_app or {}
        parameters, verifier, code, sso = browser_sign_in(cli_app, cli_redirect, OIDC_MEMBER, "CLI app", wrong_first=True)
        tokens = exchange(cli_app, parameters, verifier, code, "CLI app")
        id_token = tokens.get("id_token")
        reply = call("GET", "/oidc/userinfo", bearer(tokens.get("access_token", "none")))
        step("GET /oidc/userinfo with the access token (200, the member's phone)",
             reply.status == 200 and isinstance(reply.value, dict) and reply.value.get("phone_number") == OIDC_MEMBER, f"{reply.status} {reply.value}")
        step("POST /oidc/introspect: the access token is active", introspect(cli_app, tokens.get("access_token")) == (200, True))
        reply = call("POST", "/oidc/token", basic(cli_app.get("clientId", ""), cli_app.get("clientSecret", "")),
                     form={"grant_type": "refresh_token", "refresh_token": tokens.get("refresh_token") or "none"})
        refreshed = reply.value if isinstance(reply.value, dict) else {}
        step("a refresh gives a new access token (200)",
             reply.status == 200 and refreshed.get("access_token") and refreshed.get("access_token") != tokens.get("access_token"),
             f"{reply.status} {reply.value}")
        secret("OIDC access token (refreshed)", refreshed.get("access_token"))
        secret("OIDC refresh token (refreshed)", refreshed.get("refresh_token"))
        secret("ID token (refreshed)", refreshed.get("id_token"))
        step("POST /oidc/introspect: the refreshed access token is active", introspect(cli_app, refreshed.get("access_token")) == (200, True))
        wrong_secret = secret("wrong client secret", (cli_app.get("clientSecret") or "x" * 8)[:-4] + "abcd")
        reply = call("POST", "/oidc/introspect", basic(cli_app.get("clientId", ""), wrong_secret), form={"token": refreshed.get("access_token") or "none"})
        step("a wrong client secret is refused (401 invalid_client)",
             reply.status == 401 and isinstance(reply.value, dict) and reply.value.get("error") == "invalid_client", f"{reply.status} {reply.value}")
        reply = call("POST", "/oidc/revoke", basic(cli_app.get("clientId", ""), cli_app.get("clientSecret", "")),
                     form={"token": refreshed.get("refresh_token") or tokens.get("refresh_token") or "none"})
        step("POST /oidc/revoke (200)", reply.status == 200, f"{reply.status} {reply.value}")
        step("after the revocation the access token is not active", introspect(cli_app, refreshed.get("access_token")) == (200, False))

        # The browser still signed in (its teamgate_session cookie): straight back to the app with a code, which is used twice.
        verifier, parameters = authorization(cli_app, cli_redirect, "cookie")
        reply = call("GET", "/oidc/authorize?" + urllib.parse.urlencode(parameters), {"Cookie": f"teamgate_session={sso}"})
        code = code_from(reply, parameters, "with the teamgate_session cookie, GET /oidc/authorize goes straight back with a code (302)")
        again = exchange(cli_app, parameters, verifier, code, "the cookie's code")
        reply = call("POST", "/oidc/token", basic(cli_app.get("clientId", ""), cli_app.get("clientSecret", "")),
                     form={"grant_type": "authorization_code", "code": code or "none", "redirect_uri": cli_redirect, "code_verifier": verifier})
        step("the same code used again is refused (400 invalid_grant)",
             reply.status == 400 and isinstance(reply.value, dict) and reply.value.get("error") == "invalid_grant", f"{reply.status} {reply.value}")
        step("the used code's tokens are revoked with it", introspect(cli_app, again.get("access_token")) == (200, False))

        # RP-initiated logout with the ID token: the browser's session ends, and back to the app's post-logout URI.
        logout_state = "bye-" + random.token_hex(6)
        reply = call("GET", "/oidc/logout?" + urllib.parse.urlencode(
            {"id_token_hint": id_token or "none", "post_logout_redirect_uri": cli_post_logout, "state": logout_state}))
        location = reply.headers.get("location") or ""
        step("GET /oidc/logout?id_token_hint= ends the session and goes back to the post-logout URI (302, its state)",
             reply.status == 302 and location.startswith(cli_post_logout) and logout_state in location, f"{reply.status} {location}")
        reply = call("GET", "/oidc/authorize?" + urllib.parse.urlencode(authorization(cli_app, cli_redirect, "ended")[1]), {"Cookie": f"teamgate_session={sso}"})
        step("the ended teamgate_session cookie gets the sign-in page again (200)", reply.status == 200, reply.status)

        # A second sign-in (another browser, the API's app), then the admin's logout: a back-channel logout to the app.
        parameters, verifier, code, _ = browser_sign_in(api_app, api_redirect, OIDC_MEMBER, "API app", wrong_first=False)
        second = exchange(api_app, parameters, verifier, code, "API app")
        step("the API app's access token is active", introspect(api_app, second.get("access_token")) == (200, True))
        reply = call("POST", "/team-member/logout", {"x-public-key": key}, {"userPhoneNumber": OIDC_MEMBER, "reason": "log check"})
        step("the admin logs the member out (201)", reply.status == 201, f"{reply.status} {reply.value}")

        def logout_for_api_app():
            for token in logout_tokens:
                try:
                    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
                except (ValueError, IndexError):
                    continue
                if payload.get("aud") == api_app.get("clientId") and "http://schemas.openid.net/event/backchannel-logout" in payload.get("events", {}):
                    return token
            return None

        step("a back-channel logout token reached the API app's receiver", wait_for(logout_for_api_app, 10, step=0.1), logout_tokens)
        step("the API app's access token is no longer active", introspect(api_app, second.get("access_token")) == (200, False))
        reply = call("GET", "/oidc/logout?" + urllib.parse.urlencode({"id_token_hint": second.get("id_token") or "none"}))
        step("GET /oidc/logout with the second ID token, its session already ended: the signed-out page (200)", reply.status == 200, reply.status)


        # The directory: a user provisioned with the token (a signed-in agent's number, so the member is linked), then
        # deactivated, which ends that agent's session; a made-up token refused.
        scim_headers = {**bearer(scim_token), "Content-Type": "application/scim+json"}
        reply = call("POST", "/scim/v2/Users", scim_headers, {"userName": "agent2@acme.example", "phoneNumbers": [{"value": AGENTS[2], "type": "mobile"}]})
        user_id = reply.value.get("id", "") if isinstance(reply.value, dict) else ""
        step("the directory provisions a user with its token (201)", reply.status == 201 and user_id, f"{reply.status} {reply.value}")
        reply = call("PATCH", f"/scim/v2/Users/{user_id}", scim_headers, {"Operations": [{"op": "Replace", "path": "active", "value": "False"}]})
        step("the directory deactivates them (200), which ends their session", reply.status == 200 and call("GET", "/me", bearer(agent_tokens[2])).status == 401,
             f"{reply.status} {reply.value}")
        wrong_scim = secret("made-up provisioning token", "scim_" + random.token_urlsafe(32))
        step("a made-up provisioning token is refused (401)", call("GET", "/scim/v2/Users", bearer(wrong_scim)).status == 401)

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
        backchannel.stop()
        for token in logout_tokens:
            secret("logout token", token)
    key_lines = signing_key_lines(database)
    step("the OIDC signing key is read from the database", key_lines, "no oidc_signing_keys row")
    secrets += [("OIDC signing key (a line of its PEM)", line) for line in key_lines]
    return secrets, server.log(), "".join(stderr), failed


def signing_key_lines(database):
    """The base64 lines of every OIDC signing key's private PEM, as the database holds them (SQLite, or PostgreSQL)."""
    query = "SELECT private_key FROM oidc_signing_keys"
    if database.startswith("postgres"):
        text = psql(database, "\\pset format unaligned", "\\pset tuples_only on", query).stdout
    else:
        text = subprocess.run(["sqlite3", database, query], capture_output=True, text=True, check=True).stdout
    # Short lines (a PEM's last) could turn up by chance; 16 characters or more cannot.
    return [line.strip() for line in text.splitlines() if len(line.strip()) >= 16 and not line.startswith("-----")]


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
