#!/bin/sh
# Installs what building and testing kazoo.so needs on Debian 12 (run as root), and prints
# the PATH entry of a Go toolchain new enough for go.mod. Idempotent and quiet when all is there.
#   Debian packages: kamailio (the target), kamailio-kazoo-modules (the C module: reference
#   for differential tests), kamailio-presence-modules + kamailio-sqlite-modules (presence
#   tests: kazoo_pua_publish into a SQLite presentity table, sqlite3 to create it),
#   kamailio-lua-modules (the Lua KEMI example), kamailio-extra-modules, rabbitmq-server,
#   sip-tester (sipp),
#   dpkg-dev (apt-get source / dpkg-source), build tools, pkg-config + libssl-dev (Kamailio's
#   `make cfg` sets TLS_PTHREAD_MUTEX_SHARED only when pkg-config finds OpenSSL, and without
#   it the module's flags differ from Debian's kamailio), libjson-c-dev (the kz.json unit
#   tests compare with the json-c library the C module uses).
#   Go: /usr/local/go if it is recent enough; otherwise Debian's golang-go is installed only
#   to fetch the toolchain that go.mod asks for from the configured Go module proxy (the
#   same golang.org/toolchain module that GOTOOLCHAIN uses).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
need_pkgs=""
for p in kamailio kamailio-kazoo-modules kamailio-extra-modules kamailio-presence-modules \
	kamailio-sqlite-modules sqlite3 kamailio-lua-modules rabbitmq-server sip-tester \
	dpkg-dev gcc make binutils pkg-config libssl-dev python3 ca-certificates libjson-c-dev libc6-dev; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need_pkgs="$need_pkgs $p"
done
if [ -n "$need_pkgs" ]; then
	[ "$(id -u)" = 0 ] || { echo "install-deps: missing packages:$need_pkgs (run as root)" >&2; exit 1; }
	echo "install-deps: installing$need_pkgs" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	# do not let the packages start system-wide daemons we did not ask for
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $need_pkgs >/dev/null
	rm -f /usr/sbin/policy-rc.d
fi

want=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$here/go.mod")
go_ok() { # is "$1" a go binary at least $want?
	v=$("$1" env GOVERSION 2>/dev/null | sed 's/^go//') || return 1
	[ -n "$v" ] && [ "$(printf '%s\n%s\n' "$want" "$v" | sort -V | head -1)" = "$want" ]
}
for g in "$(command -v go 2>/dev/null || true)" /usr/local/go/bin/go; do
	if [ -n "$g" ] && go_ok "$g"; then
		dirname "$g"
		exit 0
	fi
done
# fetch a toolchain through the module proxy with whatever go exists (Debian's if needed)
if ! command -v go >/dev/null 2>&1; then
	echo "install-deps: installing Debian's golang-go to fetch Go $want" >&2
	apt-get install -y -qq --no-install-recommends golang-go >/dev/null
fi
tc="golang.org/toolchain@v0.0.1-go$want.linux-$(dpkg --print-architecture)"
[ "$want" = "${want%.*.*}" ] && tc="golang.org/toolchain@v0.0.1-go$want.0.linux-$(dpkg --print-architecture)"
json=$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "$tc" 2>&1) || true
dir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -n "$dir" ] || { echo "install-deps: could not fetch $tc:" >&2; printf '%s\n' "$json" >&2; exit 1; }
# an old go (Debian 12's 1.19) unpacks module zips without execute bits
if [ ! -x "$dir/bin/go" ]; then
	chmod -R u+w "$dir" && chmod +x "$dir"/bin/* "$dir"/pkg/tool/*/* || true
fi
[ -x "$dir/bin/go" ] || { echo "install-deps: $dir/bin/go is not executable" >&2; exit 1; }
echo "$dir/bin"
