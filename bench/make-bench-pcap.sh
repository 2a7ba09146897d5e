#!/usr/bin/env bash
# make-bench-pcap.sh: record keepwatch's benchmark capture, real HTTP/1.x
# traffic between real servers and clients.
#
# Starts nginx and lighttpd on 127.0.0.1 high ports (configs in servers/),
# serves static files of 200 B .. 200 KiB, drives a concurrent, rate-limited
# mix of clients at them and captures loopback with tcpdump until about
# TARGET_BYTES are on disk:
#   - wrk, HTTP/1.1 keep-alive, 50 connections, weighted random paths (nginx)
#   - wrk, HTTP/1.1 keep-alive, 10 connections (lighttpd: 100 requests/conn)
#   - wrk, HTTP/1.1 pipelining, 8 requests per batch, 4 connections (nginx)
#   - wrk, HTTP/1.1 with "Connection: close", 2 connections (lighttpd)
#   - ab -k loop, HTTP/1.0 + Connection: Keep-Alive (both servers)
#   - ab loop, HTTP/1.0 one connection per request (both servers)
# If tcpdump reports a kernel drop, the load is halved and the capture redone
# (at most ATTEMPTS times). Writes, in OUT_DIR:
#   $NAME.pcap         the capture (NAME default bench-1g)
#   $SLICE_NAME.pcap   its first ~SLICE_BYTES, whole packets (default
#                      $NAME-slice, 100 MB or a tenth of TARGET_BYTES if that
#                      is smaller; SLICE_BYTES=0: no slice)
#   $NAME-stats.txt    tcpdump's and the clients' totals, capinfos, and
#                      tshark's count of connections and requests
#
# The recording runs inside a private network namespace whose own loopback
# has a LO_MTU-byte MTU (default 1500) and no segmentation offload
# (gso_max_size), so packets are Ethernet-sized like those of a real link,
# instead of the host loopback's up-to-64 KiB segments. LO_MTU=0 records on
# the host's loopback instead.
#
# Settings (environment): OUT_DIR (default ${TMPDIR:-/tmp}/keepwatch-bench,
# kept out of the repository: a capture is ~1 GB), TARGET_BYTES (default
# 1073741824), SLICE_BYTES, NAME, SLICE_NAME, LO_MTU, NGINX_PORT (18080),
# LIGHTTPD_PORT (18081), MAX_SECONDS (300, bound on one load phase),
# WRK_DELAY_MS (10), AB_SLEEP (0.3), BUFFER_KIB (524288), ATTEMPTS (3).
#
# Needs (Debian): nginx-light (or nginx) lighttpd wrk apache2-utils tcpdump
# tshark wireshark-common curl python3 iproute2.
# Traffic goes to 127.0.0.1 only; every client is bounded in count and time;
# only processes started here are stopped, by pid. Run as root (namespace,
# capture).
set -euo pipefail

LO_MTU=${LO_MTU:-1500}
if [ "$LO_MTU" != 0 ] && [ -z "${KW_IN_NETNS:-}" ]; then
  ns=kwbench$$
  ip netns add "$ns"
  trap 'ip netns del "$ns"' EXIT
  ip -n "$ns" link set lo mtu "$LO_MTU" gso_max_size "$LO_MTU" gso_max_segs 1 up
  status=0
  KW_IN_NETNS=1 ip netns exec "$ns" bash "$0" "$@" || status=$?
  exit "$status"
fi

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
OUT_DIR=${OUT_DIR:-${TMPDIR:-/tmp}/keepwatch-bench}
NGINX_PORT=${NGINX_PORT:-18080}
LIGHTTPD_PORT=${LIGHTTPD_PORT:-18081}
TARGET_BYTES=${TARGET_BYTES:-1073741824}  # stop the load at this capture size
SLICE_BYTES=${SLICE_BYTES:-$(( TARGET_BYTES / 10 < 100000000 ? TARGET_BYTES / 10 : 100000000 ))}
MAX_SECONDS=${MAX_SECONDS:-300}           # hard bound on one load phase
WRK_DELAY_MS=${WRK_DELAY_MS:-10}          # per-connection pause between requests
AB_SLEEP=${AB_SLEEP:-0.3}                 # pause between ab runs (seconds)
BUFFER_KIB=${BUFFER_KIB:-524288}          # tcpdump -B (KiB)
ATTEMPTS=${ATTEMPTS:-3}
NAME=${NAME:-bench-1g}
SLICE_NAME=${SLICE_NAME:-$NAME-slice}

mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
RUN=$(mktemp -d "${TMPDIR:-/tmp}/kwbench.XXXXXX")
chmod 755 "$RUN"   # nginx workers run as nobody and read $RUN/www
echo "run dir: $RUN"

declare -a WRK_PIDS=() LOOP_PIDS=() SERVER_PIDS=()
TCPDUMP_PID=""

stop_pids() { # signal pid...: signal each pid we started, then reap it
  local sig=$1; shift
  local p
  for p in "$@"; do kill "-$sig" "$p" 2>/dev/null || true; done
  for p in "$@"; do wait "$p" 2>/dev/null || true; done
}
stop_clients() { # wrk stops on SIGINT and prints its totals; the ab loops see
                 # the stop file and end after their current (bounded) ab run
  touch "$RUN/stop"
  if [ ${#WRK_PIDS[@]} -gt 0 ]; then stop_pids INT "${WRK_PIDS[@]}"; fi
  local p
  for p in "${LOOP_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  WRK_PIDS=(); LOOP_PIDS=()
}
cleanup() {
  stop_clients
  if [ -n "$TCPDUMP_PID" ]; then stop_pids TERM "$TCPDUMP_PID"; fi
  if [ ${#SERVER_PIDS[@]} -gt 0 ]; then stop_pids TERM "${SERVER_PIDS[@]}"; fi
  SERVER_PIDS=(); TCPDUMP_PID=""
}
trap cleanup EXIT

for port in "$NGINX_PORT" "$LIGHTTPD_PORT"; do
  if [ -n "$(ss -Htln "sport = :$port")" ]; then
    echo "port $port is in use; set NGINX_PORT/LIGHTTPD_PORT" >&2; exit 1
  fi
done

# --- static files, deterministic content -------------------------------------
mkdir -p "$RUN/www" "$RUN/nginx-tmp"
python3 - "$RUN/www" <<'EOF'
import random, sys, os
random.seed(20240601)
d = sys.argv[1]
text = ("<p>keep-alive benchmark page, line %d: the quick brown fox "
        "jumps over the lazy dog 0123456789</p>\n")
def textual(n):
    s, i = [], 0
    while sum(map(len, s)) < n:
        s.append(text % i); i += 1
    return "".join(s)[:n].encode()
for name, size, binary in [("a200.html", 200, 0), ("b1k.css", 1024, 0),
                           ("c4k.js", 4096, 0), ("d16k.html", 16384, 0),
                           ("e64k.png", 65536, 1), ("f200k.jpg", 204800, 1)]:
    data = random.randbytes(size) if binary else textual(size)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
EOF
PATHS=(/a200.html /b1k.css /c4k.js /d16k.html /e64k.png /f200k.jpg)
# ab runs walk this sequence of PATHS indexes: the same weights as mix.lua
# (30/25/20/15/5/5 per cent), so no one file dominates the bytes
AB_SEQ=(0 0 0 0 0 0 1 1 1 1 1 2 2 2 2 3 3 3 4 5)

render() { sed -e "s|@RUN@|$RUN|g" -e "s|@PORT@|$2|g" "$BENCH_DIR/servers/$1.in" > "$RUN/$1"; }
render nginx.conf "$NGINX_PORT"
render lighttpd.conf "$LIGHTTPD_PORT"

wait_http() { # url: wait (bounded) until the server answers
  local i
  for i in $(seq 1 50); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "no answer from $1" >&2; return 1
}

nginx -e "$RUN/nginx-error.log" -p "$RUN" -c "$RUN/nginx.conf" &
SERVER_PIDS+=($!)
lighttpd -D -f "$RUN/lighttpd.conf" &
SERVER_PIDS+=($!)
NGINX_URL=http://127.0.0.1:$NGINX_PORT
LIGHTTPD_URL=http://127.0.0.1:$LIGHTTPD_PORT
wait_http "$NGINX_URL/a200.html"
wait_http "$LIGHTTPD_URL/a200.html"

ab_loop() { # log keepalive-flag: bounded loop of short ab runs over all files
  local log=$1 k=$2 i=0 url
  local end=$((SECONDS + MAX_SECONDS))
  while [ $i -lt 2000 ] && [ $SECONDS -lt $end ] && [ ! -e "$RUN/stop" ]; do
    if [ $((i % 2)) -eq 0 ]; then url=$NGINX_URL; else url=$LIGHTTPD_URL; fi
    url=$url${PATHS[${AB_SEQ[$(( (i / 2) % ${#AB_SEQ[@]} ))]}]}
    # -t first: it implies -n 50000, the -n after it bounds the run.
    ab ${k:+"$k"} -q -t 10 -n 400 -c 4 "$url" >> "$log" 2>&1 || true
    sleep "$AB_SLEEP"
    i=$((i + 1))
  done
}

capture_once() { # delay_ms: one capture attempt; returns tcpdump's kernel drops
  local delay=$1 wrk_d=$((MAX_SECONDS))s
  rm -rf "$RUN/parts" "$RUN/stop" "$RUN"/*.out
  mkdir -p "$RUN/parts"
  tcpdump -i lo -n -s 0 -B "$BUFFER_KIB" -Z root -C 256 -w "$RUN/parts/part.pcap" \
    "tcp port $NGINX_PORT or tcp port $LIGHTTPD_PORT" 2> "$RUN/tcpdump.out" &
  TCPDUMP_PID=$!
  local i
  for i in $(seq 1 50); do
    grep -q 'listening on' "$RUN/tcpdump.out" && break; sleep 0.1
  done
  sleep 0.5
  local mix=$BENCH_DIR/servers/mix.lua
  KW_DELAY_MS=$delay wrk -t2 -c50 -d"$wrk_d" --timeout 5s -s "$mix" "$NGINX_URL/" \
    > "$RUN/wrk-ka-nginx.out" 2>&1 &
  WRK_PIDS+=($!)
  KW_DELAY_MS=$delay wrk -t1 -c10 -d"$wrk_d" --timeout 5s -s "$mix" "$LIGHTTPD_URL/" \
    > "$RUN/wrk-ka-lighttpd.out" 2>&1 &
  WRK_PIDS+=($!)
  KW_DELAY_MS=$((delay * 4)) KW_PIPELINE=8 wrk -t1 -c4 -d"$wrk_d" --timeout 5s -s "$mix" \
    "$NGINX_URL/" > "$RUN/wrk-pipeline-nginx.out" 2>&1 &
  WRK_PIDS+=($!)
  KW_DELAY_MS=$delay wrk -t1 -c2 -d"$wrk_d" --timeout 5s -s "$mix" -H 'Connection: close' \
    "$LIGHTTPD_URL/" > "$RUN/wrk-close-lighttpd.out" 2>&1 &
  WRK_PIDS+=($!)
  ab_loop "$RUN/ab-k.out" -k &
  LOOP_PIDS+=($!)
  ab_loop "$RUN/ab-close.out" "" &
  LOOP_PIDS+=($!)

  local start=$SECONDS size=0
  while [ $((SECONDS - start)) -lt "$MAX_SECONDS" ]; do
    sleep 1
    size=$(stat -c %s "$RUN"/parts/part.pcap* | awk '{ s += $1 } END { print s }')
    [ "$size" -ge "$TARGET_BYTES" ] && break
  done
  echo "load phase: $((SECONDS - start)) s, $size bytes on disk"
  stop_clients
  sleep 1                             # let the closes reach the capture
  stop_pids TERM "$TCPDUMP_PID"       # tcpdump prints its statistics
  TCPDUMP_PID=""
  cat "$RUN/tcpdump.out" >&2
  DROPS=$(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$RUN/tcpdump.out")
  DROPS=${DROPS:-unknown}
}

delay=$WRK_DELAY_MS
for attempt in $(seq 1 "$ATTEMPTS"); do
  echo "attempt $attempt: wrk delay ${delay} ms, ab sleep ${AB_SLEEP} s"
  capture_once "$delay"
  [ "$DROPS" = 0 ] && break
  echo "tcpdump dropped $DROPS packets; halving the load" >&2
  delay=$((delay * 2)); AB_SLEEP=$(awk -v s="$AB_SLEEP" 'BEGIN { print s * 2 }')
done
[ "$DROPS" = 0 ] || { echo "still dropping after $ATTEMPTS attempts" >&2; exit 1; }
stop_pids QUIT "${SERVER_PIDS[0]}"   # nginx: graceful stop
stop_pids TERM "${SERVER_PIDS[1]}"
SERVER_PIDS=()

# --- merge, slice, stats -----------------------------------------------------
FULL=$OUT_DIR/$NAME.pcap
SLICE=$OUT_DIR/$SLICE_NAME.pcap
STATS=$OUT_DIR/$NAME-stats.txt
# shellcheck disable=SC2046
mergecap -a -F pcap -w "$FULL" $(ls -v "$RUN"/parts/part.pcap*)
# the slice is the first packets of the full capture, up to SLICE_BYTES
slice_packets=$(python3 - "$FULL" "$SLICE_BYTES" <<'EOF'
import struct, sys
f, limit = open(sys.argv[1], "rb"), int(sys.argv[2])
endian = "<" if f.read(24)[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
off, n = 24, 0
while True:
    h = f.read(16)
    if len(h) < 16:
        break
    off += 16 + struct.unpack(endian + "IIII", h)[2]
    if off > limit:
        break
    n += 1
    f.seek(off)
print(n)
EOF
)
captures=("$FULL")
if [ "$SLICE_BYTES" -gt 0 ]; then
  editcap -F pcap -r "$FULL" "$SLICE" "1-$slice_packets"
  captures+=("$SLICE")
fi
rm -rf "$RUN/parts"

tshark_counts() { # file: TCP connections (SYNs, streams) and HTTP messages, one pass
  tshark -r "$1" -n -d "tcp.port==$NGINX_PORT,http" -d "tcp.port==$LIGHTTPD_PORT,http" \
    -T fields -E separator=/t -e tcp.stream -e tcp.flags.syn -e tcp.flags.ack \
    -e http.request.method -e http.request.version -e http.response.code |
  awk -F'\t' '
    { if ($1 + 1 > streams) streams = $1 + 1
      if ($2 == 1 && $3 == 0) syns++
      if ($4 != "") { n = split($4, m, ","); split($5, v, ",")
                      for (j = 1; j <= n; j++) { req++; ver[v[j]]++ } }
      if ($6 != "") { n = split($6, c, ","); for (j = 1; j <= n; j++) { resp++; code[c[j]]++ } } }
    END { printf "tcp streams (tshark): %d\ntcp connections (SYN without ACK): %d\n", streams, syns
          printf "http requests: %d\n", req
          for (x in ver) printf "  %s requests: %d\n", x, ver[x]
          printf "http responses: %d\n", resp
          for (x in code) printf "  status %s: %d\n", x, code[x] }'
}

{
  echo "# benchmark capture stats ($(date -u +%Y-%m-%dT%H:%MZ))"
  echo "## settings"
  echo "TARGET_BYTES=$TARGET_BYTES SLICE_BYTES=$SLICE_BYTES LO_MTU=$LO_MTU ports $NGINX_PORT (nginx) $LIGHTTPD_PORT (lighttpd)"
  echo "accepted attempt: wrk delay ${delay} ms, ab sleep ${AB_SLEEP} s"
  echo "## tcpdump closing statistics (accepted attempt)"
  cat "$RUN/tcpdump.out"
  echo "## client totals"
  for f in "$RUN"/wrk-*.out; do
    printf '%s: %s\n' "$(basename "$f" .out)" "$(grep -E 'requests in' "$f" | xargs)"
  done
  for f in "$RUN"/ab-*.out; do
    printf '%s: %s complete requests, %s failed in %s runs\n' "$(basename "$f" .out)" \
      "$(awk '/^Complete requests:/ {s += $3} END {print s+0}' "$f")" \
      "$(awk '/^Failed requests:/ {s += $3} END {print s+0}' "$f")" \
      "$(grep -c '^Complete requests:' "$f")"
  done
  echo "## loopback: $(ip -br link show lo | xargs), $(ip -d link show lo | grep -o 'gso_max_size [0-9]*')"
  for f in "${captures[@]}"; do
    echo "## $(basename "$f")"
    capinfos -E -l -c -s -d -u -x -y -i -z "$f" | sed 1d
    tshark_counts "$f"
  done
} > "$STATS"
cat "$STATS"
trap - EXIT
rm -rf "$RUN"
