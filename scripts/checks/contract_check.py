"""Proves /openapi.json against the running server: the document is valid OpenAPI (openapi-spec-validator),
and schemathesis, with a real key and a real member's session, runs every check it has (`--checks all`) on
requests that fit the schema and on requests that do not (`--mode all`), up to 150 generated cases per
operation: no server error, no undocumented status, no header or body unlike its schema, every request the
schema allows taken and every one it forbids refused. What the schema cannot know (which numbers are on the
team, which cursors an earlier page gave, which webhook hosts this server allows) is in contract.toml, next
to this file, with why.

    python3 scripts/checks/contract_check.py
CONTRACT_MAX_EXAMPLES sets the cases per operation (150), CONTRACT_SEED the seed (20261125)."""

import json
import os
import subprocess
import sys

from openapi_spec_validator import validate

from harness import Tally, start_server

CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "contract.toml")
tally = Tally("contract-check")
check = tally.check


def main():
    # Webhooks the fuzzer registers may only point at this machine: deliveries never leave it.
    # The rate limit is off so that the fuzzer reaches the logic behind it (429 is documented all the same).
    with start_server(["--webhook-allowed-hosts", "127.0.0.1", "--rate-limit-per-second", "0"], demo=True) as server:
        document = server.call("GET", "/openapi.json").json or {}
        try:
            validate(document)
            problem = None
        except Exception as error:  # the validator's own errors, and a document that is not even a mapping
            problem = f"{type(error).__name__}: {str(error)[:2000]}"
        operations = sum(1 for item in (document.get("paths") or {}).values() for method in item
                         if method in ("get", "post", "put", "patch", "delete"))
        check(f"openapi-spec-validator: the document is valid OpenAPI {document.get('openapi')} ({operations} operations)",
              problem is None, problem)

        # Two runs, one report. First the member's own reads (/me, /me/sessions), while the member's session is
        # live; then everything else, which may end it (POST /auth/logout, a whole-team logout), so that the
        # first run's 200 answers are really proven and not only the 401 of an ended session.
        token = server.member("Meera Iyer").tokens[0]
        member_reads = "^/me(/sessions)?$"
        cases, failed = 0, []
        runs = [("the member's reads", ["--include-path-regex", member_reads]),
                ("every other operation", ["--exclude-path-regex", member_reads])]
        for number, (label, selection) in enumerate(runs, 1):
            report = os.path.join(server.folder, f"schemathesis-{number}.ndjson")
            command = [
                "schemathesis", "--config-file", CONFIG, "run", server.url("/openapi.json"), *selection,
                "--checks", "all",
                "--mode", "all",
                "--max-examples", os.environ.get("CONTRACT_MAX_EXAMPLES", "150"),
                "--header", f"x-public-key: {server.api_key}",
                "--header", f"Authorization: Bearer {token}",
                "--generation-allow-x00", "true",
                "--seed", os.environ.get("CONTRACT_SEED", "20261125"),
                "--workers", "2",
                "--no-color",
                "--report", "ndjson", "--report-ndjson-path", report,
            ]
            print(f"-- schemathesis on {label}", flush=True)
            result = subprocess.run(command, timeout=1800)
            cases += summarize(report)
            if result.returncode != 0:
                failed.append(f"{label}: exit code {result.returncode}")
        check(f"schemathesis: every check on {operations} operations, {cases} cases, no failure",
              not failed, f"({'; '.join(failed)}; its report above says what failed)")
    return tally.finish()


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
