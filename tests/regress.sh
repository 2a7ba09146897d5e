#!/usr/bin/env bash
# regress.sh: keepwatch's report on every capture in tests/pcaps must equal the
# expected files beside it, reviewed by hand when first written:
#   NAME.json  the --json output      NAME.txt  the text report
# A NAME.rules beside a capture is passed as --rules (expectations, say).
# KW_REGEN=1 rewrites them (then review the diff before committing).
set -u
KEEPWATCH=${KEEPWATCH:-./keepwatch}
KEEPWATCH=$(cd "$(dirname "$KEEPWATCH")" && pwd)/$(basename "$KEEPWATCH")
srcdir=${srcdir:-.}
pass=0 fail=0
for cap in "$srcdir"/tests/pcaps/*.pcap "$srcdir"/tests/pcaps/*.pcapng; do
  [ -e "$cap" ] || continue
  name=$(basename "$cap")
  for kind in json txt; do
    expected=$cap.$kind
    # A fixed sensor name: the expected files must not depend on the host.
    # Run beside the capture: findings name their file as it was given (-r NAME).
    if [ "$kind" = json ]; then args=(--json --sensor=test -r "$name"); else args=(-r "$name"); fi
    if [ -e "$cap.rules" ]; then args=(--rules "$name.rules" "${args[@]}"); fi
    got=$(cd "$(dirname "$cap")" && "$KEEPWATCH" "${args[@]}" 2>/dev/null)
    rc=$?
    if [ "${KW_REGEN:-0}" = 1 ]; then
      printf '%s\n' "$got" > "$expected"
    fi
    if [ $rc -ne 0 ]; then
      echo "not ok - $name $kind: exit status $rc"
      fail=$((fail + 1))
    elif [ ! -e "$expected" ]; then
      echo "not ok - $name $kind: no expected file $expected (KW_REGEN=1 writes it)"
      fail=$((fail + 1))
    elif diff -u "$expected" <(printf '%s\n' "$got") > /dev/null; then
      echo "ok - $name $kind"
      pass=$((pass + 1))
    else
      echo "not ok - $name $kind differs from $expected:"
      diff -u "$expected" <(printf '%s\n' "$got") | head -40
      fail=$((fail + 1))
    fi
  done
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
