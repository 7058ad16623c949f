"""Proves /openapi.json against the running server: the document is valid OpenAPI (openapi-spec-validator),
and schemathesis, with a real key and a real member's session, finds no server error, no undocumented
status and no body that does not match its schema, in at least 100 cases per operation."""

import json
import os
import subprocess
import sys
import urllib.request

from openapi_spec_validator import validate

import demo_server

CHECKS = ",".join([
    "not_a_server_error", "status_code_conformance", "content_type_conformance",
    "response_headers_conformance", "response_schema_conformance", "unsupported_method", "missing_required_header",
])


def main():
    failures = 0
    # Webhooks the fuzzer registers may only point at this machine: deliveries never leave it.
    # The rate limit is off so that the fuzzer reaches the logic behind it (429 is documented all the same).
    with demo_server.start(["--webhook-allowed-hosts", "127.0.0.1", "--rate-limit-per-second", "0"]) as server:
        with urllib.request.urlopen(server.base_url + "/openapi.json") as response:
            document = json.load(response)
        validate(document)
        operations = sum(1 for item in document["paths"].values() for method in item if method in ("get", "post", "put", "patch", "delete"))
        print(f"openapi-spec-validator: the document is valid OpenAPI {document['openapi']} ({operations} operations)")

        # The member whose token schemathesis uses is signed in on several devices; a sign-out ends only one.
        token = server.member("Meera Iyer").tokens[0]
        report = os.path.join(server.folder, "schemathesis.json")
        command = [
            "schemathesis", "run", server.base_url + "/openapi.json",
            "--checks", CHECKS,
            "--max-examples", os.environ.get("CONTRACT_MAX_EXAMPLES", "100"),
            "--header", f"x-public-key: {server.api_key}",
            "--header", f"Authorization: Bearer {token}",
            "--generation-allow-x00", "true",
            "--seed", os.environ.get("CONTRACT_SEED", "20261125"),
            "--workers", "2",
            "--no-color",
            "--report", "ndjson", "--report-ndjson-path", report,
        ]
        result = subprocess.run(command, timeout=1800)
        failures += result.returncode != 0
        cases = summarize(report)
        print(f"schemathesis: {operations} operations, {cases} cases, exit code {result.returncode}")
    print(f"contract-check: {2 - failures} passed, {failures} failed")
    return 1 if failures else 0


def summarize(report):
    """Counts the test cases schemathesis ran, from its event stream."""
    cases = 0
    try:
        with open(report) as events:
            for line in events:
                event = json.loads(line)
                for name, payload in event.items():
                    if name == "ScenarioFinished" and isinstance(payload, dict):
                        recorder = payload.get("recorder") or {}
                        cases += len(recorder.get("cases") or {})
    except (OSError, ValueError):
        pass
    return cases


if __name__ == "__main__":
    sys.exit(main())
