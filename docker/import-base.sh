#!/bin/sh
# Without Docker Hub: makes the base image debian:SUITE (what docker/Dockerfile and
# docker/rabbitmq.Dockerfile start FROM) from the Debian archive with debootstrap, and
# imports it into the local docker. Run as root.
#   docker/import-base.sh SUITE         e.g. bookworm, trixie
# MIRROR overrides the mirror (default: the host's own Debian mirror). CA certificates the
# host added under /usr/local/share/ca-certificates (a proxy's, say) are copied into the
# image so that the Go module proxy can be reached from docker build as from the host.
set -eu
suite=${1:?usage: import-base.sh SUITE}
die() { echo "import-base: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (debootstrap needs it)"
command -v docker >/dev/null || die "no docker command"
mirror=${MIRROR:-$(sed -n 's|^URIs: *\([^ ]*/debian\)/*$|\1|p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)}
mirror=${mirror:-$(sed -n 's|^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*/debian\)/* .*|\2|p' /etc/apt/sources.list 2>/dev/null | head -1)}
mirror=${mirror:-http://deb.debian.org/debian}
command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
root=$(mktemp -d /tmp/import-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "import-base: debootstrap $suite from $mirror" >&2
debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$root.log" 2>&1 ||
	{ tail -5 "$root.log" >&2; die "debootstrap failed, see $root.log"; }
rm -f "$root.log"
if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
	mkdir -p "$root/usr/local/share/ca-certificates"
	cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
	# ca-certificates (installed by the Dockerfiles) adds them to the bundle
fi
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import -c 'CMD ["bash"]' - "debian:$suite" >/dev/null
echo "import-base: debian:$suite imported" >&2
