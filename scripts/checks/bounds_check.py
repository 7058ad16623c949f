"""Bounds one organisation cannot push past, against a real server over real HTTP: its 21st webhook is refused
(409, in the API's error shape); an organisation whose 20 webhooks all hang does not starve another organisation's
deliveries (claims go round robin by organisation, and one organisation holds at most part of the dispatcher);
`GET /audit-events` with a `since` in the far future, or a rare `action`, answers at once over a long log instead
of walking it. Receivers are local (127.0.0.1, allowed by --webhook-allowed-hosts)."""

import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time

from harness import Receiver, Tally, answer, binary, cli, start_server, wait_for

tally = Tally("bounds-check")
check = tally.check
HOOK_EVENTS = ["team_member.logged_out"]
LOCAL_HOOKS = ["--webhook-allowed-hosts", "127.0.0.1"]
NO_CODES = ["--otp-sender", "log"]  # nobody signs in here


def admin(server, key, method, path, body=None):
    return server.call(method, path, {"x-public-key": key}, body)


def organization(database, name, owner_phone, member_phones):
    """An organisation made with the CLI (before the server starts): its key, and members to log out."""
    made = cli("org", "create", "--name", name, "--owner-phone", owner_phone, database=database, json_output=True)
    for number, phone in enumerate(member_phones):
        cli("members", "add", "--org", made["organizationId"], "--name", f"Member {number}", "--phone", phone, database=database,
            json_output=True)
    return made["apiKey"]


def twenty_first_webhook_is_refused():
    with start_server(demo=True) as server:
        key = server.api_key
        made = [admin(server, key, "POST", "/webhooks", {"url": f"https://93.184.216.34/hook/{n}", "events": HOOK_EVENTS})
                for n in range(20)]
        check("an organisation makes 20 webhooks", all(reply.status == 201 for reply in made), [reply.status for reply in made])
        refused = admin(server, key, "POST", "/webhooks", {"url": "https://93.184.216.34/hook/20", "events": HOOK_EVENTS})
        body = refused.json or {}
        check("the 21st is refused with 409 in the API's error shape, saying the limit",
              refused.status == 409 and body.get("statusCode") == 409 and body.get("error") == "Conflict" and "20" in str(body.get("message")),
              f"{refused.status} {refused.body[:200]!r}")
        listed = (admin(server, key, "GET", "/webhooks").json or {}).get("data") or []
        check("and not made", len(listed) == 20, f"{len(listed)} listed")
        bad = admin(server, key, "POST", "/webhooks", {"url": "https://93.184.216.34/x", "events": "team_member.logged_out"})
        check("a malformed creation is still a 400, not a 500", bad.status == 400, f"{bad.status} {bad.body[:200]!r}")
        deleted = admin(server, key, "DELETE", "/webhooks/" + made[0].json["id"])
        again = admin(server, key, "POST", "/webhooks", {"url": "https://93.184.216.34/hook/21", "events": HOOK_EVENTS})
        check("deleting one makes room for another", deleted.status == 200 and again.status == 201, f"{deleted.status} {again.status}")


def hanging_organization_does_not_starve_another(logouts=8):
    release = threading.Event()
    folder = tempfile.mkdtemp(prefix="teamgate-bounds-")
    database = os.path.join(folder, "teamgate.sqlite")
    hog_phones = [f"+9193100{n:05d}" for n in range(logouts)]
    hog = organization(database, "Hog", "+919300000001", hog_phones)
    quiet = organization(database, "Quiet", "+919300000002", ["+919320000001"])
    hanging = [Receiver(lambda handler: release.wait(60)) for _ in range(20)]
    try:
        with Receiver(answer(204)) as good, start_server([*LOCAL_HOOKS, *NO_CODES], database=database, folder=folder) as server:
            for receiver in hanging:
                receiver.__enter__()
                admin(server, hog, "POST", "/webhooks", {"url": receiver.url(), "events": HOOK_EVENTS})
            made = admin(server, quiet, "POST", "/webhooks", {"url": good.url(), "events": HOOK_EVENTS})
            check("Hog has 20 webhooks at 20 receivers that never answer; Quiet one at a good receiver",
                  len((admin(server, hog, "GET", "/webhooks").json or {}).get("data") or []) == 20 and made.status == 201, made.status)
            # Hog's backlog first: 20 deliveries per logout, older than Quiet's.
            for phone in hog_phones:
                admin(server, hog, "POST", "/team-member/logout", {"userPhoneNumber": phone})
            wait_for(lambda: sum(len(receiver.hits) for receiver in hanging) >= 20, 5)
            held = sum(len(receiver.hits) for receiver in hanging)
            reply = admin(server, quiet, "POST", "/team-member/logout", {"userPhoneNumber": "+919320000001"})
            answered = time.monotonic()
            arrived = wait_for(lambda: good.hits, 8)
            delay = round(good.hits[0] - answered, 2) if arrived else None
            check(f"with {held} of Hog's deliveries hanging and {20 * logouts - held} queued behind them, Quiet's arrives within 3 s",
                  reply.status == 201 and delay is not None and delay <= 3, f"delay {delay} s (None: not within 8 s)")
            release.set()  # ends the server's stuck requests, so it stops promptly
    finally:
        release.set()
        for receiver in hanging:
            receiver.stop()


def audit_since_and_rare_action_answer_at_once(events=300_000):
    folder = tempfile.mkdtemp(prefix="teamgate-bounds-")
    database = os.path.join(folder, "teamgate.sqlite")
    key = organization(database, "Long Log", "+919300000003", [])
    # A long log written straight into the file (the API makes one event per change): a year of sign-ins.
    with sqlite3.connect(database) as db:
        (org,) = db.execute("SELECT id FROM organizations WHERE name = 'Long Log'").fetchone()
        start = int(time.time() * 1000) - 365 * 86_400_000
        db.executemany("INSERT INTO audit_events (id, organization_id, occurred_at, actor, action) VALUES (?, ?, ?, 'check', 'member.signed_in')",
                       ((f"evt_check_{n}", org, start + n * 100) for n in range(events)))
    with start_server(NO_CODES, database=database, folder=folder) as server:
        timings = {}
        for name, path in [("since in the far future", "/audit-events?since=2999-01-01T00:00:00Z"),
                           ("a rare action", "/audit-events?action=webhook.deleted"),
                           ("the newest page", "/audit-events?limit=50")]:
            seconds = []
            for _ in range(5):
                began = time.monotonic()
                reply = admin(server, key, "GET", path)
                seconds.append(time.monotonic() - began)
            timings[name] = (reply.status, round(statistics.median(seconds) * 1000, 1), len((reply.json or {}).get("data") or []))
        print(f"note: over {events} events, median ms: " + ", ".join(f"{name} {ms}" for name, (_, ms, _) in timings.items()))
        for name in ["since in the far future", "a rare action"]:
            status, ms, count = timings[name]
            check(f"GET /audit-events with {name} answers 200, empty, in under 50 ms over {events} events",
                  status == 200 and count == 0 and ms < 50, f"{status}, {count} events, {ms} ms")
        bad = admin(server, key, "GET", "/audit-events?since=yesterday")
        check("a since that is no date is a 400 naming it", bad.status == 400 and "since" in bad.body.decode(errors="replace"),
              f"{bad.status} {bad.body[:200]!r}")


SECTIONS = [twenty_first_webhook_is_refused, hanging_organization_does_not_starve_another, audit_since_and_rare_action_answer_at_once]


def main():
    path = binary()
    if not os.path.exists(path):
        check("the teamgate binary is built", False, path)
        return tally.finish()
    started = time.monotonic()
    for section in SECTIONS:
        try:
            section()
        except Exception as error:  # one section's crash is its FAIL; the others still run
            tally.crashed(error, f"{section.__name__} ran to the end")
    print(f"bounds-check: {time.monotonic() - started:.0f} s")
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
