#!/bin/sh
# Obtain the headers and compile defines of the Kamailio that kazoo.so will be loaded into.
#
# Kamailio loads a module only if its module_version and module_flags strings equal the core's
# byte for byte, and both are built from the -D defines of Kamailio's own "make cfg". So we
# build against the exact source tree of the installed version, configured exactly as the
# distribution configured it, and check the result against `kamailio -v` before any Go is built.
#
# Usage: kamailio-headers/prepare.sh OUTDIR
#   KAMAILIO_BIN  the kamailio binary to match (default: kamailio on PATH, else /usr/sbin/kamailio)
#   KAMAILIO_SRC  a Kamailio source tree of that version (yours); configured with `make cfg` if it
#                 has no src/config.mak yet (KAMAILIO_CFG_ARGS are passed to that make cfg).
#                 Without it, on Debian/Ubuntu the source package of the installed kamailio is
#                 fetched with apt-get source, its patches applied, and debian/rules configures it.
# Writes OUTDIR/src (link to the tree's src/), OUTDIR/kamdefs.h and OUTDIR/version; reuses them
# when they are already there for the same kamailio -v. Nothing here is committed (.cache/ is ignored).
set -eu
OUT=${1:?usage: prepare.sh OUTDIR}
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
KAMAILIO_BIN=${KAMAILIO_BIN:-$(command -v kamailio || echo /usr/sbin/kamailio)}
die() { echo "kamailio-headers: $*" >&2; exit 1; }

[ -x "$KAMAILIO_BIN" ] || die "no kamailio binary at '$KAMAILIO_BIN' (install kamailio, or set KAMAILIO_BIN)"
want_version=$("$KAMAILIO_BIN" -v | sed -n 's/^version: //p' | sed 's/ *$//')
want_flags=$("$KAMAILIO_BIN" -v | sed -n 's/^flags: //p' | sed 's/ *$//')
[ -n "$want_version" ] || die "cannot read the version from '$KAMAILIO_BIN -v'"
version=$(echo "$want_version" | awk '{print $2}')
stamp="$want_version|$want_flags|${KAMAILIO_SRC:-}"
mkdir -p "$OUT"
if [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$stamp" ] && [ -f "$OUT/kamdefs.h" ] && [ -d "$OUT/src/core" ]; then
	exit 0
fi

if [ -n "${KAMAILIO_SRC:-}" ]; then
	tree=$(cd "$KAMAILIO_SRC" && pwd)
	[ -f "$tree/src/core/sr_module.h" ] || die "KAMAILIO_SRC=$tree is not a Kamailio source tree (no src/core/sr_module.h)"
	if [ ! -f "$tree/src/config.mak" ]; then
		echo "kamailio-headers: configuring $tree with make cfg ${KAMAILIO_CFG_ARGS:-}" >&2
		# shellcheck disable=SC2086
		make -C "$tree" cfg ${KAMAILIO_CFG_ARGS:-} >"$OUT/make-cfg.log" 2>&1 || die "make cfg failed, see $OUT/make-cfg.log"
	fi
else
	command -v dpkg-query >/dev/null || die "not a Debian-based system: set KAMAILIO_SRC to a Kamailio $version source tree"
	debver=$(dpkg-query -W -f='${Version}' kamailio 2>/dev/null) || die "package kamailio is not installed (or set KAMAILIO_SRC)"
	tree="$OUT/kamailio-$debver"
	if [ ! -f "$tree/configure-stamp" ]; then
		"$HERE/fetch-debian-source.sh" "$debver" "$OUT/dl"
		rm -rf "$tree"
		command -v dpkg-source >/dev/null || die "dpkg-source missing: apt-get install dpkg-dev"
		# dpkg-source applies debian/patches, as the package build did
		(cd "$OUT/dl" && dpkg-source -x "kamailio_$(echo "$debver" | sed 's/^[0-9]*://').dsc" "$tree") >"$OUT/unpack.log" 2>&1 \
			|| die "dpkg-source -x failed, see $OUT/unpack.log"
		echo "kamailio-headers: configuring with debian/rules (the distribution's make cfg)" >&2
		(cd "$tree" && make -f debian/rules configure-stamp) >"$OUT/make-cfg.log" 2>&1 \
			|| die "debian/rules configure-stamp failed, see $OUT/make-cfg.log"
	fi
fi

[ -f "$tree/src/config.mak" ] || die "no src/config.mak in $tree after make cfg"
rm -f "$OUT/src" && ln -s "$tree/src" "$OUT/src"
"$HERE/gen-kamdefs.sh" "$tree/src" >"$OUT/kamdefs.h.new"
"$HERE/check-version.sh" "$OUT/kamdefs.h.new" "$tree/src" "$KAMAILIO_BIN"
mv "$OUT/kamdefs.h.new" "$OUT/kamdefs.h"
echo "$version" >"$OUT/version"
echo "$stamp" >"$OUT/stamp"
echo "kamailio-headers: ready for '$want_version' in $OUT" >&2
