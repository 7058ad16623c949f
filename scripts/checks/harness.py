"""What the checks share, written once: the teamgate binary and its CLI, a server started on a free port
and waited for, HTTP calls, local receivers (a stand-in SMS gateway that keeps the sign-in codes
TeamGate's webhook sender posts to it, a webhook target), a throwaway PostgreSQL, `bench seed`, and the
pass/fail tally that ends in the 'N passed, N failed' line. Standard library only; no check imports another.

TEAMGATE_BINARY names the server binary (to run the checks against another build); without it, the debug
build's, where `swift build --show-bin-path` says it is."""

import functools
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import traceback
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
THROWAWAY = os.path.join(ROOT, "scripts", "postgres-throwaway")


class Failure(Exception):
    """A step the rest of the check cannot go on without."""


# --- pass and fail ---------------------------------------------------------------------------------

class Tally:
    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0

    def check(self, what, condition, detail=""):
        if condition:
            self.passed += 1
            print(f"ok   {what}")
        else:
            self.failed += 1
            print(f"FAIL {what} {detail}")
        return bool(condition)

    def crashed(self, error, what="the check ran to the end"):
        """An exception that stopped the check (or a section of it): one FAIL, saying why."""
        if isinstance(error, Failure):
            detail = str(error)
        else:
            detail = "".join(traceback.format_exception(type(error), error, error.__traceback__)).rstrip()
        self.check(what, False, "\n" + detail)

    def finish(self):
        print(f"{self.name}: {self.passed} passed, {self.failed} failed")
        return 1 if self.failed else 0


def wait_for(condition, timeout, step=0.05):
    """Polls `condition` every `step` seconds until it gives something truthy or `timeout` seconds pass;
    returns its last answer."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)


# --- the binary and its CLI ------------------------------------------------------------------------

@functools.cache
def binary():
    """The server binary: TEAMGATE_BINARY when set, else the debug build's (asked of SwiftPM once)."""
    if os.environ.get("TEAMGATE_BINARY"):
        return os.environ["TEAMGATE_BINARY"]
    shown = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, capture_output=True, text=True)
    if shown.returncode != 0:
        raise Failure("`swift build --show-bin-path` failed (set TEAMGATE_BINARY to skip it):\n" + shown.stderr)
    return os.path.join(shown.stdout.strip(), "teamgate")


def cli(*args, database=None, json_output=False, stderr=None, check=True):
    """Runs `teamgate ARGS [--database DATABASE] [--json]`. Returns its stdout (parsed, with json_output);
    with check=False, the finished process whatever its exit. A failure raises Failure with what it wrote.
    `stderr`, a list, collects what each run wrote to stderr."""
    command = [binary(), *args]
    if database is not None:
        command += ["--database", database]
    if json_output:
        command.append("--json")
    done = subprocess.run(command, capture_output=True, text=True)
    if stderr is not None:
        stderr.append(done.stderr)
    if not check:
        return done
    if done.returncode != 0:
        raise Failure(f"teamgate {' '.join(args[:2])} failed with exit {done.returncode}:\n{done.stderr or done.stdout}")
    return json.loads(done.stdout) if json_output else done.stdout


def seed(database, members, folder):
    """`teamgate bench seed` of `members` members into `database`, its files in `folder`.
    Returns the API key and each member's (number, first session token)."""
    cli("bench", "seed", "--database", database, "--members", str(members), "--out", folder)
    key = open(os.path.join(folder, "key.txt")).read().strip()
    devices = [line.split() for line in open(os.path.join(folder, "devices.txt")) if line.strip()]
    return key, devices


def member_tokens(folder):
    """Each seeded member's session tokens, by number. tokens.txt lists every token, member after member in
    the order of numbers.txt; devices.txt gives each member's first token, which marks where its run starts."""
    numbers = open(os.path.join(folder, "numbers.txt")).read().split()
    firsts = [line.split()[1] for line in open(os.path.join(folder, "devices.txt")).read().splitlines() if line.strip()]
    tokens = open(os.path.join(folder, "tokens.txt")).read().split()
    if len(firsts) != len(numbers) or not tokens or tokens[0] != firsts[0]:
        raise Failure("bench seed's files do not line up")
    by_member, member = {}, -1
    for token in tokens:
        if member + 1 < len(firsts) and token == firsts[member + 1]:
            member += 1
        by_member.setdefault(numbers[member], []).append(token)
    if len(by_member) != len(numbers):
        raise Failure("bench seed's files do not line up")
    return numbers, by_member


# --- HTTP ------------------------------------------------------------------------------------------

@dataclass
class Response:
    status: int
    headers: dict  # lower-case names; the first value of a repeated header
    body: bytes

    def _parsed(self):
        try:
            return True, json.loads(self.body or b"null")
        except ValueError:
            return False, None

    @property
    def json(self):
        """The body as JSON; None when it is empty or not JSON."""
        return self._parsed()[1]

    @property
    def value(self):
        """The body as JSON when it is JSON (None when empty), else as text."""
        parsed, value = self._parsed()
        return value if parsed else self.body.decode(errors="replace")


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def _exchange(connection, method, path, headers, body, form, raw=None):
    sent = {}
    data = raw
    if form is not None:
        data, sent["Content-Type"] = urllib.parse.urlencode(form), "application/x-www-form-urlencoded"
    elif body is not None:
        data, sent["Content-Type"] = json.dumps(body), "application/json"
    sent.update(headers or {})
    connection.request(method, path, body=data, headers=sent)
    response = connection.getresponse()
    raw = response.read()
    found = {}
    for name, value in response.getheaders():
        found.setdefault(name.lower(), value)
    return Response(response.status, found, raw)


def _split(url):
    parts = urllib.parse.urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.hostname, parts.port or 80, path


IPV6_FREEBIND = 78  # at IPPROTO_IPV6 (SOL_IPV6)
IP_FREEBIND = 15  # at SOL_IP


class BoundConnection(http.client.HTTPConnection):
    """An HTTP connection whose socket is bound, with IP(V6)_FREEBIND, to `source` before it connects."""

    def __init__(self, host, port, source, timeout):
        super().__init__(host, port, timeout=timeout)
        self.source = source

    def connect(self):
        v6 = ":" in self.source
        sock = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.IPPROTO_IPV6 if v6 else socket.SOL_IP, IPV6_FREEBIND if v6 else IP_FREEBIND, 1)
            sock.settimeout(self.timeout)
            sock.bind((self.source, 0))
            sock.connect((self.host, self.port))
        except BaseException:
            sock.close()
            raise
        self.sock = sock


def bound_call(host, port, method, path, headers=None, body=None, source=None, timeout=10):
    """One request from the local address `source`, which need not be configured on any interface (FREEBIND):
    with `ip route add local BLOCK dev lo`, a whole IPv6 block is one machine's."""
    connection = BoundConnection(host, port, source, timeout)
    try:
        return _exchange(connection, method, path, headers, body, None)
    finally:
        connection.close()


def call(method, url, headers=None, body=None, *, form=None, raw=None, source=None, timeout=10):
    """One request on a fresh connection, redirects not followed: `body` sent as JSON, or `form` as a
    form, or `raw` bytes as they are (with `headers`' Content-Type); from the local address `source` (e.g.
    "127.0.0.2") when given. Returns a Response."""
    host, port, path = _split(url)
    connection = http.client.HTTPConnection(host, port, timeout=timeout, source_address=(source, 0) if source else None)
    try:
        return _exchange(connection, method, path, headers, body, form, raw)
    finally:
        connection.close()


class Connection:
    """A kept-alive connection to `base_url` for requests one after another (one thread each). After an
    error it is closed, and the next request opens a new one."""

    def __init__(self, base_url, timeout=10):
        host, port, _ = _split(base_url)
        self.connection = http.client.HTTPConnection(host, port, timeout=timeout)

    def call(self, method, path, headers=None, body=None, *, form=None):
        try:
            return _exchange(self.connection, method, path, headers, body, form)
        except BaseException:
            self.connection.close()
            raise

    def close(self):
        self.connection.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Endpoint:
    """Something that answers HTTP on 127.0.0.1:`port`."""

    def __init__(self, port):
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"

    def url(self, path):
        return self.base_url + path

    def call(self, method, path, headers=None, body=None, **options):
        return call(method, self.base_url + path, headers, body, **options)

    def connection(self, timeout=10):
        return Connection(self.base_url, timeout)

    def answers(self, path="/health", status=200, timeout=1):
        try:
            return self.call("GET", path, timeout=timeout).status == status
        except (OSError, http.client.HTTPException):
            return False


# --- the server ------------------------------------------------------------------------------------

@dataclass
class Member:
    phone: str
    name: str
    tokens: list = field(default_factory=list)


class Server(Endpoint):
    """One `teamgate serve [--demo] --database DATABASE --port PORT ARGS`, its output in `log_path`;
    restartable on the same port and database. Without a database, a new SQLite file in a folder of its
    own, removed by stop(). With demo, the key and the members the demo prints are read from its log."""

    def __init__(self, args=(), *, database=None, demo=False, name="", folder=None, port=None, env=None,
                 ready="/health", timeout=30, host=None, prefix=()):
        # Without a port, the first start binds port 0 and reads the port it got from the server's own line: a
        # port chosen here and bound there can be taken in between (other checks run on this machine too).
        # Restarts keep it.
        super().__init__(port or 0)
        # Another address to listen on and be reached at, and a command to run the server under (a network
        # namespace's `ip netns exec NAME`).
        self.host = host
        self.prefix = list(prefix)
        self.set_port(self.port)
        self.own_folder = folder is None
        self.folder = folder or tempfile.mkdtemp(prefix="teamgate-check-")
        self.database = database or os.path.join(self.folder, "teamgate.sqlite")
        self.args = list(args)
        self.demo = demo
        self.name = name
        self.env = {**os.environ, **env} if env else None
        self.ready = ready
        self.timeout = timeout
        self.log_path = os.path.join(self.folder, f"server-{name}.log" if name else "server.log")
        self.process = None
        self.api_key = None
        self.members = []
        self.started_after = None  # seconds from the last start to its first answer

    @property
    def command(self):
        return [*self.prefix, binary(), "serve", *(["--demo"] if self.demo else []), "--database", self.database, "--port", str(self.port),
                *(["--host", self.host] if self.host else []), *self.args]

    def set_port(self, port):
        self.port = port
        self.base_url = f"http://{self.host or '127.0.0.1'}:{port}"

    def bound_port(self, log_offset):
        """The port in the line the server prints once it listens, if it has printed it since `log_offset`."""
        found = re.search(r"(?:listening on|demo is running on) http://\S*:(\d+)$", self.log()[log_offset:], re.M)
        return int(found.group(1)) if found else None

    def start(self):
        log_offset = len(self.log())
        with open(self.log_path, "a") as log:
            launched = time.monotonic()
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, cwd=self.folder, env=self.env)
        label = f"server {self.name}" if self.name else "the server"

        def up():
            if self.port == 0:
                port = self.bound_port(log_offset)
                if port is None:
                    return False
                self.set_port(port)
            return self.answers(self.ready)

        if not wait_for(lambda: self.process.poll() is not None or up(), self.timeout, step=0.01) \
                or self.process.poll() is not None:
            code = self.process.poll()
            self.kill()
            raise Failure(f"{label} exited with {code}:\n{self.log_tail()}" if code is not None
                          else f"{label} did not answer {self.ready} within {self.timeout} s:\n{self.log_tail()}")
        self.started_after = time.monotonic() - launched
        if self.demo and self.api_key is None:
            self.read_demo_banner(launched + self.timeout - time.monotonic())
        return self

    def read_demo_banner(self, timeout):
        """The key and the members (with their devices' tokens) that `serve --demo` prints once it listens."""
        if not wait_for(lambda: "Log a member out" in self.log(), max(timeout, 1)):
            raise Failure(f"the demo printed no key and members:\n{self.log_tail()}")
        text = self.log()
        self.api_key = re.search(r"^\s+(key_[A-Za-z0-9_-]+)$", text, re.M).group(1)
        for line in text.splitlines():
            m = re.match(r"^\s+(\+\d+)\s+(.+?) — ", line)
            if m:
                self.members.append(Member(phone=m.group(1), name=m.group(2)))
                continue
            t = re.match(r"^\s+.+: token (tgs_[A-Za-z0-9_-]+)$", line)
            if t and self.members:
                self.members[-1].tokens.append(t.group(1))

    def member(self, name):
        return next(m for m in self.members if m.name == name)

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def terminate(self, timeout=10):
        """SIGTERM, then SIGKILL if it has not stopped within `timeout` seconds."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self):
        self.terminate(15)
        return self.start()

    def stop(self):
        self.terminate()
        if self.own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def log(self):
        try:
            return open(self.log_path, errors="replace").read()
        except OSError:
            return ""

    def log_tail(self, lines=20):
        return "".join(self.log().splitlines(keepends=True)[-lines:])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start_server(args=(), **options):
    """Starts `teamgate serve ARGS` on a free port (options as Server's) and waits until it answers."""
    server = Server(args, **options)
    try:
        return server.start()
    except BaseException:
        server.stop()
        raise


@dataclass
class Device:
    phone: str
    token: str
    session_id: str


def sign_in(endpoint, phone, gateway, device_name="check"):
    """Asks a code for `phone` through `endpoint` (a server or a balancer), takes it from the gateway, signs in."""
    reply = endpoint.call("POST", "/auth/otp", body={"phoneNumber": phone})
    code = gateway.wait_code(phone)
    if reply.status != 202 or code is None:
        raise Failure(f"POST /auth/otp for {phone} on :{endpoint.port} answered {reply.status} {reply.value} (code received: {code is not None})")
    reply = endpoint.call("POST", "/auth/login", body={"phoneNumber": phone, "code": code, "deviceName": device_name})
    if reply.status != 201:
        raise Failure(f"POST /auth/login for {phone} on :{endpoint.port} answered {reply.status} {reply.value}")
    return Device(phone, reply.json["token"], reply.json["sessionId"])


# --- local receivers -------------------------------------------------------------------------------

def serve_locally(handler):
    """Serves `handler` (a BaseHTTPRequestHandler class) on a free loopback port, in threads; (server, port)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


class Receiver:
    """A local HTTP receiver on a free port: `respond(handler)` answers each POST (204 when None), with the
    request's bytes in handler.body and its JSON in handler.json; `hits` keeps arrival times (monotonic), `bodies` the JSON (None when
    not JSON). A webhook target, an OTP gateway, a collector."""

    def __init__(self, respond=None):
        hits, bodies = self.hits, self.bodies = [], []
        respond = respond or answer(204)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    self.json = json.loads(self.body or b"null")
                except ValueError:
                    self.json = None
                bodies.append(self.json)
                hits.append(time.monotonic())
                respond(self)

            def log_message(self, *args):
                pass

        self.server, self.port = serve_locally(Handler)

    def url(self, path="/hook"):
        return f"http://127.0.0.1:{self.port}{path}"

    def to(self, phone):
        """The JSON bodies posted for `phone`."""
        return [body for body in self.bodies if isinstance(body, dict) and body.get("phoneNumber") == phone]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def answer(status, headers=()):
    """A Receiver's `respond` that answers `status` with `headers` and no body."""
    def respond(handler):
        handler.send_response(status)
        for name, value in headers:
            handler.send_header(name, value)
        handler.send_header("Content-Length", "0")
        handler.end_headers()
    return respond


class Gateway(Receiver):
    """A stand-in SMS gateway: `codes` maps each number to the newest code posted for it. Codes for the
    numbers in `refuse` are answered 503 and not kept (a gateway that fails)."""

    def __init__(self):
        self.codes = {}
        self.refuse = set()
        super().__init__(self.respond)

    def respond(self, handler):
        body = handler.json if isinstance(handler.json, dict) else {}
        if body.get("phoneNumber") in self.refuse:
            answer(503)(handler)
            return
        if "code" in body:
            self.codes[body["phoneNumber"]] = body["code"]
        answer(204)(handler)

    def wait_code(self, phone, timeout=5):
        """The code for `phone`, taken out of `codes`: TeamGate sends it after /auth/otp has answered. None if none came."""
        return wait_for(lambda: self.codes.pop(phone, None), timeout, step=0.01)

    def url(self, path="/otp"):
        return super().url(path)


# --- a real browser --------------------------------------------------------------------------------

class NginxProcess:
    """Debian's nginx in the foreground, with `site` (an http-context file, such as one of deploy/'s) included in a
    main file of its own under `folder`: its pid, temp folders and error log there, its access log at `access_log`."""

    def __init__(self, folder, site, access_log):
        self.folder = folder
        with open(os.path.join(folder, "site.conf"), "w") as file:
            file.write(site)
        temp = {}
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            temp[kind] = os.path.join(folder, f"nginx-{kind}")
            os.makedirs(temp[kind], exist_ok=True)
            os.chmod(temp[kind], 0o777)
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
    access_log {access_log} with_id;
    client_body_temp_path {temp['client_body']};
    proxy_temp_path {temp['proxy']};
    fastcgi_temp_path {temp['fastcgi']};
    uwsgi_temp_path {temp['uwsgi']};
    scgi_temp_path {temp['scgi']};
    include {folder}/site.conf;
}}
""")
        self.process = None

    def start(self, answers):
        """Starts nginx once `nginx -t` accepts the files, and waits until `answers()` is true."""
        tested = subprocess.run(["nginx", "-t", "-c", self.main, "-p", self.folder], capture_output=True, text=True)
        if tested.returncode != 0:
            raise Failure("nginx -t refused the configuration:\n" + tested.stderr)
        # nginx writes its errors to the error log; stderr keeps what it says before it has one.
        self.process = subprocess.Popen(["nginx", "-c", self.main, "-p", self.folder], stderr=subprocess.PIPE)
        if not wait_for(lambda: self.process.poll() is not None or answers(), 10) or self.process.poll() is not None:
            if self.process.poll() is not None:
                raise Failure("nginx exited at once:\n" + self.process.stderr.read().decode(errors="replace"))
            raise Failure("nginx did not answer within 10 s")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def chromium(playwright, args=()):
    """Debian's chromium (CHROMIUM names another), launched through Playwright, with `args` besides --no-sandbox."""
    return playwright.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), args=["--no-sandbox", *args])


def console_sign_in(page, base, phone, gateway):
    """Signs in to the admin console at `base` in a browser page, with the code the gateway got for `phone`."""
    from playwright.sync_api import expect  # only the browser checks have Playwright

    page.goto(base + "/console")
    page.fill("#phone", phone)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Enter your code")
    page.fill("#code", gateway.wait_code(phone) or "")
    page.click("button[type=submit]")


class Screenshots:
    """Screenshots into SCREENSHOT_DIR (artifacts/screenshots); report() lists them, paths from the repository."""

    def __init__(self):
        self.folder = os.environ.get("SCREENSHOT_DIR", os.path.join(ROOT, "artifacts", "screenshots"))
        os.makedirs(self.folder, exist_ok=True)
        self.taken = []

    def take(self, page, name, what, full=True):
        path = os.path.join(self.folder, name)
        page.screenshot(path=path, full_page=full)
        self.taken.append((what, path))

    def report(self):
        for what, path in self.taken:
            print(f"     screenshot: {what}: {os.path.relpath(path, ROOT)}")


# --- PostgreSQL ------------------------------------------------------------------------------------

def psql(url, *commands, check=True):
    """Runs each SQL command through psql on `url`, stopping at the first error; a failure raises Failure."""
    done = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", *[part for sql in commands for part in ("-c", sql)]],
                          capture_output=True, text=True)
    if check and done.returncode != 0:
        raise Failure(f"psql failed: {done.stderr.strip()}")
    return done


def create_database(admin_url, name, owner=None):
    """A new database on the server at `admin_url`; returns its URL (the administrator's, on that database)."""
    psql(admin_url, f'CREATE DATABASE "{name}"' + (f" OWNER {owner}" if owner else ""))
    return admin_url.rsplit("/", 1)[0] + "/" + name


class ThrowawayPostgres:
    """scripts/postgres-throwaway in `folder`: start() gives the administrator's URL."""

    def __init__(self, folder):
        self.dir = os.path.join(folder, "pg")
        # The cluster runs as the postgres user when we are root: it must be able to reach its folder.
        os.chmod(folder, 0o755)

    def start(self):
        started = subprocess.run([THROWAWAY, "start", self.dir, str(free_port())], capture_output=True, text=True)
        if started.returncode != 0:
            raise Failure("scripts/postgres-throwaway could not start PostgreSQL:\n" + started.stderr)
        return started.stdout.strip().splitlines()[-1]

    def stop(self):
        stopped = subprocess.run([THROWAWAY, "stop", self.dir], capture_output=True, text=True)
        if stopped.returncode != 0:
            print(f"note: scripts/postgres-throwaway stop {self.dir} failed: {stopped.stderr.strip()}")
