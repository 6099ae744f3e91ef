#!/bin/bash
# The main job, end to end, on this machine: RabbitMQ, the Kazoo-side simulator
# (examples/kazoo-sim), Kamailio with kazoo.so and examples/kazoo-registrar.cfg, and sipp
# registering alice with digest authentication checked through kazoo_query: the REGISTER is
# challenged, Kazoo (the simulator) is asked for alice's password over AMQP, and 200 comes
# back with her account id.
#   scripts/demo.sh            run once and stop everything it started
#   scripts/demo.sh --async    the same with examples/kazoo-registrar-async.cfg (kazoo_async_query)
#   scripts/demo.sh --keep     leave Kamailio and the simulator running
# Environment: AMQP_URL (default: the RabbitMQ at 127.0.0.1:5672, started if none answers),
# SIP_PORT (default 5070).
set -eu
cd "$(dirname "$0")/.."
cfg=examples/kazoo-registrar.cfg
keep=""
for a in "$@"; do
	case "$a" in
	--async) cfg=examples/kazoo-registrar-async.cfg ;;
	--keep) keep=1 ;;
	*) echo "usage: $0 [--async] [--keep]" >&2; exit 2 ;;
	esac
done
gobin=$(scripts/install-deps.sh)
export PATH="$gobin:$PATH"
make
work=$(mktemp -d /tmp/kazoo-demo.XXXXXX)
sip_port=${SIP_PORT:-5070}
amqp_url=${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672}
kam_pid=""; sim_pid=""
cleanup() {
	[ -n "$keep" ] && return
	[ -n "$kam_pid" ] && kill "$kam_pid" 2>/dev/null || true
	[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null || true
}
trap cleanup EXIT

if [ -z "${AMQP_URL:-}" ] && ! (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then
	echo "== starting rabbitmq-server"
	rabbitmq-server -detached
	timeout 120 rabbitmqctl await_startup >/dev/null
fi
echo "== RabbitMQ: $(echo "$amqp_url" | sed 's/:[^:@/]*@/:***@/')"

echo "== starting the Kazoo-side simulator (examples/kazoo-sim), user alice@demo.kazoo.test"
go build -o "$work/kazoo-sim" ./examples/kazoo-sim
echo "alice@demo.kazoo.test s3cret" >"$work/users"
"$work/kazoo-sim" -url "$amqp_url" -users "$work/users" -v -ready-file "$work/sim-ready" 2>"$work/sim.log" &
sim_pid=$!
for _ in $(seq 100); do [ -f "$work/sim-ready" ] && break; sleep 0.1; done
[ -f "$work/sim-ready" ] || { echo "the simulator did not start"; cat "$work/sim.log"; exit 1; }

echo "== starting Kamailio with ${BUILD:-build}/kazoo.so and $cfg (SIP on udp:127.0.0.1:$sip_port)"
kamailio -f "$cfg" -P "$work/kamailio.pid" -Y "$work" -w "$work" \
	-A "SIP_LISTEN=udp:127.0.0.1:$sip_port" -A "AMQP_URL=\"$amqp_url\"" \
	-A "KAZOO_MODULE=\"$PWD/${BUILD:-build}/kazoo.so\"" -A "CTL_SOCKET=\"unix:$work/ctl\"" \
	-DD -E >"$work/kamailio.log" 2>&1 &
kam_pid=$!
for _ in $(seq 100); do kamcmd -s "unix:$work/ctl" core.version >/dev/null 2>&1 && break; sleep 0.1; done
# the SIP workers connect in the background after they start; the registrar refuses a
# REGISTER while its process has no connection ($xavp(amqpc)), so wait until none is
# still connecting
for _ in $(seq 100); do
	status=$(kamcmd -s "unix:$work/ctl" kazoo.status 2>/dev/null) || status=""
	case "$status" in *open*) case "$status" in *connecting*) ;; *) break ;; esac ;; esac
	sleep 0.1
done

echo "== sipp registers alice (401 challenge, then REGISTER with digest credentials)"
if (cd "$work" && sipp -sf "$OLDPWD/tests/sipp/register_auth.xml" -s alice -key realm demo.kazoo.test \
	-au alice -ap s3cret "127.0.0.1:$sip_port" -m 1 -timeout 15 -timeout_error -trace_msg \
	-message_file "$work/sip.log" >/dev/null 2>&1); then
	echo "   REGISTER -> 401 -> REGISTER with credentials -> 200 OK"
	grep -m1 "^X-Account-ID" "$work/sip.log" | sed 's/^/   /'
else
	echo "sipp failed"; cat "$work/kamailio.log" "$work/sim.log"; exit 1
fi
echo "== what Kazoo (the simulator) received and answered over AMQP"
sed -n 's/^kazoo-sim: [0-9:.]* \(req\|reply\) /\1 /p' "$work/sim.log" | cut -c1-600
if [ -n "$keep" ]; then
	echo "== still running: Kamailio pid $kam_pid (kamcmd -s unix:$work/ctl), simulator pid $sim_pid; logs in $work"
else
	echo "== done (logs in $work)"
fi
