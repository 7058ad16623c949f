"""`serve --traces otlp` against a stand-in OpenTelemetry collector (an HTTP receiver of OTLP/HTTP JSON on /v1/traces):

- a logout sent with a W3C `traceparent` gives a server span in that trace, named by method and route pattern, with
  the status, the request id the answer carried, and the caller's span as parent;
- its group commit's span (`db.system` sqlite, the batch's write count) links to that request's span;
- a `GET /me/events?token=…` and a `GET /team/member?agentNumber=…` leave no token and no number in any span;
- the spans of the last requests reach the collector when the server is stopped with SIGTERM.

    python3 scripts/checks/tracing_check.py
TEAMGATE_BINARY names the server binary (default: `swift build --show-bin-path`, as the other checks)."""

import base64
import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
import urllib.parse

from harness import Receiver, Server, Tally, seed, wait_for

tally = Tally("tracing-check")
check = tally.check


class Collector(Receiver):
    """Keeps every span of every OTLP/HTTP JSON export, and the raw bodies."""

    def __init__(self):
        self.spans = []
        self.raw = []
        self.content_types = set()
        super().__init__(self.respond)

    def respond(self, handler):
        self.content_types.add(handler.headers.get("Content-Type"))
        self.raw.append(handler.body)
        if handler.path == "/v1/traces":
            for resource in (handler.json or {}).get("resourceSpans", []):
                for scope in resource.get("scopeSpans", []):
                    for span in scope.get("spans", []):
                        for field in ("traceId", "spanId", "parentSpanId"):
                            span[field] = hex_id(span.get(field))
                        for link in span.get("links", []):
                            link["traceId"], link["spanId"] = hex_id(link.get("traceId")), hex_id(link.get("spanId"))
                        self.spans.append(span)
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.end_headers()
        handler.wfile.write(b"{}")


def hex_id(value):
    """A trace or span id as hex: OTLP/JSON asks for hex, swift-protobuf's JSON mapping writes bytes as base64."""
    if not isinstance(value, str) or not value:
        return value
    if len(value) in (16, 32) and all(c in "0123456789abcdef" for c in value):
        return value
    return base64.b64decode(value).hex()


def attributes(span):
    found = {}
    for attribute in span.get("attributes", []):
        value = attribute.get("value", {})
        found[attribute["key"]] = next(iter(value.values()), None) if value else None
    return found



def main():
    folder = tempfile.mkdtemp(prefix="teamgate-tracing-")
    collector = Collector()
    server = None
    try:
        database = os.path.join(folder, "teamgate.sqlite")
        key, devices = seed(database, 5, folder)
        environment = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url(""), "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_BSP_SCHEDULE_DELAY": "200"}
        server = Server(["--otp-sender", "log", "--traces", "otlp", "--log-level", "warning"], database=database, folder=folder, env=environment)
        server.start()

        trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
        phone, token = devices[0]
        response = server.call("POST", "/team-member/logout", {"x-public-key": key, "traceparent": f"00-{trace_id}-{parent_id}-01"},
                               {"userPhoneNumber": phone})
        request_id = response.headers.get("x-request-id")
        check("the logout answers 201", response.status == 201, response.status)
        other_phone, other_token = devices[1]
        server.call("GET", "/me/events?token=" + urllib.parse.quote(other_token))
        server.call("GET", "/team/member?agentNumber=" + urllib.parse.quote(other_phone), {"x-public-key": key})

        def logout_span():
            return next((span for span in collector.spans if span.get("traceId") == trace_id and span.get("kind") in (2, "SPAN_KIND_SERVER")), None)

        wait_for(lambda: logout_span() is not None, 10)
        span = logout_span()
        details = attributes(span) if span else {}
        check("the logout's server span is in the caller's trace, a child of the caller's span",
              span is not None and span.get("parentSpanId") == parent_id, span)
        check("it is named by method and route pattern, with the status and the answer's request id",
              span is not None and span.get("name") == "POST /team-member/logout" and str(details.get("http.response.status_code")) == "201"
              and details.get("http.route") == "/team-member/logout" and details.get("teamgate.request_id") == request_id, (span and span.get("name"), details))
        commit = next((candidate for candidate in collector.spans if candidate.get("name") == "group commit"
                       and any(link.get("traceId") == trace_id and span and link.get("spanId") == span.get("spanId") for link in candidate.get("links", []))),
                      None)
        commit_details = attributes(commit) if commit else {}
        check("its group commit's span links to it, with db.system sqlite and the batch's write count",
              commit is not None and commit_details.get("db.system") == "sqlite" and int(commit_details.get("teamgate.writes", 0)) >= 1, commit_details)

        stop_sent = time.time()
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=30)
        routes = {span.get("name") for span in collector.spans}
        check("the spans of the last requests reach the collector when the server stops (SIGTERM)",
              {"GET /me/events", "GET /team/member"} <= routes, sorted(routes))
        text = b"".join(collector.raw).decode(errors="replace")
        leaked = [secret for secret in (token, other_token, key, phone, other_phone, phone[1:], other_phone[1:]) if secret in text]
        check("no token, key or phone number in any exported span", not leaked and collector.spans, leaked)
        if tally.failed:
            print(json.dumps(collector.spans[:3], indent=1)[:3000])
        print(f"     ({len(collector.spans)} spans received; content types {sorted(filter(None, collector.content_types))}; "
              f"stopped {time.time() - stop_sent:.1f} s after SIGTERM)")
    except Exception as error:  # anything unexpected fails the check, after the cleanup
        tally.crashed(error)
    finally:
        if server:
            server.kill()
        collector.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
