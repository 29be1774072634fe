#!/usr/bin/env bash
# Build wheelhouse/ on the host: every Python package the docker images install, as wheels, resolved with the
# project's lock (constraints.txt). `make up MODE=docker` turns the folder into the image
# callback-sandbox/wheelhouse:local (sandbox/build_images.py, again only when the wheels change); the Dockerfiles
# copy the wheels from it (build argument WHEELS_IMAGE) and install with `pip install --no-index --find-links`,
# so images build without any package index, and the wheels reach the engine once, not with every build.
#
# The wheels must match the images' Python: cp313 on Linux of the host's architecture. The Python that runs
# `pip wheel` here must therefore be CPython 3.13 on Linux (the project venv is).
#
# Usage: docker/make-wheelhouse.sh
# Env:   PYTHON        interpreter to run pip with   (default .venv/bin/python, else python3)
#        WHEELHOUSE    output directory             (default wheelhouse)
set -euo pipefail

repo_root=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo_root"

WHEELHOUSE="${WHEELHOUSE:-wheelhouse}"
if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi

tag=$("$PYTHON" -c 'import sys, platform; print(f"{sys.implementation.name}{sys.version_info[0]}{sys.version_info[1]}-{platform.system()}")')
if [ "$tag" != "cpython313-Linux" ]; then
    echo "error: $PYTHON is $tag; the images run CPython 3.13 on Linux, so the wheelhouse must be built" >&2
    echo "       with CPython 3.13 on Linux (set PYTHON=/path/to/python3.13)" >&2
    exit 1
fi

mkdir -p "$WHEELHOUSE"
log="$WHEELHOUSE/pip-wheel.log"
# docker/requirements.txt covers every image; the catcher's own list is added so a new dependency there
# is never missing from the wheelhouse.
requirements=(-r docker/requirements.txt)
if [ -f mailcatcher/requirements.txt ]; then requirements+=(-r mailcatcher/requirements.txt); fi
echo "building wheels for ${requirements[*]} (constraints.txt) into $WHEELHOUSE/ ..."
# --find-links the wheelhouse itself: a second run reuses what is there and needs no network.
if ! "$PYTHON" -m pip wheel --disable-pip-version-check \
        -c constraints.txt "${requirements[@]}" \
        --find-links "$WHEELHOUSE" -w "$WHEELHOUSE" > "$log" 2>&1; then
    echo "error: pip wheel failed; see $log. Last lines:" >&2
    grep -v 'is ignored: it is neither' "$log" | tail -n 20 >&2
    exit 1
fi
# A yanked release is one its authors withdrew: the lock must not pin one.
if grep -q 'is a yanked version' "$log"; then
    echo "error: the lock pins a yanked release:" >&2
    grep -A1 'is a yanked version' "$log" >&2
    exit 1
fi
# Wheels the lock no longer asks for (an older pin) would ride along in the image: drop them.
used=$(grep -oE '(Saved|File was already downloaded) \S+\.whl' "$log" | sed -E 's|.*/||' | sort -u)
for wheel in "$WHEELHOUSE"/*.whl; do
    grep -qxF "$(basename "$wheel")" <<<"$used" || { echo "removing $(basename "$wheel") (not in the lock)"; rm -f "$wheel"; }
done
echo "$(find "$WHEELHOUSE" -name '*.whl' | wc -l) wheels in $WHEELHOUSE/ ($(du -sh "$WHEELHOUSE" | cut -f1))"

