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
- With PostgreSQL stopped, /ready answers 503 while /health still answers 200.

    python3 scripts/checks/nginx_pair_check.py
TEAMGATE_BINARY names the server binary (default: `swift build --show-bin-path`, as the other checks)."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import cluster_check
import demo_server
from cluster_check import Server, ThrowawayPostgres, bearer, call, cli, sign_in
from harness import Gateway, Tally, wait_for
from wsclient import Failure, WebSocket

CONFIG = os.path.join(demo_server.ROOT, "deploy", "nginx.conf")
OWNER = "+919800000001"
tally = Tally("nginx-pair-check")
check = tally.check


class Nginx:
    """Debian's nginx, running deploy/nginx.conf with its upstreams and port pointed at this check's."""

    def __init__(self, folder, upstream_ports):
        self.folder = folder
        self.port = demo_server.free_port()
        config = open(CONFIG).read()
        servers = re.findall(r"^\s*server teamgate-[ab]:8080 ", config, re.M)
        if len(servers) != 4 or not re.search(r"^\s*listen 80;", config, re.M):
            raise Failure("deploy/nginx.conf no longer has the `server teamgate-?:8080` lines (two upstreams of two) and `listen 80;` "
                          "this check rewrites")
        for name, port in zip("ab", upstream_ports):
            config = config.replace(f"server teamgate-{name}:8080 ", f"server 127.0.0.1:{port} ")
        config = re.sub(r"^(\s*)listen 80;", rf"\g<1>listen 127.0.0.1:{self.port};", config, flags=re.M)
        with open(os.path.join(folder, "teamgate.conf"), "w") as file:
            file.write(config)
        temp = {}
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            temp[kind] = os.path.join(folder, f"nginx-{kind}")
            os.makedirs(temp[kind], exist_ok=True)
            os.chmod(temp[kind], 0o777)
        self.access_log = os.path.join(folder, "nginx-access.log")
        self.error_log = os.path.join(folder, "nginx-error.log")
        self.main = os.path.join(folder, "nginx-main.conf")
        with open(self.main, "w") as file:
            file.write(f"""daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {self.error_log} warn;
events {{ worker_connections 1024; }}
http {{
    log_format with_id '$remote_addr "$request" $status $request_id';
    access_log {self.access_log} with_id;
    client_body_temp_path {temp['client_body']};
    proxy_temp_path {temp['proxy']};
    fastcgi_temp_path {temp['fastcgi']};
    uwsgi_temp_path {temp['uwsgi']};
    scgi_temp_path {temp['scgi']};
    include {folder}/teamgate.conf;
}}
""")
        self.process = None

    def start(self):
        tested = subprocess.run(["nginx", "-t", "-c", self.main, "-p", self.folder], capture_output=True, text=True)
        if tested.returncode != 0:
            raise Failure("nginx -t refused the configuration:\n" + tested.stderr)
        self.process = subprocess.Popen(["nginx", "-c", self.main, "-p", self.folder], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise Failure("nginx exited at once:\n" + self.process.stderr.read().decode(errors="replace"))
            try:
                if call(self.port, "GET", "/health", timeout=1)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise Failure("nginx did not answer /health within 10 s")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def call_with_headers(port, method, path, body=None, headers=None, timeout=10):
    """(status, body, response headers) of one request."""
    import http.client
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=json.dumps(body) if body is not None else None,
                           headers={"content-type": "application/json", **(headers or {})})
        response = connection.getresponse()
        status, parsed = cluster_check.answer(response)
        return status, parsed, {name.lower(): value for name, value in response.getheaders()}
    finally:
        connection.close()


def samples(port):
    """The instance's /metrics samples by series."""
    status, text = call(port, "GET", "/metrics")
    if status != 200 or not isinstance(text, str):
        raise Failure(f"GET /metrics on :{port} answered {status}")
    found = {}
    for line in text.splitlines():
        if line.startswith("#") or " " not in line:
            continue
        series, value = line.rsplit(" ", 1)
        found[series] = float(value)
    return found


def summed(instances, series):
    return sum(samples(server.port).get(series, 0.0) for server in instances)


def access_lines(server):
    """The instance's access-log lines (its log holds them among its other lines)."""
    try:
        return [line for line in open(server.log_path, errors="replace") if "] request" in line and "route=" in line]
    except OSError:
        return []



def through_the_balancer(nginx, a, b, key, gateway):
    member = sign_in(nginx.port, "+919800000002", gateway)
    ws = WebSocket(nginx.port, member)
    first = ws.next_message(5)
    check("a socket through nginx opens with session.active (the upgrade crosses the balancer)",
          first is not None and first[1].get("type") == "session.active" and first[1].get("sessionId") == member.session_id, first)
    status, body, headers = call_with_headers(nginx.port, "POST", "/team-member/logout", {"userPhoneNumber": member.phone},
                                              {"x-public-key": key, "X-Forwarded-For": "203.0.113.9"})
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
    status, body = call(nginx.port, "GET", "/me", headers=bearer(member.token))
    check("GET /me through nginx refuses the token: 401 admin_logout", status == 401 and body.get("reason") == "admin_logout", f"{status} {body}")

    logged = wait_for(lambda: any(request_id in line for line in access_lines(a) + access_lines(b)), 2)
    line = next((line for line in access_lines(a) + access_lines(b) if request_id in line), "")
    check("an instance's access log has the logout under nginx's request id, route and status, and no number or key",
          logged and "route=/team-member/logout status=201" in line and member.phone not in line and key not in line, line.strip())
    status, events = call(nginx.port, "GET", "/audit-events?limit=5", headers={"x-public-key": key})
    logout_event = next((event for event in events.get("data", []) if event.get("requestId") == request_id), None) \
        if status == 200 and isinstance(events, dict) else None
    check("the audit event has the same request id, and the client's address from X-Forwarded-For (203.0.113.9)",
          logout_event is not None and logout_event.get("clientIp") == "203.0.113.9", logout_event or f"{status} {events}")

    for _ in range(20):
        call(nginx.port, "GET", "/health")
    counts = [sum(1 for line in access_lines(server) if "route=/health" in line) for server in (a, b)]
    check("both instances serve: 20 requests through nginx reached A and B (round robin)", wait_for(
        lambda: all(sum(1 for line in access_lines(server) if "route=/health" in line) > 0 for server in (a, b)), 2), counts)
    status, _ = call(nginx.port, "GET", "/metrics")
    check("the balancer does not expose /metrics (404); each instance is scraped directly", status == 404, status)


def metrics_match(nginx, a, b, key, gateway, phones):
    series_ended = 'teamgate_logouts_total{outcome="ended"}'
    series_refused = 'teamgate_logouts_total{outcome="refused"}'
    series_sessions = 'teamgate_sessions_ended_total{reason="admin_logout"}'
    series_201 = 'http_server_requests_total{http_route="/team-member/logout",http_request_method="POST",http_response_status_code="201"}'
    before = {series: summed((a, b), series) for series in (series_ended, series_refused, series_sessions, series_201)}
    ended_sessions = 0
    for phone in phones:
        status, body = call(nginx.port, "POST", "/team-member/logout", {"userPhoneNumber": phone}, {"x-public-key": key})
        if status != 201:
            raise Failure(f"logout of {phone} through nginx answered {status} {body}")
        ended_sessions += body["sessionsEnded"]
    for stranger in ("+919899999991", "+919899999992", "+919899999993"):
        call(nginx.port, "POST", "/team-member/logout", {"userPhoneNumber": stranger}, {"x-public-key": key})
    after = {series: summed((a, b), series) for series in before}
    moved = {series: after[series] - before[series] for series in before}
    print(f"     (metrics moved: {json.dumps(moved)})")
    check(f"/metrics on A plus B: {len(phones)} logouts with sessions ended, {ended_sessions} sessions ended (admin_logout), 3 refused, "
          f"{len(phones)} 201 answers on the logout route",
          moved == {series_ended: len(phones), series_refused: 3, series_sessions: ended_sessions, series_201: len(phones)}, moved)
    text = call(a.port, "GET", "/metrics")[1]
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
                status, body = call(nginx.port, "POST", "/team-member/logout", {"userPhoneNumber": device.phone}, {"x-public-key": key}, timeout=10)
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
    refused_tokens = [device.phone for device in created if call(nginx.port, "GET", "/me", headers=bearer(device.token))[0] != 401]
    check(f"every logout answered 201 ({len(created)}) is in effect: each member's token is refused through nginx",
          not refused_tokens, refused_tokens[:5])
    other = [device for device in devices if answers.get(device.phone, (None,))[0] != 201]
    retried = [(device.phone, call(nginx.port, "POST", "/team-member/logout", {"userPhoneNumber": device.phone}, {"x-public-key": key}))
               for device in other]
    still_live = [device.phone for device in other if call(nginx.port, "GET", "/me", headers=bearer(device.token))[0] != 401]
    check(f"the {len(other)} logouts not answered 201 (in flight at the kill) succeed when retried, and their tokens are refused",
          all(status == 201 for _, (status, _) in retried) and not still_live, retried[:3])
    late = [call(nginx.port, "POST", "/team-member/logout", {"userPhoneNumber": device.phone}, {"x-public-key": key})[0] for device in afterwards]
    refused = [call(nginx.port, "GET", "/me", headers=bearer(device.token))[0] for device in afterwards]
    check(f"after the kill, nginx keeps answering from B: {len(afterwards)} more logouts all 201, their tokens all refused (401)",
          late == [201] * len(afterwards) and refused == [401] * len(afterwards), f"{late} {refused}")


def main():
    if shutil.which("nginx") is None:
        print("nginx-pair-check: nginx is not installed (scripts/install-test-deps installs it)")
        return 1
    binary = os.environ.get("TEAMGATE_BINARY") or demo_server.binary()
    folder = tempfile.mkdtemp(prefix="teamgate-nginx-")
    os.chmod(folder, 0o755)
    gateway = Gateway()
    postgres = ThrowawayPostgres(folder)
    servers, nginx = [], None
    try:
        database = postgres.start()
        cli(binary, database, "org", "create", "--name", "Pair Check", "--owner-phone", OWNER)
        key = cli(binary, database, "keys", "create", "--name", "pair check")["apiKey"]
        for name in ("A", "B"):
            server = Server(name, binary, database, gateway.url(), folder)
            # The access log is at info; nginx on loopback is the trusted proxy.
            server.command = [part if part != "warning" else "info" for part in server.command] + ["--trusted-proxies", "127.0.0.1"]
            servers.append(server)
            server.start()
        a, b = servers
        nginx = Nginx(folder, [a.port, b.port])
        nginx.start()
        print(f"nginx-pair-check: nginx on :{nginx.port} in front of A on :{a.port} and B on :{b.port}, one PostgreSQL")

        phones = [f"+91981{i:07d}" for i in range(1, 121)]
        status, body = call(nginx.port, "POST", "/team/members",
                            {"members": [{"name": f"Agent {p[-4:]}", "phone": p, "orgRoleId": 3} for p in phones + ["+919800000002"]]},
                            {"x-public-key": key})
        if status not in (200, 201):
            raise Failure(f"POST /team/members through nginx answered {status} {body}")
        with ThreadPoolExecutor(max_workers=8) as pool:
            devices = list(pool.map(lambda phone: sign_in(nginx.port, phone, gateway), phones))

        through_the_balancer(nginx, a, b, key, gateway)
        metrics_match(nginx, a, b, key, gateway, [device.phone for device in devices[:20]])
        kill_during_logouts(nginx, a, b, key, gateway, devices[20:100], devices[100:])

        status, _ = call(b.port, "GET", "/ready")
        check("B is ready (200) with PostgreSQL up", status == 200, status)
        postgres.stop()
        unready = wait_for(lambda: call(b.port, "GET", "/ready", timeout=10)[0] == 503, 15)
        status, body = call(b.port, "GET", "/ready", timeout=10)
        health, _ = call(b.port, "GET", "/health")
        check("with PostgreSQL stopped, B's /ready answers 503 unavailable while /health still answers 200",
              unready and isinstance(body, dict) and body.get("status") == "unavailable" and health == 200, f"{status} {body}, health {health}")
    except Exception as error:  # anything unexpected fails the check, after the cleanup
        check("the check ran to the end", False, "\n" + (str(error) if isinstance(error, Failure) else traceback.format_exc()))
        for server in servers:
            print(f"--- server {server.name}'s log ---\n{server.log_tail(30)}")
        if nginx and os.path.exists(nginx.error_log):
            print("--- nginx error log ---\n" + "".join(open(nginx.error_log).readlines()[-20:]))
    finally:
        if nginx:
            nginx.stop()
        for server in servers:
            server.stop()
        postgres.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
