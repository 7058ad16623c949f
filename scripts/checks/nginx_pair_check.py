"""deploy/nginx.conf in front of two TeamGate instances on one throwaway PostgreSQL, with Debian's nginx: what
an operator who follows "Running in production" gets.

- A member signs in through the balancer, holds /me/events open through it, and is logged out through it: 201,
  the socket hears session.ended, the token is refused.
- Both instances serve (their access logs both show requests); nginx's request id comes back in X-Request-Id and
  is in the serving instance's access log; the client's address crosses nginx in X-Forwarded-For and reaches the
  audit trail.
- /metrics after real traffic, on each instance directly (the balancer hides it): logouts by outcome and sessions
  ended by reason, summed over both, equal what the answers said.
- Logouts run through the balancer in four threads while instance A is killed (SIGKILL) in the middle: every logout
  answered 201 is in effect (the member's tokens refused), an unanswered one (in flight at the kill) succeeds when
  retried, and the answers after the kill all come from B.
- The Owner signs in to the console through nginx and makes an API key: the Origin check passes with the port, the
  key is shown in the POST's own answer, and the console's pages after it are served by both instances.
- With PostgreSQL stopped, /ready answers 503 while /health still answers 200.

    python3 scripts/checks/nginx_pair_check.py
TEAMGATE_BINARY names the server binary (default: `swift build --show-bin-path`, as the other checks)."""

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import urllib.parse
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from harness import (ROOT, Endpoint, Failure, Gateway, NginxProcess, Server, Tally, ThrowawayPostgres, bearer, cli, create_database, free_port,
                     sign_in, wait_for)
from wsclient import Refused, WebSocket

CONFIG = os.path.join(ROOT, "deploy", "nginx.conf")
OWNER = "+919800000001"
tally = Tally("nginx-pair-check")
check = tally.check


class Nginx(Endpoint):
    """Debian's nginx, running deploy/nginx.conf with its upstreams and port pointed at this check's."""

    def __init__(self, folder, upstream_ports):
        super().__init__(free_port())
        self.folder = folder
        config = open(CONFIG).read()
        servers = re.findall(r"^\s*server teamgate-[ab]:8080 ", config, re.M)
        if len(servers) != 4 or not re.search(r"^\s*listen 80;", config, re.M):
            raise Failure("deploy/nginx.conf no longer has the `server teamgate-?:8080` lines (two upstreams of two) and `listen 80;` "
                          "this check rewrites")
        for name, port in zip("ab", upstream_ports):
            config = config.replace(f"server teamgate-{name}:8080 ", f"server 127.0.0.1:{port} ")
        config = re.sub(r"^(\s*)listen 80;", rf"\g<1>listen 127.0.0.1:{self.port};", config, flags=re.M)
        self.access_log = os.path.join(folder, "nginx-access.log")
        # The shipped file's own log line (no query string), written here instead of /var/log/nginx.
        config = config.replace("/var/log/nginx/access.log", self.access_log)
        self.process = NginxProcess(folder, config, self.access_log)

    def start(self):
        self.process.start(lambda: self.answers("/health"))

    def stop(self):
        self.process.stop()


def samples(server):
    """The instance's /metrics samples by series."""
    reply = server.call("GET", "/metrics")
    status, text = reply.status, reply.value
    if status != 200 or not isinstance(text, str):
        raise Failure(f"GET /metrics on :{server.port} answered {status}")
    found = {}
    for line in text.splitlines():
        if line.startswith("#") or " " not in line:
            continue
        series, value = line.rsplit(" ", 1)
        found[series] = float(value)
    return found


def summed(instances, series):
    return sum(samples(server).get(series, 0.0) for server in instances)


def access_lines(server):
    """The instance's access-log lines (its log holds them among its other lines)."""
    return [line for line in server.log().splitlines(keepends=True) if "] request" in line and "route=" in line]



def through_the_balancer(nginx, a, b, key, gateway):
    member = sign_in(nginx, "+919800000002", gateway)
    ws = WebSocket(nginx.port, member)
    first = ws.next_message(5)
    check("a socket through nginx opens with session.active (the upgrade crosses the balancer)",
          first is not None and first[1].get("type") == "session.active" and first[1].get("sessionId") == member.session_id, first)
    reply = nginx.call("POST", "/team-member/logout", {"x-public-key": key, "X-Forwarded-For": "203.0.113.9"}, {"userPhoneNumber": member.phone})
    status, body, headers = reply.status, reply.value, reply.headers
    check("the seed's logout through nginx answers 201 with the session ended",
          status == 201 and body.get("sessionsEnded") == 1, f"{status} {body}")
    request_id = headers.get("x-request-id", "")
    in_nginx_log = wait_for(lambda: any(line.rstrip().endswith(" " + request_id) and "/team-member/logout" in line
                                        for line in open(nginx.access_log)), 2) if request_id else False
    check("the answer's X-Request-Id is nginx's own request id (its access log has it)", in_nginx_log, request_id)
    event = ws.next_message(2)
    check("the socket held through nginx hears session.ended (admin_logout) within 2 s",
          event is not None and event[1].get("type") == "session.ended" and event[1].get("reason") == "admin_logout", event)
    ws.close()
    reply = nginx.call("GET", "/me", bearer(member.token))
    status, body = reply.status, reply.value
    check("GET /me through nginx refuses the token: 401 admin_logout", status == 401 and body.get("reason") == "admin_logout", f"{status} {body}")

    logged = wait_for(lambda: any(request_id in line for line in access_lines(a) + access_lines(b)), 2)
    line = next((line for line in access_lines(a) + access_lines(b) if request_id in line), "")
    check("an instance's access log has the logout under nginx's request id, route and status, and no number or key",
          logged and "route=/team-member/logout status=201" in line and member.phone not in line and key not in line, line.strip())
    reply = nginx.call("GET", "/audit-events?limit=5", {"x-public-key": key})
    status, events = reply.status, reply.value
    logout_event = next((event for event in events.get("data", []) if event.get("requestId") == request_id), None) \
        if status == 200 and isinstance(events, dict) else None
    check("the audit event has the same request id, and the client's address from X-Forwarded-For (203.0.113.9)",
          logout_event is not None and logout_event.get("clientIp") == "203.0.113.9", logout_event or f"{status} {events}")

    for _ in range(20):
        nginx.call("GET", "/health")
    counts = [sum(1 for line in access_lines(server) if "route=/health" in line) for server in (a, b)]
    check("both instances serve: 20 requests through nginx reached A and B (round robin)", wait_for(
        lambda: all(sum(1 for line in access_lines(server) if "route=/health" in line) > 0 for server in (a, b)), 2), counts)
    spellings = ["/metrics", "/metrics/", "/METRICS", "//metrics", "/metrics?x=1", "/%6Detrics", "/./metrics", "/metrics/x/.."]
    statuses = {path: nginx.call("GET", path).status for path in spellings}
    check("the balancer does not expose /metrics in any spelling (404); each instance is scraped directly",
          all(status == 404 for status in statuses.values()), statuses)


def console_through_nginx(nginx, a, b, gateway):
    """The Owner signs in to the console through nginx and makes an API key: the Origin check sees the port the
    browser used (nginx forwards the host with it), and the new key is in the answer to the POST itself, so
    the pages after it may land on either instance."""
    origin = {"Origin": f"http://127.0.0.1:{nginx.port}"}
    reply = nginx.call("POST", "/console/otp", origin, form={"phone": OWNER})
    check("the console's code form through nginx passes the Origin check (200, not 403)", reply.status == 200, reply.status)
    code = gateway.wait_code(OWNER)
    reply = nginx.call("POST", "/console/login", origin, form={"phone": OWNER, "code": code or ""})
    cookie = reply.headers.get("set-cookie", "").split(";")[0]
    check("the console's sign-in through nginx answers 303 with the console cookie", reply.status == 303 and cookie.startswith("tg_console="),
          f"{reply.status} {cookie[:20]}")
    token = cookie.split("=", 1)[-1]
    csrf = hashlib.sha256(f"teamgate-console-csrf:{token}".encode()).hexdigest()
    signed_in = dict(origin, Cookie=cookie)
    before = [sum(1 for line in access_lines(server) if "route=/console/settings/developer" in line) for server in (a, b)]
    reply = nginx.call("POST", "/console/keys", signed_in, form={"csrf": csrf, "name": "made through nginx"})
    shown = re.search(r'id="new-key" readonly value="([^"]+)"', reply.body.decode(errors="replace"))
    check("the key made in the console through nginx is shown in the POST's own answer (201)", reply.status == 201 and shown is not None,
          reply.status)
    new_key = shown.group(1) if shown else ""
    statuses = [nginx.call("GET", "/team?limit=1", {"x-public-key": new_key}).status for _ in range(4)]
    pages = [nginx.call("GET", "/console/settings/developer", {"Cookie": cookie}).status for _ in range(6)]
    served = wait_for(lambda: all(sum(1 for line in access_lines(server) if "route=/console/settings/developer" in line) > count
                                  for server, count in zip((a, b), before)), 2)
    check("the new key works through nginx, and the console session holds on both instances (pages 200 from A and from B)",
          statuses == [200] * 4 and pages == [200] * 6 and served, f"{statuses} {pages} served by both: {served}")


def metrics_match(nginx, a, b, key, gateway, phones):
    series_ended = 'teamgate_logouts_total{outcome="ended"}'
    series_refused = 'teamgate_logouts_total{outcome="refused"}'
    series_sessions = 'teamgate_sessions_ended_total{reason="admin_logout"}'
    series_201 = 'http_server_requests_total{http_route="/team-member/logout",http_request_method="POST",http_response_status_code="201"}'
    before = {series: summed((a, b), series) for series in (series_ended, series_refused, series_sessions, series_201)}
    ended_sessions = 0
    for phone in phones:
        reply = nginx.call("POST", "/team-member/logout", {"x-public-key": key}, {"userPhoneNumber": phone})
        if reply.status != 201:
            raise Failure(f"logout of {phone} through nginx answered {reply.status} {reply.value}")
        ended_sessions += reply.json["sessionsEnded"]
    for stranger in ("+919899999991", "+919899999992", "+919899999993"):
        nginx.call("POST", "/team-member/logout", {"x-public-key": key}, {"userPhoneNumber": stranger})
    after = {series: summed((a, b), series) for series in before}
    moved = {series: after[series] - before[series] for series in before}
    print(f"     (metrics moved: {json.dumps(moved)})")
    check(f"/metrics on A plus B: {len(phones)} logouts with sessions ended, {ended_sessions} sessions ended (admin_logout), 3 refused, "
          f"{len(phones)} 201 answers on the logout route",
          moved == {series_ended: len(phones), series_refused: 3, series_sessions: ended_sessions, series_201: len(phones)}, moved)
    text = a.call("GET", "/metrics").value
    check("no phone number, key or token in /metrics", all(secret not in text for secret in [key, *phones, *[p[1:] for p in phones]]))


def kill_during_logouts(nginx, a, b, key, gateway, devices, afterwards):
    answers = {}
    lock = threading.Lock()
    queue = list(devices)
    killed_at = []

    def worker():
        while True:
            with lock:
                if not queue:
                    return
                device = queue.pop(0)
            try:
                reply = nginx.call("POST", "/team-member/logout", {"x-public-key": key}, {"userPhoneNumber": device.phone}, timeout=10)
                status, body = reply.status, reply.value
            except OSError as error:
                status, body = None, str(error)
            with lock:
                answers[device.phone] = (status, body, time.time())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    wait_for(lambda: len(answers) >= len(devices) // 3, 30)
    a.kill()
    killed_at.append(time.time())
    for thread in threads:
        thread.join(60)
    statuses = {}
    for status, _, _ in answers.values():
        statuses[status] = statuses.get(status, 0) + 1
    print(f"     (A killed after {sum(1 for _, _, t in answers.values() if t < killed_at[0])} of {len(devices)} logouts; answers {statuses})")
    check("every logout got an answer", len(answers) == len(devices), f"{len(answers)} of {len(devices)}")
    created = [device for device in devices if answers.get(device.phone, (None,))[0] == 201]
    refused_tokens = [device.phone for device in created if nginx.call("GET", "/me", bearer(device.token)).status != 401]
    check(f"every logout answered 201 ({len(created)}) is in effect: each member's token is refused through nginx",
          not refused_tokens, refused_tokens[:5])
    other = [device for device in devices if answers.get(device.phone, (None,))[0] != 201]
    retried = [(device.phone, nginx.call("POST", "/team-member/logout", {"x-public-key": key}, {"userPhoneNumber": device.phone}))
               for device in other]
    still_live = [device.phone for device in other if nginx.call("GET", "/me", bearer(device.token)).status != 401]
    check(f"the {len(other)} logouts not answered 201 (in flight at the kill) succeed when retried, and their tokens are refused",
          all(reply.status == 201 for _, reply in retried) and not still_live, [(phone, reply.status, reply.value) for phone, reply in retried[:3]])
    late = [nginx.call("POST", "/team-member/logout", {"x-public-key": key}, {"userPhoneNumber": device.phone}).status for device in afterwards]
    refused = [nginx.call("GET", "/me", bearer(device.token)).status for device in afterwards]
    check(f"after the kill, nginx keeps answering from B: {len(afterwards)} more logouts all 201, their tokens all refused (401)",
          late == [201] * len(afterwards) and refused == [401] * len(afterwards), f"{late} {refused}")


def no_secret_in_nginx_log(nginx, key, devices):
    """An older client's `?token=` socket and plain calls through nginx, then its access log read for any token or key."""
    legacy = devices[0]
    try:  # these devices were logged out: the socket is refused (401), after nginx has logged its request
        WebSocket(nginx.port, legacy, via="query").close()
    except Refused:
        pass
    nginx.call("GET", "/me/events?token=" + urllib.parse.quote(legacy.token))
    nginx.call("GET", "/me", {"Authorization": "Bearer " + devices[1].token})
    served = wait_for(lambda: sum(1 for line in open(nginx.access_log) if "/me/events" in line) >= 2, 2)
    text = open(nginx.access_log).read()
    leaked = [device.token[:10] + "…" for device in devices if device.token in text] + (["the API key"] if key in text else [])
    check("nginx's access log (the shipped format) holds requests to /me/events and not one token or key",
          served and not leaked and "tgs_" not in text, leaked or "no /me/events line")


def main():
    if shutil.which("nginx") is None:
        print("nginx-pair-check: nginx is not installed (scripts/install-test-deps installs it)")
        return 1
    folder = tempfile.mkdtemp(prefix="teamgate-nginx-")
    os.chmod(folder, 0o755)
    gateway = Gateway()
    postgres = ThrowawayPostgres(folder)
    servers, nginx = [], None
    try:
        database = create_database(postgres.start(), "teamgate_cluster")
        cli("org", "create", "--name", "Pair Check", "--owner-phone", OWNER, database=database, json_output=True)
        key = cli("keys", "create", "--name", "pair check", database=database, json_output=True)["apiKey"]
        for name in ("A", "B"):
            # The access log is at info; nginx on loopback is the trusted proxy. Hundreds of devices sign in
            # from this one address: the per-address code limit is not what is measured.
            server = Server(["--otp-sender", "webhook:" + gateway.url(), "--rate-limit-per-second", "0", "--log-level", "info",
                             "--sign-in-codes-per-address", "100000", "--trusted-proxies", "127.0.0.1"],
                            database=database, name=name, folder=folder)
            servers.append(server)
            server.start()
        a, b = servers
        nginx = Nginx(folder, [a.port, b.port])
        nginx.start()
        print(f"nginx-pair-check: nginx on :{nginx.port} in front of A on :{a.port} and B on :{b.port}, one PostgreSQL")

        phones = [f"+91981{i:07d}" for i in range(1, 121)]
        reply = nginx.call("POST", "/team/members", {"x-public-key": key},
                           {"members": [{"name": f"Agent {p[-4:]}", "phone": p, "orgRoleId": 3} for p in phones + ["+919800000002"]]})
        if reply.status not in (200, 201):
            raise Failure(f"POST /team/members through nginx answered {reply.status} {reply.value}")
        with ThreadPoolExecutor(max_workers=8) as pool:
            devices = list(pool.map(lambda phone: sign_in(nginx, phone, gateway), phones))

        through_the_balancer(nginx, a, b, key, gateway)
        console_through_nginx(nginx, a, b, gateway)
        metrics_match(nginx, a, b, key, gateway, [device.phone for device in devices[:20]])
        kill_during_logouts(nginx, a, b, key, gateway, devices[20:100], devices[100:])
        no_secret_in_nginx_log(nginx, key, devices[100:])

        status = b.call("GET", "/ready").status
        check("B is ready (200) with PostgreSQL up", status == 200, status)
        postgres.stop()
        unready = wait_for(lambda: b.call("GET", "/ready", timeout=10).status == 503, 15)
        reply = b.call("GET", "/ready", timeout=10)
        status, body = reply.status, reply.value
        health = b.call("GET", "/health").status
        check("with PostgreSQL stopped, B's /ready answers 503 unavailable while /health still answers 200",
              unready and isinstance(body, dict) and body.get("status") == "unavailable" and health == 200, f"{status} {body}, health {health}")
    except Exception as error:  # anything unexpected fails the check, after the cleanup
        tally.crashed(error)
        for server in servers:
            print(f"--- server {server.name}'s log ---\n{server.log_tail(30)}")
        if nginx and os.path.exists(nginx.process.error_log):
            print("--- nginx error log ---\n" + "".join(open(nginx.process.error_log).readlines()[-20:]))
    finally:
        if nginx:
            nginx.stop()
        for server in servers:
            server.terminate()
        postgres.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
