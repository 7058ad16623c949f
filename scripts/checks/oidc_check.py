"""TeamGate as an OpenID Connect provider, driven by relying parties nobody here wrote.

1. Authlib (OAuth2Session; the JWTs verified with joserfc, Authlib's own JOSE library, against /oidc/jwks) as a
   confidential client (registered with the CLI while the server is stopped) and as a public client (registered
   through the API): the discovery document's fields; the code flow with PKCE, its sign-in form driven with plain
   HTTP (the phone, the code the stand-in SMS gateway got, the redirect with code, state and iss, the HttpOnly
   SameSite=Lax `teamgate_session` cookie); the ID token's signature and claims (iss, aud, nonce, sid, sub = the member's id,
   auth_time, name, phone_number); userinfo; introspection; refresh (client_secret_basic and client_secret_post);
   revocation (that app grant's tokens refused after; 200 also once the session has ended); a second authorize
   with the SSO cookie comes straight back. Refused: an unknown client, an unregistered redirect_uri, a removed
   client (400 page, no Location); a code used twice (invalid_grant, and what its first use issued is refused);
   a PKCE mismatch or a missing verifier; a public client without PKCE; a wrong client secret (401
   invalid_client); a member of another organisation. The admin's API logout: at once after its 201, no sleep,
   introspection says active:false, userinfo 401 with WWW-Authenticate, refresh invalid_grant, for both apps; each
   app's back-channel URI (exactly as registered, query included) gets within 2 s a form POST of a logout_token
   that verifies with the JWKS (typ logout+jwt, the ID token's sid, events, no nonce, exp - iat about 120 s).
   RP-initiated logout with id_token_hint: 302 with state to a post-logout URI registered for that client, the
   session's other app told, the SSO cookie dead; a post-logout URI registered for another client gets the 200
   signed-out page. A back-channel URI on a private address is refused (400), and one on loopback too by a
   server without --webhook-allowed-hosts.
2. Apache with Debian's mod_auth_openidc protecting a page, driven by headless Chromium: the protected page sends
   the browser to TeamGate's sign-in, phone, code, and the page shows the member's name; the admin's API logout
   reaches mod_auth_openidc's back-channel endpoint within 2 s and a reload goes back to TeamGate's sign-in,
   which asks for the phone number again; signed in again, mod_auth_openidc's logout (RP-initiated, through
   TeamGate's end_session_endpoint) lands on the registered post-logout page and the protected page asks for a
   sign-in again.

Without --postgres, one instance on a new SQLite file. With --postgres ADMIN_URL, a fresh database on that server
and two instances, A and B, on it: the apps (Authlib, Apache) talk only to B, whose URL is the issuer (A gets it
with --public-url, B through TEAMGATE_PUBLIC_URL); the admin's logouts go through A.

    python3 scripts/checks/oidc_check.py
    python3 scripts/checks/oidc_check.py --postgres postgresql://postgres@127.0.0.1:55431/postgres
    python3 scripts/checks/oidc_check.py --part authlib      # or apache: one relying party only

Needs Authlib, requests, Playwright, Debian's chromium, apache2 and libapache2-mod-auth-openidc
(scripts/install-test-deps). TEAMGATE_BINARY names the server binary (default: `swift build --show-bin-path`)."""

import argparse
import base64
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from html.parser import HTMLParser

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from joserfc import jwt
from joserfc.jwk import KeySet

from harness import (Endpoint, Failure, Gateway, Receiver, Screenshots, Server, Tally, answer, chromium, cli, create_database,
                     free_port, psql, start_server, wait_for)

tally = Tally("oidc-check")
check = tally.check

OWNER = "+919500000001"       # the organisation's owner: the admin whose key logs members out
ALICE = "+919500000002"       # confidential app by the sign-in form, public app by SSO; the admin's logout
BOB = "+919500000003"         # public app by the form; revocation, the refusals, RP-initiated logout
CAROL = "+919500000004"       # RP-initiated logout to a post-logout URI that is not hers to use
DIANA = "+919500000005"       # Apache's relying party, in Chromium
OUTSIDER = "+919500000099"    # the owner of another organisation
NAMES = {ALICE: "Alice Menon", BOB: "Bob Pillai", CAROL: "Carol Dsouza", DIANA: "Diana Kapoor"}
SCOPE = "openid profile phone offline_access"
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
WINDOW = 2.0  # seconds from a session's end to the back-channel POST
HTTP_TIMEOUT = 10


# --- small helpers ---------------------------------------------------------------------------------

def b64json(part):
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def unverified(token):
    """A JWT's header and claims, not verified (to say what arrived when verification fails)."""
    try:
        header, payload, _ = token.split(".")
        return b64json(header), b64json(payload)
    except (ValueError, AttributeError):
        return None, None


def query_of(url):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True))


def with_params(url, **changes):
    """`url` with some of its query parameters replaced."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode({**query_of(url), **changes})))


def short(value, limit=300):
    text = value if isinstance(value, str) else json.dumps(value) if not isinstance(value, bytes) else value.decode(errors="replace")
    return text if len(text) <= limit else text[:limit] + "…"


def said(response):
    """A response in a few words, for a failure's message."""
    if response is None:
        return "no response"
    location = response.headers.get("Location")
    return f"{response.status_code}" + (f" Location: {location}" if location else "") + f" {short(response.text, 240)!r}"


def error_of(response):
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None


def json_of(response):
    try:
        return response.json()
    except ValueError:
        return None


def soft(label, action):
    """`action()`, or {} and a FAIL saying why when it raises (an OAuthError from Authlib, say)."""
    try:
        return action()
    except Exception as error:
        check(label, False, f"{type(error).__name__}: {error}")
        return {}


def aud_has(claims, client_id):
    aud = claims.get("aud")
    return aud == client_id or (isinstance(aud, list) and client_id in aud)


# --- the sign-in form, read as plain HTML ----------------------------------------------------------

def _norm(text):
    return " ".join((text or "").split()).strip().rstrip(":*").strip().casefold()


class Forms(HTMLParser):
    """The forms of a page: each with its action, method, fields (name, value, id, type, aria-label) and
    buttons (name, value, text); and the labels, with the field each names (by `for` or by wrapping)."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.forms, self.labels = [], []
        self._form = self._label = self._button = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = {"action": a.get("action", ""), "method": a.get("method", "get").lower(), "fields": [], "buttons": []}
            self.forms.append(self._form)
        elif tag == "label":
            self._label = {"for": a.get("for"), "text": "", "fields": []}
            self.labels.append(self._label)
        elif tag in ("input", "textarea", "select"):
            kind = a.get("type", "text").lower() if tag == "input" else tag
            if kind in ("submit", "image"):
                if self._form is not None:
                    self._form["buttons"].append({"name": a.get("name"), "value": a.get("value", ""), "text": a.get("value", "")})
                return
            field = {"name": a.get("name"), "value": a.get("value", ""), "id": a.get("id"), "type": kind,
                     "aria": a.get("aria-label"), "checked": "checked" in a}
            if self._form is not None:
                self._form["fields"].append(field)
            if self._label is not None:
                self._label["fields"].append(field)
        elif tag == "button" and self._form is not None:
            if a.get("type", "submit").lower() == "submit":
                self._button = {"name": a.get("name"), "value": a.get("value", ""), "text": ""}
                self._form["buttons"].append(self._button)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "label":
            self._label = None
        elif tag == "button":
            self._button = None

    def handle_data(self, data):
        if self._label is not None:
            self._label["text"] += data
        if self._button is not None:
            self._button["text"] += data

    def labelled(self, form, label):
        """The field of `form` labelled `label` (exact words first, then a label that starts with them)."""
        want = _norm(label)
        for exact in (True, False):
            for field in form["fields"]:
                names = [_norm(field["aria"])] if field["aria"] else []
                names += [_norm(l["text"]) for l in self.labels if (field["id"] and l["for"] == field["id"]) or field in l["fields"]]
                if any(n == want if exact else n.startswith(want) for n in names):
                    return field
        return None

    def find(self, label, button):
        """The form with a field labelled `label` and a submit button `button`: (form, field, button)."""
        for form in self.forms:
            field = self.labelled(form, label)
            chosen = next((b for b in form["buttons"] if _norm(b["text"]) == _norm(button)), None)
            if field and chosen:
                return form, field, chosen
        return None


def submit(session, page_url, form, filled, button):
    """Posts `form` as a browser would when `button` is clicked, with `filled` ({field dict id: value})."""
    data = []
    for field in form["fields"]:
        if not field["name"] or (field["type"] in ("checkbox", "radio") and not field["checked"]):
            continue
        data.append((field["name"], filled.get(id(field), field["value"])))
    if button.get("name"):
        data.append((button["name"], button["value"]))
    url = urllib.parse.urljoin(page_url, form["action"] or page_url)
    if form["method"] == "post":
        return session.post(url, data=data, allow_redirects=False, timeout=HTTP_TIMEOUT)
    return session.get(url, params=data, allow_redirects=False, timeout=HTTP_TIMEOUT)


class Browse:
    """A browser's walk through TeamGate's pages with plain HTTP: a requests.Session (its cookie jar is the
    browser's), redirects followed while they stay on TeamGate, every response kept."""

    def __init__(self, issuer):
        self.issuer = issuer
        self.session = requests.Session()
        self.responses = []

    def _follow(self, response):
        self.responses.append(response)
        hops = 0
        while response.status_code in (301, 302, 303, 307) and hops < 10:
            target = urllib.parse.urljoin(response.url, response.headers.get("Location", ""))
            if not target.startswith(self.issuer + "/"):
                break  # leaving TeamGate: to the app's redirect_uri, which a test client does not visit
            response = self.session.get(target, allow_redirects=False, timeout=HTTP_TIMEOUT)
            self.responses.append(response)
            hops += 1
        return response

    def get(self, url):
        return self._follow(self.session.get(url, allow_redirects=False, timeout=HTTP_TIMEOUT))

    def submit(self, page, label, button, value):
        """On `page` (a response), fills the field labelled `label` and clicks `button`."""
        forms = Forms(page.text)
        found = forms.find(label, button)
        if not found:
            raise Failure(f"{page.url} ({page.status_code}) has no form with a field labelled {label!r} and a button {button!r}; "
                          f"its forms: {[([f['name'] for f in fm['fields']], [b['text'].strip() for b in fm['buttons']]) for fm in forms.forms]}; "
                          f"page: {short(page.text, 400)!r}")
        form, field, chosen = found
        if form["method"] != "post" or not urllib.parse.urljoin(page.url, form["action"] or page.url).split("?")[0].endswith("/oidc/authorize"):
            raise Failure(f"the {button!r} form on {page.url} is {form['method'].upper()} {form['action']!r}, not a POST to /oidc/authorize")
        return self._follow(submit(self.session, page.url, form, {id(field): value}, chosen))

    def set_cookies(self, name):
        """The Set-Cookie headers for cookie `name` among the responses so far."""
        found = []
        for response in self.responses:
            for header in response.raw.headers.getlist("Set-Cookie") if response.raw is not None else []:
                if header.split("=", 1)[0].strip() == name:
                    found.append(header)
        return found


def sign_in_form(browse, authorize_url, phone, gateway):
    """The sign-in page for `authorize_url`: the phone, Get a code, the code the gateway got, Sign in.
    Returns the last response (a 302 to the app's redirect_uri, when it worked)."""
    page = browse.get(authorize_url)
    if page.status_code != 200:
        raise Failure(f"GET /oidc/authorize without a session answered {said(page)}, not the 200 sign-in page")
    page = browse.submit(page, "Phone number", "Get a code", phone)
    code = gateway.wait_code(phone)
    if code is None:
        raise Failure(f"no sign-in code reached the gateway for {phone} after 'Get a code' (page: {said(page)})")
    return browse.submit(page, "Code", "Sign in", code)


# --- the provider, as the apps see it --------------------------------------------------------------

class Provider:
    """TeamGate's discovery document and keys, and raw form calls to its endpoints (for the refusals, whose
    status and body Authlib would hide behind an exception)."""

    def __init__(self, issuer):
        self.issuer = issuer
        reply = requests.get(issuer + "/.well-known/openid-configuration", timeout=HTTP_TIMEOUT)
        if reply.status_code != 200 or not isinstance(json_of(reply), dict):
            raise Failure(f"GET /.well-known/openid-configuration answered {said(reply)}")
        self.meta = reply.json()
        self.jwks_reply = requests.get(self.meta.get("jwks_uri") or issuer + "/oidc/jwks", timeout=HTTP_TIMEOUT)
        self.keys = KeySet.import_key_set(self.jwks_reply.json())

    def endpoint(self, name):
        return self.meta.get(name) or self.issuer + {"authorization_endpoint": "/oidc/authorize", "token_endpoint": "/oidc/token",
                                                       "userinfo_endpoint": "/oidc/userinfo", "jwks_uri": "/oidc/jwks",
                                                       "end_session_endpoint": "/oidc/logout", "revocation_endpoint": "/oidc/revoke",
                                                       "introspection_endpoint": "/oidc/introspect"}[name]

    def verify(self, token):
        """(header, claims) of a JWT whose RS256 signature verifies with the JWKS, else raises."""
        decoded = jwt.decode(token, self.keys, algorithms=["RS256"])
        return decoded.header, decoded.claims

    def post(self, name, form, client=None, basic=True):
        """A form POST to the endpoint `name`, authenticated as `client` (basic or in the body)."""
        form = dict(form)
        auth = None
        if client is not None:
            if client.secret is None:
                form["client_id"] = client.id
            elif basic:
                auth = requests.auth.HTTPBasicAuth(urllib.parse.quote(client.id, safe=""), urllib.parse.quote(client.secret, safe=""))
            else:
                form.update(client_id=client.id, client_secret=client.secret)
        return requests.post(self.endpoint(name), data=form, auth=auth, timeout=HTTP_TIMEOUT, allow_redirects=False)

    def introspect(self, client, token):
        reply = self.post("introspection_endpoint", {"token": token}, client)
        return reply, json_of(reply) if reply.status_code == 200 else None

    def userinfo(self, access_token):
        return requests.get(self.endpoint("userinfo_endpoint"), headers={"Authorization": f"Bearer {access_token}"}, timeout=HTTP_TIMEOUT)

    def refresh(self, client, refresh_token):
        return self.post("token_endpoint", {"grant_type": "refresh_token", "refresh_token": refresh_token}, client)

    def revoke(self, client, token, hint=None):
        return self.post("revocation_endpoint", {"token": token, **({"token_type_hint": hint} if hint else {})}, client)


class Client:
    def __init__(self, id, secret, redirect_uri, backchannel=None, post_logout=None, name=""):
        self.id, self.secret, self.redirect_uri = id, secret, redirect_uri
        self.backchannel, self.post_logout, self.name = backchannel, post_logout, name


class Flow:
    """One authorization through Authlib: the URL (state, nonce, PKCE verifier), then the token."""

    def __init__(self, provider, client, pkce=True, scope=SCOPE):
        self.provider, self.client = provider, client
        self.oauth = OAuth2Session(client.id, client.secret, scope=scope, redirect_uri=client.redirect_uri,
                                   token_endpoint_auth_method="none" if client.secret is None else "client_secret_basic",
                                   code_challenge_method="S256" if pkce else None, default_timeout=HTTP_TIMEOUT)
        self.nonce = generate_token(24)
        self.verifier = generate_token(48) if pkce else None
        self.url, self.state = self.oauth.create_authorization_url(provider.endpoint("authorization_endpoint"), nonce=self.nonce,
                                                                   code_verifier=self.verifier)
        self.started = time.time()

    def returned(self, response):
        """Whether `response` is the 302 to this flow's redirect_uri with a code and its state."""
        location = response.headers.get("Location", "") if response is not None else ""
        return response is not None and response.status_code == 302 and location.startswith(self.client.redirect_uri + "?") \
            and "code" in query_of(location) and query_of(location).get("state") == self.state

    def fetch(self, response):
        """The token for the code in `response`'s Location, fetched by Authlib (which checks the state)."""
        try:
            return self.oauth.fetch_token(self.provider.endpoint("token_endpoint"), authorization_response=response.headers["Location"],
                                          code_verifier=self.verifier)
        except OAuthError as error:
            raise Failure(f"the token endpoint refused the {self.client.name} app's code: {error.error} {error.description or ''}") from error


# --- back-channel receiver -------------------------------------------------------------------------

class Backchannel:
    """A Receiver that keeps every POST: arrival (monotonic), path with query, headers, body; answers 200."""

    def __init__(self):
        self.posts = []
        self.lock = threading.Lock()

        def respond(handler):
            with self.lock:
                self.posts.append({"at": time.monotonic(), "path": handler.path, "headers": {k.lower(): v for k, v in handler.headers.items()},
                                   "body": handler.body})
            answer(200)(handler)

        self.receiver = Receiver(respond)

    def url(self, path):
        return self.receiver.url(path)

    def logout_tokens(self, client_id, sid, since):
        found = []
        with self.lock:
            posts = list(self.posts)
        for post in posts:
            if post["at"] < since:
                continue
            token = dict(urllib.parse.parse_qsl(post["body"].decode(errors="replace"))).get("logout_token")
            _, claims = unverified(token)
            if claims and aud_has(claims, client_id) and claims.get("sid") == sid:
                found.append({**post, "token": token})
        return found

    def summary(self, reference, last=8):
        """The latest posts: when (seconds from `reference`, monotonic), path, and the logout token's aud, sid, sub, unverified."""
        seen = []
        with self.lock:
            posts = list(self.posts)[-last:]
        for post in posts:
            _, claims = unverified(dict(urllib.parse.parse_qsl(post["body"].decode(errors="replace"))).get("logout_token"))
            seen.append((f"{post['at'] - reference:+.3f} s", post["path"], *((claims or {}).get(k) for k in ("aud", "sid", "sub"))))
        return seen

    def wait(self, client_id, sid, since, timeout):
        return wait_for(lambda: self.logout_tokens(client_id, sid, since), timeout, step=0.02) or []

    def stop(self):
        self.receiver.stop()


# --- the setup -------------------------------------------------------------------------------------

class Setup:
    def __init__(self, args, folder):
        self.folder = folder
        self.gateway = Gateway()
        self.backchannel = Backchannel()
        self.servers = []
        self.postgres_admin = args.postgres
        self.database_name = None
        if args.postgres:
            self.database_name = f"teamgate_oidc_{secrets.token_hex(4)}"
            self.database = create_database(args.postgres, self.database_name)
        else:
            self.database = os.path.join(folder, "teamgate.sqlite")
        self.shared = bool(args.postgres)
        self.b_port = free_port()
        self.issuer = f"http://127.0.0.1:{self.b_port}"
        self.apache_port = free_port()
        self.rp_port = free_port()  # where the Authlib apps' redirect_uri points: never visited, nothing listens

    def common_args(self):
        return ["--otp-sender", "webhook:" + self.gateway.url(), "--webhook-allowed-hosts", "127.0.0.1", "--rate-limit-per-second", "0"]

    def prepare(self):
        db = self.database
        org = cli("org", "create", "--name", "OIDC Check", "--owner-phone", OWNER, database=db, json_output=True)
        self.org, self.key = org["organizationId"], org["apiKey"]
        self.member_ids = {}
        for phone, name in NAMES.items():
            added = cli("members", "add", "--org", self.org, "--name", name, "--phone", phone, database=db, json_output=True)
            self.member_ids[phone] = added["id"]
        rp = f"http://127.0.0.1:{self.rp_port}"
        # Registered with the CLI while no server runs: the server must see them when it starts.
        self.confidential = self.add_client("Authlib confidential", [f"{rp}/callback", f"{rp}/other-callback"],
                                            post_logout=f"{rp}/signed-out?from=confidential",
                                            backchannel=self.backchannel.url("/backchannel/confidential?app=authlib&n=1"))
        apache = f"http://127.0.0.1:{self.apache_port}"
        self.apache = self.add_client("Apache mod_auth_openidc", [f"{apache}/protected/redirect_uri"], post_logout=f"{apache}/signed-out.html",
                                      backchannel=f"{apache}/protected/redirect_uri?logout=backchannel")
        scratch = self.add_client("Removed before start", [f"{rp}/scratch"])
        # One organisation so far: `list` and `remove` need no --org (the other one is made below).
        listed = cli("oidc-clients", "list", database=db, json_output=True)
        listed = listed.get("data", listed) if isinstance(listed, dict) else listed
        ids = {c.get("clientId") for c in listed} if isinstance(listed, list) else set()
        check("`teamgate oidc-clients list --json` lists the three apps the CLI added, without their secrets",
              {self.confidential.id, self.apache.id, scratch.id} <= ids and "clientSecret" not in json.dumps(listed), short(listed))
        cli("oidc-clients", "remove", scratch.id, database=db)
        self.removed = scratch
        refused = cli("oidc-clients", "add", "--name", "Loopback back-channel", "--redirect-uri", f"{rp}/cb", "--backchannel-logout-uri",
                      "http://127.0.0.1:9/bc", database=db, json_output=True, check=False)
        check("`teamgate oidc-clients add` without --webhook-allowed-hosts refuses a back-channel URI on 127.0.0.1 (non-zero exit, says why)",
              refused.returncode != 0 and "backchannel" in (refused.stderr + refused.stdout).lower(), f"exit {refused.returncode}: {short(refused.stdout + refused.stderr)}")
        other = cli("org", "create", "--name", "Elsewhere Ltd", "--owner-phone", OUTSIDER, database=db, json_output=True)
        self.other_org = other["organizationId"]

    def add_client(self, name, redirects, post_logout=None, backchannel=None, public=False):
        args = ["oidc-clients", "add", "--org", self.org, "--name", name]
        for uri in redirects:
            args += ["--redirect-uri", uri]
        if post_logout:
            args += ["--post-logout-redirect-uri", post_logout]
        if backchannel:
            # The CLI refuses a back-channel URI on a private address unless told, as the server does.
            args += ["--backchannel-logout-uri", backchannel, "--webhook-allowed-hosts", "127.0.0.1"]
        if public:
            args.append("--public")
        made = cli(*args, database=self.database, json_output=True)
        fields = {"clientId", "name", "redirectUris", "postLogoutRedirectUris", "public", "createdAt"} | ({"backchannelLogoutUri"} if backchannel else set())
        ok = fields <= set(made) and made["redirectUris"] == redirects and made["public"] is public \
            and (("clientSecret" in made) != public) and made.get("backchannelLogoutUri") == backchannel \
            and made["postLogoutRedirectUris"] == ([post_logout] if post_logout else [])
        check(f"`teamgate oidc-clients add --json` for {name!r} prints the client as given"
              + (" (no secret: public)" if public else ", with its secret"), ok, short({k: v for k, v in made.items() if k != "clientSecret"}))
        return Client(made["clientId"], made.get("clientSecret"), redirects[0], backchannel, post_logout, name)

    def start(self):
        a = Server([*self.common_args(), "--public-url", self.issuer], database=self.database, name="A", folder=self.folder,
                   port=None if self.shared else self.b_port)
        self.servers.append(a)
        a.start()
        if self.shared:
            b = Server(self.common_args(), database=self.database, name="B", folder=self.folder, port=self.b_port,
                       env={"TEAMGATE_PUBLIC_URL": self.issuer})
            self.servers.append(b)
            b.start()
        else:
            b = a
        self.a, self.b = a, b
        where = f"A on :{a.port} (admin's logouts), B on :{b.port} (the apps' issuer)" if self.shared else f"one instance on :{a.port}"
        print(f"oidc-check: {'postgresql ' + self.database_name if self.shared else 'sqlite ' + self.database}; {where}; issuer {self.issuer}")

    def admin_logout(self, phone):
        """The admin's API logout through A; returns (status, body, monotonic time of the answer)."""
        reply = self.a.call("POST", "/team-member/logout", {"x-public-key": self.key}, {"userPhoneNumber": phone})
        return reply.status, reply.value, time.monotonic()

    def api(self, server, method, path, body=None):
        return server.call(method, path, {"x-public-key": self.key}, body)

    def logs(self):
        return "".join(f"--- last lines of server {s.name or ''} ({s.log_path}):\n{s.log_tail(40)}\n" for s in self.servers)

    def stop(self):
        for server in self.servers:
            server.terminate()
        self.gateway.stop()
        self.backchannel.stop()
        if self.database_name:
            psql(self.postgres_admin, f'DROP DATABASE IF EXISTS "{self.database_name}" WITH (FORCE)', check=False)


# --- 1. Authlib ------------------------------------------------------------------------------------

def check_discovery(s, provider):
    meta, issuer = provider.meta, s.issuer
    expected = {
        "issuer": issuer, "authorization_endpoint": issuer + "/oidc/authorize", "token_endpoint": issuer + "/oidc/token",
        "userinfo_endpoint": issuer + "/oidc/userinfo", "jwks_uri": issuer + "/oidc/jwks", "end_session_endpoint": issuer + "/oidc/logout",
        "revocation_endpoint": issuer + "/oidc/revoke", "introspection_endpoint": issuer + "/oidc/introspect",
        "response_types_supported": ["code"], "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "backchannel_logout_supported": True, "backchannel_logout_session_supported": True,
    }
    wrong = {k: meta.get(k) for k, v in expected.items() if meta.get(k) != v}
    check("discovery: issuer (the public URL, no trailing slash), the seven endpoints under /oidc, and the supported values as specified",
          not wrong, f"differs: {wrong}")
    scopes = meta.get("scopes_supported") or []
    check("discovery: scopes_supported has openid, profile, phone, offline_access; claims_supported lists the ID token's claims",
          set(scopes) >= {"openid", "profile", "phone", "offline_access"}
          and set(meta.get("claims_supported") or []) >= {"sub", "name", "phone_number", "phone_number_verified"},
          f"scopes {scopes}, claims {meta.get('claims_supported')}")
    keys = (json_of(provider.jwks_reply) or {}).get("keys", [])
    check("GET /oidc/jwks: RSA keys with kid, no private parts", provider.jwks_reply.status_code == 200 and keys
          and all(k.get("kty") == "RSA" and k.get("kid") and "d" not in k for k in keys), short(provider.jwks_reply.text))
    if s.shared:
        other = s.a.call("GET", "/.well-known/openid-configuration")
        check("instance A, started with --public-url, gives the same discovery document as B (TEAMGATE_PUBLIC_URL)",
              other.status == 200 and other.json == meta, short(other.value))


def check_id_token(provider, flow, token, phone, member_id, label):
    """The ID token of `token` verified with the JWKS and its claims checked; returns its claims (or {})."""
    raw = token.get("id_token")
    try:
        header, claims = provider.verify(raw)
    except Exception as error:
        check(f"{label}: the ID token's RS256 signature verifies with /oidc/jwks", False, f"{type(error).__name__}: {error}; {unverified(raw)}")
        return {}
    kids = {k.get("kid") for k in provider.jwks_reply.json().get("keys", [])}
    check(f"{label}: the ID token is RS256, its kid one of the JWKS's, and its signature verifies",
          header.get("alg") == "RS256" and header.get("kid") in kids, header)
    now = time.time()
    problems = []
    if claims.get("iss") != provider.issuer:
        problems.append(f"iss {claims.get('iss')!r}")
    if not aud_has(claims, flow.client.id) or (isinstance(claims.get("aud"), list) and claims.get("azp") not in (None, flow.client.id)):
        problems.append(f"aud {claims.get('aud')!r}")
    if claims.get("nonce") != flow.nonce:
        problems.append(f"nonce {claims.get('nonce')!r} (sent {flow.nonce!r})")
    if claims.get("sub") != member_id:
        problems.append(f"sub {claims.get('sub')!r} (member {member_id!r})")
    if not claims.get("sid"):
        problems.append("no sid")
    if not (isinstance(claims.get("exp"), int) and claims["exp"] > now):
        problems.append(f"exp {claims.get('exp')!r}")
    if not (isinstance(claims.get("iat"), int) and abs(claims["iat"] - now) < 120):
        problems.append(f"iat {claims.get('iat')!r}")
    if not (isinstance(claims.get("auth_time"), int) and claims["auth_time"] <= now + 5 and claims["auth_time"] > now - 3600):
        problems.append(f"auth_time {claims.get('auth_time')!r}")
    check(f"{label}: ID token claims iss, aud (client id), nonce, sub (the member's id), sid, exp, iat, auth_time", not problems,
          f"{problems}; claims {claims}")
    check(f"{label}: ID token has name (profile), phone_number in E.164 and phone_number_verified true (phone)",
          claims.get("name") == NAMES[phone] and claims.get("phone_number") == phone and claims.get("phone_number_verified") is True,
          {k: claims.get(k) for k in ("name", "phone_number", "phone_number_verified")})
    return claims


def check_token_response(token, label, offline=True):
    check(f"{label}: the token response has access_token, token_type Bearer, expires_in, id_token, scope"
          + (", and a refresh_token (offline_access)" if offline else ""),
          token.get("access_token") and str(token.get("token_type", "")).lower() == "bearer" and isinstance(token.get("expires_in"), int)
          and token.get("id_token") and token.get("scope") and (bool(token.get("refresh_token")) == offline),
          short({k: (v if k in ("token_type", "expires_in", "scope") else bool(v)) for k, v in token.items()}))


def refused_token(provider, client, access, refresh, label, introspect_with=None):
    """The checks that a grant's tokens are refused: introspection active:false (confidential only),
    userinfo 401 invalid_token, refresh invalid_grant. Returns what each said, for the failure messages."""
    results = []
    if introspect_with is not None:
        reply, body = provider.introspect(introspect_with, access)
        results.append(("introspection active:false", reply.status_code == 200 and body == {"active": False}, said(reply)))
    info = provider.userinfo(access)
    www = info.headers.get("WWW-Authenticate", "")
    results.append(("userinfo 401 with WWW-Authenticate: Bearer error=\"invalid_token\"",
                    info.status_code == 401 and www.startswith("Bearer") and 'error="invalid_token"' in www, f"{said(info)} WWW-Authenticate: {www!r}"))
    if refresh:
        again = provider.refresh(client, refresh)
        results.append(("refresh invalid_grant", again.status_code == 400 and error_of(again) == "invalid_grant", said(again)))
    for what, ok, detail in results:
        check(f"{label}: {what}", ok, detail)


def authorize_refused(provider, url, label):
    reply = requests.get(url, allow_redirects=False, timeout=HTTP_TIMEOUT)
    check(f"{label}: 400 HTML error page, no redirect", reply.status_code == 400 and "Location" not in reply.headers
          and "html" in reply.headers.get("Content-Type", ""), said(reply))


def sso_authorize(browse, flow, label):
    """A second authorize in a browser that has the SSO cookie: straight back, no page."""
    reply = browse.get(flow.url)
    check(f"{label}: with the SSO cookie, /oidc/authorize redirects straight back (302 with code and state, no page)",
          flow.returned(reply), said(reply))
    return reply


def authlib_part(s):
    provider = Provider(s.issuer)
    check_discovery(s, provider)
    conf, gateway, bc = s.confidential, s.gateway, s.backchannel

    # The public app, through the API (on B, the instance the apps use): 201 with the CLI's JSON, no secret.
    rp = f"http://127.0.0.1:{s.rp_port}"
    body = {"name": "Authlib public", "redirectUris": [f"{rp}/public-callback"], "postLogoutRedirectUris": [f"{rp}/public-signed-out"],
            "backchannelLogoutUri": bc.url("/backchannel/public?app=authlib-public"), "public": True}
    made = s.api(s.b, "POST", "/oidc/clients", body)
    ok = made.status == 201 and isinstance(made.json, dict) and made.json.get("clientId") and "clientSecret" not in made.json \
        and made.json.get("public") is True and made.json.get("redirectUris") == body["redirectUris"] \
        and made.json.get("backchannelLogoutUri") == body["backchannelLogoutUri"] and made.json.get("createdAt")
    check("POST /oidc/clients (the org's key) registers a public app: 201, the CLI's JSON, no secret", ok, f"{made.status} {short(made.value)}")
    if not ok:
        raise Failure("no public client to go on with")
    pub = Client(made.json["clientId"], None, body["redirectUris"][0], body["backchannelLogoutUri"], body["postLogoutRedirectUris"][0], "public")
    scratch = s.api(s.b, "POST", "/oidc/clients", {"name": "Deleted at once", "redirectUris": [f"{rp}/gone"], "public": False})
    listed = s.api(s.b, "GET", "/oidc/clients")
    ids = [c.get("clientId") for c in (listed.json or {}).get("data", [])] if isinstance(listed.json, dict) else []
    check("GET /oidc/clients lists the org's apps (CLI's and API's), no secrets in it",
          listed.status == 200 and {conf.id, pub.id, s.apache.id} <= set(ids) and "clientSecret" not in listed.body.decode(errors="replace"),
          f"{listed.status} {short(listed.value)}")
    gone_id = (scratch.json or {}).get("clientId") if isinstance(scratch.json, dict) else None
    deleted = s.api(s.b, "DELETE", f"/oidc/clients/{urllib.parse.quote(gone_id or 'none')}")
    check("DELETE /oidc/clients/{clientId} answers 200", scratch.status == 201 and deleted.status == 200, f"{scratch.status} then {deleted.status} {short(deleted.value)}")
    private = s.api(s.b, "POST", "/oidc/clients", {"name": "Private back-channel", "redirectUris": [f"{rp}/x"],
                                                    "backchannelLogoutUri": "http://10.1.2.3/x", "public": False})
    check("POST /oidc/clients with a back-channel URI on a private address (http://10.1.2.3/x) not in --webhook-allowed-hosts: 400",
          private.status == 400, f"{private.status} {short(private.value)}")
    if private.status == 201 and isinstance(private.json, dict):  # never leave an app that would post to a private address
        s.api(s.b, "DELETE", f"/oidc/clients/{urllib.parse.quote(private.json.get('clientId', ''))}")

    # Refusals at the authorize endpoint: never a redirect to an unchecked URI.
    flow = Flow(provider, conf)
    authorize_refused(provider, with_params(flow.url, client_id="tgc_unknown_client"), "unknown client_id")
    authorize_refused(provider, with_params(flow.url, redirect_uri=f"{rp}/not-registered"), "a redirect_uri not registered for the client")
    authorize_refused(provider, Flow(provider, Client(s.removed.id, s.removed.secret, s.removed.redirect_uri)).url,
                      "a client removed with `teamgate oidc-clients remove` before the server started")
    if gone_id:
        authorize_refused(provider, Flow(provider, Client(gone_id, None, f"{rp}/gone")).url, "a client deleted through DELETE /oidc/clients/{id}")

    # Alice: the confidential app, through the sign-in form.
    alice = Browse(s.issuer)
    flow = Flow(provider, conf)
    page = alice.get(flow.url)
    check("without a session, /oidc/authorize shows the sign-in page (200 HTML, a field labelled Phone number, a button Get a code)",
          page.status_code == 200 and "html" in page.headers.get("Content-Type", "") and Forms(page.text).find("Phone number", "Get a code"),
          said(page))
    back = sign_in_form(alice, flow.url, ALICE, gateway)
    check("Alice signs in (phone, Get a code, the gateway's code, Sign in): 302 to the redirect_uri with code, state and iss",
          flow.returned(back) and query_of(back.headers["Location"]).get("iss") == s.issuer, said(back))
    cookies = alice.set_cookies("teamgate_session")
    attrs = [a.strip().lower() for a in (cookies[-1].split(";")[1:] if cookies else [])]
    check("the sign-in sets the SSO cookie teamgate_session, HttpOnly and SameSite=Lax", cookies and "httponly" in attrs and "samesite=lax" in attrs, cookies)
    if not flow.returned(back):
        raise Failure("Alice could not sign in; the rest needs her session")
    token = flow.fetch(back)
    check_token_response(token, "Alice, confidential (client_secret_basic, PKCE)")
    claims = check_id_token(provider, flow, token, ALICE, s.member_ids[ALICE], "Alice, confidential")
    alice_sid = claims.get("sid")
    info = provider.userinfo(token["access_token"])
    check("userinfo with Alice's access token: sub, name, phone_number, phone_number_verified",
          info.status_code == 200 and isinstance(json_of(info), dict) and {"sub": s.member_ids[ALICE], "name": NAMES[ALICE], "phone_number": ALICE,
                                                                           "phone_number_verified": True}.items() <= json_of(info).items(), said(info))
    reply, body = provider.introspect(conf, token["access_token"])
    body = body or {}
    check("introspection (client_secret_basic) of Alice's access token: active, sub, client_id, scope, exp, iat, sid, token_type",
          body.get("active") is True and body.get("sub") == s.member_ids[ALICE] and body.get("client_id") == conf.id
          and set(str(body.get("scope", "")).split()) == set(SCOPE.split()) and isinstance(body.get("exp"), int)
          and isinstance(body.get("iat"), int) and body.get("sid") == alice_sid and body.get("token_type"), said(reply))
    post_client = OAuth2Session(conf.id, conf.secret, scope=SCOPE, token_endpoint_auth_method="client_secret_post", default_timeout=HTTP_TIMEOUT)
    refreshed = soft("Authlib's refresh (client_secret_post)",
                     lambda: post_client.refresh_token(provider.endpoint("token_endpoint"), refresh_token=token["refresh_token"]))
    new_claims = {}
    if refreshed.get("id_token"):
        try:
            new_claims = provider.verify(refreshed["id_token"])[1]
        except Exception as error:
            new_claims = {"error": str(error)}
    check("refresh (Authlib, client_secret_post): a new access token, and an ID token for the same sub and sid",
          refreshed.get("access_token") and refreshed["access_token"] != token["access_token"]
          and (not refreshed.get("id_token") or (new_claims.get("sub") == claims.get("sub") and new_claims.get("sid") == alice_sid)),
          short({k: bool(v) for k, v in refreshed.items()}) + f" {new_claims}")
    alice_access = refreshed.get("access_token") or token["access_token"]
    alice_refresh = refreshed.get("refresh_token") or token["refresh_token"]
    info = provider.userinfo(alice_access)
    check("userinfo takes the refreshed access token", info.status_code == 200, said(info))

    # Alice again, in the public app: the SSO cookie brings her straight back.
    flow_pub = Flow(provider, pub)
    back = sso_authorize(alice, flow_pub, "Alice, public app")
    alice_pub = soft("Alice's public-app code exchanged by Authlib", lambda: flow_pub.fetch(back)) if flow_pub.returned(back) else {}
    check_token_response(alice_pub, "Alice, public (client_id only, PKCE)")
    pub_claims = check_id_token(provider, flow_pub, alice_pub, ALICE, s.member_ids[ALICE], "Alice, public") if alice_pub else {}
    check("both of Alice's ID tokens carry the same sid (one TeamGate session)", alice_sid and pub_claims.get("sid") == alice_sid,
          f"{alice_sid} vs {pub_claims.get('sid')}")

    # Bob: the public app through the form; refresh; revocation ends that grant.
    bob = Browse(s.issuer)
    flow = Flow(provider, pub)
    back = sign_in_form(bob, flow.url, BOB, gateway)
    check("Bob signs in to the public app through the form: 302 with code, state, iss", flow.returned(back)
          and query_of(back.headers["Location"]).get("iss") == s.issuer, said(back))
    if not flow.returned(back):
        raise Failure("Bob could not sign in; the rest needs his session")
    bob_pub = flow.fetch(back)
    check_token_response(bob_pub, "Bob, public")
    bob_claims = check_id_token(provider, flow, bob_pub, BOB, s.member_ids[BOB], "Bob, public")
    again = provider.refresh(pub, bob_pub["refresh_token"])
    fresh = json_of(again) or {}
    check("refresh by the public client (client_id, no secret): a new access token", again.status_code == 200 and fresh.get("access_token"), said(again))
    bob_access = fresh.get("access_token") or bob_pub["access_token"]
    bob_refresh = fresh.get("refresh_token") or bob_pub["refresh_token"]
    revoked = provider.revoke(pub, bob_refresh, "refresh_token")
    check("POST /oidc/revoke of Bob's refresh token (public client): 200", revoked.status_code == 200, said(revoked))
    refused_token(provider, pub, bob_access, bob_refresh, "after the revocation, that grant's tokens are refused")

    # Public client without PKCE: no code, or a code no token comes of.
    flow = Flow(provider, pub, pkce=False)
    back = bob.get(flow.url)
    location = back.headers.get("Location", "")
    issued = None
    if back.status_code == 302 and "code" in query_of(location):
        issued = provider.post("token_endpoint", {"grant_type": "authorization_code", "code": query_of(location)["code"],
                                                  "redirect_uri": pub.redirect_uri}, pub)
    check("a public client's authorize without code_challenge is refused (an error, no token)",
          (back.status_code == 400 or (back.status_code == 302 and query_of(location).get("error") == "invalid_request"))
          if issued is None else issued.status_code == 400, f"authorize: {said(back)}" + (f"; token: {said(issued)}" if issued is not None else ""))

    # Confidential app by SSO for Bob: the refusals at the token endpoint, one fresh code each.
    def code_for(label):
        f = Flow(provider, conf)
        r = sso_authorize(bob, f, label)
        return f, (query_of(r.headers["Location"]).get("code") if f.returned(r) else None)

    def exchange(f, code, verifier, client=conf, basic=True):
        form = {"grant_type": "authorization_code", "code": code or "none", "redirect_uri": f.client.redirect_uri}
        if verifier is not None:
            form["code_verifier"] = verifier
        return provider.post("token_endpoint", form, client, basic)

    f, code = code_for("Bob, confidential app")
    wrong = exchange(f, code, f.verifier, Client(conf.id, conf.secret + "x", conf.redirect_uri))
    check("a wrong client secret: 401 invalid_client", wrong.status_code == 401 and error_of(wrong) == "invalid_client", said(wrong))
    f, code = code_for("again (PKCE mismatch)")
    mismatch = exchange(f, code, generate_token(48))
    check("a code_verifier that does not match the code_challenge: 400 invalid_grant", mismatch.status_code == 400 and error_of(mismatch) == "invalid_grant",
          said(mismatch))
    f, code = code_for("again (no verifier)")
    missing = exchange(f, code, None, basic=False)
    check("no code_verifier for a code issued with a code_challenge: 400 invalid_grant (or invalid_request)",
          missing.status_code == 400 and error_of(missing) in ("invalid_grant", "invalid_request"), said(missing))
    garbage = provider.post("token_endpoint", {"grant_type": "password", "username": "x", "password": "y"}, conf)
    check("an unsupported grant_type: 400 unsupported_grant_type", garbage.status_code == 400 and error_of(garbage) == "unsupported_grant_type", said(garbage))
    f, code = code_for("again (code reuse)")
    first = exchange(f, code, f.verifier)
    first_body = json_of(first) or {}
    second = exchange(f, code, f.verifier)
    check("a code used twice: the first use gives tokens, the second 400 invalid_grant",
          first.status_code == 200 and first_body.get("access_token") and second.status_code == 400 and error_of(second) == "invalid_grant",
          f"first {said(first)}; second {said(second)}")
    if first_body.get("access_token"):
        refused_token(provider, conf, first_body["access_token"], first_body.get("refresh_token"),
                      "after the code's reuse, what its first use issued", introspect_with=conf)
    f, code = code_for("again (revocation by the confidential app)")
    grant = json_of(exchange(f, code, f.verifier)) or {}
    if grant.get("access_token"):
        revoked = provider.revoke(conf, grant["access_token"], "access_token")
        check("POST /oidc/revoke of an access token (client_secret_basic): 200", revoked.status_code == 200, said(revoked))
        refused_token(provider, conf, grant["access_token"], grant.get("refresh_token"), "after revoking its access token, the grant", introspect_with=conf)
    else:
        check("a code exchanged for the revocation test", False, short(grant))

    # A member of another organisation cannot sign in to this organisation's app.
    outsider = Browse(s.issuer)
    flow = Flow(provider, conf)
    page = outsider.get(flow.url)
    page = outsider.submit(page, "Phone number", "Get a code", OUTSIDER) if page.status_code == 200 else page
    code = gateway.wait_code(OUTSIDER, timeout=3)
    final = page
    if code is not None:
        try:
            final = outsider.submit(page, "Code", "Sign in", code)
        except Failure as error:
            final = None
            print(f"     (the outsider's code page: {error})")
    check("the owner of another organisation gets no code back to this organisation's app (no redirect with a code)",
          final is None or not (final.status_code in (301, 302, 303) and "code" in query_of(final.headers.get("Location", ""))),
          f"code sent: {code is not None}; last answer {said(final)}")

    # The admin's API logout of Alice, through A: at once, every token of her session is refused, on B.
    status, body, answered = s.admin_logout(ALICE)
    refused_after = time.monotonic()
    check("the admin's POST /team-member/logout for Alice (through A) answers 201", status == 201, f"{status} {body}")
    refused_token(provider, conf, alice_access, alice_refresh, "right after the 201, Alice's confidential tokens", introspect_with=conf)
    if alice_pub:
        refused_token(provider, pub, alice_pub["access_token"], alice_pub.get("refresh_token"), "and her public app's tokens")
    print(f"     (the refusals were read {1000 * (refused_after - answered):.0f} ms after the 201, and took {1000 * (time.monotonic() - refused_after):.0f} ms)")
    for client, label in [(conf, "confidential"), (pub, "public")]:
        got = bc.wait(client.id, alice_sid, answered - 5, max(0.0, answered + WINDOW - time.monotonic()))
        check_logout_token(s, provider, client, got, answered, alice_sid, s.member_ids[ALICE], f"the {label} app's back-channel URI (Alice)")
    page = alice.get(Flow(provider, conf).url)
    check("Alice's SSO cookie no longer signs her in: /oidc/authorize shows the sign-in page again",
          page.status_code == 200 and Forms(page.text).find("Phone number", "Get a code"), said(page))

    # Bob: RP-initiated logout with id_token_hint and his client's registered post-logout URI.
    f_pub = Flow(provider, pub)
    back = sso_authorize(bob, f_pub, "Bob, public app again")
    live_pub = soft("Bob's second public-app code exchanged by Authlib", lambda: f_pub.fetch(back)) if f_pub.returned(back) else {}
    f, code = code_for("Bob, confidential app, for the logout")
    live = json_of(exchange(f, code, f.verifier)) or {}
    state = generate_token(16)
    since = time.monotonic()
    out = bob.session.get(provider.endpoint("end_session_endpoint"), params={"id_token_hint": live.get("id_token", ""),
                          "post_logout_redirect_uri": conf.post_logout, "state": state}, allow_redirects=False, timeout=HTTP_TIMEOUT)
    ended = time.monotonic()
    location = out.headers.get("Location", "")
    check("GET /oidc/logout with id_token_hint and the client's registered post_logout_redirect_uri: 302 there, with the state",
          out.status_code == 302 and location.split("?")[0] == conf.post_logout.split("?")[0] and query_of(location).get("state") == state
          and query_of(location).get("from") == "confidential", said(out))
    if live_pub:
        refused_token(provider, pub, live_pub["access_token"], live_pub.get("refresh_token"), "after Bob's RP-initiated logout, his public app's tokens")
    reply, body = provider.introspect(conf, live.get("access_token", "none"))
    check("and the logging-out app's own access token: introspection active:false", live.get("access_token") and body == {"active": False},
          said(reply))
    got = bc.wait(pub.id, bob_claims.get("sid"), since, max(0.0, ended + WINDOW - time.monotonic()))
    check_logout_token(s, provider, pub, got, ended, bob_claims.get("sid"), s.member_ids[BOB], "the session's other app (public) is told of Bob's logout")
    page = bob.get(Flow(provider, conf).url)
    check("after the RP-initiated logout, Bob's SSO cookie signs no one in (the sign-in page)", page.status_code == 200
          and Forms(page.text).find("Phone number", "Get a code"), said(page))
    late = provider.revoke(pub, live_pub.get("refresh_token") or "none", "refresh_token")
    check("POST /oidc/revoke of a token of an ended session: 200", late.status_code == 200, said(late))

    # Carol: a post-logout URI registered for another client is not honoured; the signed-out page instead.
    carol = Browse(s.issuer)
    flow = Flow(provider, conf)
    back = sign_in_form(carol, flow.url, CAROL, gateway)
    carol_token = soft("Carol's code exchanged by Authlib", lambda: flow.fetch(back)) if flow.returned(back) else {}
    out = carol.session.post(provider.endpoint("end_session_endpoint"), data={"id_token_hint": carol_token.get("id_token", ""),
                             "post_logout_redirect_uri": pub.post_logout, "state": "s"}, allow_redirects=False, timeout=HTTP_TIMEOUT)
    check("POST /oidc/logout with a post_logout_redirect_uri registered for another client: the 200 signed-out page, no redirect",
          carol_token and out.status_code == 200 and "Location" not in out.headers and "signed out" in out.text.lower(), said(out))
    reply, body = provider.introspect(conf, carol_token.get("access_token", "none"))
    check("and Carol's session is ended all the same (introspection active:false)", carol_token and body == {"active": False}, said(reply))


def check_logout_token(s, provider, client, got, ended, sid, sub, label):
    took = (got[0]["at"] - ended) if got else None
    check(f"{label}: a logout_token POSTed within {WINDOW:.0f} s ({'%+.0f ms after the end' % (1000 * took) if took is not None else 'none came'})",
          got and took <= WINDOW, f"expected aud {client.id} sid {sid}; posts seen (time from the end): {s.backchannel.summary(ended)}")
    if not got:
        return
    post = got[0]
    form = urllib.parse.parse_qs(post["body"].decode(errors="replace"))
    check(f"{label}: to the URI exactly as registered (query included), a form with Content-Length and only logout_token",
          s.backchannel.url(post["path"]) == client.backchannel and post["headers"].get("content-type", "").startswith("application/x-www-form-urlencoded")
          and post["headers"].get("content-length") and list(form) == ["logout_token"],
          f"{post['path']} {post['headers'].get('content-type')} length {post['headers'].get('content-length')} fields {list(form)}")
    token = post["token"]
    try:
        header, claims = provider.verify(token)
    except Exception as error:
        check(f"{label}: the logout_token's signature verifies with /oidc/jwks", False, f"{error}; {unverified(token)}")
        return
    problems = []
    if header.get("typ") != "logout+jwt" or header.get("alg") != "RS256" or not header.get("kid"):
        problems.append(f"header {header}")
    if claims.get("iss") != provider.issuer or not aud_has(claims, client.id):
        problems.append(f"iss/aud {claims.get('iss')}/{claims.get('aud')}")
    if claims.get("sid") != sid or claims.get("sub") != sub:
        problems.append(f"sid/sub {claims.get('sid')}/{claims.get('sub')} (expected {sid}/{sub})")
    if claims.get("events") != {BACKCHANNEL_EVENT: {}}:
        problems.append(f"events {claims.get('events')}")
    if "nonce" in claims:
        problems.append("has a nonce")
    if not claims.get("jti"):
        problems.append("no jti")
    iat, exp = claims.get("iat"), claims.get("exp")
    if not (isinstance(iat, int) and isinstance(exp, int) and 90 <= exp - iat <= 150 and abs(iat - time.time()) < 60):
        problems.append(f"iat {iat} exp {exp}")
    check(f"{label}: verifies with the JWKS; typ logout+jwt, RS256, kid; iss, aud, sid (the ID token's), sub, jti, events, "
          f"no nonce, exp - iat about 120 s", not problems, f"{problems}; claims {claims}")


def outside_allowed_hosts_part(folder):
    """A server without --webhook-allowed-hosts refuses a loopback back-channel URI at registration."""
    database = os.path.join(folder, "no-allowed-hosts.sqlite")
    key = cli("org", "create", "--name", "No Allowed Hosts", "--owner-phone", OWNER, database=database, json_output=True)["apiKey"]
    port = free_port()
    server = start_server(["--otp-sender", "log", "--public-url", f"http://127.0.0.1:{port}"], database=database, port=port, folder=folder,
                          name="plain")
    try:
        body = {"name": "Loopback back-channel", "redirectUris": ["http://127.0.0.1:9/cb"], "backchannelLogoutUri": "http://127.0.0.1:9/bc",
                "public": False}
        reply = server.call("POST", "/oidc/clients", {"x-public-key": key}, body)
        check("without --webhook-allowed-hosts, POST /oidc/clients with a back-channel URI on 127.0.0.1: 400", reply.status == 400,
              f"{reply.status} {short(reply.value)}")
    finally:
        server.terminate()


# --- 2. Apache with mod_auth_openidc ---------------------------------------------------------------

MODULES = "/usr/lib/apache2/modules"


class Apache(Endpoint):
    """Debian's apache2 as its own instance: a generated config (own ServerRoot, pid file, port, logs) with
    mod_auth_openidc protecting /protected/, run in the foreground (-D FOREGROUND) in its own process group."""

    def __init__(self, folder, port, issuer, client):
        super().__init__(port)
        self.root = os.path.join(folder, "apache")
        for sub in ("htdocs/protected", "run"):
            os.makedirs(os.path.join(self.root, sub), exist_ok=True)
        # The children run as www-data when we are root: they must reach the documents.
        for path in (folder, self.root, os.path.join(self.root, "htdocs"), os.path.join(self.root, "htdocs", "protected")):
            os.chmod(path, 0o755)
        self.error_log = os.path.join(self.root, "error.log")
        self.access_log = os.path.join(self.root, "access.log")
        self.conf = os.path.join(self.root, "httpd.conf")
        self.protected_url = f"http://127.0.0.1:{port}/protected/"
        self.redirect_uri = f"http://127.0.0.1:{port}/protected/redirect_uri"
        self.signed_out_url = f"http://127.0.0.1:{port}/signed-out.html"
        self.process = None
        with open(os.path.join(self.root, "htdocs", "protected", "index.shtml"), "w") as page:
            page.write('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Apache protected page</title></head><body>'
                       '<h1>Apache protected page</h1><p id="who">Signed in as <!--#echo var="OIDC_CLAIM_name" --> '
                       '(<!--#echo var="OIDC_CLAIM_phone_number" -->)</p></body></html>\n')
        with open(os.path.join(self.root, "htdocs", "signed-out.html"), "w") as page:
            page.write('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Signed out</title></head><body>'
                       '<h1 id="signed-out">Signed out of the Apache app</h1></body></html>\n')
        user = "User www-data\nGroup www-data\n" if os.geteuid() == 0 else ""
        modules = ["mpm_event", "authn_core", "authz_core", "authz_user", "mime", "dir", "include", "auth_openidc"]
        loads = "\n".join(f"LoadModule {m}_module {MODULES}/mod_{m}.so" for m in modules)
        with open(self.conf, "w") as conf:
            conf.write(f"""# Generated by scripts/checks/oidc_check.py
ServerRoot "{self.root}"
ServerName 127.0.0.1:{port}
Listen 127.0.0.1:{port}
PidFile "{self.root}/run/httpd.pid"
DefaultRuntimeDir "{self.root}/run"
{user}{loads}
StartServers 1
ServerLimit 1
ThreadsPerChild 16
MaxRequestWorkers 16
MinSpareThreads 1
MaxSpareThreads 16
ErrorLog "{self.error_log}"
LogLevel warn auth_openidc:debug
LogFormat "%h %m %U%q %>s" oidccheck
CustomLog "{self.access_log}" oidccheck
TypesConfig /dev/null
AddType text/html .html .shtml
AddOutputFilter INCLUDES .shtml
DirectoryIndex index.shtml index.html
DocumentRoot "{self.root}/htdocs"
<Directory "{self.root}/htdocs">
    Options +Includes
    Require all granted
</Directory>

OIDCProviderMetadataURL {issuer}/.well-known/openid-configuration
OIDCClientID {client.id}
OIDCClientSecret "{client.secret}"
OIDCRedirectURI {self.redirect_uri}
OIDCCryptoPassphrase {secrets.token_hex(16)}
OIDCPKCEMethod S256
OIDCScope "openid profile phone"
OIDCHTTPTimeoutShort 10
OIDCHTTPTimeoutLong 10
<Location /protected>
    AuthType openid-connect
    Require valid-user
</Location>
""")

    def config_test(self):
        done = subprocess.run(["apache2", "-f", self.conf, "-t"], capture_output=True, text=True, timeout=30)
        return done.returncode == 0, (done.stdout + done.stderr).strip()

    def start(self, timeout=15):
        self.output = open(os.path.join(self.root, "stdout.log"), "w")
        self.process = subprocess.Popen(["apache2", "-f", self.conf, "-D", "FOREGROUND"], stdout=self.output, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        if not wait_for(lambda: self.process.poll() is not None or self.answers("/signed-out.html"), timeout) or self.process.poll() is not None:
            code = self.process.poll()
            self.stop()
            raise Failure(f"apache2 {'exited with ' + str(code) if code is not None else f'did not answer within {timeout} s'}:\n{self.tail()}")
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()  # SIGTERM to the parent: it stops its children
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # its own process group, made by start_new_session
                self.process.wait()
        if self.process:
            try:
                os.killpg(self.process.pid, 0)
                os.killpg(self.process.pid, signal.SIGKILL)  # a child left behind
            except ProcessLookupError:
                pass
            self.output.close()

    def lines(self, path):
        try:
            return open(path, errors="replace").read().splitlines()
        except OSError:
            return []

    def tail(self, count=30):
        return "\n".join(["--- apache error log (last lines):", *self.lines(self.error_log)[-count:],
                          "--- apache access log (last lines):", *self.lines(self.access_log)[-10:],
                          "--- apache stdout/stderr:", *self.lines(os.path.join(self.root, "stdout.log"))[-10:]])

    def backchannel_posts(self):
        return [line for line in self.lines(self.access_log) if " POST /protected/redirect_uri?logout=backchannel " in line]


def apache_part(s, shots):
    from playwright.sync_api import Error as PlaywrightError, expect, sync_playwright

    apache = Apache(s.folder, s.apache_port, s.issuer, s.apache)
    ok, said_ = apache.config_test()
    check("apache2 -t accepts the generated config (mod_auth_openidc loaded)", ok, said_)
    apache.start()
    try:
        with sync_playwright() as p:
            browser = chromium(p)
            try:
                context = browser.new_context(viewport={"width": 1000, "height": 800})
                page = context.new_page()
                page.set_default_timeout(10000)
                visited = []
                page.on("request", lambda r: visited.append(r.url))

                def at_sign_in(label):
                    try:
                        expect(page.get_by_label("Phone number")).to_be_visible()
                        shown = True
                    except AssertionError:
                        shown = False
                    check(label, shown and page.url.startswith(s.issuer + "/oidc/authorize"), f"at {page.url}: {short(page_text(page), 300)!r}")
                    return shown

                def sign_in_here(label):
                    step = "the field labelled Phone number"
                    try:
                        page.get_by_label("Phone number").fill(DIANA)
                        step = "the button Get a code"
                        page.get_by_role("button", name="Get a code", exact=True).click()
                        step = "the field labelled Code, after Get a code"
                        code_field = page.get_by_label("Code")
                        expect(code_field).to_be_visible()
                        code_field.fill(s.gateway.wait_code(DIANA) or "")
                        step = "the button Sign in"
                        page.get_by_role("button", name="Sign in", exact=True).click()
                        step = "the protected page with Diana's name"
                        expect(page.locator("#who")).to_contain_text(NAMES[DIANA])
                        shown = True
                    except (AssertionError, PlaywrightError) as error:
                        shown = False
                        print(f"     ({step}: {str(error).splitlines()[0]})")
                    check(label, shown and page.url.startswith(apache.protected_url) and DIANA in page.inner_text("#who"),
                          f"at {page.url}: {short(page_text(page), 300)!r}")
                    return shown

                page.goto(apache.protected_url)
                if at_sign_in("Chromium opens Apache's protected page: mod_auth_openidc sends it to TeamGate's sign-in page"):
                    shots.take(page, "oidc-sign-in.png", "TeamGate's OpenID Connect sign-in page, from Apache")
                asked = [u for u in visited if u.startswith(s.issuer + "/oidc/authorize")]
                check("mod_auth_openidc's authorization request has PKCE S256, a nonce and the registered redirect_uri",
                      asked and query_of(asked[0]).get("code_challenge_method") == "S256" and query_of(asked[0]).get("code_challenge")
                      and query_of(asked[0]).get("nonce") and query_of(asked[0]).get("redirect_uri") == apache.redirect_uri, asked[:1])
                if not sign_in_here("phone, Get a code, the gateway's code, Sign in: the protected page shows Diana's name and number (from the ID token)"):
                    raise Failure("Diana could not sign in through Apache")
                shots.take(page, "oidc-apache-protected.png", "Apache's protected page, signed in through TeamGate")
                sso = next((c for c in context.cookies() if c["name"] == "teamgate_session"), None)
                check("the browser holds teamgate_session, HttpOnly, SameSite=Lax", sso and sso.get("httpOnly") and sso.get("sameSite") == "Lax", sso)

                # The admin's API logout: back-channel to mod_auth_openidc, then the page asks for a sign-in.
                before = len(apache.backchannel_posts())
                status, body, answered = s.admin_logout(DIANA)
                check("the admin's POST /team-member/logout for Diana (through A): 201", status == 201, f"{status} {body}")
                posted = wait_for(lambda: len(apache.backchannel_posts()) > before, WINDOW, step=0.02)
                took = time.monotonic() - answered
                lines = apache.backchannel_posts()[before:]
                check(f"within {WINDOW:.0f} s mod_auth_openidc's back-channel endpoint got the logout_token and answered 200 ({took * 1000:.0f} ms)",
                      posted and lines[0].endswith(" 200"), f"{lines}\n{apache.tail()}")
                page.reload()
                at_sign_in("reloading the protected page now goes to TeamGate's sign-in, which asks for the phone number again")

                # Signed in again; then mod_auth_openidc's own logout, through TeamGate's end_session_endpoint.
                sign_in_here("signed in again, the protected page shows again")
                visited.clear()
                page.goto(f"{apache.redirect_uri}?logout={urllib.parse.quote(apache.signed_out_url, safe='')}")
                try:
                    expect(page.locator("#signed-out")).to_be_visible()
                    landed = True
                except AssertionError:
                    landed = False
                through = [u for u in visited if u.startswith(s.issuer + "/oidc/logout")]
                check("mod_auth_openidc's logout (RP-initiated) goes through TeamGate's /oidc/logout with id_token_hint and lands on the "
                      "registered post-logout page", landed and through and query_of(through[0]).get("id_token_hint")
                      and page.url.startswith(apache.signed_out_url), f"at {page.url}; through {through[:1]}")
                page.goto(apache.protected_url)
                at_sign_in("then the protected page asks for a sign-in again (TeamGate's session ended too: the phone number)")
            finally:
                browser.close()
    except Exception:
        print(apache.tail())
        raise
    finally:
        apache.stop()


def page_text(page):
    try:
        return page.inner_text("body")
    except Exception as error:
        return f"(no text: {error})"


# --- main ------------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="administrator's URL of a PostgreSQL server: a fresh database on it and two instances")
    parser.add_argument("--part", choices=["all", "authlib", "apache"], default="all", help="which relying party (default: both)")
    parser.add_argument("--binary", help="the teamgate binary (default: TEAMGATE_BINARY, else the debug build's)")
    args = parser.parse_args()
    if args.binary:
        os.environ["TEAMGATE_BINARY"] = args.binary
    started = time.time()
    folder = tempfile.mkdtemp(prefix="teamgate-oidc-")
    shots = Screenshots()
    s = None
    try:
        s = Setup(args, folder)
        s.prepare()
        s.start()
        if args.part in ("all", "authlib"):
            try:
                authlib_part(s)
            except Exception as error:
                tally.crashed(error, "the Authlib part ran to the end")
                print(s.logs())
            try:
                outside_allowed_hosts_part(folder)
            except Exception as error:
                tally.crashed(error, "the server without --webhook-allowed-hosts was checked")
        if args.part in ("all", "apache"):
            try:
                apache_part(s, shots)
            except Exception as error:
                tally.crashed(error, "the Apache part ran to the end")
                print(s.logs())
    except Exception as error:
        tally.crashed(error)
        if s is not None:
            print(s.logs())
    finally:
        if s is not None:
            s.stop()
        shutil.rmtree(folder, ignore_errors=True)
    shots.report()
    print(f"oidc-check: {time.time() - started:.0f} s")
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
