"""Route 4 of scripts/bench: COUNT members' WebSocket clients on `GET /me/events` while wrk runs the logout
mix, each member then logged out through POST /team-member/logout, timing the delay from the 201 to the
device's session.ended by arrival on one selector (negative when the event wins). Prints one line,
`p50_ms p99_ms count`; details go to stderr. Exits 1 if any socket did not open, any logout did not
answer 201, or any device did not hear its session.ended (with that logout's revocationId) within 2 s
of the 201.

    python3 scripts/bench.d/sockets.py http://127.0.0.1:PORT --devices devices.txt [--key KEY]
        [--count 1000] [--duration 10] [--in-flight 16]

The members are the LAST `count` lines of devices.txt ("+91… token": number and first device's token,
in member order): the wrk logout script takes numbers from the start, so theirs are still signed in.
The logouts are spread evenly over what is left of `duration` (less a second) once every socket has
heard its session.active, so that they all land while wrk runs. Each goes out on a kept-alive
connection with no request outstanding; another connection is opened only when one is due and all are
busy, up to `in-flight`: a fast server sees one or two at a time, a loaded one at most `in-flight`.
Every event is acked at once, as a device would. Standard library only (the client is
scripts/checks/wsclient.py)."""

import argparse
import os
import resource
import selectors
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "checks"))
from wsclient import Failure, Refused, TimedLogout, WebSocket, percentiles  # noqa: E402

EVENT_WINDOW = 2.0  # seconds the issue allows between the 201 and the device hearing it
OPEN_TIMEOUT = 30.0  # seconds for every socket to open and hear its session.active


class Member:
    def __init__(self, phone, token):
        self.phone = phone
        self.token = token
        self.ws = None
        self.sent = None  # perf_counter times
        self.answered = None
        self.status = None
        self.revocation_id = None
        self.event = None  # (arrival, message)


def log(message):
    print(f"sockets: {message}", file=sys.stderr, flush=True)


def raise_fd_limit(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise Failure(f"{needed} file descriptors needed, the hard limit is {hard} (ulimit -Hn)")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def open_all(host, port, members, selector):
    """Opens every member's socket (64 upgrades at a time) and waits for each one's session.active."""
    def open_one(member):
        try:
            member.ws = WebSocket(port, member, host)
        except Refused as refused:
            return f"{member.phone}: upgrade refused with {refused.status} {refused.body}"
        except (OSError, Failure) as error:
            return f"{member.phone}: {error}"
        return None

    with ThreadPoolExecutor(max_workers=64) as pool:
        refused = [problem for problem in pool.map(open_one, members) if problem]
    if refused:
        raise Failure(f"{len(refused)} sockets did not open (already logged out? too few members for wrk?): {refused[:3]}")
    for member in members:
        selector.register(member.ws, selectors.EVENT_READ, member)
    waiting = set(members)
    deadline = time.perf_counter() + OPEN_TIMEOUT
    while waiting and time.perf_counter() < deadline:
        for member in [m for m in waiting if m.ws.inbox]:
            _, message = member.ws.inbox.pop(0)
            if message.get("type") != "session.active":
                raise Failure(f"{member.phone}'s socket opened with {message}, not session.active")
            waiting.discard(member)
        if waiting:
            pump(selector, min(0.1, max(0.0, deadline - time.perf_counter())))
    if waiting:
        raise Failure(f"{len(waiting)} sockets did not hear session.active within {OPEN_TIMEOUT:.0f} s")


def pump(selector, timeout):
    """Reads whatever is readable; returns the sources that were read."""
    read = []
    for selected, _ in selector.select(timeout):
        source = selected.fileobj
        source.read()
        read.append(selected)
        if isinstance(source, WebSocket) and source.eof:
            selector.unregister(source)
    return read


def log_out_all(host, port, key, members, selector, end, in_flight):
    """Logs the members out, spread evenly until `end` (perf_counter), at most `in_flight` at a time.
    Returns the problems (wrong answers, stray events) and the most connections used at once."""
    connections = []
    busy = {}  # connection -> member
    problems = []
    started = time.perf_counter()
    interval = max(0.0, end - started) / len(members)
    queue = list(members)
    sent_count = 0
    open_members = set()  # sent, and not yet both answered and heard (or past the window)
    try:
        while queue or busy or open_members:
            now = time.perf_counter()
            if queue and now >= started + sent_count * interval and len(busy) == len(connections) < in_flight:
                connections.append(TimedLogout(port, key, host))
                selector.register(connections[-1], selectors.EVENT_READ, None)
            for connection in connections:
                if connection in busy or not queue or now < started + sent_count * interval:
                    continue
                member = queue.pop(0)
                member.sent = time.perf_counter()
                connection.send(member.phone)
                busy[connection] = member
                open_members.add(member)
                sent_count += 1
            # Sleep in select until data comes, or until the next logout is due if a connection is free for it.
            wait = 0.05
            if queue and len(busy) < len(connections):
                wait = min(wait, max(0.0, started + sent_count * interval - time.perf_counter()))
            for selected in pump(selector, wait):
                source = selected.fileobj
                if isinstance(source, TimedLogout):
                    if source.answer is not None and source in busy:
                        member = busy.pop(source)
                        member.answered, member.status, body = source.answer
                        member.revocation_id = body.get("revocationId") if isinstance(body, dict) else None
                        if member.status != 201:
                            problems.append(f"{member.phone}: logout answered {member.status} {body}")
                    continue
                member = selected.data
                while source.inbox:
                    arrived, message = source.inbox.pop(0)
                    if member.sent is None or member.event is not None:
                        when = "before its logout was sent" if member.sent is None else "after its session.ended"
                        problems.append(f"{member.phone}: heard {message} {when}")
                        continue
                    member.event = (arrived, message)
                    # Acked at once, as a device would: the server then closes with 4001 without waiting 2 s.
                    source.send_json({"type": "ack", "revocationId": message.get("revocationId")})
            now = time.perf_counter()
            for member in list(open_members):
                if member.answered is None:
                    if now - member.sent > 10:
                        raise Failure(f"no answer to the logout of {member.phone} within 10 s")
                    continue
                if member.event is not None or now - member.answered > EVENT_WINDOW:
                    open_members.discard(member)
    finally:
        for connection in connections:
            selector.unregister(connection)
            connection.close()
    return problems, len(connections)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base_url", help="the server, e.g. http://127.0.0.1:8080")
    parser.add_argument("--devices", required=True, help="devices.txt from `teamgate bench seed`")
    parser.add_argument("--key", default=os.environ.get("BENCH_KEY"), help="the organisation's API key (BENCH_KEY)")
    parser.add_argument("--count", type=int, default=1000, help="sockets (1000): the last COUNT members of devices.txt")
    parser.add_argument("--duration", type=float, default=10, help="seconds the logouts are spread over, from the start (10)")
    parser.add_argument("--in-flight", type=int, default=16, help="most logout requests out at once, one per kept-alive connection (16)")
    args = parser.parse_args()
    began = time.perf_counter()
    if not args.key:
        parser.error("--key or BENCH_KEY is needed")
    url = urllib.parse.urlsplit(args.base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80

    with open(args.devices) as file:
        lines = [line.split() for line in file if line.strip()]
    if len(lines) < args.count:
        log(f"devices.txt has {len(lines)} members, fewer than --count {args.count}")
        return 2
    members = [Member(phone, token) for phone, token in lines[-args.count:]]

    selector = selectors.DefaultSelector()  # epoll: no FD_SETSIZE limit
    try:
        raise_fd_limit(len(members) + args.in_flight + 64)
        open_all(host, port, members, selector)
        opened = time.perf_counter()
        log(f"{len(members)} sockets open and told session.active in {opened - began:.1f} s")
        # A second's margin at the end, so that the last events too come while wrk is still running.
        problems, used = log_out_all(host, port, args.key, members, selector, began + args.duration - 1, args.in_flight)
        finished = time.perf_counter()
    except Failure as failure:
        log(f"FAILED: {failure}")
        return 1
    finally:
        for member in members:
            if member.ws:
                member.ws.close()
        selector.close()

    delays, missing = [], []
    for member in members:
        if member.event is None or member.event[0] - member.answered > EVENT_WINDOW:
            missing.append(member.phone)
            continue
        arrived, message = member.event
        if (message.get("type"), message.get("reason"), message.get("revocationId")) != ("session.ended", "admin_logout", member.revocation_id):
            problems.append(f"{member.phone}: heard {message} after a logout with revocationId {member.revocation_id}")
        delays.append(1000 * (arrived - member.answered))
    late = sum(1 for m in members if m.answered is not None and m.answered > began + args.duration)
    log(f"{len(members)} logouts over {finished - opened:.1f} s (at most {used} in flight); "
        f"{len(delays)} events heard within {EVENT_WINDOW:.0f} s of their 201, {sum(1 for d in delays if d < 0)} before it")
    if delays:
        summary = percentiles(delays)
        log(f"delay from the 201 to session.ended: p50 {summary['p50']:.2f} ms, p99 {summary['p99']:.2f} ms, "
            f"min {summary['min']:.2f} ms, max {summary['max']:.2f} ms")
        print(f"{summary['p50']:.2f} {summary['p99']:.2f} {len(delays)}")
    else:
        print("nan nan 0")
    if late:
        log(f"note: {late} of the 201s came after the {args.duration:g} s window (wrk may have stopped by then)")
    if missing:
        problems.append(f"{len(missing)} devices did not hear session.ended within {EVENT_WINDOW:.0f} s of the 201: {missing[:3]}")
    for problem in problems[:10]:
        log(f"FAILED: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
