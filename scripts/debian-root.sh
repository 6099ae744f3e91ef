#!/bin/sh
# Creates (or reuses) a Debian SUITE root filesystem in which kazoo.so is built and tested
# against that suite's kamailio (scripts/in-root.sh runs commands in it). Run as root.
# Usage: scripts/debian-root.sh SUITE [DIR]     prints DIR on stdout when the root is ready
#   DIR defaults to /var/cache/kazoo-so/roots/SUITE: outside the checkout, so it survives
#   `git clean` and is shared by every checkout on the machine. MIRROR overrides the mirror
#   (default: the host's own Debian mirror, the only archive reachable from CI machines).
#   Packages: those of scripts/install-deps.sh, plus git, procps, iproute2, libc6-dev (gcc
#   only recommends it, and stdio.h is needed: Debian 12 happens to pull it in, trixie does
#   not), and cmake + debhelper (prepare.sh runs dh_auto_configure) when the suite's kamailio source package builds with CMake. One the suite
#   does not have (or whose files the mirror does not serve) is named and left out: the rest
#   is still installed. A policy-rc.d keeps every daemon (rabbitmq-server, kamailio) from
#   starting: the tests start their own. A deb-src entry lets kamailio-headers/prepare.sh
#   `apt-get source kamailio`.
#   Stages are marked in DIR: .kazoo-so-debootstrapped (a root without it, e.g. from an
#   interrupted run, is removed and bootstrapped again) and .kazoo-so-root (complete; its
#   content is the package list, so a changed list re-runs only the install stage).
#   rm DIR/.kazoo-so-root to retry packages that were missing.
set -eu
suite=${1:?usage: debian-root.sh SUITE [DIR]}
dir=${2:-/var/cache/kazoo-so/roots/$suite}
die() { echo "debian-root: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (debootstrap and chroot need it)"
pkgs="kamailio kamailio-kazoo-modules kamailio-extra-modules kamailio-presence-modules
kamailio-sqlite-modules sqlite3 kamailio-lua-modules rabbitmq-server sip-tester dpkg-dev gcc
make binutils pkg-config libssl-dev python3 ca-certificates libjson-c-dev
git procps iproute2 libc6-dev"
want=$(echo $pkgs)
mkdir -p "$dir" && dir=$(cd "$dir" && pwd)
[ "$dir" != / ] || die "DIR must not be /"
[ -f "$dir/.kazoo-so-root" ] && [ "$(cat "$dir/.kazoo-so-root")" = "$want" ] && { echo "$dir"; exit 0; }

# one builder per root; a second caller waits and then finds it complete
exec 9>"$dir.lock"
flock 9
[ -f "$dir/.kazoo-so-root" ] && [ "$(cat "$dir/.kazoo-so-root")" = "$want" ] && { echo "$dir"; exit 0; }
now() { date +%s; }
took() { echo "debian-root: $suite: $1 took $(($(now) - $2)) s" >&2; }
mirror=${MIRROR:-$(sed -n 's|^URIs: *\([^ ]*/debian\)/*$|\1|p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)}
mirror=${mirror:-$(sed -n 's|^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*/debian\)/* .*|\2|p' /etc/apt/sources.list 2>/dev/null | head -1)}
mirror=${mirror:-http://deb.debian.org/debian}

if [ ! -f "$dir/.kazoo-so-debootstrapped" ]; then
	# never rm -rf through a live mount (a /proc or the checkout bound in by hand)
	awk -v d="$dir/" 'index($5 "/", d) == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo &&
		die "something is mounted under $dir: unmount it first"
	[ -z "$(ls -A "$dir")" ] || [ -d "$dir/debootstrap" ] || [ -f "$dir/etc/debian_version" ] ||
		die "$dir is neither empty nor a Debian root: not removing it"
	command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
	rm -rf "$dir" && mkdir -p "$dir"
	echo "debian-root: debootstrap $suite from $mirror into $dir" >&2
	t=$(now)
	debootstrap --variant=minbase "$suite" "$dir" "$mirror" >"$dir.debootstrap.log" 2>&1 ||
		{ tail -5 "$dir.debootstrap.log" >&2; die "debootstrap failed, see $dir.debootstrap.log"; }
	took debootstrap "$t"
	touch "$dir/.kazoo-so-debootstrapped"
fi

# apt inside the root, with /proc and /dev (maintainer scripts want them) in a private mount
# namespace: the mounts vanish with the command, whatever happens to it
inroot() {
	unshare -m --propagation private sh -c 'mount -t proc proc "$0/proc" && mount --rbind /dev "$0/dev" &&
		exec chroot "$0" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
			DEBIAN_FRONTEND=noninteractive "$@"' "$dir" "$@"
}
cp /etc/resolv.conf "$dir/etc/resolv.conf"
# deb + deb-src of the suite, nothing else: the kamailio under test is the suite's own.
# Check-Valid-Until: no, because a mirror may be a frozen snapshot (this CI's is): sid's
# Release, valid for a week only, is then "expired" and apt-get update refuses it.
rm -f "$dir/etc/apt/sources.list"
key=/usr/share/keyrings/debian-archive-keyring.gpg
{
	printf 'Types: deb deb-src\nURIs: %s\nSuites: %s\nComponents: main\nCheck-Valid-Until: no\n' "$mirror" "$suite"
	[ -f "$dir$key" ] && echo "Signed-By: $key"
} >"$dir/etc/apt/sources.list.d/debian.sources"
printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d" && chmod +x "$dir/usr/sbin/policy-rc.d"
t=$(now)
inroot apt-get update -qq >/dev/null 2>"$dir.apt.log" || { cat "$dir.apt.log" >&2; die "apt-get update failed in $dir"; }
# kamailio 6.1 moved from `make cfg` to CMake: its source package then build-depends on cmake
srcver=$(inroot apt-cache showsrc --only-source kamailio 2>/dev/null | sed -n 's/^Version: //p' | sort -V | tail -1)
if inroot apt-cache showsrc --only-source kamailio 2>/dev/null | grep -q '^Build-Depends:.*\bcmake\b'; then
	echo "debian-root: $suite: kamailio source $srcver builds with CMake" >&2
	pkgs="$pkgs cmake debhelper"
else
	echo "debian-root: $suite: kamailio source ${srcver:-(none)} builds with make (make cfg)" >&2
fi
# shellcheck disable=SC2086
have=$(inroot sh -c 'for p; do apt-cache show --no-all-versions "$p" >/dev/null 2>&1 && echo "$p"; done; true' sh $pkgs)
missing=$(for p in $pkgs; do echo "$have" | grep -qx "$p" || echo "$p"; done)
install() { inroot apt-get install -y -qq --no-install-recommends "$@" >>"$dir.apt.log" 2>&1; }
# shellcheck disable=SC2086
if ! install $have; then
	# listed but not installable (files not served, broken dependencies): find which, one by one
	for p in $have; do install "$p" || missing="$missing $p"; done
fi
took "apt-get install" "$t"
missing=$(echo $missing)
[ -z "$missing" ] || echo "debian-root: $suite: NOT INSTALLED (not in $suite or not downloadable, see $dir.apt.log): $missing" >&2
inroot apt-get clean
inroot dpkg-query -W -f='debian-root: '"$suite"': ${Package} ${Version}\n' kamailio rabbitmq-server gcc sip-tester >&2 2>/dev/null || true
echo "$want" >"$dir/.kazoo-so-root"
echo "$dir"
