#!/usr/bin/env bash
# Build a local Python base image with debootstrap, for machines that have a Docker engine but no
# image registry. Debian trixie ships Python 3.13, which matches the cp313 wheels in wheelhouse/.
#
# Usage: docker/make-base-image.sh            (as root; skips if the tag already exists)
# Env:   BASE_IMAGE      tag to create      (default callback-sandbox/python-base:trixie)
#        DEBIAN_SUITE    suite               (default trixie)
#        DEBIAN_MIRROR   mirror URL          (default: the first Debian mirror apt uses here,
#                                            else http://deb.debian.org/debian)
#        DOCKER          docker client       (default docker)
set -euo pipefail

BASE_IMAGE="${BASE_IMAGE:-callback-sandbox/python-base:trixie}"
DEBIAN_SUITE="${DEBIAN_SUITE:-trixie}"
DOCKER="${DOCKER:-docker}"
# python3-venv: the images install into a venv (Debian's python3 is "externally managed", PEP 668).
# nodejs: the `local` Lambda executor runs Node.js functions on it.
# zip: LocalStack's CloudFormation packs a function's inline code (ZipFile) with the zip command.
PACKAGES="python3,python3-venv,ca-certificates,nodejs,zip"

# An image from an older package list is built again (its label says which packages it has).
if [ "$("$DOCKER" image inspect -f '{{index .Config.Labels "sandbox.packages"}}' "$BASE_IMAGE" 2>/dev/null)" = "$PACKAGES" ]; then
    echo "base image $BASE_IMAGE exists; nothing to do"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "error: debootstrap needs root; run as root or build with BASE_IMAGE=python:3.13-slim" >&2
    exit 1
fi
if ! command -v debootstrap >/dev/null; then
    echo "error: debootstrap not found; install it with: apt-get install -y debootstrap" >&2
    exit 1
fi

find_apt_mirror() {
    # deb822 sources (URIs: ...) first, then one-line sources (deb URL suite ...).
    local uri
    uri=$(grep -hsE '^URIs:.*/debian/?$' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | head -n1 || true)
    if [ -z "$uri" ]; then
        uri=$(grep -hsE '^deb (\[[^]]*\] )?https?://[^ ]+/debian/? ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
              | sed -E 's/^deb (\[[^]]*\] )?//' | awk '{print $1}' | head -n1 || true)
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}
DEBIAN_MIRROR="${DEBIAN_MIRROR:-$(find_apt_mirror)}"

workdir=$(mktemp -d /var/tmp/sandbox-base.XXXXXX)
trap 'rm -rf "$workdir"' EXIT
rootfs="$workdir/rootfs"

echo "debootstrap $DEBIAN_SUITE from $DEBIAN_MIRROR (minbase + $PACKAGES) ..."
debootstrap --variant=minbase --include="$PACKAGES" "$DEBIAN_SUITE" "$rootfs" "$DEBIAN_MIRROR" \
    > "$workdir/debootstrap.log" 2>&1 || {
        echo "error: debootstrap failed; last lines of its log:" >&2
        tail -n 30 "$workdir/debootstrap.log" >&2
        exit 1
    }

# Slim the image: package caches, lists, docs and man pages are not needed at runtime.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
       "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
       "$rootfs"/var/log/*.log "$rootfs"/var/cache/debconf/*-old
# The container should use the same mirror if someone apt-gets inside it.
echo "deb $DEBIAN_MIRROR $DEBIAN_SUITE main" > "$rootfs/etc/apt/sources.list"

python_version=$(chroot "$rootfs" python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
echo "python in image: $python_version"

tar --numeric-owner -C "$rootfs" -c . | "$DOCKER" import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["python3"]' \
    --change "LABEL sandbox.packages=$PACKAGES" \
    --message "debootstrap $DEBIAN_SUITE minbase + $PACKAGES" \
    - "$BASE_IMAGE" >/dev/null

"$DOCKER" image ls "$BASE_IMAGE"
