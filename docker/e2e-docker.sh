#!/usr/bin/env bash
# Docker mode end to end (`make e2e-docker`): a Docker engine (started here if this user can), a base
# image (debootstrap-built locally when possible, so no registry is needed), the wheelhouse, the image
# builds, `make up MODE=docker`, `make e2e` against it, `make down`.
#
# Where Docker cannot run it prints "SKIP: <reason>" and exits 0; E2E_DOCKER_REQUIRED=1 turns a skip
# into a failure (for CI machines that must run it).
#
# Env: SANDBOX_BASE_IMAGE  use this base image instead of building/pulling one
#      KEEP_DOCKERD=1      leave a dockerd that this script started running afterwards
#      E2E_DOCKER_REQUIRED=1
set -euo pipefail
repo_root=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo_root"

log() { printf '\n=== e2e-docker: %s (%s)\n' "$*" "$(date +%H:%M:%S)"; }
skip() {
    echo "SKIP: docker mode end to end: $*" >&2
    if [ "${E2E_DOCKER_REQUIRED:-0}" = 1 ]; then exit 1; fi
    exit 0
}

command -v docker >/dev/null 2>&1 || skip "no docker client (install Docker, or as root: apt-get install docker.io)"

# 1. Engine: use one that answers; else start dockerd ourselves when we are root and have it.
started_dockerd=""
dockerd_log="${TMPDIR:-/tmp}/e2e-docker-dockerd.log"
if ! docker info >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ] || ! command -v dockerd >/dev/null 2>&1; then
        skip "no Docker engine answers and this user cannot start dockerd (needs root and docker.io)"
    fi
    log "starting dockerd (log: $dockerd_log)"
    dockerd >"$dockerd_log" 2>&1 &
    started_dockerd=$!
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && break
        kill -0 "$started_dockerd" 2>/dev/null || break
        sleep 0.5
    done
    docker info >/dev/null 2>&1 || { tail -n 20 "$dockerd_log" >&2; skip "dockerd did not start (see $dockerd_log)"; }
fi

if docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
    compose=(docker-compose)
else
    skip "no compose client (docker compose v2 or docker-compose)"
fi
echo "engine: $(docker version -f '{{.Server.Version}}'), compose: $("${compose[@]}" version --short 2>/dev/null || true)"

cleanup() {
    local rc=$?
    log "make down MODE=docker"
    make down MODE=docker || true
    if [ -n "$started_dockerd" ] && [ "${KEEP_DOCKERD:-0}" != 1 ]; then
        log "stopping the dockerd this script started (pid $started_dockerd)"
        kill "$started_dockerd" 2>/dev/null || true
        wait "$started_dockerd" 2>/dev/null || true
    fi
    exit "$rc"
}

# 2. Base image: given, else debootstrap (root), else whatever python:3.13-slim the engine has or can pull.
if [ -z "${SANDBOX_BASE_IMAGE:-}" ]; then
    if [ "$(id -u)" -eq 0 ] && command -v debootstrap >/dev/null 2>&1; then
        log "base image (debootstrap)"
        BASE_IMAGE=callback-sandbox/python-base:trixie docker/make-base-image.sh
        SANDBOX_BASE_IMAGE=callback-sandbox/python-base:trixie
    else
        SANDBOX_BASE_IMAGE=python:3.13-slim
        docker image inspect "$SANDBOX_BASE_IMAGE" >/dev/null 2>&1 || docker pull "$SANDBOX_BASE_IMAGE" \
            || skip "no base image: cannot pull $SANDBOX_BASE_IMAGE and cannot debootstrap (needs root + debootstrap)"
    fi
fi
export SANDBOX_BASE_IMAGE

# 3. Wheelhouse, so the builds need no package index.
log "wheelhouse"
docker/make-wheelhouse.sh
export SANDBOX_WHEELHOUSE=wheelhouse

# Files the bootstrap container writes into .sandbox/ belong to the user running this.
SANDBOX_UID=$(id -u)
SANDBOX_GID=$(id -g)
export SANDBOX_UID SANDBOX_GID

for port in "${LOCALSTACK_PORT:-4566}" "${SMTP_PORT:-1025}" "${MAILCATCHER_PORT:-8025}"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "error: port $port is in use (a sandbox already running? try \`make down\`)" >&2
        exit 1
    fi
done

trap cleanup EXIT

# 4. Build, up, test.
log "building images (base $SANDBOX_BASE_IMAGE)"
"${compose[@]}" -p "${COMPOSE_PROJECT_NAME:-callback-sandbox}" build
log "make up MODE=docker"
make up MODE=docker
log "make e2e"
make e2e
log "passed"
