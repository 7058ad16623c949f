"""The deployment files, checked where no Docker engine runs (CI has none): the Dockerfile's shape, deploy/compose.yaml
against the settings TeamGate documents and deploy/nginx.conf, and deploy/teamgate.service through systemd's own
`systemd-analyze verify` and `security`.

- Dockerfile: the official Swift image builds, a slim Debian image runs; the binary and its resources bundle are
  copied under the names `swift build` gives them; a non-root USER before the entrypoint; a HEALTHCHECK on /health at
  the port the image's TEAMGATE_PORT sets; every TEAMGATE_* variable it sets is a documented setting.
- compose.yaml: PostgreSQL, two TeamGate instances and nginx; every TEAMGATE_* variable is a documented setting and the
  database URL names the compose PostgreSQL; nginx mounts deploy/nginx.conf, whose upstreams are the two instances at
  their TEAMGATE_PORT; the trusted proxy is nginx's fixed address; nginx waits for the instances' health checks.
- teamgate.service: `systemd-analyze verify` passes, and `systemd-analyze security` rates its exposure at most 2.0.

    python3 scripts/checks/deploy_files_check.py"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml
from harness import ROOT, Tally, binary, cli

tally = Tally("deploy-files-check")
check = tally.check


def documented_variables():
    """The environment variables of `teamgate settings --markdown`, the table the README carries."""
    table = cli("settings", "--markdown")
    return set(re.findall(r"`(TEAMGATE_[A-Z_]+)`", table))


def dockerfile(variables):
    text = open(os.path.join(ROOT, "Dockerfile")).read()
    instructions = [line.strip() for line in re.sub(r"\\\n", " ", text).splitlines() if line.strip() and not line.strip().startswith("#")]
    froms = [line for line in instructions if line.upper().startswith("FROM ")]
    check("Dockerfile: two stages, built FROM the official swift image, run FROM debian:*-slim",
          len(froms) == 2 and re.match(r"FROM swift:\S+ AS build", froms[0]) is not None and re.match(r"FROM debian:\S+-slim$", froms[1]) is not None,
          froms)
    final = instructions[instructions.index(froms[1]):]
    users = [line.split()[1] for line in final if line.upper().startswith("USER ")]
    entry = next((i for i, line in enumerate(final) if line.upper().startswith("ENTRYPOINT")), len(final))
    user_at = next((i for i, line in enumerate(final) if line.upper().startswith("USER ")), len(final))
    check("Dockerfile: the runtime stage switches to a non-root user before its entrypoint",
          users and users[-1] not in ("root", "0") and user_at < entry, users)
    bundle_names = {name for name in os.listdir(os.path.join(ROOT, ".build", "debug")) if name.endswith(".resources")} \
        if os.path.isdir(os.path.join(ROOT, ".build", "debug")) else set()
    check("Dockerfile: the binary and the resources bundle `swift build` makes (TeamGate_TeamGate.resources) are copied",
          "TeamGate_TeamGate.resources" in text and "TeamGate_TeamGate.resources" in bundle_names and "/teamgate" in text
          and any(line.startswith("COPY --from=build") for line in final), sorted(bundle_names))
    env = dict(re.findall(r"(TEAMGATE_[A-Z_]+)=(\S+)", " ".join(line for line in final if line.upper().startswith("ENV "))))
    check("Dockerfile: every TEAMGATE_* variable it sets is a documented setting", env and set(env) <= variables, set(env) - variables)
    port = env.get("TEAMGATE_PORT")
    health = next((line for line in final if line.upper().startswith("HEALTHCHECK")), "")
    exposed = [line.split()[1] for line in final if line.upper().startswith("EXPOSE ")]
    check("Dockerfile: HEALTHCHECK asks /health on the port TEAMGATE_PORT sets, which is the one EXPOSEd",
          port is not None and f"127.0.0.1:{port}/health" in health and exposed == [port], (health, exposed, port))
    check("Dockerfile: the build keeps the Swift runtime in the binary (--static-swift-stdlib), so the slim image needs no toolchain",
          "--static-swift-stdlib" in text)
    ignored = open(os.path.join(ROOT, ".dockerignore")).read().split()
    check(".dockerignore keeps the build folder and local databases out of the context", ".build" in ignored and "*.sqlite" in ignored, ignored)


def compose(variables):
    document = yaml.safe_load(open(os.path.join(ROOT, "deploy", "compose.yaml")))
    services = document.get("services", {})
    check("compose: PostgreSQL, two TeamGate instances and nginx", set(services) == {"postgres", "teamgate-a", "teamgate-b", "nginx"},
          sorted(services))
    instances = [services[name] for name in ("teamgate-a", "teamgate-b") if name in services]
    for name, service in zip(("teamgate-a", "teamgate-b"), instances):
        environment = service.get("environment", {})
        unknown = {key for key in environment if key.startswith("TEAMGATE_")} - variables
        check(f"compose: {name}'s TEAMGATE_* variables are all documented settings", environment and not unknown, unknown)
        check(f"compose: {name} is built from the Dockerfile and uses the compose PostgreSQL",
              service.get("build", {}).get("dockerfile") == "Dockerfile" and "@postgres:5432/" in environment.get("TEAMGATE_DATABASE", "")
              and service.get("depends_on", {}).get("postgres", {}).get("condition") == "service_healthy", environment.get("TEAMGATE_DATABASE"))
    nginx = services.get("nginx", {})
    mounts = nginx.get("volumes", [])
    check("compose: nginx runs deploy/nginx.conf (as the image's default site)", "./nginx.conf:/etc/nginx/conf.d/default.conf:ro" in mounts, mounts)
    config = open(os.path.join(ROOT, "deploy", "nginx.conf")).read()
    upstreams = set(re.findall(r"^\s*server ([\w.-]+:\d+) ", config, re.M))
    wanted = {f"{name}:{instance.get('environment', {}).get('TEAMGATE_PORT')}" for name, instance in zip(("teamgate-a", "teamgate-b"), instances)}
    check("compose: nginx.conf's upstreams are the two instances at their TEAMGATE_PORT", upstreams == wanted, (upstreams, wanted))
    address = nginx.get("networks", {}).get("teamgate", {}).get("ipv4_address")
    trusted = {instance.get("environment", {}).get("TEAMGATE_TRUSTED_PROXIES") for instance in instances}
    check("compose: the instances trust nginx's fixed address, and only it", address is not None and trusted == {address}, (address, trusted))
    waits = nginx.get("depends_on", {})
    check("compose: nginx starts once both instances are healthy (the image's HEALTHCHECK)",
          all(waits.get(name, {}).get("condition") == "service_healthy" for name in ("teamgate-a", "teamgate-b")), waits)
    published = nginx.get("ports", [])
    check("compose: only nginx publishes a port; PostgreSQL and the instances stay on the internal network",
          published and all("ports" not in services[name] for name in ("postgres", "teamgate-a", "teamgate-b")), published)


def systemd_unit():
    if shutil.which("systemd-analyze") is None:
        check("systemd-analyze is installed (scripts/install-test-deps installs systemd)", False)
        return
    folder = tempfile.mkdtemp(prefix="teamgate-unit-")
    try:
        unit = open(os.path.join(ROOT, "deploy", "teamgate.service")).read()
        # verify checks that ExecStart's program exists: point it at the binary this run built.
        path = os.path.join(folder, "teamgate.service")
        with open(path, "w") as file:
            file.write(unit.replace("ExecStart=/usr/local/bin/teamgate ", f"ExecStart={binary()} "))
        verified = subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True)
        check("teamgate.service: systemd-analyze verify passes", verified.returncode == 0 and not verified.stderr.strip(), verified.stderr)
        security = subprocess.run(["systemd-analyze", "security", "--offline=true", path], capture_output=True, text=True)
        score = re.search(r"Overall exposure level for teamgate.service: ([\d.]+)", security.stdout)
        print(f"     (systemd-analyze security: {score.group(0) if score else security.stdout[-300:]})")
        check("teamgate.service: systemd-analyze security rates its exposure at most 2.0", score is not None and float(score.group(1)) <= 2.0,
              score.group(1) if score else security.stderr)
        check("teamgate.service: stopped with SIGTERM (graceful shutdown), restarted on failure",
              "KillSignal=SIGTERM" in unit and "Restart=on-failure" in unit)
        with open(os.path.join(ROOT, "deploy", "compose.yaml")) as file:
            grace = re.search(r"stop_grace_period: (\d+)s", file.read())
        stop = re.search(r"TimeoutStopSec=(\d+)", unit)
        check("teamgate.service's TimeoutStopSec and compose.yaml's stop_grace_period match, above the 10 s shutdown budget",
              grace is not None and stop is not None and grace.group(1) == stop.group(1) and int(stop.group(1)) > 10,
              f"{grace and grace.group(0)} / {stop and stop.group(0)}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main():
    variables = documented_variables()
    dockerfile(variables)
    compose(variables)
    systemd_unit()
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
