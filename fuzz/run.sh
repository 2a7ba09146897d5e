#!/usr/bin/env bash
# run.sh: build the fuzz targets with clang (libFuzzer, AddressSanitizer,
# UndefinedBehaviorSanitizer) and run each for FUZZ_SECONDS (default 60) from
# the seeds in corpus/. Crashes are written to the scratch directory WORK
# (default a temporary one) and make the script exit non-zero.
# Needs: clang (Debian clang-14 ships libFuzzer).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$HERE")
WORK=${WORK:-$(mktemp -d)}
SECONDS_EACH=${FUZZ_SECONDS:-60}
CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I$TOP"
mkdir -p "$WORK"
clang $CFLAGS -o "$WORK/fuzz_http" "$HERE/fuzz_http.c" "$TOP"/http/dec*.c "$TOP/common/bytes.c"
clang $CFLAGS -o "$WORK/fuzz_link" "$HERE/fuzz_link.c" "$TOP/capture/link.c" \
  "$TOP/capture/tunnel.c"
rc=0
for t in http link; do
  mkdir -p "$WORK/corpus-$t"
  cp "$HERE/corpus/$t/"* "$WORK/corpus-$t/"
  echo "== fuzz_$t for $SECONDS_EACH s"
  (cd "$WORK" && ./fuzz_"$t" -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
     corpus-"$t" 2>&1 | tail -12) || rc=1
done
ls "$WORK"/crash-* 2>/dev/null && rc=1
echo "work dir: $WORK"
exit $rc
