#!/bin/sh
# Builds and tests kazoo.so for several Kamailio versions from this one source tree and prints
# one table (also written to $OUT, default build/matrix.md).
#
#   scripts/matrix.sh [TARGET ...]          default: debian12 debian13 sid
#     debian12, debian13, sid    that Debian release's own userland and packages (its kamailio,
#                                rabbitmq-server, sip-tester, gcc, and kamailio-kazoo-modules as
#                                the differential reference): the host when it is that release,
#                                else a root made by scripts/debian-root.sh
#     NAME=TREE[,bin=KAMAILIO_BIN][,build=CMAKE_BUILD_DIR][,modules=MODULE_DIR][,run=REGEX]
#                                a Kamailio source tree built and installed by you (upstream
#                                releases, make or CMake): run on this host with that kamailio;
#                                run= names the e2e tests its modules allow (default: SRC_TESTS)
#   TESTS=full|smoke|none   the end-to-end suite (default full), a smoke test (build, load,
#                           publish, query, JSON differential), or build and kamailio -c only
#   TESTS_RUN=REGEX         the e2e tests to run (overrides TESTS; for trees that lack modules)
#
# A target whose kamailio cannot be installed (sid when its packages are not served) is
# reported as such; the exit status is non-zero when any target that could be tried failed.
set -u
cd "$(dirname "$0")/.."
top=$PWD
OUT=${OUT:-build/matrix.md}
TESTS=${TESTS:-full}
SMOKE='^(TestPublishWireFormat|TestQueryForms|TestQueryFailures|TestJSONDifferential|TestGoRuntimeOnlyWhereUsed)$'
# the e2e tests that need only the modules of a small Kamailio build (core, tm, sl, pv, xlog,
# textops, siputils, kex, corex, ctl, jsonrpcs, rr, maxfwd, sanity, usrloc, registrar, auth,
# htable, tmx, xhttp, xhttp_prom, presence, presence_xml, pua, db_sqlite, app_lua, cfgutils,
# rtimer, sqlops) and no C module
SRC_TESTS=${SRC_TESTS:-'^(TestPublishWireFormat|TestPublishBadInput|TestQueryForms|TestQueryFailures|TestQueryConcurrent|TestAsyncQuery|TestConsumePatterns|TestConsumeAckAfterRoute|TestExampleLua|TestGoRuntimeOnlyWhereUsed|TestRPCStatusAndSubscriptions|TestRPCAndStatisticsOverHTTP|TestBrokerStopAndRestart|TestStartupRefusals|TestVersionMismatchCaughtByBuild|TestBuildInputsRefused|TestHeadersOfAnotherVersionRefused)$'}
DIFF='TestJSONDifferential|TestConsumeNamingDifferential|TestPresenceDifferential|TestConsumeDeclarationsMatchCModule'
[ $# -gt 0 ] || set -- debian12 debian13 sid
mkdir -p build/matrix
rows=""; status=0
host_suite=$(. /etc/os-release; echo "${VERSION_CODENAME:-}")

# run_target NAME RUNNER...: RUNNER prefixes every command (in-root.sh ROOT, or env VAR=...)
run_target() {
	name=$1; shift
	log="$top/build/matrix/$name.log"; : >"$log"
	echo "== $name (log: build/matrix/$name.log)" >&2
	build="build/$name"; cache=".cache/$name"
	kver=$("$@" sh -c '"${KAMAILIO_BIN:-kamailio}" -v | sed -n "s/^version: kamailio \([^ ]*\).*/\1/p"' 2>>"$log")
	gccv=$("$@" sh -c 'gcc -dumpfullversion' 2>>"$log")
	# build: the whole make, then every shim file compiled again for its warnings
	if "$@" sh -c "make BUILD=$build CACHE=$cache && make -s BUILD=$build CACHE=$cache shim-check" >>"$log" 2>&1; then
		warnings=$(grep -cE '\.[ch]:[0-9]+:[0-9]+: warning:' "$log")
		b="ok, $warnings warnings"
		[ "$warnings" = 0 ] || status=1
	else
		b="FAIL: $(grep -m1 'kamailio-headers:\|error:\|check-module:' "$log" | cut -c1-120)"
		rows="$rows| $name | ${kver:-?} | gcc ${gccv:-?} | $b | - | - | - |
"; status=1; return
	fi
	# kamailio -c: the publish example loads the module under the target's kamailio
	mpath=$("$@" sh -c 'echo "${KAMAILIO_MODULES:-/usr/lib/x86_64-linux-gnu/kamailio/modules}"')
	if "$@" sh -c "\"\${KAMAILIO_BIN:-kamailio}\" -c -L '$mpath' -f examples/kazoo-publish.cfg -A 'KAZOO_MODULE=\"$top/$build/kazoo.so\"' -A 'CTL_SOCKET=\"unix:/tmp/kazoo-matrix-$name.ctl\"'" >>"$log" 2>&1; then
		c=ok
	else
		c=FAIL; status=1
	fi
	case ${TESTS_RUN:-$TESTS} in
	none) e="not run"; d="not run" ;;
	*)
		run=${TESTS_RUN:-$target_run}; [ -n "$run" ] || { [ "$TESTS" = smoke ] && run=$SMOKE; }
		"$@" sh -c "BUILD=$build CACHE=$cache KAZOO_CACHE=$top/$cache KAZOO_SO=$top/$build/kazoo.so go test -count=1 -timeout 40m -v ${run:+-run '$run'} ./tests/..." \
			>"$log.e2e" 2>&1
		pass=$(grep -c '^--- PASS' "$log.e2e"); fail=$(grep -c '^--- FAIL' "$log.e2e"); skip=$(grep -c '^--- SKIP' "$log.e2e")
		e="$pass passed, $fail failed, $skip skipped"
		[ "$fail" = 0 ] && [ "$pass" -gt 0 ] || status=1
		d=$(grep -E "^--- (PASS|FAIL|SKIP): ($DIFF) " "$log.e2e" | awk '{sub(":","",$2); printf "%s %s; ", $3, $2}')
		[ -n "$d" ] || d="not run"
		cat "$log.e2e" >>"$log"
		;;
	esac
	rows="$rows| $name | $kver | gcc $gccv | $b | $c | $e | $d |
"
}

for t in "$@"; do
	case $t in
	debian12 | debian13 | sid)
		target_run=""; suite=$t; [ "$t" = debian12 ] && suite=bookworm; [ "$t" = debian13 ] && suite=trixie
		if [ "$suite" = "$host_suite" ]; then
			scripts/install-deps.sh >/dev/null || { rows="$rows| $t | - | - | install-deps failed | - | - | - |
"; status=1; continue; }
			run_target "$t" env PATH="$(scripts/install-deps.sh):$PATH"
		else
			root=/var/cache/kazoo-so/roots/$suite
			if ! scripts/debian-root.sh "$suite" "$root" >"build/matrix/$t-root.log" 2>&1; then
				rows="$rows| $t | - | - | no root: $(tail -1 "build/matrix/$t-root.log" | cut -c1-100) | - | - | - |
"; status=1; continue
			fi
			if ! scripts/in-root.sh "$root" sh -c 'command -v kamailio' >/dev/null 2>&1; then
				rows="$rows| $t | not installable | - | $(grep -m1 'kamailio' "build/matrix/$t-root.log" | cut -c1-100) | - | - | - |
"; continue
			fi
			run_target "$t" scripts/in-root.sh "$root"
		fi
		;;
	*=*)
		name=${t%%=*}; spec=${t#*=}; tree=${spec%%,*}; bin=""; bdir=""; mods=""; target_run=$SRC_TESTS
		[ "$spec" = "$tree" ] || for kv in $(echo "${spec#*,}" | tr ',' ' '); do
			case $kv in bin=*) bin=${kv#bin=} ;; build=*) bdir=${kv#build=} ;; modules=*) mods=${kv#modules=} ;; run=*) target_run=${kv#run=} ;; esac
		done
		bin=${bin:-$tree/src/kamailio}
		[ -n "$mods" ] || mods=$(dirname "$(ls -d "$(dirname "$bin")"/../lib*/kamailio/modules "$(dirname "$bin")"/../lib/*/kamailio/modules 2>/dev/null | head -1)/x")
		run_target "$name" env KAMAILIO_SRC="$tree" KAMAILIO_BIN="$bin" KAMCMD_BIN="$(dirname "$bin")/kamcmd" \
			KAMAILIO_MODULES="$mods" ${bdir:+KAMAILIO_BUILD_DIR="$bdir"} PATH="$(scripts/install-deps.sh):$PATH"
		;;
	*) echo "matrix: unknown target '$t'" >&2; exit 2 ;;
	esac
done

table="| target | kamailio | compiler | build | kamailio -c | end-to-end (Debian: $TESTS; trees: a subset) | differential vs the C module |
|---|---|---|---|---|---|---|
$rows"
{ echo "Generated by scripts/matrix.sh on $(date -u +%Y-%m-%d)."; echo; printf '%s' "$table"; } >"$OUT"
printf '%s' "$table"
exit $status
