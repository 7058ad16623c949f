"""TeamGate's SCIM 2.0 service provider (/scim/v2) driven by a compliance checker nobody here wrote and by the requests
Microsoft Entra ID and Okta send, against a real server. The provisioning tokens are made with the CLI while the
server is stopped and must work once it starts (one more is made and revoked while it runs).

1. tester: scim2-tester's `check_server` (the python-scim project's checker) over a scim2-client client (httpx2).
   Every result must be SUCCESS or COMPLIANT, except these, skipped on purpose:
   - the Group resource type's CRUD and PATCH checks: each starts with POST /Groups, which TeamGate refuses by design
     (its groups are the four fixed roles); parts 2 and 3 check /Groups with the requests the providers send;
   - search_with_attributes, when scim2-tester itself skips it: POST /.search (a search across every resource type,
     which TeamGate does not serve) answering 501.
   scim2-tester fills phoneNumbers.value with ten random digits, often with a leading 0 (no country code), which
   TeamGate refuses as it must (members sign in by that number): its generator is wrapped to give E.164 numbers.
   Then the ServiceProviderConfig's promises, and /Schemas marking phoneNumbers and its value required.
2. entra ("Develop and plan provisioning for a SCIM endpoint"): Test Connection (a random GUID's filter: the empty
   ListResponse); create with the enterprise extension, `addresses: null`, `roles: []`, client meta (values back as
   sent: 55555555555 not reformatted; Location); the filter; PATCH `emails[type eq "work"].value` with
   `name.familyName`, `userName`, `"op":"Add"` on a single-valued attribute, dotted keys in a pathless replace, the
   extension by URN path, `active` as "False"/"True" with capitalised ops and as RFC booleans; the group query with
   excludedAttributes=members, members Add/Remove (the role follows); the hard delete (204, session ended, 404).
3. okta ("SCIM 2.0 protocol"): the lookup with startIndex=1&count=100; create with password and groups (ignored; no
   password returned); a number with spaces signing in as E.164; full PUTs (a name change ends nothing, active:false
   ends the session at once, reason deprovisioned); the pathless `{"op":"replace","value":{"active":false}}`; Groups
   push (PATCH add, `members[value eq …]` remove, PUT) seen in GET /team; an admin's role change seen in SCIM; the
   Owner's group refused; POST and DELETE of groups refused.
4. limits: another organisation's token sees none of these users; paging; filters with `+` and `%20`, userName in
   another case, externalId, id, `and`, an invalid one; attributes/excludedAttributes; 409 uniqueness, 400
   invalidValue, 400 noTarget; unknown paths 404 and discovery 405 in the Error shape; `; charset=utf-8` accepted; 401
   without, with a wrong, with an API key, with a revoked token. A second server (its own database) with
   --rate-limit-per-second 1 --rate-limit-burst 5 --body-limit 8192: 429 with Retry-After, per token; 413.
5. deactivation: a Team Lead added with the CLI is linked by POST /Users with their number, then signed in on a phone
   (socket /me/events open), on the console (Chromium) and in an OpenID Connect app (code flow through TeamGate's
   sign-in page, back-channel URI at a local receiver). An Entra-shaped PATCH active "False"; measured and printed
   from its 200: the socket's session.ended (< 1 s), /me 401 naming deprovisioned, introspection active:false and
   userinfo 401, the logout token at the receiver, the console refused on reload. Then the webhooks
   team_member.deactivated and session.ended, the audit's actor, GET /team, SCIM GET and filter with active:false,
   /auth/otp answering as for a stranger (no code sent), and `active:true` letting them sign in again.

    python3 scripts/checks/scim_check.py
    python3 scripts/checks/scim_check.py --postgres postgresql://postgres@127.0.0.1:55431/postgres
    python3 scripts/checks/scim_check.py --part entra      # or tester, okta, limits, deactivation

Without --postgres, SQLite files; with it, fresh databases on that server, dropped at the end. Needs scim2-tester,
scim2-client, httpx2, Playwright and Debian's chromium (scripts/install-test-deps). TEAMGATE_BINARY names the server
binary (default: `swift build --show-bin-path`)."""

import argparse
import base64
import hashlib
import json
import os
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

from harness import (Endpoint, Failure, Gateway, Receiver, Server, Tally, answer, bearer, call, chromium, cli, console_sign_in,
                     create_database, free_port, psql, sign_in, wait_for)
from wsclient import WebSocket

tally = Tally("scim-check")
check = tally.check

SCIM_JSON = "application/scim+json"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ROLES = {"1": "Owner", "2": "Team Lead", "3": "Team Member (all chats)", "4": "Team Member (assigned chats)"}
OWNER = "+919620000001"       # the organisation's owner
LEAD = "+919620000010"        # a Team Lead added with the CLI, linked by SCIM, deactivated in part 5
OUTSIDER = "+919620000099"    # the owner of the other organisation
STRANGER = "+919620000777"    # nobody's number
# scim2-tester results that may be SKIPPED (by scim2-tester itself), with why.
TESTER_SKIPS = {"search_with_attributes": "TeamGate serves no POST /.search across resource types; it answers 501, on which scim2-tester skips"}
PARTS = ("tester", "entra", "okta", "limits", "deactivation")


# --- small helpers ---------------------------------------------------------------------------------

def short(value, limit=300):
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit] + "…"


def said(r):
    return f"{r.status} {r.headers.get('content-type', '')} {short(r.value)}"


def digits(phone):
    return re.sub(r"\D", "", str(phone))


def filt(expression, on="/Users", **more):
    """`on` with a query: `filter` percent-encoded (spaces as %20) and more parameters."""
    return on + "?" + urllib.parse.urlencode({"filter": expression, **more}, quote_via=urllib.parse.quote)


def patch(*operations):
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def user(user_name, phone, **more):
    return {"schemas": [USER], "userName": user_name, "phoneNumbers": [{"type": "mobile", "value": phone}], **more}


def body_of(r):
    return r.json if isinstance(r.json, dict) else {}


def scim_typed(r):
    return r.headers.get("content-type", "").split(";")[0].strip() == SCIM_JSON


def is_error(r, status=None, scim_type=None):
    """A SCIM Error answer: the status (any 4xx when None), application/scim+json, the Error schema, status as a string."""
    body = body_of(r)
    return (r.status == status if status else 400 <= r.status < 500) and scim_typed(r) and body.get("schemas") == [ERROR] \
        and body.get("status") == str(r.status) and (scim_type is None or body.get("scimType") == scim_type)


def is_empty_list(r):
    return r.status == 200 and scim_typed(r) and r.json == {"schemas": [LIST], "totalResults": 0, "startIndex": 1, "itemsPerPage": 0,
                                                            "Resources": []}


def resources(r):
    return body_of(r).get("Resources") or []


def group_ids(resource):
    return {str(g.get("value")) for g in resource.get("groups") or []}


def jwt_claims(token):
    try:
        part = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, IndexError, AttributeError):
        return {}


class Scim:
    """Requests to <server>/scim/v2 with a provisioning token, bodies sent as application/scim+json."""

    def __init__(self, port, token):
        self.port, self.token = port, token

    def __call__(self, method, path, body=None, *, raw=None, token=..., content_type=SCIM_JSON):
        token = self.token if token is ... else token
        headers = {"Accept": SCIM_JSON, **({"Authorization": f"Bearer {token}"} if token else {})}
        data = raw if raw is not None else None if body is None else json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = content_type
        return call(method, f"http://127.0.0.1:{self.port}/scim/v2{path}", headers, raw=data)


class From(Endpoint):
    """The server as reached from another loopback address: sign-in codes are limited per number and address."""

    def __init__(self, server, source):
        super().__init__(server.port)
        self.source = source

    def call(self, method, path, headers=None, body=None, **options):
        return super().call(method, path, headers, body, source=self.source, **options)


class Backchannel(Receiver):
    """A Receiver that keeps each POST's raw bytes too (a logout token comes as a form, not JSON)."""

    def __init__(self):
        self.raw = []

        def respond(handler):
            self.raw.append(handler.body)
            answer(200)(handler)

        super().__init__(respond)


# --- the setup -------------------------------------------------------------------------------------

class Setup:
    def __init__(self, args, folder):
        self.args, self.folder = args, folder
        self.gateway, self.hooks, self.backchannel = Gateway(), Receiver(answer(204)), Backchannel()
        self.databases = []
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        # The app's redirect_uri: any page serves, so TeamGate's own /health (the code is read from the browser's URL).
        self.redirect_uri = f"{self.base}/health"
        self.db = self.database("main")
        self.server = None
        self.tokens = {}

    def database(self, name):
        if not self.args.postgres:
            return os.path.join(self.folder, f"{name}.sqlite")
        self.databases.append(f"teamgate_scim_{name}_{secrets.token_hex(4)}")
        return create_database(self.args.postgres, self.databases[-1])

    def common_args(self):
        return ["--otp-sender", "webhook:" + self.gateway.url(), "--webhook-allowed-hosts", "127.0.0.1", "--public-url", self.base,
                "--sign-in-codes-per-address", "1000", "--unknown-credentials-per-minute", "1000"]

    def prepare(self):
        org = cli("org", "create", "--name", "SCIM Check", "--owner-phone", OWNER, database=self.db, json_output=True)
        self.org, self.key = org["organizationId"], org["apiKey"]
        self.lead_id = cli("members", "add", "--org", self.org, "--name", "Lina Lead", "--phone", LEAD, "--role", "2",
                           database=self.db, json_output=True)["id"]
        self.other_org = cli("org", "create", "--name", "Elsewhere", "--owner-phone", OUTSIDER, database=self.db, json_output=True)["organizationId"]
        for name, org_id in [("scim2-tester", self.org), ("Entra ID", self.org), ("Okta", self.org), ("Elsewhere's directory", self.other_org)]:
            self.tokens[name] = make_token(org_id, name, self.db, self.base)
        listed = cli("scim-tokens", "list", "--org", self.org, database=self.db, json_output=True)
        text = json.dumps(listed)
        check("`teamgate scim-tokens list --json` lists the organisation's tokens by id and prefix, no token itself",
              isinstance(listed, list) and {t["id"] for t in listed} >= {self.tokens[n]["id"] for n in ("scim2-tester", "Entra ID", "Okta")}
              and not any(t["token"] in text for t in self.tokens.values()) and self.tokens["Elsewhere's directory"]["id"] not in text, short(listed))
        app = cli("oidc-clients", "add", "--org", self.org, "--name", "SCIM check app", "--redirect-uri", self.redirect_uri,
                  "--backchannel-logout-uri", self.backchannel.url("/backchannel"), "--webhook-allowed-hosts", "127.0.0.1",
                  database=self.db, json_output=True)
        self.client_id, self.client_secret = app["clientId"], app["clientSecret"]

    def start(self):
        self.server = Server([*self.common_args(), "--rate-limit-per-second", "0"], database=self.db, folder=self.folder, port=self.port)
        self.server.start()
        print(f"scim-check: {'postgresql ' + self.databases[0] if self.args.postgres else 'sqlite ' + self.db}; {self.base}/scim/v2")
        for name, made in self.tokens.items():
            r = self.scim(name)("GET", "/ServiceProviderConfig")
            check(f"the token {name!r}, made with the CLI while the server was stopped, works once it runs (GET /ServiceProviderConfig 200)",
                  r.status == 200 and scim_typed(r), said(r))
        schema = body_of(self.scim("Entra ID")("GET", f"/Schemas/{USER}"))
        self.user_attributes = {a.get("name") for a in schema.get("attributes", [])}

    def scim(self, name):
        return Scim(self.port, self.tokens[name]["token"])

    def team_entry(self, phone):
        r = self.server.call("GET", "/team", {"x-public-key": self.key})
        return next((m for m in body_of(r).get("data", []) if digits(m.get("phone")) == digits(phone)), None)

    def role_of(self, phone):
        entry = self.team_entry(phone)
        return str(entry.get("orgRoleId")) if entry else None

    def me(self, device):
        return self.server.call("GET", "/me", bearer(device.token))

    def stop(self):
        if self.server:
            self.server.terminate()
        for receiver in (self.gateway, self.hooks, self.backchannel):
            receiver.stop()
        for name in self.databases:
            psql(self.args.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', check=False)


def make_token(org, name, database, base):
    made = cli("scim-tokens", "create", "--org", org, "--name", name, "--public-url", base, database=database, json_output=True)
    check(f"`teamgate scim-tokens create --public-url … --json` ({name}): id, prefix, name, createdAt, the token, baseUrl <public-url>/scim/v2",
          {"id", "prefix", "name", "createdAt", "token", "baseUrl"} <= set(made) and made["name"] == name and made["token"]
          and made["baseUrl"] == base + "/scim/v2", short({k: v for k, v in made.items() if k != "token"}))
    return made


def ended_reason(r, reason="deprovisioned"):
    return r.status == 401 and body_of(r).get("reason") == reason


# --- 1. scim2-tester -------------------------------------------------------------------------------

def give_tester_real_numbers():
    """scim2-tester fills phoneNumbers.value with ten random digits (often a leading 0: no country code), which TeamGate
    rightly refuses (400 invalidValue: it signs members in by that number). Its generator, wherever the checkers call
    it, is wrapped to give an E.164 number (+9197 and eight random digits) where it would have made that one."""
    from scim2_tester import filling
    from scim2_tester.checkers import patch_add, patch_replace

    original = filling.generate_random_value

    def generate(context, path, mutability=None, required=None):
        value = original(context, path, mutability, required)
        binding = path.resolve()
        model, field = (binding.target_model, binding.target_field_name) if binding else (path.model, None)
        phone = str(path).endswith("phoneNumbers.value") or (field == "value" and model is not None and "phone" in model.__name__.lower())
        number = lambda: "+9197" + "".join(secrets.choice("0123456789") for _ in range(8))  # noqa: E731
        if phone and isinstance(value, str):
            return number()
        if phone and isinstance(value, list) and all(isinstance(v, str) for v in value):
            return [number() for _ in value]
        return value

    for module in (filling, patch_add, patch_replace):
        module.generate_random_value = generate


def tester_part(s):
    from httpx2 import Client
    from scim2_client.engines.httpx2 import SyncSCIMClient
    from scim2_tester import Status, check_server

    give_tester_real_numbers()
    print("skip scim2-tester's Group CRUD and PATCH checks — each starts with POST /Groups; TeamGate's groups are its four fixed roles")
    with Client(base_url=s.base + "/scim/v2", headers={"Authorization": f"Bearer {s.tokens['scim2-tester']['token']}"}, timeout=15) as http:
        results = check_server(SyncSCIMClient(http), resource_types=["User"])
    check("scim2-tester ran checks", len(results) > 10, f"{len(results)} results")
    for r in results:
        reason = (r.reason or "").splitlines()[0][:160] if r.reason else r.status.name
        label = f"scim2-tester {r.title}" + (f" [{r.resource_type}]" if r.resource_type else "") + f": {reason}"
        if r.status.name == "SKIPPED" and r.title in TESTER_SKIPS:
            print(f"skip {label} — {TESTER_SKIPS[r.title]}")
            continue
        detail = f"— {r.status.name}: {short(r.reason or '', 600)}; data: {short(repr(r.data), 900)}".replace("\n", " | ")
        check(label, r.status in (Status.SUCCESS, Status.COMPLIANT), detail)

    scim = s.scim("Entra ID")
    spc = body_of(scim("GET", "/ServiceProviderConfig"))
    schemes = [a.get("type") for a in spc.get("authenticationSchemes", [])]
    check("ServiceProviderConfig: patch supported, filter supported with an integer maxResults, bulk not, etag stated, oauthbearertoken",
          spc.get("patch", {}).get("supported") is True and spc.get("filter", {}).get("supported") is True
          and isinstance(spc.get("filter", {}).get("maxResults"), int) and spc.get("bulk", {}).get("supported") is False
          and isinstance(spc.get("etag", {}).get("supported"), bool) and "oauthbearertoken" in schemes, short(spc, 600))
    schema = body_of(scim("GET", f"/Schemas/{USER}"))
    phones = next((a for a in schema.get("attributes", []) if a.get("name") == "phoneNumbers"), {})
    value = next((a for a in phones.get("subAttributes", []) if a.get("name") == "value"), {})
    check("/Schemas: the core User marks phoneNumbers and its value required", phones.get("required") is True and value.get("required") is True,
          short(phones, 500))
    check("/Schemas: the enterprise extension is published", scim("GET", f"/Schemas/{ENTERPRISE}").status == 200)


# --- 2. Entra ID -----------------------------------------------------------------------------------

def entra_user(guid, phone):
    """Microsoft's create request, with a mobile number and what Entra sends besides: null attributes, roles: [], meta."""
    return {"schemas": [USER, ENTERPRISE], "externalId": guid, "userName": f"Test_User_{guid}@contoso.example", "active": True,
            "displayName": "givenName familyName",
            "emails": [{"primary": True, "type": "work", "value": f"Test_User_{guid}@contoso.example"}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
            "phoneNumbers": [{"type": "mobile", "value": phone}], "addresses": None, "roles": [],
            ENTERPRISE: {"department": "Support", "employeeNumber": "701984"}}


def entra_part(s):
    scim = s.scim("Entra ID")
    guid = str(uuid.uuid4())
    r = scim("GET", filt(f'userName eq "{guid}"'))
    check('Entra Test Connection: GET /Users?filter=userName eq "<random guid>": 200 application/scim+json, totalResults 0, startIndex 1, '
          "itemsPerPage 0, Resources []", is_empty_list(r), said(r))
    sent = entra_user(guid, "55555555555")
    r = scim("POST", "/Users", sent)
    made, meta = body_of(r), body_of(r).get("meta") or {}
    check("Entra create (enterprise extension, addresses: null, roles: [], client meta): 201 with id and meta (User, created, lastModified, location)",
          r.status == 201 and scim_typed(r) and made.get("id") and meta.get("resourceType") == "User" and meta.get("created")
          and meta.get("lastModified") and str(meta.get("location", "")).endswith(f"/Users/{made.get('id')}"), said(r))
    if r.status != 201:
        raise Failure("no Entra user to go on with")
    uid = made["id"]
    check("the 201's Location header is the user's meta.location (RFC 7644 §3.3)", r.headers.get("location") == meta.get("location"),
          f"Location: {r.headers.get('location')!r}, meta.location {meta.get('location')!r}")
    keys = ("userName", "externalId", "emails", "name", "phoneNumbers", "displayName", "active")
    check("every value comes back exactly as sent (the number 55555555555 not reformatted), the enterprise extension kept",
          {k: made.get(k) for k in keys} == {k: sent[k] for k in keys} and made.get(ENTERPRISE) == sent[ENTERPRISE]
          and ENTERPRISE in made.get("schemas", []), short(made, 800))
    r = scim("GET", filt(f'userName eq "{sent["userName"]}"'))
    check("Entra's GET by filter userName eq: 200, totalResults 1 (integers), the user", r.status == 200 and body_of(r).get("totalResults") == 1
          and body_of(r).get("itemsPerPage") == 1 and body_of(r).get("startIndex") == 1 and [u.get("id") for u in resources(r)] == [uid], said(r))

    def patched(label, operations, expect):
        r = scim("PATCH", f"/Users/{uid}", patch(*operations))
        got = body_of(scim("GET", f"/Users/{uid}"))
        check(f"Entra PATCH {label}: 200 with the user, and GET shows it", r.status == 200 and body_of(r).get("id") == uid
              and expect(body_of(r)) and expect(got), f"PATCH {short(operations)} → {said(r)}; GET → {short(got, 600)}")

    work = "updatedEmail@contoso.example"
    patched('Replace emails[type eq "work"].value and name.familyName',
            [{"op": "Replace", "path": 'emails[type eq "work"].value', "value": work},
             {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}],
            lambda u: u.get("emails") == [{"primary": True, "type": "work", "value": work}]
            and u.get("name") == {"formatted": "givenName familyName", "familyName": "updatedFamilyName", "givenName": "givenName"})
    renamed = f"{guid}@contoso.example"
    patched("Replace userName (single-valued)", [{"op": "Replace", "path": "userName", "value": renamed}], lambda u: u.get("userName") == renamed)
    attribute = "nickName" if "nickName" in s.user_attributes else "displayName"
    patched(f'"op":"Add" on a single-valued attribute ({attribute})', [{"op": "Add", "path": attribute, "value": "Babs"}],
            lambda u: u.get(attribute) == "Babs")
    patched('dotted keys in a pathless replace ({"name.givenName", "name.familyName"})',
            [{"op": "replace", "value": {"name.givenName": "Barbara", "name.familyName": "Jensen"}}],
            lambda u: u.get("name") == {"formatted": "givenName familyName", "familyName": "Jensen", "givenName": "Barbara"})
    patched("Replace the enterprise extension's department by its URN path", [{"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Sales"}],
            lambda u: u.get(ENTERPRISE) == {"department": "Sales", "employeeNumber": "701984"})
    for op, value, want in [("Replace", "False", False), ("Replace", "True", True), ("replace", False, False), ("replace", True, True)]:
        patched(f'{{"op":"{op}","path":"active","value":{json.dumps(value)}}}', [{"op": op, "path": "active", "value": value}],
                lambda u, want=want: u.get("active") is want)

    r = scim("GET", filt('displayName eq "Team Lead"', "/Groups", excludedAttributes="members"))
    found = resources(r)
    check('Entra\'s GET /Groups?excludedAttributes=members&filter=displayName eq "Team Lead": the one group "2", no members',
          r.status == 200 and [g.get("id") for g in found] == ["2"] and "members" not in found[0], said(r))
    for op, group, role in [("Add", "2", "2"), ("Remove", "2", "4")]:
        r = scim("PATCH", f"/Groups/{group}", patch({"op": op, "path": "members", "value": [{"$ref": None, "value": uid}]}))
        got = body_of(scim("GET", f"/Users/{uid}"))
        check(f"Entra PATCH /Groups/{group} {op} members: 200 or 204; the member's role is {ROLES[role]} (GET /team and the user's groups)",
              r.status in (200, 204) and s.role_of("55555555555") == role and role in group_ids(got),
              f"{said(r)}; /team role {s.role_of('55555555555')}; groups {got.get('groups')}")

    phone = "+91 96200 00031"
    r = scim("POST", "/Users", user(f"Leaver_{guid}@contoso.example", phone))
    leaver = body_of(r).get("id")
    device = sign_in(From(s.server, "127.0.0.5"), "+" + digits(phone), s.gateway, "leaver's phone")
    r = scim("DELETE", f"/Users/{leaver}")
    me = s.me(device)
    check("Entra's hard delete: DELETE /Users/{id} 204 with no body; the member's session ends at once (/me 401)",
          leaver and r.status == 204 and not r.body and me.status == 401, f"{said(r)}; /me {said(me)}")
    check("after the delete: GET /Users/{id} 404 in the Error shape, a second DELETE 404, the member gone from GET /team",
          is_error(scim("GET", f"/Users/{leaver}"), 404) and is_error(scim("DELETE", f"/Users/{leaver}"), 404) and s.team_entry(phone) is None)


# --- 3. Okta ---------------------------------------------------------------------------------------

def okta_part(s):
    scim = s.scim("Okta")
    name = f"test.user.{secrets.token_hex(3)}@okta.example"
    r = scim("GET", filt(f'userName eq "{name}"', startIndex=1, count=100))
    check('Okta: GET /Users?filter=userName eq "…"&startIndex=1&count=100 for a new user: the empty ListResponse', is_empty_list(r), said(r))
    phone = "+91 96200 00041"
    sent = {"schemas": [USER], "userName": name, "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"primary": True, "value": name, "type": "work"}], "displayName": "Test User", "locale": "en-US",
            "externalId": "00ujl29u0le5T6Aj10h7", "groups": [], "password": "1mz050nq", "active": True,
            "phoneNumbers": [{"value": phone, "type": "mobile", "primary": True}]}
    r = scim("POST", "/Users", sent)
    made = body_of(r)
    keys = ("userName", "name", "emails", "displayName", "externalId", "active", "phoneNumbers")
    check("Okta create with password and groups: 201, the values as sent, the password nowhere in the answer",
          r.status == 201 and {k: made.get(k) for k in keys} == {k: sent[k] for k in keys} and b"password" not in r.body
          and b"1mz050nq" not in r.body, said(r))
    if r.status != 201:
        raise Failure("no Okta user to go on with")
    uid = made["id"]
    got = scim("GET", f"/Users/{uid}")
    check("GET /Users/{id}: no password either", got.status == 200 and b"1mz050nq" not in got.body and b"password" not in got.body, said(got))
    device = sign_in(From(s.server, "127.0.0.6"), "+" + digits(phone), s.gateway, "okta phone")
    check('the member provisioned with "+91 96200 00041" signs in as +919620000041 (numbers matched by digits)', s.me(device).status == 200)

    full = {k: v for k, v in sent.items() if k != "password"} | {"id": uid}
    r = scim("PUT", f"/Users/{uid}", full | {"name": {"givenName": "Tess", "familyName": "User"}})
    check("Okta full PUT changing the name: 200 with it; the member's session goes on (/me 200)",
          r.status == 200 and body_of(r).get("name") == {"givenName": "Tess", "familyName": "User"} and s.me(device).status == 200, said(r))
    full["name"] = {"givenName": "Tess", "familyName": "User"}
    r = scim("PUT", f"/Users/{uid}", full | {"active": False})
    me = s.me(device)
    check("Okta full PUT with active:false: 200 active false, and at once /me 401 with reason deprovisioned",
          r.status == 200 and body_of(r).get("active") is False and ended_reason(me), f"{said(r)}; /me {said(me)}")
    listed = resources(scim("GET", filt(f'userName eq "{name}"', startIndex=1, count=100)))
    check("the deactivated user is still found by the filter, with active false", [u.get("active") for u in listed] == [False], short(listed))
    r = scim("PUT", f"/Users/{uid}", full | {"active": True})
    device = sign_in(From(s.server, "127.0.0.7"), "+" + digits(phone), s.gateway, "okta phone again")
    check("Okta full PUT with active:true: 200, and the member signs in again", r.status == 200 and s.me(device).status == 200, said(r))
    r = scim("PATCH", f"/Users/{uid}", patch({"op": "replace", "value": {"active": False}}))
    me = s.me(device)
    check('Okta PATCH {"op":"replace","value":{"active":false}} (no path): 200 active false, /me 401 deprovisioned at once',
          r.status == 200 and body_of(r).get("active") is False and ended_reason(me), f"{said(r)}; /me {said(me)}")
    r = scim("PATCH", f"/Users/{uid}", patch({"op": "replace", "value": {"active": True}}))
    check("and the pathless replace with active:true: 200 active true", r.status == 200 and body_of(r).get("active") is True, said(r))

    r = scim("GET", "/Groups?startIndex=1&count=100")
    check("Okta: GET /Groups?startIndex=1&count=100: the four roles, ids 1-4 with their names",
          r.status == 200 and body_of(r).get("totalResults") == 4 and {g.get("id"): g.get("displayName") for g in resources(r)} == ROLES, said(r))
    r = scim("GET", filt('displayName eq "Team Lead"', "/Groups", startIndex=1, count=100))
    check("Okta's group lookup by displayName finds group 2", [g.get("id") for g in resources(r)] == ["2"], said(r))
    r = scim("PATCH", "/Groups/2", patch({"op": "add", "path": "members", "value": [{"value": uid, "display": name}]}))
    check("Okta group push: PATCH /Groups/2 add members: 200 or 204; GET /team says Team Lead; the user's groups have 2",
          r.status in (200, 204) and s.role_of(phone) == "2" and "2" in group_ids(body_of(scim("GET", f"/Users/{uid}"))), said(r))
    r = scim("PATCH", "/Groups/2", patch({"op": "remove", "path": f'members[value eq "{uid}"]'}))
    check('Okta: PATCH /Groups/2 remove members[value eq "…"]: back to Team Member (assigned chats)', r.status in (200, 204)
          and s.role_of(phone) == "4", f"{said(r)}; role {s.role_of(phone)}")
    current = [{"value": m.get("value")} for m in body_of(scim("GET", "/Groups/3")).get("members") or []]
    r = scim("PUT", "/Groups/3", {"schemas": [GROUP], "id": "3", "displayName": ROLES["3"], "members": current + [{"value": uid, "display": name}]})
    check("Okta: PUT /Groups/3 with the members and this user: 200; the member is Team Member (all chats)", r.status == 200 and s.role_of(phone) == "3",
          f"{said(r)}; role {s.role_of(phone)}")
    scim("PATCH", "/Groups/3", patch({"op": "remove", "path": f'members[value eq "{uid}"]'}))
    changed = s.server.call("PATCH", "/team-member/role", {"x-public-key": s.key}, {"memberPhoneNumber": "+" + digits(phone), "orgRole": {"roleId": 2}})
    check("an admin's role change through the Team API shows in SCIM: the user's groups are {2}", changed.status == 200
          and group_ids(body_of(scim("GET", f"/Users/{uid}"))) == {"2"}, f"{said(changed)}; {body_of(scim('GET', f'/Users/{uid}')).get('groups')}")
    s.server.call("PATCH", "/team-member/role", {"x-public-key": s.key}, {"memberPhoneNumber": "+" + digits(phone), "orgRole": {"roleId": 4}})
    r = scim("PATCH", "/Groups/1", patch({"op": "add", "path": "members", "value": [{"value": uid}]}))
    check("PATCH /Groups/1 (Owner) add a member: a 4xx SCIM error, the role unchanged", is_error(r) and s.role_of(phone) == "4", said(r))
    r = scim("PUT", "/Groups/1", {"schemas": [GROUP], "id": "1", "displayName": "Owner", "members": [{"value": uid}]})
    owner = s.team_entry(OWNER) or {}
    check("PUT /Groups/1 (Owner): a 4xx SCIM error; the Owner stays the Owner", is_error(r) and owner.get("isOrganizationOwner") is True
          and s.role_of(phone) == "4", f"{said(r)}; owner {owner}")
    r = scim("POST", "/Groups", {"schemas": [GROUP], "displayName": "Contractors"})
    gone = scim("DELETE", "/Groups/3")
    check("POST /Groups and DELETE /Groups/3 are refused with SCIM errors; still four groups", is_error(r) and is_error(gone)
          and body_of(scim("GET", "/Groups")).get("totalResults") == 4, f"POST {said(r)}; DELETE {said(gone)}")


# --- 4. isolation and limits -----------------------------------------------------------------------

def limits_part(s):
    uid, name = isolation_and_queries(s)
    refusals(s, uid, name)
    limited_server(s)


def isolation_and_queries(s):
    """A user another organisation's token cannot see; paging, filters and attribute selection on it."""
    scim, other = s.scim("Entra ID"), s.scim("Elsewhere's directory")
    name = f"Iso.User.{secrets.token_hex(3)}@Example.test"
    sent = user(name, "+91 96200 00051", externalId=f"iso-{secrets.token_hex(4)}", emails=[{"type": "work", "value": "iso@example.test"}],
                name={"givenName": "Iso", "familyName": "User"})
    r = scim("POST", "/Users", raw=json.dumps(sent).encode(), content_type="application/scim+json; charset=utf-8")
    check("POST /Users with Content-Type: application/scim+json; charset=utf-8: 201", r.status == 201, said(r))
    uid = body_of(r).get("id") or "none"

    listed = other("GET", "/Users?count=1000")
    check("another organisation's token: its list holds none of this organisation's users", listed.status == 200
          and uid not in {u.get("id") for u in resources(listed)} and name.encode() not in listed.body, said(listed))
    check("… its filter on this user's userName finds nothing", is_empty_list(other("GET", filt(f'userName eq "{name}"'))))
    check("… GET, PATCH and DELETE of this user's id are 404 SCIM errors, and the user is untouched",
          is_error(other("GET", f"/Users/{uid}"), 404) and is_error(other("PATCH", f"/Users/{uid}", patch({"op": "replace", "path": "active", "value": False})), 404)
          and is_error(other("DELETE", f"/Users/{uid}"), 404) and body_of(scim("GET", f"/Users/{uid}")).get("active", True) is True)

    for n in range(3):  # enough users for two pages of two, whichever parts ran before
        scim("POST", "/Users", user(f"page.{n}.{secrets.token_hex(3)}@example.test", f"+9196200006{n}{secrets.randbelow(10)}"))
    first, second, again = (scim("GET", q) for q in ("/Users?startIndex=1&count=2", "/Users?startIndex=3&count=2", "/Users?startIndex=1&count=2"))
    a, b = [u.get("id") for u in resources(first)], [u.get("id") for u in resources(second)]
    counts = [body_of(x).get(k) for x in (first, second) for k in ("totalResults", "startIndex", "itemsPerPage")]
    check("paging: startIndex/count give integer counts, pages of 2 that do not overlap, the same page twice in the same order",
          all(type(c) is int for c in counts) and body_of(first).get("startIndex") == 1 and body_of(second).get("startIndex") == 3
          and len(a) == 2 and body_of(first).get("itemsPerPage") == 2 and not set(a) & set(b) and a == [u.get("id") for u in resources(again)],
          f"{short(counts)} {a} {b}")

    quoted = urllib.parse.quote(name)
    for label, query in [("+ for spaces", f"/Users?filter=userName+eq+%22{quoted}%22"), ("%20 for spaces", f"/Users?filter=userName%20eq%20%22{quoted}%22"),
                         ("userName in another case (caseExact false)", filt(f'userName eq "{name.lower()}"')),
                         ("externalId eq", filt(f'externalId eq "{sent["externalId"]}"')), ("id eq", filt(f'id eq "{uid}"')),
                         ("and", filt(f'userName eq "{name}" and externalId eq "{sent["externalId"]}"'))]:
        r = scim("GET", query)
        check(f"filter with {label}: the one user", r.status == 200 and [u.get("id") for u in resources(r)] == [uid], said(r))
    check("filter and an and that matches nothing: totalResults 0",
          is_empty_list(scim("GET", filt(f'userName eq "{name}" and externalId eq "nope"'))))
    r = scim("GET", filt('userName zz "x"'))
    check("an invalid filter: 400 scimType invalidFilter", is_error(r, 400, "invalidFilter"), said(r))

    one = body_of(scim("GET", f"/Users/{uid}?attributes=userName"))
    check("GET /Users/{id}?attributes=userName: id, schemas and userName, not emails or name", one.get("id") == uid and one.get("schemas")
          and one.get("userName") == name and "emails" not in one and "name" not in one, short(one))
    one = body_of(scim("GET", f"/Users/{uid}?excludedAttributes=emails"))
    check("GET /Users/{id}?excludedAttributes=emails: no emails, the rest there", "emails" not in one and one.get("userName") == name
          and one.get("name") == sent["name"], short(one))
    listed = resources(scim("GET", filt(f'userName eq "{name}"', attributes="userName")))
    check("a list with attributes=userName: its resource has id and userName only among the attributes", len(listed) == 1
          and listed[0].get("id") == uid and listed[0].get("userName") == name and "emails" not in listed[0] and "phoneNumbers" not in listed[0], short(listed))
    return uid, name


def refusals(s, uid, name):
    """Each refusal in the SCIM Error shape: conflicts, bad values, unknown paths and methods, missing or dead tokens."""
    scim = s.scim("Entra ID")
    r = scim("POST", "/Users", user(name.upper(), "+91 96200 00052"))
    check("POST with the userName in another case: 409 scimType uniqueness", is_error(r, 409, "uniqueness"), said(r))
    r = scim("POST", "/Users", user(f"twin.{secrets.token_hex(3)}@example.test", "+919620000051"))
    check("POST with a number another directory user holds (other spelling): 409 uniqueness", is_error(r, 409, "uniqueness"), said(r))
    r = scim("POST", "/Users", {"schemas": [USER], "userName": f"nophone.{secrets.token_hex(3)}@example.test"})
    check("POST without phoneNumbers: 400 scimType invalidValue, saying so", is_error(r, 400, "invalidValue")
          and "phone" in str(body_of(r).get("detail", "")).lower(), said(r))
    r = scim("PATCH", f"/Users/{uid}", patch({"op": "replace", "path": 'emails[type eq "home"].value', "value": "x@example.test"}))
    check('PATCH replace emails[type eq "home"].value when there is none: 400 scimType noTarget', is_error(r, 400, "noTarget"), said(r))
    for path in ("/Nope", f"/Users/{uid}/extra", "/Groups/9"):
        r = scim("GET", path)
        check(f"GET {path}: 404 in the SCIM Error shape", is_error(r, 404), said(r))
    for method, path in [("POST", "/ServiceProviderConfig"), ("PUT", "/Schemas"), ("PATCH", "/ResourceTypes"), ("DELETE", f"/Schemas/{USER}")]:
        r = scim(method, path, {} if method != "DELETE" else None)
        check(f"{method} {path}: 405 in the SCIM Error shape", is_error(r, 405), said(r))

    for label, token in [("no token", None), ("a wrong token", "tgscim_" + secrets.token_urlsafe(32)), ("the organisation's API key", s.key)]:
        r = scim("GET", "/Users", token=token)
        check(f"GET /Users with {label}: 401 in the SCIM Error shape", is_error(r, 401), said(r))
    made = make_token(s.org, "made while running", s.db, s.base)
    r = scim("GET", "/Users?count=1", token=made["token"])
    check("a token made with the CLI while the server runs works at once", r.status == 200, said(r))
    cli("scim-tokens", "revoke", "--org", s.org, made["prefix"], database=s.db, json_output=True)
    revoked = time.monotonic()
    # A write checks the token again in its own transaction: refused at once, and nothing made.
    write = scim("POST", "/Users", {"userName": "after-revoke@acme.example", "phoneNumbers": [{"value": "+14155550999", "type": "mobile"}]},
                 token=made["token"])
    check("right after another process revoked it, a write with the token is 401 and makes nothing", is_error(write, 401)
          and scim("GET", "/Users?filter=userName%20eq%20%22after-revoke%40acme.example%22").json.get("totalResults") == 0, said(write))
    # Reads: another process's revocation reaches the server's memory of tokens seen valid within a second
    # (SeenAPIKeys.freshFor); waited for up to 5 s, which a loaded machine needs at most.
    refused = wait_for(lambda: is_error(scim("GET", "/Users?count=1", token=made["token"]), 401), 5, step=0.05)
    check(f"revoked with `teamgate scim-tokens revoke` (by prefix): reads 401 in the SCIM Error shape "
          f"({1000 * (time.monotonic() - revoked):.0f} ms)", refused, said(scim("GET", "/Users?count=1", token=made["token"])))
    listed = cli("scim-tokens", "list", "--org", s.org, database=s.db, json_output=True)
    entry = next((t for t in listed if t.get("id") == made["id"]), None)
    check("`scim-tokens list` shows the revoked token as revoked, or no longer lists it",
          entry is None or entry.get("revokedAt") or entry.get("revoked") is True, short(entry))


def limited_server(s):
    db = s.database("limits")
    org = cli("org", "create", "--name", "Limits", "--owner-phone", "+919620000201", database=db, json_output=True)["organizationId"]
    first, second = (make_token(org, name, db, s.base)["token"] for name in ("first", "second"))
    server = Server([*s.common_args(), "--rate-limit-per-second", "1", "--rate-limit-burst", "5", "--body-limit", "8192"],
                    database=db, folder=s.folder, name="limits")
    server.start()
    failed_before = tally.failed
    try:
        scim = Scim(server.port, first)
        answers = []
        while len(answers) < 30 and (not answers or answers[-1].status != 429):
            answers.append(scim("GET", "/Users?count=1"))
        limited = answers[-1]
        retry = limited.headers.get("retry-after", "")
        check("--rate-limit-per-second 1 --rate-limit-burst 5: the burst passes, then 429 with Retry-After in the SCIM Error shape",
              all(a.status == 200 for a in answers[:5]) and is_error(limited, 429) and retry.isdigit() and int(retry) >= 1,
              f"{[a.status for a in answers]}; last {said(limited)} Retry-After {retry!r}")
        r = scim("GET", "/Users?count=1", token=second)
        check("the limit is per token: another token of the same organisation gets 200 meanwhile", r.status == 200, said(r))
        check("after Retry-After the first token is served again",
              wait_for(lambda: scim("GET", "/Users?count=1").status == 200, int(retry or 1) + 3, step=0.25))
        padded = user(f"big.{secrets.token_hex(3)}@example.test", "+919620000202", displayName="x" * 20000)
        r = scim("POST", "/Users", padded, token=second)
        check("--body-limit 8192: a 20 kB POST /Users gets 413 in the SCIM Error shape", is_error(r, 413), said(r))
    finally:
        if tally.failed > failed_before:
            print(f"--- limits server log ---\n{server.log_tail(20)}")
        server.terminate()


# --- 5. deactivation, measured ---------------------------------------------------------------------

def oidc_sign_in(s, page):
    """The code flow with PKCE through TeamGate's sign-in page in the browser; returns the token response."""
    from playwright.sync_api import expect

    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = secrets.token_urlsafe(16)
    page.goto(s.base + "/oidc/authorize?" + urllib.parse.urlencode({
        "response_type": "code", "client_id": s.client_id, "redirect_uri": s.redirect_uri, "scope": "openid profile phone", "state": state,
        "nonce": secrets.token_urlsafe(16), "code_challenge": challenge, "code_challenge_method": "S256"}))
    page.get_by_label("Phone number").fill(LEAD)
    page.get_by_role("button", name="Get a code", exact=True).click()
    expect(page.get_by_label("Code")).to_be_visible()
    page.get_by_label("Code").fill(s.gateway.wait_code(LEAD) or "")
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(lambda url: url.startswith(s.redirect_uri + "?"), timeout=10_000)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page.url).query))
    if query.get("state") != state or not query.get("code"):
        raise Failure(f"the app's redirect_uri got {page.url}")
    r = oidc_post(s, "/oidc/token", {"grant_type": "authorization_code", "code": query["code"], "redirect_uri": s.redirect_uri, "code_verifier": verifier})
    if r.status != 200 or not body_of(r).get("access_token"):
        raise Failure(f"the token endpoint answered {said(r)}")
    return r.json


def oidc_post(s, path, form):
    basic = base64.b64encode(f"{urllib.parse.quote(s.client_id, safe='')}:{urllib.parse.quote(s.client_secret, safe='')}".encode()).decode()
    return s.server.call("POST", path, {"Authorization": f"Basic {basic}"}, form=form)


def deactivation_part(s):
    uid = link_team_lead(s)
    before_hooks = deactivate_measured(s, uid)
    after_deactivation(s, uid, before_hooks)


def link_team_lead(s):
    """The Team Lead added with the CLI, provisioned by the directory with their number: the same member."""
    scim = s.scim("Entra ID")
    r = scim("POST", "/Users", user("lina.lead@contoso.example", "+91 96200 00010", displayName="Lina Lead",
                                    name={"givenName": "Lina", "familyName": "Lead"}))
    uid = body_of(r).get("id")
    entries = [m for m in body_of(s.server.call("GET", "/team", {"x-public-key": s.key})).get("data", []) if digits(m.get("phone")) == digits(LEAD)]
    check("POST /Users with the number of a member added with the CLI: 201, linked to that member (one member, the same id)",
          r.status == 201 and [m.get("id") for m in entries] == [s.lead_id], f"{said(r)}; /team {entries}")
    if not uid:
        raise Failure("the Team Lead was not provisioned")
    r = scim("POST", "/Users", user("lina.twin@contoso.example", LEAD))
    check("another directory user with that number: 409 uniqueness", is_error(r, 409, "uniqueness"), said(r))
    scim("PATCH", "/Groups/2", patch({"op": "add", "path": "members", "value": [{"value": uid}]}))
    check("the linked member is a Team Lead (GET /team)", s.role_of(LEAD) == "2", s.team_entry(LEAD))
    hook = s.server.call("POST", "/webhooks", {"x-public-key": s.key}, {"url": s.hooks.url("/hook"), "events": ["team_member.deactivated", "session.ended"]})
    check("a webhook for team_member.deactivated and session.ended: 201", hook.status == 201, said(hook))
    return uid


def deactivate_measured(s, uid):
    """Signed in on a phone (socket open), the console and an app; the Entra PATCH, and each place's refusal timed from its 200."""
    from playwright.sync_api import expect, sync_playwright

    scim = s.scim("Entra ID")
    phone = sign_in(From(s.server, "127.0.0.2"), LEAD, s.gateway, "Lina's phone")
    socket = WebSocket(s.port, phone)
    hello = socket.next_message(5)
    check("the phone's socket /me/events is open (session.active)", hello and hello[1].get("type") == "session.active", hello)
    with sync_playwright() as p:
        browser = chromium(p)
        try:
            console = browser.new_context().new_page()
            console_sign_in(console, s.base, LEAD, s.gateway)
            expect(console.locator("h1")).to_have_text("Team")
            app = browser.new_context().new_page()
            tokens = oidc_sign_in(s, app)
            sid = jwt_claims(tokens.get("id_token")).get("sid")
            alive = body_of(oidc_post(s, "/oidc/introspect", {"token": tokens["access_token"]})).get("active")
            check("signed in on the console and in the OpenID Connect app (introspection active:true)", alive is True, alive)

            ended = lambda ws: any(m.get("type") == "session.ended" for _, m in ws.inbox)  # noqa: E731
            listener = threading.Thread(target=socket.wait, args=(ended, 5), daemon=True)
            listener.start()
            before_bc, before_hooks = len(s.backchannel.hits), len(s.hooks.bodies)
            r = scim("PATCH", f"/Users/{uid}", patch({"op": "Replace", "path": "active", "value": "False"}))
            answered, answered_mono = time.perf_counter(), time.monotonic()
            me = s.me(phone)
            me_after = time.perf_counter() - answered
            introspected = oidc_post(s, "/oidc/introspect", {"token": tokens["access_token"]})
            info = s.server.call("GET", "/oidc/userinfo", bearer(tokens["access_token"]))
            oidc_after = time.perf_counter() - answered
            check('Entra PATCH {"op":"Replace","path":"active","value":"False"}: 200 with active false', r.status == 200
                  and body_of(r).get("active") is False, said(r))
            check("right after the 200, no sleep: the phone's /me is 401 naming deprovisioned", ended_reason(me), said(me))
            check("… and the app's access token is refused on its next use: introspection active:false, userinfo 401",
                  body_of(introspected).get("active") is False and info.status == 401, f"{said(introspected)}; userinfo {said(info)}")
            console.reload()
            console_after = time.perf_counter() - answered
            check("the console page, reloaded, is refused: back at the console's sign-in", "/console" in console.url
                  and console.locator("#phone").count() == 1, console.url)
            listener.join(6)
            message = next(((t, m) for t, m in socket.inbox if m.get("type") == "session.ended"), None)
            socket_after = message[0] - answered if message else None
            check("the phone's socket hears session.ended, reason deprovisioned, within 1 s of the 200", message
                  and message[1].get("reason") == "deprovisioned" and socket_after < 1, socket.inbox)
            got = wait_for(lambda: len(s.backchannel.hits) > before_bc, 5, step=0.01)
            backchannel_after = s.backchannel.hits[before_bc] - answered_mono if got else None
            logout = dict(urllib.parse.parse_qsl(s.backchannel.raw[before_bc].decode(errors="replace"))) if got else {}
            check("the app's back-channel URI gets a logout_token for the session (its sid) within 5 s", got
                  and jwt_claims(logout.get("logout_token")).get("sid") == sid, f"posts {len(s.backchannel.hits) - before_bc}; {short(logout)}")
        finally:
            browser.close()
    socket.close()
    show = lambda v: f"{v * 1000:.1f} ms" if v is not None else "never"  # noqa: E731 (negative: before the 200 was read)
    print(f"     deactivation, from the PATCH's 200: socket session.ended {show(socket_after)}, /me 401 {show(me_after)}, "
          f"OIDC token refused {show(oidc_after)}, back-channel logout token {show(backchannel_after)}, console refused on reload {show(console_after)}")
    return before_hooks


def after_deactivation(s, uid, before_hooks):
    """What else the deactivation did and did not do, and the reactivation."""
    scim = s.scim("Entra ID")

    def hooked():
        kinds = {b.get("type") for b in s.hooks.bodies[before_hooks:] if isinstance(b, dict) and s.lead_id in json.dumps(b)}
        return {"team_member.deactivated", "session.ended"} <= kinds
    check("webhooks team_member.deactivated and session.ended are delivered for the member", wait_for(hooked, 10, step=0.05),
          short([b.get("type") for b in s.hooks.bodies[before_hooks:] if isinstance(b, dict)]))
    audit = body_of(s.server.call("GET", f"/audit-events?memberPhoneNumber={urllib.parse.quote(LEAD)}&limit=5", {"x-public-key": s.key})).get("data", [])
    check("the audit log's newest event for the member is the deactivation with the directory as actor", audit
          and re.search(r"deactivat|deprovision", audit[0].get("action", "")) and re.search(r"scim|directory|Entra", json.dumps(audit[0]), re.I),
          short(audit[:2], 600))
    entry = s.team_entry(LEAD) or {}
    check("GET /team shows the member as deactivated (isActive false)", entry.get("isActive") is False, entry)
    got = body_of(scim("GET", f"/Users/{uid}"))
    found = resources(scim("GET", filt('userName eq "lina.lead@contoso.example"')))
    check("SCIM still shows the deactivated user: GET and the filter, active false", got.get("active") is False
          and [u.get("active") for u in found] == [False], f"{short(got)}; {short(found)}")

    probe = From(s.server, "127.0.0.3")
    stranger = probe.call("POST", "/auth/otp", body={"phoneNumber": STRANGER})
    inactive = probe.call("POST", "/auth/otp", body={"phoneNumber": LEAD})
    check("POST /auth/otp for the deactivated number answers exactly as for a stranger's (status and body)",
          (inactive.status, inactive.body) == (stranger.status, stranger.body), f"stranger {said(stranger)}; deactivated {said(inactive)}")
    check("… and no code is sent to the deactivated number (none within 1 s)", s.gateway.wait_code(LEAD, timeout=1) is None)
    r = scim("PATCH", f"/Users/{uid}", patch({"op": "replace", "path": "active", "value": True}))
    again = sign_in(From(s.server, "127.0.0.4"), LEAD, s.gateway, "Lina's phone again")
    check("PATCH active:true: 200, and the member signs in again (/me 200)", r.status == 200 and s.me(again).status == 200, said(r))


# --- main ------------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="administrator's URL of a PostgreSQL server: fresh databases on it")
    parser.add_argument("--part", choices=["all", *PARTS], default="all", help="one section only (default: all)")
    parser.add_argument("--binary", help="the teamgate binary (default: TEAMGATE_BINARY, else the debug build's)")
    args = parser.parse_args()
    if args.binary:
        os.environ["TEAMGATE_BINARY"] = args.binary
    started = time.time()
    folder = tempfile.mkdtemp(prefix="teamgate-scim-")
    s = None
    try:
        s = Setup(args, folder)
        s.prepare()
        s.start()
        for name, part in [("tester", tester_part), ("entra", entra_part), ("okta", okta_part), ("limits", limits_part),
                           ("deactivation", deactivation_part)]:
            if args.part in ("all", name):
                try:
                    part(s)
                except Exception as error:
                    tally.crashed(error, f"the {name} part ran to the end")
    except Exception as error:
        tally.crashed(error)
    finally:
        if s is not None:
            if tally.failed and s.server:
                print(f"--- server log ({s.server.log_path}) ---\n{s.server.log_tail(40)}")
            s.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print(f"scim-check: {time.time() - started:.0f} s")
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
