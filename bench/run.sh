#!/bin/sh
# One command for the whole comparison of kazoo.so (Go) with the C kazoo module: the same
# cfg, private broker, responder (examples/kazoo-sim) and load generator against both, plus
# the raw floor (a Go AMQP client doing the same request/reply with no Kamailio). Prints
# the table and writes it as markdown. Sections: query (with the floor), publish, consume,
# kz.json, fleet (one node at Kazoo 4.3's process counts: the broker's connections,
# channels and queues by Kamailio process kind, start time, idle CPU; its breakdown by
# process kind follows the table). One section alone (its table also goes to $OUT):
# go test -tags bench -run '^TestFleetBench$' -count=1 -v ./bench/ (TestQueryBench,
# TestPublishBench, TestConsumeBench, TestJSONBench)
#
#   bench/run.sh                 # ROUNDS=3, about 15 minutes
#   QUICK=1 bench/run.sh         # short runs, one round, under 4 minutes (smoke test)
#
# Knobs (environment): ROUNDS, QUICK=1, OUT (markdown file, default bench/results.md),
# RATE (300), WORKERS (4), LAT_SECS, MAX_SECS, PUBLISH_N, CONSUME_N, JSON_N,
# FLEET_IDLE_SECS (the fleet node's idle CPU window, 20; 5 with QUICK), KAZOO_SO (the
# module under test, default build/kazoo.so), BENCH_GO_PARAMS (extra modparam lines for
# ours), LOG (the full go test -v log, default a temporary file), BENCH_PERF=<dir> (perf
# record of Kamailio, the broker and kazoo-sim during each fixed-rate query phase),
# BENCH_THREADS=1 (CPU and thread switches per query of every Kamailio thread, in the log),
# BENCH_SMAPS=<dir> (/proc/PID/smaps of every Kamailio process at the memory snapshot).
# Needs: make (build/kazoo.so), kamailio, kamailio-kazoo-modules, rabbitmq-server.
#
# Not in this table, because it is long: the soak (bench/soak_bench_test.go), both modules
# one after the other under kazoo_query and consumed events together, every process's PSS,
# open fds and (ours) goroutines and live Go heap sampled, slopes per hour:
#
#   go test -tags bench -run '^TestSoakBench$' -count=1 -timeout 3h -v ./bench/
#
# Its knobs: SOAK_MINUTES (30 per module), SOAK_QPS (300), SOAK_EPS (1000), SOAK_SAMPLE
# (seconds between samples, 30), SOAK_CONSUMERS (2), WORKERS (4), OUT (markdown, none by
# default), KAZOO_SO, BENCH_GO_PARAMS.
#
# Not in this table either, because it needs a 3-node RabbitMQ cluster (about a minute and
# a half with the defaults): the reconnection storm (bench/storm_bench_test.go). Several
# Kamailio nodes at stock process counts (25 UDP + 8 TCP workers, 8 consumers) prefer node 0
# of the cluster; node 0 restarts under a low publish load. How long until each node has all
# its connections to node 0 back, their spread, node 0's AMQP round trip meanwhile, and
# whether a publish that returned 1 or 2 (spooled) is missing from a durable queue; ours
# only, the C module after it with STORM_C=1 (2 connections per node: a weak comparison):
#
#   go test -tags bench -run '^TestStormBench$' -count=1 -timeout 30m -v ./bench/
#
# Its knobs: STORM_INSTANCES (8), STORM_RATE (publishes/s per instance during the restart,
# 20), STORM_WARM (requests per instance before the stop, 300) and STORM_WARM_RATE (30),
# STORM_LIMIT (longest wait for the reconnections, 90 s), STORM_TAIL (5 s), STORM_C=1, OUT,
# KAZOO_SO, BENCH_GO_PARAMS.
set -eu
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
[ -f "${KAZOO_SO:-build/kazoo.so}" ] || { echo "run.sh: no ${KAZOO_SO:-build/kazoo.so}: run make first" >&2; exit 2; }
OUT=$(realpath -m "${OUT:-bench/results.md}")
export OUT
LOG=${LOG:-$(mktemp /tmp/kazoo-bench-XXXXXX.log)}
echo "run.sh: full log in $LOG"
set +e
go test -tags bench -run '^TestTable$' -count=1 -timeout 60m -v ./bench/ >"$LOG" 2>&1 &
pid=$!
tail -n +1 -f "$LOG" --pid=$pid | grep --line-buffered -E '^(bench: |--- FAIL|FAIL|ok )'
wait $pid
rc=$?
set -e
[ -f "$OUT" ] && { echo; cat "$OUT"; }
[ $rc -eq 0 ] || echo "run.sh: go test failed (exit $rc); see $LOG" >&2
exit $rc
