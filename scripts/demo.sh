#!/bin/bash
# The main job, end to end, on this machine: RabbitMQ, Kamailio with kazoo.so and
# examples/kazoo-publish.cfg, a SIP MESSAGE from sipp, and the AMQP message it became,
# printed by a small consumer (examples/amqp-tail) standing in for Kazoo.
#   scripts/demo.sh          run once and stop everything it started
#   scripts/demo.sh --keep   leave Kamailio running (ctl socket printed at the end)
set -eu
cd "$(dirname "$0")/.."
keep=${1:-}
gobin=$(scripts/install-deps.sh)
export PATH="$gobin:$PATH"
make
work=$(mktemp -d /tmp/kazoo-demo.XXXXXX)
sip_port=${SIP_PORT:-5070}
amqp_url=${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672}
kam_pid=""; tail_pid=""
cleanup() {
	[ -n "$tail_pid" ] && kill "$tail_pid" 2>/dev/null || true
	if [ -n "$kam_pid" ] && [ "$keep" != "--keep" ]; then kill "$kam_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT

# RabbitMQ: AMQP_URL's, else the one at 127.0.0.1:5672; start the system node if none answers
if [ -z "${AMQP_URL:-}" ] && ! (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then
	echo "== starting rabbitmq-server"
	rabbitmq-server -detached
	timeout 120 rabbitmqctl await_startup >/dev/null
fi
echo "== RabbitMQ: ${amqp_url%%@*}@${amqp_url#*@}" | sed 's/:[^:@/]*@/:***@/' 

go build -o "$work/amqp-tail" ./examples/amqp-tail
"$work/amqp-tail" -url "$amqp_url" -exchange kazoo_demo -type topic -key 'demo.#' -n 1 -timeout 30s \
	-ready-file "$work/ready" >"$work/consumed.txt" 2>&1 &
tail_pid=$!
for _ in $(seq 50); do [ -f "$work/ready" ] && break; sleep 0.1; done

echo "== starting Kamailio with build/kazoo.so and examples/kazoo-publish.cfg (SIP on udp:127.0.0.1:$sip_port)"
kamailio -f examples/kazoo-publish.cfg -P "$work/kamailio.pid" -Y "$work" -w "$work" \
	-A "SIP_LISTEN=udp:127.0.0.1:$sip_port" -A "AMQP_URL=\"$amqp_url\"" \
	-A "KAZOO_MODULE=\"$PWD/build/kazoo.so\"" -A "CTL_SOCKET=\"unix:$work/ctl\"" \
	-DD -E >"$work/kamailio.log" 2>&1 &
kam_pid=$!
for _ in $(seq 100); do kamcmd -s "unix:$work/ctl" core.version >/dev/null 2>&1 && break; sleep 0.1; done

echo "== sipp sends a SIP MESSAGE"
(cd "$work" && sipp -sf "$OLDPWD/tests/sipp/message_publish.xml" -s alice "127.0.0.1:$sip_port" -m 1 -timeout 15 \
	-timeout_error -trace_err >/dev/null 2>&1) && echo "   200 Published" || { echo "sipp failed"; cat "$work/kamailio.log"; exit 1; }
wait "$tail_pid" && tail_pid="" || { echo "no AMQP message arrived"; cat "$work/consumed.txt" "$work/kamailio.log"; exit 1; }
echo "== the AMQP message, as a Kazoo app would receive it"
cat "$work/consumed.txt"
if [ "$keep" = "--keep" ]; then
	echo "== Kamailio keeps running: pid $kam_pid, log $work/kamailio.log, kamcmd -s unix:$work/ctl"
else
	echo "== done (logs in $work)"
fi
