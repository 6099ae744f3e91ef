#!/bin/sh
# Download the Debian source package of kamailio at an exact version into DIR (apt-get source).
# If apt has no deb-src entries, one is added that mirrors the binary entries (root only).
# Usage: fetch-debian-source.sh DEBVERSION DIR
set -eu
debver=${1:?version}; dir=${2:?dir}
die() { echo "kamailio-headers: $*" >&2; exit 1; }
mkdir -p "$dir"
cd "$dir"
[ -f "kamailio_$(echo "$debver" | sed 's/^[0-9]*://').dsc" ] && exit 0
# Some mirrors do not serve the upstream signature (kamailio_6.0.1.orig.tar.gz.asc: 404 for
# trixie): apt-get source then fails although the .dsc and both tarballs arrived, their hashes
# checked against the signed Sources index. That counts as fetched (prepare.sh unpacks with
# dpkg-source --no-check); any other missing file does not.
fetched() {
	dsc="kamailio_$(echo "$debver" | sed 's/^[0-9]*://').dsc"
	[ -f "$dsc" ] || return 1
	for f in $(sed -n '/^Files:/,/^[^ ]/s/^ [0-9a-f]* [0-9]* \(.*\)/\1/p' "$dsc"); do
		case $f in *.asc) ;; *) [ -f "$f" ] || return 1 ;; esac
	done
}
try() { apt-get source --download-only "kamailio=$debver" >apt-source.log 2>&1 || fetched; }
# listed but not served: no deb-src entry would help
not_served() {
	f=$(sed -n "s/^E: Failed to fetch [^ ]*\/\([^/ ]*\) *404.*/\1/p" apt-source.log | grep -v '\.asc$' | head -1)
	[ -z "$f" ] || die "the archive lists kamailio $debver's source but does not serve its files ($f: 404): set KAMAILIO_SRC to a configured kamailio $debver tree"
}
if ! try; then
	not_served
	srcfile=/etc/apt/sources.list.d/kazoo-so-deb-src.sources
	if [ ! -f "$srcfile" ]; then
		[ "$(id -u)" = 0 ] || die "apt has no deb-src entry for kamailio; add one (or run as root, or set KAMAILIO_SRC)"
		echo "kamailio-headers: adding deb-src entries ($srcfile) to fetch kamailio's source" >&2
		{
			for f in /etc/apt/sources.list.d/*.sources; do
				[ -f "$f" ] && [ "$f" != "$srcfile" ] && sed -n '/^Types:/,/^$/p' "$f" | grep -q '^Types:.*\bdeb\b' &&
					sed 's/^Types:.*/Types: deb-src/' "$f" && echo
			done
			[ -f /etc/apt/sources.list ] && grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' >/dev/null || true
		} >"$srcfile.tmp"
		mv "$srcfile.tmp" "$srcfile"
		if [ -f /etc/apt/sources.list ] && grep -q '^deb ' /etc/apt/sources.list; then
			grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' >/etc/apt/sources.list.d/kazoo-so-deb-src.list
		fi
	fi
	apt-get update >apt-update.log 2>&1 || die "apt-get update failed, see $dir/apt-update.log"
	try || { not_served; die "apt-get source kamailio=$debver failed, see $dir/apt-source.log"; }
fi
