#!/bin/sh
# Obtain the headers and compile defines of the Kamailio that kazoo.so will be loaded into.
#
# Kamailio loads a module only if its module_version and module_flags strings equal the core's
# byte for byte, and both are built from the -D defines of Kamailio's own build configuration
# (`make cfg`, or CMake since 6.0). So we build against the exact source tree of the target
# version, configured exactly as its binary was, and check the result against the strings the
# binary compares before any Go is built.
#
# Usage: kamailio-headers/prepare.sh OUTDIR
#   KAMAILIO_BIN        the kamailio binary to match (default: kamailio on PATH, else /usr/sbin/kamailio)
#   KAMAILIO_SRC        a Kamailio source tree of that version (yours), configured with `make cfg`
#                       (it has src/config.mak) or with CMake (a build directory, see below).
#                       Without it, on Debian/Ubuntu the source package of the installed kamailio
#                       is fetched with apt-get source, its patches applied, and configured the
#                       way its debian/rules does.
#   KAMAILIO_BUILD_DIR  the CMake build directory of KAMAILIO_SRC (default: the directory below
#                       KAMAILIO_SRC holding a CMakeCache.txt for it, e.g. build/)
#   KAMAILIO_LIBDIR     where libsrdb1.so is, for a kamailio older than 6.0 (default: found from
#                       the package or beside the binary)
#   KAZOO_ALLOW_UNTESTED=1  build for a Kamailio version outside the tested range
# Writes OUTDIR/src (link to the tree's src/), OUTDIR/kamdefs.h, OUTDIR/version,
# OUTDIR/module_version and OUTDIR/module_flags (the strings kazoo.so must carry) and
# OUTDIR/ldflags (how the shim links Kamailio's DB API); rewrites OUTDIR/stamp only when the
# target changed, so that make rebuilds only then. Nothing here is committed (.cache/ is ignored).
set -eu
OUT=${1:?usage: prepare.sh OUTDIR}
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
KAMAILIO_BIN=${KAMAILIO_BIN:-$(command -v kamailio || echo /usr/sbin/kamailio)}
TESTED="5.6 5.7 5.8 6.0 6.1"   # the README's table of supported versions
die() { echo "kamailio-headers: $*" >&2; exit 1; }

[ -x "$KAMAILIO_BIN" ] || die "no kamailio binary at '$KAMAILIO_BIN' (install kamailio, or set KAMAILIO_BIN)"
KAMAILIO_BIN=$(readlink -f "$KAMAILIO_BIN")
display=$("$KAMAILIO_BIN" -v 2>/dev/null | sed -n 's/^version: //p' | sed 's/ *$//')
[ -n "$display" ] || die "cannot read the version from '$KAMAILIO_BIN -v'"
version=$(echo "$display" | awk '{print $2}')
case " $TESTED " in
*" ${version%.*} "*) ;;
*) [ "${KAZOO_ALLOW_UNTESTED:-}" = 1 ] ||
	die "kamailio $version is not a version kazoo.so is tested with ($TESTED); KAZOO_ALLOW_UNTESTED=1 builds for it anyway (then run scripts/test.sh)" ;;
esac
stamp="$(cat "$KAMAILIO_BIN" "$HERE"/*.sh | sha256sum | cut -c1-16)|$version|${KAMAILIO_SRC:-}|${KAMAILIO_BUILD_DIR:-}|${KAMAILIO_LIBDIR:-}"
if [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$stamp" ] && [ -f "$OUT/kamdefs.h" ] &&
	[ -d "$OUT/src/core" ] && [ -f "$OUT/ldflags" ]; then
	exit 0
fi

# the CMake build directory configured for source tree $1, if any
cmake_build_dir() {
	if [ -n "${KAMAILIO_BUILD_DIR:-}" ]; then
		[ -f "$KAMAILIO_BUILD_DIR/CMakeCache.txt" ] || die "KAMAILIO_BUILD_DIR=$KAMAILIO_BUILD_DIR has no CMakeCache.txt: run cmake -S $1 -B $KAMAILIO_BUILD_DIR first"
		(cd "$KAMAILIO_BUILD_DIR" && pwd)
		return
	fi
	for c in "$1"/CMakeCache.txt "$1"/*/CMakeCache.txt; do
		[ -f "$c" ] && grep -qx "CMAKE_HOME_DIRECTORY:INTERNAL=$1" "$c" && { dirname "$c"; return; }
	done
	return 0
}

# configure a Debian source tree as its debian/rules does: `make cfg` (configure-stamp) up to
# 6.0; dh's cmake build system since 6.1 (debian/rules' override_dh_auto_configure, into
# obj-<arch>). Only the core's defines matter, so the CMake configure is asked for one module,
# sl (every other one excluded, no package group): configuring Debian's module groups would
# need the package's whole Build-Depends.
configure_debian() {
	tree=$1
	if grep -q '^configure-stamp:' "$tree/debian/rules"; then
		echo "kamailio-headers: configuring with debian/rules (the distribution's make cfg)" >&2
		(cd "$tree" && make -f debian/rules configure-stamp) >"$OUT/configure.log" 2>&1 ||
			die "debian/rules configure-stamp failed, see $OUT/configure.log"
	elif grep -q 'buildsystem=cmake' "$tree/debian/rules"; then
		command -v cmake >/dev/null && command -v dh_auto_configure >/dev/null ||
			die "the kamailio source package builds with CMake: apt-get install cmake debhelper"
		echo "kamailio-headers: configuring with debian/rules (dh's cmake build system, module sl only)" >&2
		others=$(ls "$tree/src/modules" | grep -vx sl | tr '\n' ' ')
		(cd "$tree" && if grep -q '^override_dh_auto_configure:' debian/rules; then
			DH_OPTIONS=--buildsystem=cmake make -f debian/rules override_dh_auto_configure \
				PACKAGE_GROUPS= EXTRA_GROUPS= EXCLUDED_MODULES="$others" EXTRA_EXCLUDED_MODULES=
		else dh_auto_configure --buildsystem=cmake -- -DMODULE_GROUP_NAME= -DINCLUDE_MODULES=sl; fi) >"$OUT/configure.log" 2>&1 ||
			die "debian/rules' CMake configure failed, see $OUT/configure.log"
	else
		die "cannot tell how $tree/debian/rules configures kamailio: set KAMAILIO_SRC to a configured tree"
	fi
}

if [ -n "${KAMAILIO_SRC:-}" ]; then
	tree=$(cd "$KAMAILIO_SRC" && pwd)
	[ -f "$tree/src/core/sr_module.h" ] || die "KAMAILIO_SRC=$tree is not a Kamailio source tree (no src/core/sr_module.h)"
else
	command -v dpkg-query >/dev/null || die "not a Debian-based system: set KAMAILIO_SRC to a configured Kamailio $version source tree"
	debver=$(dpkg-query -W -f='${Version}' kamailio 2>/dev/null) || die "package kamailio is not installed (or set KAMAILIO_SRC)"
	tree="$OUT/kamailio-$debver"
	if [ ! -f "$tree/.kazoo-configured" ]; then
		"$HERE/fetch-debian-source.sh" "$debver" "$OUT/dl"
		rm -rf "$tree"
		command -v dpkg-source >/dev/null || die "dpkg-source missing: apt-get install dpkg-dev"
		# dpkg-source applies debian/patches, as the package build did; --no-check because apt
		# checked every file's hash already and a mirror may lack the upstream signature
		(cd "$OUT/dl" && dpkg-source --no-check -x "kamailio_$(echo "$debver" | sed 's/^[0-9]*://').dsc" "$tree") >"$OUT/unpack.log" 2>&1 \
			|| die "dpkg-source -x failed, see $OUT/unpack.log"
		configure_debian "$tree"
		touch "$tree/.kazoo-configured"
	fi
fi

builddir=""
if [ -f "$tree/src/config.mak" ]; then
	"$HERE/gen-kamdefs.sh" make "$tree/src" >"$OUT/kamdefs.h.new"
else
	builddir=$(cmake_build_dir "$tree")
	if [ -z "$builddir" ]; then
		if [ -f "$tree/CMakeLists.txt" ]; then
			die "$tree is not configured: configure it as your kamailio was built, with CMake (cmake -S $tree -B $tree/build <options>; or KAMAILIO_BUILD_DIR=<its build dir>) or make (make -C $tree cfg <options>)"
		fi
		die "$tree is not configured: configure it as your kamailio was built (make -C $tree cfg <options>)"
	fi
	"$HERE/gen-kamdefs.sh" cmake "$builddir" >"$OUT/kamdefs.h.new"
fi
"$HERE/check-version.sh" "$OUT/kamdefs.h.new" "$tree/src" "$KAMAILIO_BIN" "$OUT"

# Kamailio's DB API (kazoo_pua_publish): a library, libsrdb1, up to 5.8; part of the kamailio
# binary from 6.0 on, whose exports then resolve the module's references as for any core symbol
if nm -D --defined-only "$KAMAILIO_BIN" | awk '{print $3}' | grep -qx db_bind_mod; then
	: >"$OUT/ldflags"
else
	libdir=${KAMAILIO_LIBDIR:-}
	if [ -z "$libdir" ] && command -v dpkg >/dev/null; then
		libdir=$(dirname "$(dpkg -S "$KAMAILIO_BIN" >/dev/null 2>&1 && dpkg -L kamailio | grep '/libsrdb1\.so' | head -1)")
	fi
	[ -n "$libdir" ] && [ "$libdir" != . ] ||
		libdir=$(dirname "$(ls "$(dirname "$KAMAILIO_BIN")"/../lib*/kamailio/libsrdb1.so* \
			"$(dirname "$KAMAILIO_BIN")"/../lib/*/kamailio/libsrdb1.so* 2>/dev/null | head -1)")
	lib=$(cd "$libdir" 2>/dev/null && ls libsrdb1.so* 2>/dev/null | sort | head -1) || true
	[ -n "$lib" ] || die "kamailio $version keeps its DB API in libsrdb1.so, not found beside $KAMAILIO_BIN: set KAMAILIO_LIBDIR"
	libdir=$(cd "$libdir" && pwd)
	echo "-L$libdir -l:$lib -Wl,-rpath,$libdir" >"$OUT/ldflags"
fi

mv "$OUT/kamdefs.h.new" "$OUT/kamdefs.h"
rm -f "$OUT/src" && ln -s "$tree/src" "$OUT/src"
# CMake generates some headers into its build directory
rm -f "$OUT/build" && [ -n "$builddir" ] && ln -s "$builddir" "$OUT/build"
echo "$version" >"$OUT/version"
echo "$stamp" >"$OUT/stamp"
echo "kamailio-headers: ready for '$display' ($(cat "$OUT/module_flags" | tr -cd , | wc -c | awk '{print $1+1}') flags${builddir:+, CMake build $builddir}) in $OUT" >&2
