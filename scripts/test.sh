#!/bin/sh
# The one test command (README, .ci/run): installs what is missing, builds kazoo.so against
# the Kamailio installed here, runs the Go unit tests, then the end-to-end tests that start
# their own RabbitMQ node, Kamailio instances and sipp.
set -eu
cd "$(dirname "$0")/.."
gobin=$(scripts/install-deps.sh)
export PATH="$gobin:$PATH"
echo "== go: $(go version)"
echo "== kamailio: $(kamailio -v | head -1)"
make
echo "== unit tests"
go vet ./...
go vet -tags bench ./bench/  # the benchmarks (bench/run.sh) at least compile
# -race: the data race detector (it needs cgo; the first run rebuilds the standard library
# instrumented, later runs reuse it)
go test -race -count=1 ./kazoo/...
echo "== end-to-end tests"
KAZOO_SO="$PWD/${BUILD:-build}/kazoo.so" KAZOO_CACHE="$PWD/${CACHE:-.cache/kamailio}" go test -count=1 -timeout 40m ${E2E_FLAGS:-} ./tests/...
# Debian 13's Kamailio 6.0.1, in a trixie root (debootstrap, cached under /var/cache/kazoo-so):
# build, kamailio -c and the smoke tests there. KAZOO_SKIP_DEBIAN13=1 leaves it out.
if [ "${KAZOO_SKIP_DEBIAN13:-}" != 1 ] && [ "$(. /etc/os-release; echo "$VERSION_CODENAME")" != trixie ]; then
	echo "== Debian 13 (kamailio 6.0.1): build and smoke tests"
	OUT=build/matrix-ci.md TESTS=smoke scripts/matrix.sh debian13
fi
