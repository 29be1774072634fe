#!/usr/bin/env bash
# Docker mode end to end (`make e2e-docker`): what Docker needs (installed here when it can be), an engine
# (started here when this user can), a base image (debootstrap-built locally when possible, so no registry is
# needed), the wheels image, then `make up MODE=docker`, the end-to-end tests against it (the approval loop,
# the Workflows page, the fault matrices) and the docker-mode lifecycle tests, and `make down`.
#
# Where Docker cannot run it prints "SKIP: <reason and the command that fixes it>" and exits 0;
# E2E_DOCKER_REQUIRED=1 turns a skip into a failure (for CI machines that must run it).
#
# Env: SANDBOX_BASE_IMAGE   use this base image instead of building/pulling one
#      E2E_DOCKER_INSTALL=0 never install packages; print the command instead
#      E2E_DOCKER_DRY_RUN=1 stop after the checks: print what would be installed or started
#      KEEP_DOCKERD=1       leave a dockerd that this script started running afterwards
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
have() { command -v "$1" >/dev/null 2>&1; }
engine_answers() { have docker && docker info >/dev/null 2>&1; }
uid=$(id -u)

# 1. Packages: Debian's docker.io (client and engine), docker-compose 1.29, debootstrap (the base image).
missing=()
if ! have docker || { ! engine_answers && ! have dockerd; }; then missing+=(docker.io); fi
if ! { have docker && docker compose version >/dev/null 2>&1; } && ! have docker-compose; then
    missing+=(docker-compose)
fi
if [ -z "${SANDBOX_BASE_IMAGE:-}" ] && ! have debootstrap; then missing+=(debootstrap); fi
if [ ${#missing[@]} -gt 0 ]; then
    install="apt-get update && apt-get install -y ${missing[*]}"
    if [ "$uid" -ne 0 ]; then
        skip "${missing[*]} not installed, and this user (uid $uid) is not root, so it cannot install them; run: sudo sh -c '$install'"
    elif ! have apt-get; then
        skip "${missing[*]} not installed, and this is not a Debian-like system (no apt-get); install Docker Engine with Compose and debootstrap (https://docs.docker.com/engine/install/)"
    elif [ "${E2E_DOCKER_INSTALL:-1}" = 0 ]; then
        skip "${missing[*]} not installed (E2E_DOCKER_INSTALL=0 installs nothing); run: $install"
    elif [ "${E2E_DOCKER_DRY_RUN:-0}" = 1 ]; then
        echo "would run: $install"
    else
        log "installing ${missing[*]}"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
            || skip "could not install ${missing[*]} (see apt-get's message above); run: $install"
    fi
fi

cleanup() {
    local rc=$?
    if [ -n "$sandbox_started" ]; then
        log "make down MODE=docker"
        make down MODE=docker || true
    fi
    if [ -n "$started_dockerd" ] && [ "${KEEP_DOCKERD:-0}" != 1 ]; then
        log "stopping the dockerd this script started (pid $started_dockerd)"
        kill "$started_dockerd" 2>/dev/null || true
        wait "$started_dockerd" 2>/dev/null || true
    fi
    exit "$rc"
}
sandbox_started=""

# 2. Engine: use one that answers; else start dockerd ourselves (root only), stopped again on any exit.
started_dockerd=""
dockerd_log="${TMPDIR:-/tmp}/e2e-docker-dockerd.log"
if ! engine_answers && [ "${E2E_DOCKER_DRY_RUN:-0}" != 1 ]; then
    if [ "$uid" -ne 0 ]; then
        skip "no Docker engine answers, and this user (uid $uid) is not root, so it cannot start dockerd; start it (sudo systemctl start docker, or sudo dockerd &) and make sure this user may use it (sudo usermod -aG docker $(id -un))"
    fi
    log "starting dockerd (log: $dockerd_log)"
    dockerd >"$dockerd_log" 2>&1 &
    started_dockerd=$!
    trap cleanup EXIT
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && break
        kill -0 "$started_dockerd" 2>/dev/null || break
        sleep 0.5
    done
    docker info >/dev/null 2>&1 || { tail -n 20 "$dockerd_log" >&2; skip "dockerd did not start (see $dockerd_log)"; }
elif ! engine_answers; then
    echo "would start: dockerd &"
fi
if [ "${E2E_DOCKER_DRY_RUN:-0}" = 1 ]; then
    echo "dry run: checks passed"
    exit 0
fi

if docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
else
    compose=(docker-compose)
fi
echo "engine: $(docker version -f '{{.Server.Version}}'), compose: $("${compose[@]}" version --short 2>/dev/null || true)"

# 3. Base image: given, else debootstrap (root), else whatever python:3.13-slim the engine has or can pull.
if [ -z "${SANDBOX_BASE_IMAGE:-}" ]; then
    if [ "$uid" -eq 0 ] && have debootstrap; then
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

# 4. The wheels, as an image the builds copy from, so they need no package index.
log "wheelhouse"
docker/make-wheelhouse.sh

trap cleanup EXIT
sandbox_started=1

# 5. Up (builds the images), the end-to-end tests against it, the docker-mode lifecycle on a project of its own.
log "make up MODE=docker"
make up MODE=docker
log "end-to-end tests against the docker sandbox, and the docker-mode lifecycle"
# The local-mode lifecycle and restart tests start sandboxes of their own in local mode: `make test` runs them.
SANDBOX_E2E_DOCKER=1 .venv/bin/python -m pytest tests/e2e \
    --ignore=tests/e2e/test_make_lifecycle.py --ignore=tests/e2e/test_faults_restart.py
log "passed"
