#!/usr/bin/env bash
# Build wheelhouse/ on the host: every Python package the docker images install, as wheels, resolved
# with the project's lock (constraints.txt). The Dockerfiles then install with
# `pip install --no-index --find-links /wheelhouse`, so images build without any package index.
#
# The wheels must match the images' Python: cp313 on Linux of the host's architecture. The Python
# that runs `pip wheel` here must therefore be CPython 3.13 on Linux (the project venv is).
#
# Usage: docker/make-wheelhouse.sh
# Env:   PYTHON      interpreter to run pip with   (default .venv/bin/python, else python3)
#        WHEELHOUSE  output directory             (default wheelhouse)
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
echo "$(find "$WHEELHOUSE" -name '*.whl' | wc -l) wheels in $WHEELHOUSE/ ($(du -sh "$WHEELHOUSE" | cut -f1))"
