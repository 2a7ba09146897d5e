#!/usr/bin/env bash
# package.sh: the Debian package, as a user gets it: built from this tree
# with dpkg-buildpackage -us -uc -b, checked by lintian (no error), installed
# into the running system with apt-get install ./keepwatch_*.deb, run (its
# version and one bundled capture, from the installed binary), and removed
# again (purged, with its system user). Needs root and Debian's debhelper,
# dpkg-dev, fakeroot and lintian (tests/all.sh installs them).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" != 0 ]; then echo "package.sh: needs root to install the package" >&2; exit 1; fi
if dpkg-query -W -f='${Status}' keepwatch 2>/dev/null | grep -q 'install ok installed'; then
    echo "package.sh: a keepwatch package is already installed; not touching it" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/keepwatch-deb.XXXXXX")
installed=0
cleanup() {
    if [ $installed = 1 ]; then apt-get purge -y -qq keepwatch >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# A copy of the sources: the build writes into its tree.
mkdir "$work/src"
tar -C "$top" --exclude=./_build --exclude=.git -cf - . | tar -C "$work/src" -xf -
( cd "$work/src" && dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1 ) ||
    { tail -40 "$work/build.log" >&2; echo "not ok - dpkg-buildpackage failed" >&2; exit 1; }
deb=$(ls "$work"/keepwatch_*.deb)
echo "ok - built $(basename "$deb")"

lintian --fail-on error "$work"/keepwatch_*.changes 2>&1 | grep -v 'running with root' || true
lintian --fail-on error "$work"/keepwatch_*.changes >/dev/null 2>&1 ||
    { echo "not ok - lintian reports errors" >&2; exit 1; }
echo "ok - lintian: no error"

DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >"$work/install.log" 2>&1 ||
    { cat "$work/install.log" >&2; echo "not ok - apt-get install failed" >&2; exit 1; }
installed=1
getent passwd keepwatch >/dev/null || { echo "not ok - no keepwatch system user" >&2; exit 1; }
/usr/bin/keepwatch --version | grep -q '^keepwatch ' || { echo "not ok - --version" >&2; exit 1; }
/usr/bin/keepwatch -q -r "$top/tests/pcaps/tornado-http10.pcap" | grep -q 'ERROR lost-request' ||
    { echo "not ok - the installed binary did not report the lost request" >&2; exit 1; }
man -w keepwatch >/dev/null 2>&1 || [ -e /usr/share/man/man1/keepwatch.1.gz ] ||
    { echo "not ok - no man page" >&2; exit 1; }
echo "ok - installed: keepwatch --version, a bundled capture, the man page, the system user"

# The service: its files, the unit as systemd reads it, and the unit's own
# terms (the keepwatch user, CAP_NET_RAW only) enough to sniff for a moment.
for f in /lib/systemd/system/keepwatch.service /etc/logrotate.d/keepwatch /etc/default/keepwatch; do
    [ -e "$f" ] || { echo "not ok - $f not installed" >&2; exit 1; }
done
if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify /lib/systemd/system/keepwatch.service >"$work/verify.log" 2>&1 ||
        { cat "$work/verify.log" >&2; echo "not ok - systemd-analyze verify" >&2; exit 1; }
fi
if command -v logrotate >/dev/null; then
    logrotate -d /etc/logrotate.d/keepwatch >"$work/logrotate.log" 2>&1 ||
        { cat "$work/logrotate.log" >&2; echo "not ok - logrotate -d" >&2; exit 1; }
fi
mkdir -m 0750 "$work/log" && chown keepwatch:keepwatch "$work/log" && chmod 755 "$work"
setpriv --reuid=keepwatch --regid=keepwatch --clear-groups --inh-caps=+net_raw \
    --ambient-caps=+net_raw --bounding-set=-all,+net_raw \
    timeout -s TERM 2 /usr/bin/keepwatch -i lo --json="$work/log/events.json" -q tcp port 9 \
    >"$work/service.out" 2>&1 || true
grep -q '"event":"stats".*"kernel":{"received"' "$work/log/events.json" ||
    { cat "$work/service.out" >&2; echo "not ok - as the service runs it (keepwatch user, CAP_NET_RAW only), no stats at SIGTERM" >&2; exit 1; }
echo "ok - the service: unit, logrotate and default files; as the unit runs it, it sniffs lo and ends cleanly on SIGTERM"

apt-get purge -y -qq keepwatch >/dev/null 2>&1
installed=0
[ ! -e /usr/bin/keepwatch ] && ! getent passwd keepwatch >/dev/null ||
    { echo "not ok - the purge left the binary or the user" >&2; exit 1; }
echo "ok - purged"
