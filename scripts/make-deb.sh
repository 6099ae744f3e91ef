#!/bin/sh
# Packages build/kazoo.so as a Debian package that installs it where Debian's kamailio
# looks for modules and replaces kamailio-kazoo-modules (the C module) cleanly: it
# Conflicts/Replaces/Provides that package, so `apt install ./kamailio-kazoo-go-modules_*.deb`
# swaps one for the other and `apt install kamailio-kazoo-modules` swaps back.
#   scripts/make-deb.sh <kazoo.so> <output dir>
set -eu
so=$1
out=$2
kver=$(dpkg-query -W -f='${Version}' kamailio)         # e.g. 5.6.3-2
arch=$(dpkg --print-architecture)
moddir=$(dirname "$(dpkg -L kamailio | grep '/modules/tm.so$' | head -1)")
# Kamailio's DB API: libsrdb1 before 6.0 (the module links it), the kamailio binary since
dblib=$(readelf -d "$so" | sed -n 's/.*(NEEDED).*\[\(libsrdb1[^]]*\)\].*/\1/p')
links="the DB API of kamailio itself"
[ -z "$dblib" ] || links="$(dirname "$(dpkg -L kamailio | grep "/$dblib\$" | head -1)")/$dblib, as the C module does"
here=$(cd "$(dirname "$0")/.." && pwd)
version="${kver}+go$(git -C "$here" rev-list --count HEAD 2>/dev/null || echo 0)"
root=$(mktemp -d)
chmod 0755 "$root"
trap 'rm -rf "$root"' EXIT
install -D -m 0644 "$so" "$root$moddir/kazoo.so"
install -D -m 0644 "$here/README.md" "$root/usr/share/doc/kamailio-kazoo-go-modules/README.md"
[ -f "$here/docs/kazoo-module.md" ] &&
	install -D -m 0644 "$here/docs/kazoo-module.md" "$root/usr/share/doc/kamailio-kazoo-go-modules/kazoo-module.md"
mkdir -p "$root/DEBIAN"
cat >"$root/DEBIAN/control" <<CONTROL
Package: kamailio-kazoo-go-modules
Version: $version
Architecture: $arch
Maintainer: kazoo.so developers <kazoo-so@localhost>
Depends: kamailio (= $kver)
Conflicts: kamailio-kazoo-modules
Replaces: kamailio-kazoo-modules
Provides: kamailio-kazoo-modules
Section: net
Priority: optional
Description: kazoo module for Kamailio, in Go
 Drop-in replacement of Kamailio's kazoo AMQP module (kamailio-kazoo-modules), built for
 kamailio $kver: publisher confirms, reconnects, consumer workers that acknowledge after
 the event route, RPC and statistics. Uses $links.
CONTROL
mkdir -p "$out"
deb="$out/kamailio-kazoo-go-modules_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$root" "$deb" >/dev/null
echo "$deb"
