"""What the checks share: a pass/fail tally that ends in the 'N passed, N failed' line, and a stand-in
SMS gateway that keeps the sign-in codes TeamGate's webhook sender posts to it."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


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

    def finish(self):
        print(f"{self.name}: {self.passed} passed, {self.failed} failed")
        return 1 if self.failed else 0


class Gateway:
    """A local HTTP receiver: `codes` maps each number to the newest code posted for it. Codes for the
    numbers in `refuse` are answered 503 and not kept (a gateway that fails)."""

    def __init__(self):
        codes = self.codes = {}
        refuse = self.refuse = set()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if isinstance(body, dict) and body.get("phoneNumber") in refuse:
                    self.send_response(503)
                    self.end_headers()
                    return
                if "code" in body:
                    codes[body["phoneNumber"]] = body["code"]
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.port = self.server.server_address[1]

    def wait_code(self, phone, timeout=5):
        """The code for `phone`, taken out of `codes`: TeamGate sends it after /auth/otp has answered. None if none came."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            code = self.codes.pop(phone, None)
            if code is not None:
                return code
            time.sleep(0.01)
        return None

    def url(self, path="/otp"):
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self):
        self.server.shutdown()


def wait_for(condition, timeout):
    """Polls `condition` every 50 ms until it holds or `timeout` seconds pass; returns its last answer."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()
