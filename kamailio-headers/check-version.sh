#!/bin/sh
# Fail the build, with a clear message, when the module_version or module_flags that kazoo.so
# would carry differ from what the target kamailio binary prints: Kamailio would otherwise
# refuse the module only at load time ("module version mismatch" / "compile flags mismatch").
# Usage: check-version.sh KAMDEFS_H KAMAILIO_SRC_DIR KAMAILIO_BIN
set -eu
defs=${1:?}; src=${2:?}; bin=${3:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/v.c" <<'C'
#include "kamdefs.h"
#include <stdio.h>
#include "core/ver_defs.h"
int main(void) { printf("version: %s\nflags: %s\n", SER_FULL_VERSION, SER_COMPILE_FLAGS); return 0; }
C
cp "$defs" "$tmp/kamdefs.h"
cc -I"$tmp" -I"$src" -o "$tmp/v" "$tmp/v.c"
"$tmp/v" >"$tmp/ours"
"$bin" -v | grep -E '^(version|flags): ' | sed 's/ *$//' >"$tmp/theirs"
if ! cmp -s "$tmp/ours" "$tmp/theirs"; then
	echo "kamailio-headers: the module would not load into $bin:" >&2
	diff "$tmp/theirs" "$tmp/ours" | sed 's/^</  kamailio:/; s/^>/  kazoo.so:/' | grep -v '^---\|^[0-9]' >&2
	echo "kamailio-headers: build against that exact version's source (KAMAILIO_SRC=...) configured like it" >&2
	exit 1
fi
