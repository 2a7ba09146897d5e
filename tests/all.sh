#!/usr/bin/env bash
# all.sh: the whole test suite, from a fresh Debian 12 machine (run as root).
# Installs what is missing, then builds and tests three ways:
#   1. a -Werror build: make check (unit, regression, cross-check with tshark, CLI,
#      live capture on lo against nginx and Tornado (root),
#      the HTML report in chromium, the evidence captures read back with tshark);
#   2. the same under AddressSanitizer and UndefinedBehaviorSanitizer;
#   3. make distcheck (the release tarball builds, installs and passes too);
# then each fuzz target runs for a minute from its seeds (a crash fails the
# run), and the Debian package is built, checked, installed, run and purged.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

packages=(build-essential autoconf automake pkg-config libpcap-dev libnids-dev nettle-dev
          zlib1g-dev libzstd-dev liblz4-dev check tshark python3 gzip zstd lz4 nginx-light
          python3-tornado tcpdump curl debhelper dpkg-dev fakeroot lintian logrotate clang libclang-rt-14-dev chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" > /dev/null
fi

./autogen.sh > /dev/null 2>&1
if [ -f config.status ]; then make distclean > /dev/null; fi  # a build in the source tree

jobs=$(nproc)
passed=0 failed=0
check() { # dir configure-args...: configure in a build folder of its own, build, test
  local dir=$1; shift
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  "$top/configure" -q "$@"
  make -s -j"$jobs"
  local rc=0
  make -s -j"$jobs" check || rc=$?
  grep -h -E '^[0-9]+%: Checks:|^[0-9]+ passed, [0-9]+ failed' tests/*.log || true
  passed=$((passed + $(sed -n 's/^# PASS: *//p' test-suite.log)))
  failed=$((failed + $(sed -n 's/^# FAIL: *//p' test-suite.log) + $(sed -n 's/^# ERROR: *//p' test-suite.log)))
  if [ $rc -ne 0 ]; then
    cat tests/*.log >&2 || true
    echo "$passed passed, $failed failed"
    exit 1
  fi
  cd "$top"
}

echo "== build with -Werror, make check"
check _build/release --enable-werror

echo "== AddressSanitizer and UndefinedBehaviorSanitizer, make check"
san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
KW_SANITIZED=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  check _build/sanitize --enable-werror CFLAGS="-O1 -g $san" LDFLAGS="$san"

echo "== make distcheck"
cd _build/release
make -s distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-werror > distcheck.log 2>&1 ||
  { tail -50 distcheck.log >&2; exit 1; }
grep -E 'archives ready for distribution|keepwatch-.*tar.gz' distcheck.log | head -2
cd "$top"
rm -rf _build

echo "== fuzz targets, ${FUZZ_SECONDS:-60} s each (libFuzzer, ASan, UBSan)"
FUZZ_SECONDS=${FUZZ_SECONDS:-60} fuzz/run.sh

echo "== Debian package: build, lintian, install, run, purge"
tests/package.sh
echo "$passed passed, $failed failed"
