#!/usr/bin/env bash
# run.sh: keepwatch's benchmark runner.
#
# usage: bench/run.sh [--update-doc] [CAPTURE [SLICE]]
#
# Over one capture (default $OUT_DIR/bench-1g.pcap, made by
# make-bench-pcap.sh) and in one run, times each reader with hyperfine
# (one warm-up, then RUNS runs, page cache warm; median wall time):
#   libpcap only      baseline/pcap_floor.c: reads every packet (the floor)
#   libnids only      baseline/nids_ceiling.c: reassembles, discards every byte
#   libnids + libhtp  baseline/nids_htp.c: the same, feeding Suricata's parser
#   keepwatch text    $KEEPWATCH -r FILE > /dev/null
#   keepwatch --json  $KEEPWATCH --json -r FILE > /dev/null
#   tshark            tshark -n -q -z http,tree -d tcp.port==PORT,http ...
# Both libnids readers use a table of NIDS_STREAMS buckets, keepwatch's own
# nids_params.n_tcp_streams (73728 at the default --max-connections of 49152
# reading files: reassembly/feed.c). Every timed run is wrapped in /usr/bin/time -f %M
# for its peak RSS. Before it is timed, each reader runs once untimed (bounded
# by TIMEOUT seconds) to check that it succeeds and to collect its counts.
# Then peak RSS growth: libnids, libnids + libhtp, keepwatch --json and tshark
# run on SLICE (default: CAPTURE's -slice.pcap beside it, else its first tenth
# made here) and their peak RSS is set beside the whole capture's.
#
# Prints a Markdown section (capture stats, table, RSS growth, targets) to
# stdout and writes it, with details, to $RESULTS; --update-doc (or
# UPDATE_DOC=1) also rewrites the part of docs/performance.md between
# <!-- bench:begin --> and <!-- bench:end --> with it. Progress goes to stderr.
#
# Settings (environment):
#   OUT_DIR       where the captures are (default ${TMPDIR:-/tmp}/keepwatch-bench)
#   KEEPWATCH     keepwatch binary (default: keepwatch at the repository top,
#                 built by make); missing: its rows are skipped
#   NIDS_STREAMS  libnids stream table of the baseline readers (73728)
#   PORTS         the servers' ports in the capture, for tshark ("18080 18081")
#   RUNS          timed runs per reader (10); TSHARK_RUNS for tshark (3)
#   RSS_RUNS      runs per reader on the slice for RSS growth (3)
#   TIMEOUT       bound on one untimed check run, seconds (1800)
#   WORK_DIR      scratch: binaries, hyperfine JSON, logs
#                 (default ${TMPDIR:-/tmp}/keepwatch-bench-run)
#   RESULTS       results file (default $WORK_DIR/results.md)
# Needs (Debian): gcc libpcap-dev libnids-dev libhtp-dev hyperfine time jq
# tshark wireshark-common coreutils.
set -euo pipefail
export LC_ALL=C

BENCH=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$BENCH")
ARGV=("$@")

UPDATE_DOC=${UPDATE_DOC:-0}
pos=()
for a in "$@"; do
  case $a in
    --update-doc) UPDATE_DOC=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run.sh: unknown option $a (see --help)" >&2; exit 2 ;;
    *) pos+=("$a") ;;
  esac
done
[ ${#pos[@]} -le 2 ] || { echo "usage: bench/run.sh [--update-doc] [CAPTURE [SLICE]]" >&2; exit 2; }

DATA_DIR=${OUT_DIR:-${TMPDIR:-/tmp}/keepwatch-bench}
CAPTURE=${pos[0]:-$DATA_DIR/bench-1g.pcap}
SLICE=${pos[1]:-${CAPTURE%.pcap}-slice.pcap}
KEEPWATCH=${KEEPWATCH:-$BENCH/../keepwatch}
NIDS_STREAMS=${NIDS_STREAMS:-73728}
PORTS=${PORTS:-"18080 18081"}
RUNS=${RUNS:-10}
TSHARK_RUNS=${TSHARK_RUNS:-3}
RSS_RUNS=${RSS_RUNS:-3}
TIMEOUT=${TIMEOUT:-1800}
WORK=${WORK_DIR:-${TMPDIR:-/tmp}/keepwatch-bench-run}
RESULTS=${RESULTS:-$WORK/results.md}
DOC=$REPO/docs/performance.md

log() { printf '%s\n' "$*" >&2; }
die() { log "run.sh: $*"; exit 1; }

# --- preconditions -------------------------------------------------------------
need() { # program package
  command -v "$1" > /dev/null 2>&1 || die "$1 not found (Debian package: $2)"
}
need gcc gcc
need hyperfine hyperfine
need jq jq
need tshark tshark
need capinfos wireshark-common
need editcap wireshark-common
need timeout coreutils
[ -x /usr/bin/time ] || die "/usr/bin/time not found (Debian package: time)"
[ -f "$CAPTURE" ] || die "no capture $CAPTURE (make one with bench/make-bench-pcap.sh, or name one)"
if [ "$UPDATE_DOC" = 1 ]; then
  [ -f "$DOC" ] || die "no $DOC to update"
  if ! grep -q '^<!-- bench:begin -->$' "$DOC" || ! grep -q '^<!-- bench:end -->$' "$DOC"; then
    die "$DOC has no <!-- bench:begin --> / <!-- bench:end --> lines"
  fi
fi
CAPTURE=$(cd "$(dirname "$CAPTURE")" && pwd)/$(basename "$CAPTURE")
mkdir -p "$WORK/bin" "$WORK/out"
rm -f "$WORK"/out/*

log "== building the baseline readers into $WORK/bin"
gcc -O2 -Wall -o "$WORK/bin/pcap_floor" "$BENCH/baseline/pcap_floor.c" -lpcap
gcc -O2 -Wall -o "$WORK/bin/nids_ceiling" "$BENCH/baseline/nids_ceiling.c" -lnids -lpcap
gcc -O2 -Wall -o "$WORK/bin/nids_htp" "$BENCH/baseline/nids_htp.c" -lnids -lpcap -lhtp
FLOOR=$WORK/bin/pcap_floor
NIDS=$WORK/bin/nids_ceiling
HTP=$WORK/bin/nids_htp

KW=""
if [ -x "$KEEPWATCH" ]; then
  KW=$(cd "$(dirname "$KEEPWATCH")" && pwd)/$(basename "$KEEPWATCH")
else
  log "== keepwatch binary $KEEPWATCH not found: its rows are skipped (build it with make at the repository top)"
fi

DECODE=""
for p in $PORTS; do DECODE="$DECODE -d tcp.port==$p,http"; done
q() { printf '%q' "$1"; }

# --- readers: name, label, runs, command (a shell command line; FILE stands
# for the capture) -------------------------------------------------------------
NAMES=(floor nids nids-htp kw-text kw-json tshark)
declare -A LABEL=(
  [floor]="libpcap only (floor)" [nids]="libnids only" [nids-htp]="libnids + libhtp"
  [kw-text]="keepwatch (text)" [kw-json]="keepwatch --json" [tshark]="tshark -z http,tree")
declare -A NRUNS=(
  [floor]=$RUNS [nids]=$RUNS [nids-htp]=$RUNS [kw-text]=$RUNS [kw-json]=$RUNS [tshark]=$TSHARK_RUNS)
declare -A SHOWN=(
  [floor]="pcap_floor FILE"
  [nids]="nids_ceiling -n $NIDS_STREAMS FILE"
  [nids-htp]="nids_htp -n $NIDS_STREAMS FILE"
  [kw-text]="keepwatch -r FILE > /dev/null"
  [kw-json]="keepwatch --json -r FILE > /dev/null"
  [tshark]="tshark -r FILE -n -q -z http,tree$DECODE > /dev/null")
cmd_of() { # name file: the command line that runs reader name over file
  local f; f=$(q "$2")
  case $1 in
    floor) echo "$(q "$FLOOR") $f > /dev/null" ;;
    nids) echo "$(q "$NIDS") -n $NIDS_STREAMS $f > /dev/null" ;;
    nids-htp) echo "$(q "$HTP") -n $NIDS_STREAMS $f > /dev/null" ;;
    kw-text) echo "$(q "$KW") -r $f > /dev/null" ;;
    kw-json) echo "$(q "$KW") --json -r $f > /dev/null" ;;
    tshark) echo "tshark -r $f -n -q -z http,tree$DECODE > /dev/null" ;;
  esac
}
available() { case $1 in kw-*) [ -n "$KW" ] ;; *) return 0 ;; esac; }

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }'; }

# --- untimed check runs: each reader once, its counts kept -----------------------
check() { # name: run reader once untimed over the capture; output to out/name.check
  local name=$1 out=$WORK/out/$1.check rc=0 t0 t1
  t0=$(date +%s.%N)
  case $name in
    floor) timeout "$TIMEOUT" "$FLOOR" -t "$CAPTURE" > "$out" 2>&1 || rc=$? ;;
    nids) timeout "$TIMEOUT" "$NIDS" -n "$NIDS_STREAMS" "$CAPTURE" > "$out" 2>&1 || rc=$? ;;
    nids-htp) timeout "$TIMEOUT" "$HTP" -n "$NIDS_STREAMS" "$CAPTURE" > "$out" 2>&1 || rc=$? ;;
    kw-text|kw-json)
      local opt=""; [ "$name" = kw-json ] && opt=--json
      # shellcheck disable=SC2086 # opt is empty or one word
      timeout "$TIMEOUT" "$KW" $opt -r "$CAPTURE" > "$out.data" 2> "$out.stderr" || rc=$?
      wc -lc < "$out.data" | awk '{ printf "output: %d lines, %d bytes\n", $1, $2 }' > "$out"
      if [ "$name" = kw-json ] && [ "$rc" = 0 ] && [ -s "$out.data" ]; then
        # each line of --json output should be one JSON value
        jq -c . "$out.data" > /dev/null 2>&1 && echo "output parses as JSON (jq)" >> "$out" ||
          echo "output does NOT parse as JSON (jq)" >> "$out"
      fi
      rm -f "$out.data"
      ;;
    tshark)
      # shellcheck disable=SC2086 # DECODE is a list of options
      timeout "$TIMEOUT" tshark -r "$CAPTURE" -n -q -z http,tree $DECODE > "$out" 2> "$out.stderr" || rc=$? ;;
  esac
  t1=$(date +%s.%N)
  log "   check $name: exit $rc, $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s"
  return "$rc"
}

# --- capture stats -------------------------------------------------------------------
log "== capture $(basename "$CAPTURE")"
cat "$CAPTURE" > /dev/null
FILE_BYTES=$(stat -c %s "$CAPTURE")
check floor || die "pcap_floor failed on $CAPTURE: $(cat "$WORK/out/floor.check")"
read -r PACKETS PAYLOAD SYNS < <(awk '{ for (i = 1; i < NF; i++) v[$i] = $(i + 1) }
  END { print v["packets"], v["tcp_payload_bytes"], v["syns"] }' "$WORK/out/floor.check")
DURATION=$(capinfos -M -u "$CAPTURE" | awk -F': *' '/Capture duration/ { print $2 + 0 }')

declare -A STATUS MEDIAN RSS MEAN STDDEV MIN MAX USER SYS
for n in "${NAMES[@]}"; do STATUS[$n]=skipped; done
STATUS[floor]=ok
for n in nids nids-htp kw-text kw-json tshark; do
  available "$n" || { STATUS[$n]="skipped (no keepwatch binary)"; continue; }
  rc=0; check "$n" || rc=$?
  if [ "$rc" = 0 ]; then STATUS[$n]=ok; else STATUS[$n]="failed (exit $rc)"; fi
done
NIDS_EST=$(awk '/^established/ { print $2 }' "$WORK/out/nids.check" 2>/dev/null || true)
read -r _ HTP_REQS HTP_RESPS < <(awk '/^connections/ {
  for (i = 1; i < NF; i++) v[$i] = $(i + 1); print v["connections"], v["requests"], v["responses"] }' \
  "$WORK/out/nids-htp.check" 2>/dev/null || true) || true

# --- timed runs ------------------------------------------------------------------------
# The fast readers run interleaved, one run of each per round, so that a
# change in the machine's load (shared machines vary by 5-25% within minutes)
# hits them all alike and their ratios stay honest. tshark, 40x slower, runs
# on its own afterwards.
INTERLEAVED=()
for n in "${NAMES[@]}"; do
  [ "${STATUS[$n]}" = ok ] && [ "$n" != tshark ] && INTERLEAVED+=("$n")
done
ROUNDS=$(( NRUNS[floor] ))
log "== timing ${INTERLEAVED[*]}: $ROUNDS interleaved rounds after one warm-up round"
for n in "${INTERLEAVED[@]}"; do rm -f "$WORK/out/$n.rss" "$WORK/out/$n.times"; done
cat "$CAPTURE" > /dev/null   # page cache warm
for round in $(seq 0 "$ROUNDS"); do
  for n in "${INTERLEAVED[@]}"; do
    t0=$(date +%s%N)
    /usr/bin/time -f "%M %U %S" -o "$WORK/out/$n.last" sh -c "$(cmd_of "$n" "$CAPTURE")" ||
      STATUS[$n]="failed (exit $?)"
    t1=$(date +%s%N)
    [ "$round" = 0 ] && continue   # the warm-up round
    echo "$(( t1 - t0 ))" >> "$WORK/out/$n.times"
    cat "$WORK/out/$n.last" >> "$WORK/out/$n.rss"
  done
done
for n in "${INTERLEAVED[@]}"; do
  [ "${STATUS[$n]}" = ok ] || continue
  read -r med mean sd min max < <(sort -n "$WORK/out/$n.times" | awk '
    { t[NR] = $1 / 1e9; s += t[NR]; ss += t[NR] * t[NR] }
    END { m = s / NR; med = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
          printf "%.6f %.6f %.6f %.6f %.6f\n", med, m, sqrt(ss / NR - m * m), t[1], t[NR] }')
  MEDIAN[$n]=$med MEAN[$n]=$mean STDDEV[$n]=$sd MIN[$n]=$min MAX[$n]=$max
  USER[$n]=$(awk '{ s += $2 } END { printf "%.6f", s / NR }' "$WORK/out/$n.rss")
  SYS[$n]=$(awk '{ s += $3 } END { printf "%.6f", s / NR }' "$WORK/out/$n.rss")
  RSS[$n]=$(awk '{ print $1 }' "$WORK/out/$n.rss" | median)
done

n=tshark
if [ "${STATUS[$n]}" = ok ]; then
  json=$WORK/out/$n.json rssf=$WORK/out/$n.rss
  rm -f "$rssf"
  cat "$CAPTURE" > /dev/null   # page cache warm
  log "== timing ${LABEL[$n]}: ${NRUNS[$n]} runs"
  if hyperfine --style basic --warmup 1 --runs "${NRUNS[$n]}" --export-json "$json" \
       "/usr/bin/time -f %M -a -o $(q "$rssf") $(cmd_of "$n" "$CAPTURE")" >&2; then
    read -r med mean sd min max usr sys < <(jq -r \
      '.results[0] | [.median, .mean, .stddev, .min, .max, .user, .system] | @tsv' "$json")
    MEDIAN[$n]=$med MEAN[$n]=$mean STDDEV[$n]=$sd MIN[$n]=$min MAX[$n]=$max USER[$n]=$usr SYS[$n]=$sys
    RSS[$n]=$(median < "$rssf")
  else
    STATUS[$n]="failed (hyperfine)"
  fi
fi

# --- RSS growth: the slice against the whole capture ----------------------------------
if [ ! -f "$SLICE" ]; then
  SLICE=$WORK/slice.pcap
  log "== no slice beside the capture: making $SLICE from its first tenth of packets"
  editcap -F pcap -r "$CAPTURE" "$SLICE" "1-$(( PACKETS / 10 > 0 ? PACKETS / 10 : 1 ))"
fi
SLICE=$(cd "$(dirname "$SLICE")" && pwd)/$(basename "$SLICE")
SLICE_BYTES=$(stat -c %s "$SLICE")
SLICE_PACKETS=$(capinfos -M -c "$SLICE" | awk -F': *' '/Number of packets/ { print $2 + 0 }')
GROWTH_NAMES=(nids nids-htp kw-json tshark)
declare -A SLICE_RSS
for n in "${GROWTH_NAMES[@]}"; do
  [ "${STATUS[$n]}" = ok ] || continue
  rssf=$WORK/out/$n.slice.rss
  rm -f "$rssf"
  log "== peak RSS of ${LABEL[$n]} on the slice: $RSS_RUNS runs"
  ok=1
  for _ in $(seq 1 "$RSS_RUNS"); do
    timeout "$TIMEOUT" /usr/bin/time -f %M -a -o "$rssf" sh -c "$(cmd_of "$n" "$SLICE")" || { ok=0; break; }
  done
  [ "$ok" = 1 ] && SLICE_RSS[$n]=$(median < "$rssf")
done

# --- report ------------------------------------------------------------------------------
num() { # integer with thousands separators
  awk -v x="$1" 'BEGIN { x = sprintf("%.0f", x); s = ""
    while (length(x) > 3) { s = "," substr(x, length(x) - 2) s; x = substr(x, 1, length(x) - 3) }
    print x s }'
}
fmt() { awk -v x="$2" "BEGIN { printf \"$1\", x }"; }
ratio() { # a b: a / b as "1.23x", or n/a
  if [ -n "$1" ] && [ -n "$2" ]; then awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f×", a / b }'
  else echo "n/a"; fi
}
mib() { [ -n "$1" ] && awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }' || echo "n/a"; }
show_path() { # a path as it may be written in the repository: no machine paths
  case $1 in
    "$REPO"/*) echo "${1#"$REPO"/}" ;;
    "$(dirname "$CAPTURE")"/*) echo "\$OUT_DIR/${1#"$(dirname "$CAPTURE")"/}" ;;
    *) echo "<scratch>/$(basename "$1")" ;;
  esac
}
command_line() { # the invocation, machine paths replaced
  local out="" v a
  for v in OUT_DIR KEEPWATCH NIDS_STREAMS PORTS RUNS TSHARK_RUNS RSS_RUNS UPDATE_DOC; do
    if [ -n "${!v+x}" ] && printenv "$v" > /dev/null; then
      case $v in
        OUT_DIR) [ ${#pos[@]} -gt 0 ] || out+="OUT_DIR=<capture dir> " ;;
        KEEPWATCH) out+="KEEPWATCH=$(show_path "$KW") " ;;
        *) out+="$v=$(printf '%q' "${!v}") " ;;
      esac
    fi
  done
  out+="bench/run.sh"
  for a in "${ARGV[@]}"; do
    case $a in
      -*) out+=" $a" ;;
      *) out+=" \"$(show_path "$(cd "$(dirname "$a")" && pwd)/$(basename "$a")")\"" ;;
    esac
  done
  echo "$out"
}
pkgver() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null | sed 's/^[0-9]*://; s/-[^-]*$//' || echo "?"; }

{
  echo "Run of $(date -u '+%Y-%m-%d %H:%M UTC'), in the repository's top directory:"
  echo
  echo "    $(command_line)"
  echo
  echo "Machine: $(nproc) cores ($(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(free -g | awk '/^Mem:/ { print $2 }') GiB of memory, Linux $(uname -r | cut -d- -f1);" \
    "libpcap $(pkgver libpcap0.8), libnids $(pkgver libnids1.21), libhtp $(pkgver libhtp2), tshark $(pkgver tshark), hyperfine $(pkgver hyperfine)."
  echo
  echo "Capture \`$(basename "$CAPTURE")\`: $(num "$FILE_BYTES") bytes, $(num "$PACKETS") packets" \
    "(mean $(fmt %.0f "$(awk -v b="$FILE_BYTES" -v p="$PACKETS" 'BEGIN { print (b - 24) / p - 16 }')") bytes)," \
    "$(fmt %.1f "$DURATION") s of traffic, $(num "$SYNS") TCP connections (SYNs; libnids established ${NIDS_EST:+$(num "$NIDS_EST")})," \
    "${HTP_REQS:+$(num "$HTP_REQS")} HTTP requests and ${HTP_RESPS:+$(num "$HTP_RESPS")} responses (libhtp), $(num "$PAYLOAD") bytes of TCP payload."
  echo "Slice \`$(basename "$SLICE")\`: $(num "$SLICE_BYTES") bytes, $(num "$SLICE_PACKETS") packets."
  echo
  echo "| reader | runs | median wall s | MB/s | packets/s | peak RSS MiB | time ÷ libnids only | time ÷ keepwatch --json |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for n in "${NAMES[@]}"; do
    if [ "${STATUS[$n]}" != ok ]; then
      echo "| ${LABEL[$n]} | ${STATUS[$n]} | | | | | | |"
      continue
    fi
    m=${MEDIAN[$n]}
    echo "| ${LABEL[$n]} | ${NRUNS[$n]} | $(fmt %.3f "$m") |" \
      "$(fmt %.0f "$(awk -v b="$FILE_BYTES" -v t="$m" 'BEGIN { print b / 1e6 / t }')") |" \
      "$(num "$(awk -v p="$PACKETS" -v t="$m" 'BEGIN { print p / t }')") |" \
      "$(mib "${RSS[$n]}") | $(ratio "$m" "${MEDIAN[nids]:-}") | $(ratio "$m" "${MEDIAN[kw-json]:-}") |"
  done
  echo
  echo "MB = 10^6 bytes of capture file. Commands (FILE is the capture; the fast readers run interleaved, one run each per round after a warm-up round, page cache warm; tshark with hyperfine, one warm-up run; each"
  echo "run wrapped in \`/usr/bin/time -f %M\`, whose median over the warm-up and timed runs is the peak RSS):"
  echo
  for n in "${NAMES[@]}"; do echo "- ${LABEL[$n]}: \`${SHOWN[$n]}\`"; done
  echo
  echo "Peak RSS on the slice and on the whole capture (median of $RSS_RUNS runs on the slice):"
  echo
  echo "| reader | slice MiB | whole capture MiB | growth |"
  echo "| --- | ---: | ---: | ---: |"
  for n in "${GROWTH_NAMES[@]}"; do
    s=${SLICE_RSS[$n]:-} w=${RSS[$n]:-}
    if [ -n "$s" ] && [ -n "$w" ]; then
      echo "| ${LABEL[$n]} | $(mib "$s") | $(mib "$w") | $(awk -v s="$s" -v w="$w" 'BEGIN { g = (w - s) * 100 / s; if (g > -0.05 && g < 0.05) g = 0; printf "%+.1f%%", g }') |"
    else
      echo "| ${LABEL[$n]} | ${STATUS[$n]} | | |"
    fi
  done
  echo
  echo "Targets for keepwatch --json:"
  echo
  if [ -n "${MEDIAN[kw-json]:-}" ]; then
    k=${MEDIAN[kw-json]}
    verdict() { if awk "BEGIN { exit !($1) }"; then echo met; else echo "**not met**"; fi; }
    echo "- at most 1.3× the libnids-only reader's time: ${MEDIAN[nids]:+$(ratio "$k" "${MEDIAN[nids]}"), $(verdict "$k <= 1.3 * ${MEDIAN[nids]}")}"
    echo "- faster than libnids + libhtp: ${MEDIAN[nids-htp]:+$(ratio "$k" "${MEDIAN[nids-htp]}") its time, $(verdict "$k < ${MEDIAN[nids-htp]}")}"
    echo "- at least 25× faster than tshark: ${MEDIAN[tshark]:+$(awk -v t="${MEDIAN[tshark]}" -v k="$k" 'BEGIN { printf "%.1f×", t / k }') faster, $(verdict "${MEDIAN[tshark]} >= 25 * $k")}"
    s=${SLICE_RSS[kw-json]:-} w=${RSS[kw-json]:-}
    echo "- peak RSS that does not grow with the capture (whole capture within 10% of the slice): ${s:+$(mib "$s") → $(mib "$w") MiB, $(verdict "$w <= 1.1 * $s")}"
  else
    echo "- not measured: keepwatch --json ${STATUS[kw-json]}."
  fi
} > "$WORK/section.md"

{
  echo "# keepwatch benchmark results"
  echo
  cat "$WORK/section.md"
  echo
  echo "## Details"
  echo
  echo "| reader | mean s | stddev s | min s | max s | user s (mean) | sys s (mean) | peak RSS KiB |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for n in "${NAMES[@]}"; do
    [ "${STATUS[$n]}" = ok ] || continue
    echo "| ${LABEL[$n]} | $(fmt %.3f "${MEAN[$n]}") | $(fmt %.3f "${STDDEV[$n]}") | $(fmt %.3f "${MIN[$n]}") |" \
      "$(fmt %.3f "${MAX[$n]}") | $(fmt %.3f "${USER[$n]}") | $(fmt %.3f "${SYS[$n]}") | ${RSS[$n]} |"
  done
  echo
  echo "Untimed check runs over the whole capture:"
  echo
  echo '```'
  for n in "${NAMES[@]}"; do
    [ -f "$WORK/out/$n.check" ] || continue
    echo "## ${LABEL[$n]}"
    cat "$WORK/out/$n.check"
    [ -s "$WORK/out/$n.check.stderr" ] && { echo "(stderr)"; head -n 20 "$WORK/out/$n.check.stderr"; }
  done
  echo '```'
} > "$RESULTS"

cat "$WORK/section.md"
log "== results: $RESULTS (hyperfine JSON and RSS samples in $WORK/out)"

if [ "$UPDATE_DOC" = 1 ]; then
  tmp=$DOC.tmp.$$
  awk -v sect="$WORK/section.md" '
    $0 == "<!-- bench:begin -->" { print; print ""; while ((getline l < sect) > 0) print l; skip = 1; next }
    $0 == "<!-- bench:end -->" { skip = 0; print "" }
    !skip { print }' "$DOC" > "$tmp"
  mv "$tmp" "$DOC"
  log "== updated $(show_path "$DOC")"
fi
