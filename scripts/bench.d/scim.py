"""The bench's provisioning route: a directory creating users one request at a time, as Okta and Entra ID do, from
--threads clients each on its own keep-alive connection. Each user is new (a new member and their directory user in one
commit, with its audit event); userNames are bench-<i>@acme.example and numbers +1555<i>, so the filter route can look
them up. Prints "req/s p50_ms p99_ms failures", and the first failure's status and body on stderr.

    python3 scripts/bench.d/scim.py BASE_URL --token TOKEN --count 10000 --threads 16"""

import argparse
import http.client
import json
import statistics
import sys
import threading
import time
import urllib.parse


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("--token", required=True)
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()
    target = urllib.parse.urlsplit(args.base)
    headers = {"Authorization": "Bearer " + args.token, "Content-Type": "application/scim+json"}
    latencies, failures = [], []
    lock = threading.Lock()
    next_index = iter(range(args.count))

    def client():
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        mine = []
        while True:
            with lock:
                index = next(next_index, None)
            if index is None:
                break
            body = json.dumps({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": f"bench-{index}@acme.example",
                "externalId": f"ext-{index}", "active": True, "name": {"givenName": "Bench", "familyName": str(index)},
                "emails": [{"value": f"bench-{index}@acme.example", "type": "work", "primary": True}],
                "phoneNumbers": [{"value": f"+1555{index:07d}", "type": "mobile"}]})
            started = time.perf_counter()
            connection.request("POST", "/scim/v2/Users", body=body, headers=headers)
            response = connection.getresponse()
            text = response.read()
            mine.append(time.perf_counter() - started)
            if response.status != 201:
                with lock:
                    failures.append((response.status, text[:300]))
        connection.close()
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    if failures:
        print(f"scim.py: {len(failures)} creations failed; the first: {failures[0][0]} {failures[0][1]!r}", file=sys.stderr)
    print(f"{args.count / elapsed:.0f} {p50:.2f} {p99:.2f} {len(failures)}")


main()
