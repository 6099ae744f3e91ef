#!/bin/sh
# Fail the build, with a clear message, when the module_version or module_flags that kazoo.so
# would carry are not the strings the target kamailio binary compares when it loads a module
# (src/core/sr_module.c: strcmp with SER_FULL_VERSION and SER_COMPILE_FLAGS, literals in its
# .rodata). `kamailio -v` is only a display: since 6.1 its flags line also lists memory-debug
# flags that the loader's string lacks, so the binary's own strings are what is checked.
# Usage: check-version.sh KAMDEFS_H KAMAILIO_SRC_DIR KAMAILIO_BIN [OUTDIR]
#   OUTDIR: where module_version and module_flags are written when they match
set -eu
defs=${1:?}; src=${2:?}; bin=${3:?}; out=${4:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# the module's own order: kamdefs.h, then sr_module.h (which includes ver_defs.h first)
cat >"$tmp/v.c" <<'C'
#include "kamdefs.h"
#include <stdio.h>
#include "core/ver_defs.h"
int main(void) { printf("%s\n%s\n", SER_FULL_VERSION, SER_COMPILE_FLAGS); return 0; }
C
cp "$defs" "$tmp/kamdefs.h"
cc -I"$tmp" -I"$src" -o "$tmp/v" "$tmp/v.c"
"$tmp/v" >"$tmp/ours"
version=$(sed -n 1p "$tmp/ours"); flags=$(sed -n 2p "$tmp/ours")
missing=$(python3 - "$bin" "$version" "$flags" <<'PY'
import sys
data = open(sys.argv[1], 'rb').read()
for what, s in (('module_version', sys.argv[2]), ('module_flags', sys.argv[3])):
    if b'\0' + s.encode() + b'\0' not in data:
        print(what)
PY
)
if [ -n "$missing" ]; then
	echo "kamailio-headers: the module would not load into $bin: it has no $(echo $missing | sed 's/ / or /') string equal to this tree's:" >&2
	theirs_v=$("$bin" -v 2>/dev/null | sed -n 's/^version: //p' | sed 's/ *$//')
	theirs_f=$("$bin" -v 2>/dev/null | sed -n 's/^flags: //p' | sed 's/ *$//')
	case $missing in *module_version*)
		echo "  kamailio: $theirs_v" >&2
		echo "  kazoo.so: $version" >&2 ;;
	esac
	case $missing in *module_flags*)
		# -v's display may list memory-debug flags (DBG_*) the loader does not compare
		only() { printf '%s\n' "$1" | tr ',' '\n' | sed 's/^ *//' | sort >"$tmp/a"
			printf '%s\n' "$2" | tr ',' '\n' | sed 's/^ *//' | sort >"$tmp/b"; comm -23 "$tmp/a" "$tmp/b" | tr '\n' ' '; }
		echo "  flags only kamailio has: $(only "$theirs_f" "$flags")" >&2
		echo "  flags only kazoo.so has: $(only "$flags" "$theirs_f")" >&2 ;;
	esac
	echo "kamailio-headers: build against that exact version's source (KAMAILIO_SRC=...) configured like it" >&2
	exit 1
fi
if [ -n "$out" ]; then
	printf '%s\n' "$version" >"$out/module_version"
	printf '%s\n' "$flags" >"$out/module_flags"
fi
