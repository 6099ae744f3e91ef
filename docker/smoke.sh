#!/bin/sh
# Smoke test of the Docker image: builds it, runs it against a RabbitMQ container, sends a SIP
# OPTIONS and a SIP MESSAGE, and checks that the MESSAGE was answered 200 and published by
# kazoo.so to the kazoo_demo exchange (examples/kazoo-publish.cfg, the image's config).
#   docker/smoke.sh
# Environment:
#   IMAGE           image to build and test (default kamailio-kazoo-go)
#   RABBITMQ_IMAGE  broker image (default rabbitmq:3.10 from Docker Hub); "debian" builds
#                   docker/rabbitmq.Dockerfile (Debian 12's rabbitmq-server) instead
#   BUILD_NETWORK   --network for docker build (e.g. host, when the default bridge has no
#                   outside access); BUILD_ARGS: more docker build arguments (e.g.
#                   "--build-arg GOPROXY=https://goproxy.example")
#   NO_BUILD=1      test the existing images; KEEP=1 leave the containers running
# The SIP client (python3) and the AMQP reader (examples/amqp-tail) run in the Dockerfile's
# build stage (IMAGE:build), so the host needs nothing but docker.
set -eu
cd "$(dirname "$0")/.."
IMAGE=${IMAGE:-kamailio-kazoo-go}
RABBITMQ_IMAGE=${RABBITMQ_IMAGE:-rabbitmq:3.10}
run=kazoo-smoke-$$
net=$run
log() { echo "== smoke: $*"; }
die() { echo "== smoke: FAILED: $*" >&2; exit 1; }

build() { # build DOCKERFILE TAG [docker build args…]
	f=$1 tag=$2; shift 2
	# shellcheck disable=SC2086
	docker build ${BUILD_NETWORK:+--network "$BUILD_NETWORK"} ${BUILD_ARGS:-} -f "$f" -t "$tag" "$@" . >"$tmp/build-${tag##*:}.log" 2>&1 ||
		{ tail -30 "$tmp/build-${tag##*:}.log"; die "docker build -f $f -t $tag (log: $tmp/build-${tag##*:}.log)"; }
}

tmp=$(mktemp -d /tmp/kazoo-smoke.XXXXXX)
cleanup() {
	rc=$?
	if [ "$rc" != 0 ] || [ -n "${KEEP:-}" ]; then
		for c in kamailio rabbitmq tail; do
			docker logs "$run-$c" >"$tmp/$c.log" 2>&1 || true
		done
		log "logs in $tmp"
	fi
	if [ -n "${KEEP:-}" ]; then
		log "KEEP: containers $run-* on network $net left running"
		return
	fi
	docker rm -f "$run-kamailio" "$run-rabbitmq" "$run-tail" >/dev/null 2>&1 || true
	docker network rm "$net" >/dev/null 2>&1 || true
	[ "$rc" != 0 ] || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$RABBITMQ_IMAGE" = debian ]; then
	RABBITMQ_IMAGE=kazoo-go-rabbitmq-debian
	[ -n "${NO_BUILD:-}" ] || { log "building $RABBITMQ_IMAGE (docker/rabbitmq.Dockerfile)"; build docker/rabbitmq.Dockerfile "$RABBITMQ_IMAGE"; }
fi
if [ -z "${NO_BUILD:-}" ]; then
	log "building $IMAGE (docker/Dockerfile)"
	build docker/Dockerfile "$IMAGE"
	build docker/Dockerfile "$IMAGE:build" --target build # cached: the build stage of the same build
fi

docker network create "$net" >/dev/null
log "starting $RABBITMQ_IMAGE"
docker run -d --name "$run-rabbitmq" --network "$net" --network-alias rabbitmq "$RABBITMQ_IMAGE" >/dev/null
i=0
until docker exec "$run-rabbitmq" rabbitmqctl -q await_startup >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -lt 60 ] || die "RabbitMQ did not start"
	sleep 2
done

log "binding a queue to kazoo_demo (examples/amqp-tail)"
docker run -d --name "$run-tail" --network "$net" "$IMAGE:build" sh -c \
	'go build -o /tmp/amqp-tail ./examples/amqp-tail &&
	 exec /tmp/amqp-tail -url amqp://guest:guest@rabbitmq:5672/ -exchange kazoo_demo -type topic \
		-key "demo.message.#" -n 1 -timeout 180s -ready-file /tmp/ready' >/dev/null
i=0
until docker exec "$run-tail" test -f /tmp/ready 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 120 ] || die "amqp-tail did not bind: $(docker logs "$run-tail" 2>&1 | tail -5)"
	[ "$(docker inspect -f '{{.State.Running}}' "$run-tail")" = true ] || die "amqp-tail: $(docker logs "$run-tail" 2>&1 | tail -5)"
	sleep 1
done

log "starting $IMAGE (its default command: SIP on udp:0.0.0.0:5060, AMQP amqp://guest:guest@rabbitmq:5672)"
docker run -d --name "$run-kamailio" --network "$net" --network-alias kamailio "$IMAGE" >/dev/null

# sip METHOD: sends one request to kamailio:5060 from a container, prints the reply's status line
cat >"$tmp/sip.py" <<'PY'
import socket, sys, uuid
method, host, port = sys.argv[1], "kamailio", 5060
body = "hello from docker/smoke.sh" if method == "MESSAGE" else ""
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.connect((socket.gethostbyname(host), port))
lip, lport = s.getsockname()
tag = uuid.uuid4().hex[:8]
msg = (f"{method} sip:bob@smoke.test SIP/2.0\r\n"
       f"Via: SIP/2.0/UDP {lip}:{lport};rport;branch=z9hG4bK{uuid.uuid4().hex}\r\n"
       "Max-Forwards: 70\r\n"
       f"From: <sip:alice@smoke.test>;tag={tag}\r\n"
       "To: <sip:bob@smoke.test>\r\n"
       f"Call-ID: smoke-{uuid.uuid4().hex}\r\n"
       f"CSeq: 1 {method}\r\n"
       + ("Content-Type: text/plain\r\n" if body else "")
       + f"Content-Length: {len(body)}\r\n\r\n{body}")
s.send(msg.encode())
try:
    print(s.recv(65535).decode(errors="replace").split("\r\n")[0])
except OSError as e:  # timeout, or ICMP unreachable while Kamailio is starting
    print("no reply:", e)
PY
sip() { docker run --rm -i --network "$net" "$IMAGE:build" python3 - "$1" <"$tmp/sip.py"; }
until_200() { # until_200 METHOD: retries for up to 60 s (Kamailio starting, broker connecting)
	i=0
	while :; do
		r=$(sip "$1")
		echo "$r" | grep -q '^SIP/2.0 200' && { log "$1 -> $r"; return 0; }
		i=$((i + 1)); [ $i -lt 30 ] || die "$1: last reply: $r"
		sleep 2
	done
}
until_200 OPTIONS
until_200 MESSAGE

log "what RabbitMQ delivered to the queue bound to kazoo_demo"
[ "$(docker wait "$run-tail")" = 0 ] || die "no message on kazoo_demo: $(docker logs "$run-tail" 2>&1 | tail -5)"
docker logs "$run-tail" 2>&1 | tee "$tmp/published.txt" | cut -c1-400
grep -q '^exchange=kazoo_demo routing_key=demo.message.bob ' "$tmp/published.txt" || die "unexpected exchange/routing key"
for want in '"Event-Name":"sip_message"' '"Body":"hello from docker/smoke.sh"' '"Node":"kamailio@demo.kazoo.local"' 'X-Call-ID:smoke-'; do
	grep -qF "$want" "$tmp/published.txt" || die "published message lacks $want"
done
docker logs "$run-kamailio" 2>&1 | grep -q 'MESSAGE smoke-.* published' || die "no 'published' line in Kamailio's log"
log "OK: Kamailio in $IMAGE loaded kazoo.so, answered OPTIONS and MESSAGE, and published the MESSAGE to RabbitMQ"
