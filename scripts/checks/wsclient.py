"""A minimal RFC 6455 client for TeamGate's `GET /me/events`, and what times a logout against it: a
POST /team-member/logout on a kept-alive socket that one selector reads alongside the devices' sockets, so
the 201 and each session.ended are timed by arrival, whichever comes first. Standard library only.

A support module, not a check: used by the checks here and by scripts/bench.d/sockets.py."""

import base64
import hashlib
import json
import math
import os
import selectors
import socket
import struct
import time
import urllib.parse

from harness import Failure  # noqa: F401 (scripts/bench.d/sockets.py takes it from here)


# --- HTTP ------------------------------------------------------------------------------------------

def parse_response(buffer):
    """(status, body, rest) once `buffer` holds a whole HTTP/1.1 response, else None."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = buffer[:end].decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {name.strip().lower(): value.strip() for name, value in (line.split(":", 1) for line in lines[1:] if ":" in line)}
    rest = buffer[end + 4:]
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size_end = rest.find(b"\r\n")
            if size_end < 0:
                return None
            size = int(rest[:size_end].split(b";")[0], 16)
            if len(rest) < size_end + 2 + size + 2:
                return None
            body += rest[size_end + 2:size_end + 2 + size]
            rest = rest[size_end + 2 + size + 2:]
            if size == 0:
                return status, body, rest
    length = int(headers.get("content-length", 0))
    if len(rest) < length:
        return None
    return status, rest[:length], rest[length:]


class TimedLogout:
    """POST /team-member/logout on a kept-alive socket that the caller's selector reads, so the answer and
    the device's event are each timed when they arrive, whichever comes first."""

    def __init__(self, port, key, host="127.0.0.1"):
        self.port = port
        self.host = host
        self.key = key
        self.sock = socket.create_connection((host, port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        self.answer = None

    def fileno(self):
        return self.sock.fileno()

    def send(self, phone):
        body = json.dumps({"userPhoneNumber": phone}).encode()
        head = (f"POST /team-member/logout HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nx-public-key: {self.key}\r\n"
                f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n")
        self.answer = None
        self.sock.sendall(head.encode() + body)

    def read(self):
        data = self.sock.recv(65536)
        now = time.perf_counter()
        if not data:
            raise Failure("the server closed the logout connection")
        self.buffer += data
        parsed = parse_response(self.buffer)
        if parsed:
            status, body, self.buffer = parsed
            self.answer = (now, status, json.loads(body or b"null"))

    def close(self):
        self.sock.close()


# --- WebSocket -------------------------------------------------------------------------------------

class Refused(Exception):
    def __init__(self, status, body):
        super().__init__(f"upgrade refused with {status}")
        self.status = status
        self.body = body


class WebSocket:
    """A minimal RFC 6455 client for `GET /me/events`: masked text frames out; text, ping and close in.
    Pings are answered as they are read (the server's auto-ping closes a socket that does not answer).
    Each text message is kept in `inbox` with the perf_counter time its bytes arrived."""

    GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(self, port, device, host="127.0.0.1", via="subprotocol"):
        """`via`: how the token goes, "subprotocol" (the SDK's way: `Sec-WebSocket-Protocol: teamgate.v1,
        teamgate.token.<token>`, answered with `teamgate.v1`) or "query" (`?token=`, for older clients)."""
        self.device = device  # anything with a .token (the session token)
        self.inbox = []
        self.close_code = None  # from the server's close frame
        self.eof = False
        self.fragments = b""
        self.sock = socket.create_connection((host, port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16)).decode()
        if via == "query":
            target, extra = f"/me/events?token={urllib.parse.quote(device.token)}", ""
        else:
            target, extra = "/me/events", f"Sec-WebSocket-Protocol: teamgate.v1, teamgate.token.{device.token}\r\n"
        self.sock.sendall((f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                           f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           f"Sec-WebSocket-Version: 13\r\n{extra}\r\n").encode())
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Failure("the server closed the socket during the WebSocket upgrade")
            buffer += chunk
        head, self.buffer = buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        if status != 101:
            # Read the refusal's body for its reason: parse_response wants the whole response.
            response = head + b"\r\n\r\n" + self.buffer
            while parse_response(response) is None:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                response += chunk
            self.sock.close()
            parsed = parse_response(response)
            raise Refused(status, json.loads(parsed[1] or b"null") if parsed else None)
        headers = {name.strip().lower(): value.strip() for name, value in (line.split(":", 1) for line in lines[1:] if ":" in line)}
        expected = base64.b64encode(hashlib.sha1((key + self.GUID).encode()).digest()).decode()
        if headers.get("sec-websocket-accept") != expected:
            raise Failure("wrong Sec-WebSocket-Accept in the upgrade's answer")
        if via == "subprotocol" and headers.get("sec-websocket-protocol") != "teamgate.v1":
            raise Failure(f"the upgrade's answer names subprotocol {headers.get('sec-websocket-protocol')!r}, not teamgate.v1 (a browser would fail it)")
        self.parse(time.perf_counter())  # the first frames may have come with the 101

    def fileno(self):
        return self.sock.fileno()

    def read(self):
        """Reads what has arrived (call when the socket is readable)."""
        try:
            data = self.sock.recv(65536)
        except OSError:
            data = b""
        now = time.perf_counter()
        if not data:
            self.eof = True
            return
        self.buffer += data
        self.parse(now)

    def parse(self, now):
        while len(self.buffer) >= 2:
            first, second = self.buffer[0], self.buffer[1]
            length, offset = second & 0x7F, 2
            if length == 126:
                if len(self.buffer) < 4:
                    return
                length, offset = struct.unpack("!H", self.buffer[2:4])[0], 4
            elif length == 127:
                if len(self.buffer) < 10:
                    return
                length, offset = struct.unpack("!Q", self.buffer[2:10])[0], 10
            mask = None
            if second & 0x80:
                mask, offset = self.buffer[offset:offset + 4], offset + 4
            if len(self.buffer) < offset + length:
                return
            payload = self.buffer[offset:offset + length]
            self.buffer = self.buffer[offset + length:]
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            opcode = first & 0x0F
            if opcode == 0x9:
                self.send_frame(0xA, payload)
            elif opcode == 0x8:
                self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                self.send_frame(0x8, payload[:2])
            elif opcode in (0x0, 0x1):
                self.fragments += payload
                if first & 0x80:
                    text, self.fragments = self.fragments.decode(errors="replace"), b""
                    try:
                        self.inbox.append((now, json.loads(text)))
                    except ValueError:
                        self.inbox.append((now, {"type": "(not JSON)", "text": text}))

    def send_frame(self, opcode, payload):
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
        elif length < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
        try:
            self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
        except OSError:
            pass  # the server may already have gone; what it sent is still in the inbox

    def send_json(self, value):
        self.send_frame(0x1, json.dumps(value).encode())

    def wait(self, until, timeout):
        """Reads until `until(self)` holds or `timeout` seconds pass; returns whether it held."""
        deadline = time.perf_counter() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self.sock, selectors.EVENT_READ)
            while not until(self) and not self.eof:
                left = deadline - time.perf_counter()
                if left <= 0:
                    break
                if selector.select(left):
                    self.read()
        return until(self)

    def next_message(self, timeout):
        """The next text message as (arrival time, JSON), or None if none comes within `timeout`."""
        self.wait(lambda ws: ws.inbox, timeout)
        return self.inbox.pop(0) if self.inbox else None

    def close(self):
        if self.close_code is None and not self.eof:
            self.send_frame(0x8, struct.pack("!H", 1000))
        self.sock.close()


# --- timing ----------------------------------------------------------------------------------------

def percentiles(values):
    ordered = sorted(values)

    def rank(p):  # nearest rank
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]

    return {"p50": round(rank(50), 3), "p99": round(rank(99), 3), "max": round(ordered[-1], 3), "min": round(ordered[0], 3)}
