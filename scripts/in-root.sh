#!/bin/sh
# Runs COMMAND as root inside a Debian root made by scripts/debian-root.sh, in this checkout,
# e.g. to build and test kazoo.so against another Debian release's kamailio:
#   scripts/in-root.sh "$(scripts/debian-root.sh trixie)" make BUILD=build/debian13 CACHE=.cache/debian13
# Usage: scripts/in-root.sh DIR COMMAND...
#   The checkout is mounted read-write at its host path, so paths in build output and logs
#   match the host's; build/ and .cache/ are shared with the host too: give each release its
#   own with make BUILD=build/NAME CACHE=.cache/NAME (as scripts/matrix.sh does), or a plain
#   `make` takes one release's kazoo.so and Kamailio headers as up to date for another.
#   The host's Go toolchain (read-only), GOMODCACHE and GOCACHE are mounted too: nothing is
#   downloaded twice; the build cache keys C objects by compiler version, so sharing it
#   across releases is safe.
#   All mounts (with /proc, /dev, /dev/pts, /sys) are made in a private mount namespace
#   (unshare -m): only COMMAND and its children see them and they disappear with them,
#   whatever way they end; nothing is ever mounted on the host, so there is nothing to
#   clean up and concurrent calls cannot interfere.
#   Environment: HOME=/root, PATH with Go first, LANG=C.UTF-8, CI, E2E_FLAGS and the host's
#   effective Go settings (GOPROXY, GOSUMDB, GOPRIVATE, GOFLAGS, GOTOOLCHAIN).
set -eu
[ $# -ge 2 ] || { echo "usage: in-root.sh DIR COMMAND..." >&2; exit 2; }
dir=$(cd "$1" && pwd); shift
here=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$dir/.kazoo-so-root" ] || { echo "in-root: $dir is not a complete root (scripts/debian-root.sh)" >&2; exit 1; }
gobin=$("$here/scripts/install-deps.sh")
{ read -r goroot; read -r modcache; read -r gocache; read -r goproxy; read -r gosumdb
	read -r goprivate; read -r goflags; read -r gotoolchain; } <<EOF
$("$gobin/go" env GOROOT GOMODCACHE GOCACHE GOPROXY GOSUMDB GOPRIVATE GOFLAGS GOTOOLCHAIN)
EOF
mkdir -p "$modcache" "$gocache" "$dir$here" "$dir$goroot" "$dir$modcache" "$dir$gocache"
cp /etc/resolv.conf /etc/hosts "$dir/etc/"
exec env -i HOME=/root LANG=C.UTF-8 PATH="$goroot/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
	CI="${CI:-}" E2E_FLAGS="${E2E_FLAGS:-}" TERM="${TERM:-dumb}" GOMODCACHE="$modcache" GOCACHE="$gocache" \
	GOPROXY="$goproxy" GOSUMDB="$gosumdb" GOPRIVATE="$goprivate" GOFLAGS="$goflags" GOTOOLCHAIN="$gotoolchain" \
	unshare -m --propagation private sh -c '
	set -eu
	r=$1 src=$2 goroot=$3 modcache=$4 gocache=$5; shift 5
	mount -t proc proc "$r/proc"
	mount --rbind /dev "$r/dev"  # with /dev/pts, /dev/shm
	mount --rbind /sys "$r/sys"
	mount --bind "$src" "$r$src"
	mount --bind "$modcache" "$r$modcache"  # before GOROOT: a toolchain may live in it
	mount --bind "$gocache" "$r$gocache"
	mount --bind "$goroot" "$r$goroot" && mount -o remount,bind,ro "$r$goroot"
	exec chroot "$r" /bin/sh -c '\''cd "$0" && exec "$@"'\'' "$src" "$@"
	' sh "$dir" "$here" "$goroot" "$modcache" "$gocache" "$@"
