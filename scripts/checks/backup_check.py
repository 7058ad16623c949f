"""`teamgate backup` during a logout storm, then `teamgate restore`: the restored database has every logout answered
before the backup began still in effect, and none answered after it ended (the backup is one point in time).

- 600 members (bench seed), a server on a SQLite file, logouts through HTTP in four threads;
- `teamgate backup --to FILE` starts once 150 logouts are answered, while they go on;
- `teamgate restore` refuses while the server runs on the file (exit 1, says why);
- the server is stopped, the backup restored over the file, a server started on it:
  - each member logged out with a 201 before the backup began: their device's token gets 401 admin_logout;
  - each member logged out after the backup ended: their token works again (200);
  - each member never logged out: their token works (200).

    python3 scripts/checks/backup_check.py
TEAMGATE_BINARY names the server binary (default: `swift build --show-bin-path`, as the other checks)."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

import demo_server
from cluster_check import bearer, call
from harness import Tally
from wsclient import Failure

MEMBERS = 600
tally = Tally("backup-check")
check = tally.check


def start_server(binary, database, folder):
    port = demo_server.free_port()
    log = open(os.path.join(folder, "server.log"), "a")
    process = subprocess.Popen([binary, "serve", "--database", database, "--port", str(port), "--otp-sender", "log",
                                "--rate-limit-per-second", "0", "--log-level", "warning"], stdout=log, stderr=subprocess.STDOUT)
    log.close()
    deadline = time.time() + 60
    while time.time() < deadline:
        if process.poll() is not None:
            raise Failure(f"the server exited with {process.returncode}:\n" + open(os.path.join(folder, "server.log")).read()[-2000:])
        try:
            if call(port, "GET", "/ready", timeout=1)[0] == 200:
                return process, port
        except OSError:
            pass
        time.sleep(0.05)
    raise Failure("the server was not ready within 60 s")


def stop_server(process):
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def main():
    binary = os.environ.get("TEAMGATE_BINARY") or demo_server.binary()
    folder = tempfile.mkdtemp(prefix="teamgate-backup-")
    database = os.path.join(folder, "teamgate.sqlite")
    backup = os.path.join(folder, "backup.sqlite")
    server = None
    try:
        seeded = subprocess.run([binary, "bench", "seed", "--database", database, "--members", str(MEMBERS), "--out", folder],
                                capture_output=True, text=True)
        if seeded.returncode != 0:
            raise Failure("bench seed failed:\n" + seeded.stderr)
        key = open(os.path.join(folder, "key.txt")).read().strip()
        devices = [line.split() for line in open(os.path.join(folder, "devices.txt")) if line.strip()]
        storm, untouched = devices[:450], devices[450:]
        server, port = start_server(binary, database, folder)

        answers = {}  # phone -> (status, time answered)
        lock = threading.Lock()
        queue = [phone for phone, _ in storm]
        stop = threading.Event()

        def worker():
            while not stop.is_set():
                with lock:
                    if not queue:
                        return
                    phone = queue.pop(0)
                status, body = call(port, "POST", "/team-member/logout", {"userPhoneNumber": phone}, {"x-public-key": key})
                with lock:
                    answers[phone] = (status, time.time())
                time.sleep(0.002)  # a storm that lasts past the backup

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        while len(answers) < 150 and any(thread.is_alive() for thread in threads):
            time.sleep(0.01)
        began = time.time()
        backed_up = subprocess.run([binary, "backup", "--database", database, "--to", backup], capture_output=True, text=True)
        ended = time.time()
        answered_during = sum(1 for _, at in answers.values() if began <= at <= ended)
        for thread in threads:
            thread.join(120)
        print(f"     ({backed_up.stdout.strip()}; {answered_during} logouts answered while it ran, {len(answers)} in all)")
        check("teamgate backup succeeds while the server serves logouts", backed_up.returncode == 0, backed_up.stderr)
        check("every logout of the storm answered 201", len(answers) == len(storm) and all(status == 201 for status, _ in answers.values()),
              {phone: answer for phone, answer in answers.items() if answer[0] != 201})

        refused = subprocess.run([binary, "restore", "--database", database, "--from", backup], capture_output=True, text=True)
        check("teamgate restore refuses while the server runs on the file (exit 1, says to stop it)",
              refused.returncode == 1 and "stop it before restoring" in refused.stderr, f"{refused.returncode} {refused.stderr}")

        stop_server(server)
        server = None
        restored = subprocess.run([binary, "restore", "--database", database, "--from", backup], capture_output=True, text=True)
        check("with the server stopped, teamgate restore replaces the database", restored.returncode == 0, restored.stderr)
        server, port = start_server(binary, database, folder)

        tokens = dict((phone, token) for phone, token in devices)
        before = [phone for phone, (status, at) in answers.items() if status == 201 and at < began]
        after = [phone for phone, (status, at) in answers.items() if status == 201 and at > ended]
        still_live = [phone for phone in before if call(port, "GET", "/me", headers=bearer(tokens[phone]))[0] != 401]
        check(f"all {len(before)} logouts answered before the backup began are in effect after the restore (401)", before and not still_live,
              still_live[:5])
        undone = [phone for phone in after if call(port, "GET", "/me", headers=bearer(tokens[phone]))[0] != 200]
        check(f"the {len(after)} logouts answered after the backup ended are not in it: those tokens work again (200)",
              after and not undone, undone[:5])
        broken = [phone for phone, _ in untouched if call(port, "GET", "/me", headers=bearer(tokens[phone]))[0] != 200]
        check(f"the {len(untouched)} members never logged out are signed in after the restore (200)", not broken, broken[:5])
    except Exception as error:  # anything unexpected fails the check, after the cleanup
        check("the check ran to the end", False, "\n" + (str(error) if isinstance(error, Failure) else traceback.format_exc()))
    finally:
        if server:
            stop_server(server)
        shutil.rmtree(folder, ignore_errors=True)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
