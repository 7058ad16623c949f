"""deploy/forward-auth/nginx.conf with Debian's nginx in front of an unmodified app (a small HTTP server that shows
the headers it received), driven by headless Chromium: what an operator who follows "Put an app behind TeamGate"
gets.

- A browser asking for wiki.example.test is sent to TeamGate's sign-in page with rd = exactly its URL; it signs in
  (phone number, code) and is back on the page it asked for, which shows the member's five Remote-* headers.
- The cookie: teamgate_session for Domain=example.test, HttpOnly, SameSite=Lax, not Secure over plain http.
- A second app under the same domain (docs.example.test) opens without signing in again.
- A client's own Remote-User header never reaches the app, signed in or not.
- The admin's API logout (201) → the very next request through nginx, sent the moment the 201 arrives, is sent to
  sign-in, and so is the browser's next page load.
- Open-redirect attempts (another site, //host, user info, a look-alike domain, javascript:, backslashes, encoded
  tricks) end on TeamGate's own /app; /sign-out ends the session.
- Debian's Caddy runs the shipped Caddyfile in front of the same app: without a session the browser's request is sent
  to sign-in (302, rd = its URL), with one the app gets the five headers, and after the admin's 201 the next request
  is sent to sign-in again. traefik.yml (Traefik is not in Debian) is checked by its documented shape.

    python3 scripts/checks/forward_auth_check.py
The hosts are mapped to 127.0.0.1 inside Chromium (--host-resolver-rules) and by the Host header for plain HTTP.
TEAMGATE_BINARY names the server binary (default: `swift build --show-bin-path`, as the other checks)."""

import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.parse
from http.server import BaseHTTPRequestHandler

from harness import ROOT, Failure, Gateway, NginxProcess, Screenshots, Server, Tally, chromium, cli, free_port, serve_locally, sign_in, wait_for

CONFIG = os.path.join(ROOT, "deploy", "forward-auth", "nginx.conf")
OWNER = "+919811000001"
MEMBER = "+919811000002"
tally = Tally("forward-auth-check")
check = tally.check


class HeadersApp:
    """The protected app, unchanged: answers every GET with a page listing the request's Remote-* headers."""

    def __init__(self):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                seen = {name: self.headers.get(name, "") for name in ("Remote-User", "Remote-Name", "Remote-Phone", "Remote-Role", "Remote-Organization")}
                page = f"<!doctype html><title>App</title><h1>{self.headers.get('Host')}{self.path}</h1><pre id='seen'>{json.dumps(seen)}</pre>"
                body = page.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server, self.port = serve_locally(Handler)


def site_config(port, teamgate_port, app_port):
    """The shipped file with its hosts under example.test, its upstreams and port this check's, and its app block
    copied for a second app (docs.example.test), as its comment tells an operator to."""
    config = open(CONFIG).read()
    if "server teamgate:8080;" not in config or "server app:3000;" not in config or "server_name wiki.example.com;" not in config:
        raise Failure("deploy/forward-auth/nginx.conf no longer has the `server teamgate:8080;`, `server app:3000;` and "
                      "`server_name wiki.example.com;` lines this check rewrites")
    config = config.replace("server teamgate:8080;", f"server 127.0.0.1:{teamgate_port};")
    config = config.replace("server app:3000;", f"server 127.0.0.1:{app_port};")
    config = re.sub(r"^(\s*)listen 80;", rf"\g<1>listen 127.0.0.1:{port};", config, flags=re.M)
    config = config.replace("example.com", "example.test")
    app_block = config[config.index("# An app behind TeamGate."):]
    return config + "\n" + app_block.replace("server_name wiki.example.test;", "server_name docs.example.test;")


def through(port, host, path, cookie=None, headers=None):
    """A plain request to nginx for `host`: (status, headers, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    sent = {"Host": f"{host}:{port}", **(headers or {})}
    if cookie:
        sent["Cookie"] = f"teamgate_session={cookie}"
    connection.request("GET", path, headers=sent)
    response = connection.getresponse()
    body = response.read()
    found = {name.lower(): value for name, value in response.getheaders()}
    connection.close()
    return response.status, found, body


def answers(port):
    """Whether nginx serves TeamGate's /health yet."""
    try:
        return through(port, "login.example.test", "/health")[0] == 200
    except OSError:
        return False


def seen_headers(page):
    return json.loads(page.locator("#seen").inner_text())


def main():
    folder = tempfile.mkdtemp(prefix="teamgate-forward-auth-")
    gateway = Gateway()
    app = HeadersApp()
    port = free_port()
    login = f"http://login.example.test:{port}"
    wiki = f"http://wiki.example.test:{port}"
    docs = f"http://docs.example.test:{port}"
    database = os.path.join(folder, "teamgate.sqlite")
    org = cli("org", "create", "--name", "Forward Auth Check", "--owner-phone", OWNER, database=database, json_output=True)
    member = cli("members", "add", "--org", org["organizationId"], "--name", "Kavya Menon", "--phone", MEMBER, database=database, json_output=True)
    server = Server(["--otp-sender", "webhook:" + gateway.url(), "--public-url", login, "--cookie-domain", "example.test",
                     "--trusted-proxies", "127.0.0.1", "--rate-limit-per-second", "0"], database=database, folder=folder)
    nginx = None
    try:
        server.start()
        nginx = NginxProcess(folder, site_config(port, server.port, app.port), os.path.join(folder, "nginx-access.log"))
        nginx.start(lambda: answers(port))
        with_browser(server, nginx, port, org, member, gateway, login, wiki, docs)
        behind_caddy(folder, server, app, org, gateway)
        shipped_traefik_file()
    except Exception as error:
        tally.crashed(error)
    finally:
        if tally.failed:
            print(f"--- server log ---\n{server.log_tail(30)}")
            if nginx and os.path.exists(nginx.error_log):
                print("--- nginx error log ---\n" + "".join(open(nginx.error_log).readlines()[-20:]))
        if nginx:
            nginx.stop()
        server.stop()
    sys.exit(tally.finish())


def with_browser(server, nginx, port, org, member, gateway, login, wiki, docs):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = chromium(p, ["--host-resolver-rules=MAP *.example.test 127.0.0.1"])
        shots = Screenshots()
        try:
            context = browser.new_context(viewport={"width": 1000, "height": 800})
            page = context.new_page()
            asked = f"{wiki}/handbook/leave?year=2026&team=a%20b"
            page.goto(asked)
            at = urllib.parse.urlsplit(page.url)
            rd = urllib.parse.parse_qs(at.query).get("rd", [None])[0]
            check("a browser without a session is sent to TeamGate's sign-in page, rd = exactly the URL it asked for",
                  page.url.startswith(f"{login}/sign-in?") and rd == asked and page.get_by_label("Phone number").is_visible(), page.url)
            page.get_by_label("Phone number").fill(MEMBER)
            page.get_by_role("button", name="Get a code").click()
            code = gateway.wait_code(MEMBER)
            page.get_by_label("Code").fill(code or "")
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(asked, timeout=10_000)
            seen = seen_headers(page)
            check("signed in, the browser is back on the page it asked for, and the app received the member's five headers",
                  page.url == asked and seen == {"Remote-User": member["id"], "Remote-Name": "Kavya Menon", "Remote-Phone": MEMBER,
                                                  "Remote-Role": member["orgRoleName"],
                                                  "Remote-Organization": org["organizationId"]}, f"{page.url} {seen}")
            shots.take(page, "forward-auth-app.png", "the protected app, signed in through TeamGate")
            cookie = next((c for c in context.cookies() if c["name"] == "teamgate_session"), None)
            check("the cookie is teamgate_session for .example.test, HttpOnly, SameSite=Lax, not Secure over http",
                  cookie is not None and cookie["domain"] in (".example.test", "example.test") and cookie["httpOnly"] and cookie["sameSite"] == "Lax"
                  and not cookie["secure"], cookie and {k: cookie[k] for k in ("domain", "httpOnly", "sameSite", "secure")})
            page.goto(f"{docs}/start")
            check("a second app under the same domain opens without signing in again", page.url == f"{docs}/start"
                  and seen_headers(page)["Remote-User"] == member["id"], page.url)
            token = cookie["value"] if cookie else ""
            status, _, body = through(port, "wiki.example.test", "/", cookie=token, headers={"Remote-User": "forged-owner"})
            check("a client's own Remote-User header never reaches the app (signed in: the member's id)",
                  status == 200 and member["id"].encode() in body and b"forged-owner" not in body, status)
            status, headers, _ = through(port, "wiki.example.test", "/", headers={"Remote-User": "forged-owner"})
            check("without a session, a forged Remote-User gets the sign-in redirect (302 to /sign-in, no-store)",
                  status == 302 and headers.get("location", "").startswith(f"{login}/sign-in?rd=") and headers.get("cache-control") == "no-store",
                  f"{status} {headers.get('location')}")
            open_redirects(port, token, login)
            # act: the admin's API logout, then at once the next request through nginx
            reply = server.call("POST", "/team-member/logout", {"x-public-key": org["apiKey"]}, {"userPhoneNumber": MEMBER})
            status, headers, _ = through(port, "wiki.example.test", "/next", cookie=token)
            check("the very next request through nginx after the admin's 201 is sent to sign-in",
                  reply.status == 201 and status == 302 and headers.get("location", "").startswith(f"{login}/sign-in"), f"{reply.status} then {status}")
            page.goto(f"{wiki}/after-logout")
            check("and the browser's next page load is TeamGate's sign-in page", page.url.startswith(f"{login}/sign-in?")
                  and page.get_by_label("Phone number").is_visible(), page.url)
            signed_out(page, login, wiki, gateway)
        finally:
            shots.report()
            browser.close()


def open_redirects(port, token, login):
    """With a live session /sign-in goes straight to rd; every rd that is not under the cookie's domain goes to /app."""
    for rd in ["https://evil.test/", "//evil.test/", "http://example.test.evil.test/", "http://wiki.example.test@evil.test/",
               "javascript:alert(document.cookie)", "http://evil.test\\@wiki.example.test/", "https:\\\\evil.test", "/\\evil.test",
               "http://evil.test%2f.example.test/", "http://wiki.example.test%40evil.test/", " https://evil.test/", "http://evil.test#.example.test"]:
        status, headers, _ = through(port, "login.example.test", "/sign-in?rd=" + urllib.parse.quote(rd, safe=""), cookie=token)
        check(f"rd={rd!r} is refused: the signed-in browser goes to TeamGate's /app", status == 302 and headers.get("location") == "/app",
              f"{status} {headers.get('location')}")
    good = f"http://docs.example.test:{port}/ok"
    status, headers, _ = through(port, "login.example.test", "/sign-in?rd=" + urllib.parse.quote(good, safe=""), cookie=token)
    check("an rd under the cookie's domain is followed", status == 302 and headers.get("location") == good, f"{status} {headers.get('location')}")


def signed_out(page, login, wiki, gateway):
    """Signs in again through the page, then /sign-out?rd=: the session ends and the browser goes back to rd."""
    page.get_by_label("Phone number").fill(MEMBER)
    page.get_by_role("button", name="Get a code").click()
    code = gateway.wait_code(MEMBER)
    page.get_by_label("Code").fill(code or "")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{wiki}/after-logout", timeout=10_000)
    page.goto(f"{login}/sign-out?rd=" + urllib.parse.quote(f"{wiki}/bye", safe=""))
    check("/sign-out?rd= ends the session and goes back by the same rule (to rd, then to sign-in: the session is gone)",
          page.url.startswith(f"{login}/sign-in?") and "bye" in urllib.parse.unquote(page.url), page.url)


def caddy_config(port, teamgate_port, app_port):
    """The shipped Caddyfile with its hosts under example.test on plain http at `port`, its upstreams this check's."""
    config = open(os.path.join(ROOT, "deploy", "forward-auth", "Caddyfile")).read()
    if "teamgate:8080" not in config or "app:3000" not in config or "wiki.example.com {" not in config:
        raise Failure("deploy/forward-auth/Caddyfile no longer has the `teamgate:8080`, `app:3000` and `wiki.example.com {` this check rewrites")
    config = config.replace("teamgate:8080", f"127.0.0.1:{teamgate_port}").replace("app:3000", f"127.0.0.1:{app_port}")
    config = re.sub(r"^(login|wiki)\.example\.com \{", rf"http://\1.example.test:{port} {{", config, flags=re.M)
    return "{\n\tadmin off\n\tauto_https off\n}\n\n" + config


def behind_caddy(folder, server, app, org, gateway):
    port = free_port()
    path = os.path.join(folder, "Caddyfile")
    with open(path, "w") as file:
        file.write(caddy_config(port, server.port, app.port))
    log = open(os.path.join(folder, "caddy.log"), "w")
    caddy = subprocess.Popen(["caddy", "run", "--config", path, "--adapter", "caddyfile"], stdout=log, stderr=subprocess.STDOUT,
                             env={**os.environ, "HOME": folder, "XDG_DATA_HOME": folder, "XDG_CONFIG_HOME": folder})
    try:
        def up():
            try:
                return through(port, "login.example.test", "/health")[0] == 200
            except OSError:
                return False
        if not wait_for(lambda: caddy.poll() is not None or up(), 15) or caddy.poll() is not None:
            raise Failure("Caddy did not serve the shipped Caddyfile:\n" + open(os.path.join(folder, "caddy.log")).read()[-2000:])
        asked = f"http://wiki.example.test:{port}/reports?q=1"
        status, headers, _ = through(port, "wiki.example.test", "/reports?q=1")
        rd = urllib.parse.parse_qs(urllib.parse.urlsplit(headers.get("location", "")).query).get("rd", [None])[0]
        check("Caddy: without a session the browser gets TeamGate's 302 to sign-in, rd = exactly its URL",
              status == 302 and headers.get("location", "").startswith("http://login.example.test:") and rd == asked,
              f"{status} {headers.get('location')}")
        device = sign_in(server, MEMBER, gateway, "caddy check")
        status, _, body = through(port, "wiki.example.test", "/reports", cookie=device.token, headers={"Remote-User": "forged"})
        seen = json.loads(re.search(rb"<pre id='seen'>(.*)</pre>", body).group(1)) if status == 200 else {}
        check("Caddy: with a session the app gets all five Remote-* headers, the forged one replaced",
              status == 200 and seen.get("Remote-Phone") == MEMBER and seen.get("Remote-Organization") == org["organizationId"]
              and all(seen.get(h) for h in ("Remote-User", "Remote-Name", "Remote-Role")) and seen.get("Remote-User") != "forged", f"{status} {seen}")
        reply = server.call("POST", "/team-member/logout", {"x-public-key": org["apiKey"]}, {"userPhoneNumber": MEMBER})
        status, headers, _ = through(port, "wiki.example.test", "/reports", cookie=device.token)
        check("Caddy: the very next request after the admin's 201 is sent to sign-in", reply.status == 201 and status == 302, f"{reply.status} then {status}")
    finally:
        caddy.terminate()
        caddy.wait(timeout=10)
        log.close()


def shipped_traefik_file():
    traefik = open(os.path.join(ROOT, "deploy", "forward-auth", "traefik.yml")).read()
    headers = ["Remote-User", "Remote-Name", "Remote-Phone", "Remote-Role", "Remote-Organization"]
    check("traefik.yml's ForwardAuth middleware asks /auth/verify and passes all five headers (authResponseHeaders)",
          re.search(r"forwardAuth:\s*\n\s+(#.*\n\s+)*address: \"http://[^\"]+/auth/verify\"", traefik) is not None
          and all(f"- {h}" in traefik for h in headers) and "trustForwardHeader: false" in traefik, None)


if __name__ == "__main__":
    main()
