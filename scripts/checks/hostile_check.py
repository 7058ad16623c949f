"""Hostile inputs against the logout call, over raw sockets: each must get its documented 4xx in good
time — never a hang, never a 500."""

import json
import socket
import sys
import time

from harness import Tally, start_server

tally = Tally("hostile-check")
check = tally.check


def exchange(port, head, body=b"", trickle=None, timeout=20):
    """Sends a raw request and returns (status, seconds); status 0 when the server closed without answering."""
    started = time.time()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        try:
            connection.sendall(head)
            if trickle:
                for byte in body:
                    connection.sendall(bytes([byte]))
                    time.sleep(trickle)
                    if time.time() - started > timeout:
                        break
            else:
                connection.sendall(body)
        except OSError:
            pass  # the server may answer and close before a large body is all sent
        data = b""
        try:
            while b"\r\n" not in data:
                chunk = connection.recv(4096)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
    status = int(data.split(b" ")[1]) if data.startswith(b"HTTP/1.1 ") else 0
    return status, time.time() - started


def request(key, body, content_type="application/json", extra=""):
    return (f"POST /team-member/logout HTTP/1.1\r\nHost: 127.0.0.1\r\nx-public-key: {key}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n{extra}Connection: close\r\n\r\n").encode(), body


def main():
    with start_server(["--rate-limit-per-second", "0", "--idle-timeout-seconds", "5"], demo=True) as server:
        port = server.port
        key = server.api_key
        number = server.member("Rohan Das").phone

        status, _ = exchange(port, *request(key, b"{" + b'"a":"' + b"x" * (10 * 1024 * 1024) + b'"}'))
        check("a 10 MB body is refused with 413", status == 413, str(status))

        nested = b'{"userPhoneNumber":' + b"[" * 20000 + b"]" * 20000 + b"}"
        status, _ = exchange(port, *request(key, nested))
        check("deeply nested JSON is 400", status == 400, str(status))

        for label, value in [("a NUL byte", "+91\\u00009300000004"), ("an RTL mark", "+91\u200f9300000004"),
                             ("a zero-width space", "+91\u200b9300000004"), ("letters", "+91 93OO OOOOO4")]:
            status, _ = exchange(port, *request(key, json.dumps({"userPhoneNumber": value}, ensure_ascii=False).replace("\\\\u0000", "\\u0000").encode()))
            check(f"{label} in the number is 400", status == 400, str(status))

        status, _ = exchange(port, *request(key, b'{"userPhoneNumber":"\xff\xfe+919300000004"}'))
        check("invalid UTF-8 is 400", status == 400, str(status))

        for content_type in ["application/xml", "multipart/form-data; boundary=x", "image/png"]:
            status, _ = exchange(port, *request(key, json.dumps({"userPhoneNumber": number}).encode(), content_type))
            check(f"Content-Type {content_type} is 415", status == 415, str(status))

        many = "".join(f"x-filler-{i}: {i}\r\n" for i in range(1000))
        status, seconds = exchange(port, *request(key, json.dumps({"userPhoneNumber": number}).encode(), extra=many))
        check("1,000 headers are refused (4xx or closed), quickly", (status == 0 or 400 <= status < 500) and seconds < 5, f"{status} in {seconds:.1f}s")

        huge_header = f"x-big: {'a' * 100_000}\r\n"
        status, seconds = exchange(port, *request(key, json.dumps({"userPhoneNumber": number}).encode(), extra=huge_header))
        check("a 100 KB header is refused (4xx or closed), quickly", (status == 0 or 400 <= status < 500) and seconds < 5, f"{status} in {seconds:.1f}s")

        body = json.dumps({"userPhoneNumber": number}).encode()
        status, seconds = exchange(port, *request(key, body), trickle=1.0, timeout=25)
        check("a body trickled one byte a second is cut off with 408 (body timeout 10 s; the client notices at its next send)", status == 408 and seconds < 20, f"{status} in {seconds:.1f}s")

        started = time.time()
        with socket.create_connection(("127.0.0.1", port), timeout=20) as idle:
            idle.sendall(b"POST /team-member/logout HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            try:
                idle.recv(4096)
                closed_after = time.time() - started
            except socket.timeout:
                closed_after = None
        check("a connection that stops mid-headers is closed by the idle timeout (5 s here)",
              closed_after is not None and closed_after < 10, f"{closed_after}")

        status, _ = exchange(port, *request(key, json.dumps({"userPhoneNumber": number}).encode()))
        check("the server still answers normally afterwards (201)", status == 201, str(status))
        log = server.log()
        check("no unhandled error was logged", "Unhandled error" not in log)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
