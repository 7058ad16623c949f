"""Starts a real `teamgate serve --demo` on a free port with a fresh SQLite file, for the checks in this folder."""

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


@dataclass
class Member:
    phone: str
    name: str
    tokens: list = field(default_factory=list)


@dataclass
class DemoServer:
    base_url: str
    api_key: str
    members: list
    process: subprocess.Popen
    folder: str
    log_path: str

    def member(self, name):
        return next(m for m in self.members if m.name == name)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def binary():
    """The server binary: TEAMGATE_BINARY when set (to run a check against another build), else the debug build's."""
    if os.environ.get("TEAMGATE_BINARY"):
        return os.environ["TEAMGATE_BINARY"]
    path = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    return os.path.join(path, "teamgate")


def start(extra_args=()):
    folder = tempfile.mkdtemp(prefix="teamgate-check-")
    port = free_port()
    log_path = os.path.join(folder, "server.log")
    log = open(log_path, "w")
    process = subprocess.Popen(
        [binary(), "serve", "--demo", "--database", os.path.join(folder, "teamgate.sqlite"), "--port", str(port), *extra_args],
        stdout=log, stderr=subprocess.STDOUT, cwd=folder)
    deadline = time.time() + 30
    text = ""
    while time.time() < deadline:
        text = open(log_path).read()
        if "Log a member out" in text:
            break
        if process.poll() is not None:
            raise RuntimeError("server exited:\n" + text)
        time.sleep(0.1)
    else:
        process.kill()
        raise RuntimeError("server did not start:\n" + text)
    api_key = re.search(r"^\s+(key_[A-Za-z0-9_-]+)$", text, re.M).group(1)
    members = []
    for line in text.splitlines():
        m = re.match(r"^\s+(\+\d+)\s+(.+?) — ", line)
        if m:
            members.append(Member(phone=m.group(1), name=m.group(2)))
            continue
        t = re.match(r"^\s+.+: token (tgs_[A-Za-z0-9_-]+)$", line)
        if t and members:
            members[-1].tokens.append(t.group(1))
    base = f"http://127.0.0.1:{port}"
    return DemoServer(base, api_key, members, process, folder, log_path)


def status_of(url, token=None):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
