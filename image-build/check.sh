#!/bin/bash
# `make -C image-build check`: validate the image recipe on this machine, without building it.
#  - shellcheck on every script of the stage and of this directory;
#  - systemd-analyze verify on the units, staged in a scratch root (so ExecStart paths and
#    dependencies resolve as on the image); any warning fails the check;
#  - systemd-analyze security --offline=true: alpr.service must score <= THRESHOLD;
#  - nft -c -f on the ruleset, alone and with an example site file (the kernel parses the
#    ruleset in a check-only transaction: needs CAP_NET_ADMIN, tried in a user+net namespace).
# Exit 3 = a tool is missing (the pytest wrapper skips with that reason); 1 = a check failed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
FILES="$HERE/stage-alpr/00-alpr/files"
THRESHOLD=${THRESHOLD:-2.0}
MAIN_UNIT=alpr.service

for tool in shellcheck systemd-analyze nft; do
	command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 3; }
done
step() { printf '== %s\n' "$*"; }

step "shellcheck"
shellcheck -x "$HERE/check.sh" "$HERE/build.sh" "$HERE/stage-alpr/prerun.sh" \
	"$HERE/stage-alpr/00-alpr/01-run.sh" "$FILES"/bin/*
echo "ok"

step "systemd-analyze verify"
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/etc/systemd/system" "$root/opt/alpr/bin" "$root/usr/lib/systemd" "$root/usr/sbin"
cp -a /lib/systemd/system "$root/usr/lib/systemd/"
install -m 0755 "$FILES"/bin/* "$root/opt/alpr/bin/"
install -m 0755 "$(command -v nft)" "$root/usr/sbin/nft"
install -m 0644 "$FILES"/systemd/* "$root/etc/systemd/system/"
# Generated from /etc/fstab on the Pi (systemd-fstab-generator); stand-in for the check only.
printf '[Mount]\nWhat=/dev/disk/by-label/bootfs\nWhere=/boot/firmware\nType=vfat\n' \
	>"$root/usr/lib/systemd/system/boot-firmware.mount"
units=$(cd "$FILES/systemd" && ls)
# shellcheck disable=SC2086  # unit names have no spaces
if ! out=$(systemd-analyze verify --root="$root" $units 2>&1) || [ -n "$out" ]; then
	printf '%s\n' "$out" >&2
	echo "FAILED: systemd-analyze verify" >&2
	exit 1
fi
echo "ok: $units" | tr '\n' ' '
echo

step "systemd-analyze security (offline), $MAIN_UNIT <= $THRESHOLD"
for unit in $units; do
	case $unit in *.service) ;; *) continue ;; esac
	score=$(systemd-analyze security --offline=true --root="$root" "$unit" 2>/dev/null |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	echo "$unit exposure $score"
done
if ! systemd-analyze security --offline=true --threshold="$(awk "BEGIN{print int($THRESHOLD*10)}")" \
	--root="$root" "$MAIN_UNIT" >/dev/null 2>&1; then
	echo "FAILED: $MAIN_UNIT exposure above $THRESHOLD" >&2
	exit 1
fi
echo "ok"

step "nft -c"
nft_check() {
	if out=$(nft -c -f "$1" 2>&1); then return 0; fi
	case $out in
	*"Operation not permitted"*) unshare -rn nft -c -f "$1" ;;
	*) printf '%s\n' "$out" >&2; return 1 ;;
	esac
}
site="$root/site.nft"
cat "$FILES/etc/nftables.conf" "$FILES/etc/firewall.example.nft" >"$site"
nft_check "$FILES/etc/nftables.conf" || { echo "FAILED: nftables.conf" >&2; exit 1; }
nft_check "$site" || { echo "FAILED: nftables.conf + firewall.example.nft" >&2; exit 1; }
echo "ok"
echo "image-build check passed"
