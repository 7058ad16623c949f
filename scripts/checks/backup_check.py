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
import sys
import tempfile
import threading
import time

from harness import Server, Tally, bearer, cli, seed

MEMBERS = 600
tally = Tally("backup-check")
check = tally.check


def main():
    folder = tempfile.mkdtemp(prefix="teamgate-backup-")
    database = os.path.join(folder, "teamgate.sqlite")
    backup = os.path.join(folder, "backup.sqlite")
    # Ready, not just up: the storm's logouts and the restore's checks need the session index loaded.
    server = Server(["--otp-sender", "log", "--rate-limit-per-second", "0", "--log-level", "warning"],
                    database=database, folder=folder, ready="/ready", timeout=60)
    try:
        key, devices = seed(database, MEMBERS, folder)
        storm, untouched = devices[:450], devices[450:]
        server.start()

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
                status = server.call("POST", "/team-member/logout", {"x-public-key": key}, {"userPhoneNumber": phone}).status
                with lock:
                    answers[phone] = (status, time.time())
                time.sleep(0.002)  # a storm that lasts past the backup

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        while len(answers) < 150 and any(thread.is_alive() for thread in threads):
            time.sleep(0.01)
        began = time.time()
        backed_up = cli("backup", "--database", database, "--to", backup, check=False)
        ended = time.time()
        answered_during = sum(1 for _, at in answers.values() if began <= at <= ended)
        for thread in threads:
            thread.join(120)
        print(f"     ({backed_up.stdout.strip()}; {answered_during} logouts answered while it ran, {len(answers)} in all)")
        check("teamgate backup succeeds while the server serves logouts", backed_up.returncode == 0, backed_up.stderr)
        check("every logout of the storm answered 201", len(answers) == len(storm) and all(status == 201 for status, _ in answers.values()),
              {phone: answer for phone, answer in answers.items() if answer[0] != 201})

        refused = cli("restore", "--database", database, "--from", backup, check=False)
        check("teamgate restore refuses while the server runs on the file (exit 1, says to stop it)",
              refused.returncode == 1 and "stop it before restoring" in refused.stderr, f"{refused.returncode} {refused.stderr}")

        server.terminate(30)
        restored = cli("restore", "--database", database, "--from", backup, check=False)
        check("with the server stopped, teamgate restore replaces the database", restored.returncode == 0, restored.stderr)
        server.start()

        tokens = dict((phone, token) for phone, token in devices)
        before = [phone for phone, (status, at) in answers.items() if status == 201 and at < began]
        after = [phone for phone, (status, at) in answers.items() if status == 201 and at > ended]
        still_live = [phone for phone in before if server.call("GET", "/me", bearer(tokens[phone])).status != 401]
        check(f"all {len(before)} logouts answered before the backup began are in effect after the restore (401)", before and not still_live,
              still_live[:5])
        undone = [phone for phone in after if server.call("GET", "/me", bearer(tokens[phone])).status != 200]
        check(f"the {len(after)} logouts answered after the backup ended are not in it: those tokens work again (200)",
              after and not undone, undone[:5])
        broken = [phone for phone, _ in untouched if server.call("GET", "/me", bearer(tokens[phone])).status != 200]
        check(f"the {len(untouched)} members never logged out are signed in after the restore (200)", not broken, broken[:5])
    except Exception as error:  # anything unexpected fails the check, after the cleanup
        tally.crashed(error)
    finally:
        server.terminate(30)
        shutil.rmtree(folder, ignore_errors=True)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
