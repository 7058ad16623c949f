# syntax=docker/dockerfile:1
# TeamGate's image: built with the official Swift image, run on Debian slim as a non-root user.
#
#   docker build -t teamgate .
#   docker run -p 8080:8080 -v teamgate-data:/var/lib/teamgate -e TEAMGATE_OTP_SENDER=webhook:https://sms.example/send teamgate
#
# deploy/compose.yaml runs two of these behind nginx on one PostgreSQL. scripts/checks/deploy_files_check.py checks
# this file's shape (no Docker engine runs where CI does); the build commands below are the ones it runs.

ARG SWIFT_VERSION=6.3
FROM swift:${SWIFT_VERSION}-bookworm AS build
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libsqlite3-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
# The dependencies first, so a change to TeamGate's sources does not fetch them again.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
# The Swift runtime linked in: the runtime image needs no Swift toolchain.
RUN swift build -c release --product teamgate --static-swift-stdlib \
    && mkdir /staging \
    && cp "$(swift build -c release --show-bin-path)/teamgate" /staging/ \
    && cp -R "$(swift build -c release --show-bin-path)/TeamGate_TeamGate.resources" /staging/

FROM debian:bookworm-slim
# libsqlite3 for the SQLite store, CA certificates for webhooks and TLS to PostgreSQL, curl for the health check.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libsqlite3-0 ca-certificates curl tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/teamgate --create-home --shell /usr/sbin/nologin teamgate
# The resources bundle (API reference, console assets, OpenAPI document) sits beside the binary, where it looks.
COPY --from=build /staging/ /usr/local/bin/
USER teamgate
WORKDIR /var/lib/teamgate
VOLUME /var/lib/teamgate
ENV TEAMGATE_HOST=0.0.0.0 \
    TEAMGATE_PORT=8080 \
    TEAMGATE_DATABASE=/var/lib/teamgate/teamgate.sqlite
EXPOSE 8080
# /health: the process is up and serving. A load balancer should ask /ready instead (database reachable, sessions loaded).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 CMD curl -fsS http://127.0.0.1:8080/health || exit 1
# SIGTERM (docker stop) shuts down gracefully: sockets told, requests finished, the last writes committed.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/teamgate"]
CMD ["serve"]
