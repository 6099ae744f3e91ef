#!/bin/sh
# Checks a freshly built kazoo.so before it may replace build/kazoo.so:
#  1. it carries the exact module_version/module_flags strings the target kamailio compares
#     (found in that binary by kamailio-headers/check-version.sh, kept in the cache directory);
#  2. every symbol it needs from Kamailio is exported by that kamailio binary or by the
#     Kamailio library it links (libsrdb1 before 6.0, found through the module's runpath);
#  3. the Go runtime's bootstrap goes through __wrap_pthread_create, so that it is captured
#     at dlopen instead of starting threads in Kamailio's main process. A Go toolchain that
#     bootstraps differently fails here, at build time, not as a hang at run time.
# Usage: check-module.sh [--bootstrap-only | --strings CACHE_DIR] kazoo.so
set -eu
only_bootstrap=""; cache=.cache/kamailio
[ "${1:-}" = "--bootstrap-only" ] && { only_bootstrap=1; shift; }
[ "${1:-}" = "--strings" ] && { cache=${2:?cache dir}; shift 2; }
so=${1:?kazoo.so}
bin=${KAMAILIO_BIN:-/usr/sbin/kamailio}
fail() { echo "check-module: $so: $*" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -z "$only_bootstrap" ]; then
version=$(cat "$cache/module_version") && flags=$(cat "$cache/module_flags") ||
	fail "no module_version/module_flags in $cache (run kamailio-headers/prepare.sh $cache)"
strings -a "$so" | grep -qxF "$version" || fail "module_version is not '$version'"
strings -a "$so" | grep -qxF "$flags" || fail "module_flags are not those $bin compares"

# Kamailio's binary, and its libraries the module links (libsrdb1 for the DB API before 6.0)
runpath=$(readelf -d "$so" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
{
	nm -D --defined-only "$bin" | awk '{print $3}'
	for lib in $(readelf -d "$so" | sed -n 's/.*(NEEDED).*\[\(lib\(srdb\|kcore\|trie\)[^]]*\)\]/\1/p'); do
		[ -f "$runpath/$lib" ] || fail "$so needs $lib, not found in its runpath '$runpath'"
		nm -D --defined-only "$runpath/$lib" | awk '{print $3}'
	done
} | sort -u >"$tmp/exported"
nm -D --undefined-only "$so" | awk '{print $2}' | grep -v '@' | grep -v '^_ITM_\|^__gmon_start__$\|^_Jv_' |
	sort -u >"$tmp/needed"
missing=$(comm -23 "$tmp/needed" "$tmp/exported")
[ -z "$missing" ] || fail "symbols not exported by $bin (or its libraries): $missing"
fi

# the runtime creates its threads in _cgo_try_pthread_create (runtime/cgo); it must call the wrapper
objdump -d --no-show-raw-insn "$so" | awk '/<_cgo_try_pthread_create>:/{f=1} f&&/^$/{exit} f' >"$tmp/try"
[ -s "$tmp/try" ] || fail "no _cgo_try_pthread_create: the Go runtime's thread creation changed; the bootstrap capture (cshim/go_runtime.c) must be revisited"
grep -q '__wrap_pthread_create' "$tmp/try" || fail "_cgo_try_pthread_create does not call __wrap_pthread_create: the bootstrap would not be captured"
if grep -q 'call.*<pthread_create@' "$tmp/try"; then
	fail "_cgo_try_pthread_create calls pthread_create directly"
fi
echo "check-module: $so: version, flags, symbols and bootstrap wrapper OK"
