#!/usr/bin/env bash
# live-load.sh: keepwatch sniffing a sustained live HTTP load (issue 10).
# A measurement, not a test.
#
# usage: bench/live-load.sh [--update-doc]
#
# Starts, each by itself and stopped by its pid at the end (or on any exit):
#   nginx      one worker run as nobody:nogroup by a root master (daemon off,
#              its own prefix and configuration in a scratch folder),
#              listening only on 127.0.0.1:PORT, serving one static file of
#              BODY_BYTES bytes, keepalive_requests KEEPALIVE_REQUESTS,
#              keepalive_timeout 75s, access_log off
#   keepwatch  -i lo -q --json=FILE --events=EVENTS [-B BUFFER_KIB]
#              [--immediate-mode] 'tcp port PORT'
#   wrk        -t THREADS -c CONNECTIONS -d DURATION [--latency] (wrk 4.1
#              has no rate limit: connections and threads set the load)
# While wrk runs, keepwatch's CPU (/proc/PID/stat utime+stime) and RSS
# (/proc/PID/status VmRSS) are sampled every SAMPLE_EVERY seconds, with the
# nginx worker's, wrk's and the whole machine's CPU; every STATS_EVERY seconds
# keepwatch gets SIGUSR1 and writes a stats event, so the kernel's drops can
# be followed over time. When wrk is done, SETTLE seconds later, SIGINT ends
# keepwatch, which writes its final stats event. The run is then reported:
# the requests wrk counted (its "N requests in" line: completed responses)
# against keepwatch's final stats `requests` (every request seen), the
# kernel's received/dropped counts (on lo each packet is received twice),
# keepwatch's CPU over the run, its RSS (idle before the load, first sample
# under load, peak: the larger of VmHWM and the samples, last sample),
# requests/s, the load average before and after, and the CPU that other
# processes used meanwhile.
#
# Requests: wrk stops each thread up to 100 ms after DURATION, with a request
# in flight on many connections; it counts only the responses it read, and
# exits without reading the last ones (the kernel then closes those
# connections with a RST). keepwatch sees those requests, and nginx's answers,
# on the wire, so with no kernel drop its count is wrk's plus 0..CONNECTIONS,
# and with connection events exactly wrk's plus the connections wrk reset
# (plus any request still unanswered). Anything else is reported. wrk also
# opens one connection and closes it before the load (its address check):
# keepwatch counts CONNECTIONS + 1 connections.
#
# Prints a plain text summary to stdout, then one line of JSON (the
# machine-readable result, also appended to $WORK_DIR/runs.jsonl). The run's
# files (wrk's output, keepwatch's JSON and output, the samples) are kept in a
# folder of $WORK_DIR named for the run. --update-doc (or UPDATE_DOC=1) also
# writes the run into docs/live.md between <!-- live-load:begin --> and
# <!-- live-load:end --> (the file or the section is created when missing), as
# a "## Load test" section; with SWEEP=FILE, a file of the JSON lines of
# earlier short runs (runs.jsonl), the section starts with their table.
# Progress goes to stderr. Runs as root (the capture; nginx's user switch).
# Exit status: 0 when the run completed and keepwatch exited 0 (drops and
# differing counts are reported, not failures); 1 otherwise; 2 bad usage.
#
# Settings (environment):
#   DURATION       wrk's run in seconds (600)
#   CONNECTIONS    wrk -c: connections kept open (16)
#   THREADS        wrk -t (1)
#   LATENCY        1: wrk --latency, its percentiles reported (1; wrk 4.1
#                  records latencies either way, so the load is the same)
#   BUFFER_KIB     keepwatch -B in KiB (empty: keepwatch's default, 2048)
#   IMMEDIATE      1: keepwatch --immediate-mode (0)
#   EVENTS         keepwatch --events (stats,server,connection: no line per
#                  transaction; a connection's line, one when it ends, counts
#                  the requests in flight at wrk's end exactly)
#   KEEPWATCH      keepwatch binary (default: keepwatch at the repository top,
#                  built by make)
#   PORT           nginx's port (default: a free one in 20000-52767)
#   BODY_BYTES     size of the static file served (256)
#   KEEPALIVE_REQUESTS  nginx's keepalive_requests (1000000)
#   WRK_TIMEOUT    wrk --timeout in seconds (5)
#   SAMPLE_EVERY   seconds between CPU and RSS samples (10)
#   STATS_EVERY    seconds between SIGUSR1 stats events (60)
#   SETTLE         seconds from wrk's end to SIGINT, for the capture to
#                  drain (3)
#   START_TIMEOUT  bound on nginx's and keepwatch's start, seconds (60)
#   STOP_TIMEOUT   bound on keepwatch's exit after SIGINT, seconds (120)
#   WORK_DIR       results (default ${TMPDIR:-/tmp}/keepwatch-live-load)
#   SWEEP          with --update-doc: JSON lines of earlier runs to tabulate
# Needs (Debian): nginx-light (or nginx), wrk, curl, jq, iproute2, procps.
set -euo pipefail
export LC_ALL=C

BENCH=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$BENCH")
ARGV=("$@")

UPDATE_DOC=${UPDATE_DOC:-0}
for a in "$@"; do
  case $a in
    --update-doc) UPDATE_DOC=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "live-load.sh: unknown argument $a (see --help)" >&2; exit 2 ;;
  esac
done

DURATION=${DURATION:-600}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-1}
LATENCY=${LATENCY:-1}
BUFFER_KIB=${BUFFER_KIB:-}
IMMEDIATE=${IMMEDIATE:-0}
KEEPWATCH=${KEEPWATCH:-$REPO/keepwatch}
PORT=${PORT:-}
BODY_BYTES=${BODY_BYTES:-256}
KEEPALIVE_REQUESTS=${KEEPALIVE_REQUESTS:-1000000}
WRK_TIMEOUT=${WRK_TIMEOUT:-5}
SAMPLE_EVERY=${SAMPLE_EVERY:-10}
STATS_EVERY=${STATS_EVERY:-60}
SETTLE=${SETTLE:-3}
START_TIMEOUT=${START_TIMEOUT:-60}
STOP_TIMEOUT=${STOP_TIMEOUT:-120}
EVENTS=${EVENTS:-stats,server,connection}
WORK=${WORK_DIR:-${TMPDIR:-/tmp}/keepwatch-live-load}
DOC=$REPO/docs/live.md

log() { printf '%s\n' "$*" >&2; }
die() { log "live-load.sh: $*"; exit 1; }
usage_error() { log "live-load.sh: $*"; exit 2; }

# --- preconditions ---------------------------------------------------------------
for v in DURATION CONNECTIONS THREADS BODY_BYTES KEEPALIVE_REQUESTS WRK_TIMEOUT SAMPLE_EVERY \
         STATS_EVERY SETTLE START_TIMEOUT STOP_TIMEOUT; do
  if ! [[ ${!v} =~ ^[0-9]+$ ]] || [ "${!v}" -eq 0 ]; then
    usage_error "$v must be a positive integer, not '${!v}'"
  fi
done
[ -z "$BUFFER_KIB" ] || [[ $BUFFER_KIB =~ ^[0-9]+$ ]] || usage_error "BUFFER_KIB must be a number of KiB"
[ -z "$PORT" ] || { [[ $PORT =~ ^[0-9]+$ ]] && [ "$PORT" -ge 1024 ] && [ "$PORT" -le 65535 ]; } ||
  usage_error "PORT must be 1024-65535"
[ "$CONNECTIONS" -ge "$THREADS" ] || usage_error "CONNECTIONS must be at least THREADS (wrk)"
need() { # program package
  command -v "$1" > /dev/null 2>&1 || die "$1 not found (Debian package: $2)"
}
need nginx nginx-light
need wrk wrk
need curl curl
need jq jq
need ss iproute2
need pgrep procps
[ "$(id -u)" = 0 ] || die "run as root: the capture needs it, and nginx's switch to nobody"
[ -x "$KEEPWATCH" ] || die "no keepwatch binary $KEEPWATCH (build it with make at the repository top, or set KEEPWATCH)"
KW=$(cd "$(dirname "$KEEPWATCH")" && pwd)/$(basename "$KEEPWATCH")
if [ "$UPDATE_DOC" = 1 ] && [ -f "$DOC" ]; then
  b=$(grep -c '^<!-- live-load:begin -->$' "$DOC" || true)
  e=$(grep -c '^<!-- live-load:end -->$' "$DOC" || true)
  if [ "$b" != "$e" ] || [ "$b" -gt 1 ]; then
    die "$DOC: the <!-- live-load:begin --> / <!-- live-load:end --> lines do not pair"
  fi
fi
CLK=$(getconf CLK_TCK)
NCPU=$(nproc)

# --- processes: started here, stopped here, by pid --------------------------------
NGX_PID="" NGX_WORKERS="" KW_PID="" WRK_PID="" NGX_DIR=""
alive() { [ -n "$1" ] && kill -0 "$1" 2> /dev/null; }
is() { # pid name: pid is alive and is the program name (not a pid reused since)
  alive "$1" && [ "$(cat "/proc/$1/comm" 2> /dev/null)" = "$2" ]
}
wait_gone() { # pid seconds: 0 once pid has exited, 1 if it is still there after seconds
  local end=$(( $(date +%s) + $2 ))
  while alive "$1"; do
    [ "$(date +%s)" -lt "$end" ] || return 1
    sleep 0.2
  done
}
stop_pid() { # pid name signal seconds: signal, wait, then SIGKILL; reaps it when it is ours
  local pid=$1 name=$2
  is "$pid" "$name" || { wait "$pid" 2> /dev/null || true; return 0; }
  kill "-$3" "$pid" 2> /dev/null || true
  if ! wait_gone "$pid" "$4"; then
    log "== $name (pid $pid) still running $4 s after SIG$3: SIGKILL"
    if is "$pid" "$name"; then kill -KILL "$pid" 2> /dev/null || true; fi
    wait_gone "$pid" 5 || true
  fi
  wait "$pid" 2> /dev/null || true
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [ -z "$WRK_PID" ] || stop_pid "$WRK_PID" wrk TERM 5
  [ -z "$KW_PID" ] || stop_pid "$KW_PID" keepwatch TERM 10
  if [ -n "$NGX_PID" ]; then
    stop_pid "$NGX_PID" nginx TERM 10
    for w in $NGX_WORKERS; do   # the master is gone; a worker it left behind
      if is "$w" nginx; then kill -KILL "$w" 2> /dev/null || true; fi
    done
  fi
  [ -z "$NGX_DIR" ] || rm -rf "$NGX_DIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'log "live-load.sh: interrupted"; exit 130' INT
trap 'log "live-load.sh: terminated"; exit 143' TERM

# --- /proc readers --------------------------------------------------------------
ticks() { # pid: utime + stime in clock ticks, empty when it is gone
  local s
  s=$(cat "/proc/$1/stat" 2> /dev/null) || return 0
  s=${s##*) }
  awk '{ print $12 + $13 }' <<< "$s"
}
status_kib() { # pid field: a VmXXX field of /proc/PID/status in KiB, empty when gone
  awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2> /dev/null || true
}
cpu_ticks() { # the machine's busy, total, irq+softirq and steal clock ticks since boot
  awk '$1 == "cpu" { t = 0; for (i = 2; i <= 9; i++) t += $i   # guest time is in user already
    print t - $5 - $6, t, $7 + $8, $9; exit }' /proc/stat
}
proc_ticks() { # every process: pid, ticks, comm (for the other processes' CPU)
  local f s
  for f in /proc/[0-9]*/stat; do
    s=$(cat "$f" 2> /dev/null) || continue
    printf '%s ' "${s%% *}"
    awk '{ printf "%d ", $12 + $13 }' <<< "${s##*) }"
    s=${s#*(}
    printf '%s\n' "${s%)*}" | tr ' ' '_'
  done
}
loadavg() { awk '{ print $1, $2, $3 }' /proc/loadavg; }

# --- the run's folder -----------------------------------------------------------------
RUN_ID=$(date -u +%Y%m%dT%H%M%SZ)-d$DURATION-c$CONNECTIONS-t$THREADS-B${BUFFER_KIB:-default}
[ "$IMMEDIATE" != 1 ] || RUN_ID+=-imm
RUN=$WORK/$RUN_ID
mkdir -p "$RUN"
JSON=$RUN/keepwatch.json
SAMPLES=$RUN/samples.tsv

# --- nginx ------------------------------------------------------------------------------
if [ -z "$PORT" ]; then
  for _ in $(seq 1 100); do
    p=$(( 20000 + RANDOM ))
    if [ -z "$(ss -Htan "( sport = :$p or dport = :$p )")" ]; then PORT=$p; break; fi
  done
  [ -n "$PORT" ] || die "no free port found in 100 tries"
elif [ -n "$(ss -Htln "( sport = :$PORT )")" ]; then
  die "port $PORT is already listened on"
fi
NGX_DIR=$(mktemp -d "${TMPDIR:-/tmp}/keepwatch-live-load-nginx.XXXXXX")
chmod 755 "$NGX_DIR"
mkdir -p "$NGX_DIR/www" "$NGX_DIR/logs"
FILE=static.txt
awk -v n="$BODY_BYTES" 'BEGIN { s = "keepwatch live load test\n"; o = ""
  while (length(o) < n) o = o s; printf "%s", substr(o, 1, n) }' > "$NGX_DIR/www/$FILE"
chmod -R a+rX "$NGX_DIR/www"
cat > "$NGX_DIR/nginx.conf" <<EOF
user nobody nogroup;
worker_processes 1;
daemon off;
master_process on;
pid $NGX_DIR/nginx.pid;
error_log $NGX_DIR/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    default_type text/plain;
    keepalive_requests $KEEPALIVE_REQUESTS;
    keepalive_timeout 75s;
    client_body_temp_path $NGX_DIR/body;
    proxy_temp_path $NGX_DIR/proxy;
    fastcgi_temp_path $NGX_DIR/fastcgi;
    uwsgi_temp_path $NGX_DIR/uwsgi;
    scgi_temp_path $NGX_DIR/scgi;
    server {
        listen 127.0.0.1:$PORT;
        root $NGX_DIR/www;
        location / { }
    }
}
EOF
URL=http://127.0.0.1:$PORT/$FILE
log "== nginx on 127.0.0.1:$PORT ($NGX_DIR)"
nginx -p "$NGX_DIR/" -c "$NGX_DIR/nginx.conf" -e "$NGX_DIR/logs/error.log" > "$RUN/nginx.out" 2>&1 &
NGX_PID=$!
end=$(( $(date +%s) + START_TIMEOUT ))
until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL" || true)" = 200 ]; do
  alive "$NGX_PID" || die "nginx exited: $(cat "$RUN/nginx.out" "$NGX_DIR/logs/error.log" 2> /dev/null | tail -n 5)"
  [ "$(date +%s)" -lt "$end" ] || die "nginx did not answer $URL within $START_TIMEOUT s"
  sleep 0.2
done
NGX_WORKERS=$(pgrep -P "$NGX_PID" | tr '\n' ' ')
NGX_WORKER=${NGX_WORKERS%% *}
[ -n "$NGX_WORKER" ] || die "nginx has no worker process"
[ "$(stat -c %U "/proc/$NGX_WORKER")" = nobody ] || die "nginx's worker does not run as nobody"

# --- keepwatch ----------------------------------------------------------------------------
KW_ARGS=(-i lo -q "--json=$JSON" "--events=$EVENTS")
[ -z "$BUFFER_KIB" ] || KW_ARGS+=(-B "$BUFFER_KIB")
[ "$IMMEDIATE" != 1 ] || KW_ARGS+=(--immediate-mode)
KW_FILTER="tcp port $PORT"
log "== keepwatch ${KW_ARGS[*]} '$KW_FILTER'"
"$KW" "${KW_ARGS[@]}" "$KW_FILTER" > "$RUN/keepwatch.out" 2> "$RUN/keepwatch.err" &
KW_PID=$!
# Ready once SIGINT, SIGUSR1 and SIGTERM are blocked (its signalfd: before that
# they would kill it), and its first stats event, asked for, is written.
end=$(( $(date +%s) + START_TIMEOUT ))
until blk=$(awk '$1 == "SigBlk:" { print $2 }' "/proc/$KW_PID/status" 2> /dev/null) &&
      [ -n "$blk" ] && [ $(( 0x$blk & 0x4202 )) = $(( 0x4202 )) ]; do
  alive "$KW_PID" || die "keepwatch exited: $(tail -n 5 "$RUN/keepwatch.err")"
  [ "$(date +%s)" -lt "$end" ] || die "keepwatch did not start within $START_TIMEOUT s"
  sleep 0.1
done
stats_events() { grep -c '"event":"stats"' "$JSON" 2> /dev/null || true; }
kill -USR1 "$KW_PID"
until [ "$(stats_events)" -ge 1 ]; do
  alive "$KW_PID" || die "keepwatch exited: $(tail -n 5 "$RUN/keepwatch.err")"
  [ "$(date +%s)" -lt "$end" ] || die "keepwatch wrote no stats event within $START_TIMEOUT s of SIGUSR1"
  sleep 0.1
done
KW_IDLE_RSS=$(status_kib "$KW_PID" VmRSS)

# --- the load -----------------------------------------------------------------------------
WRK_ARGS=(-t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout "${WRK_TIMEOUT}s")
[ "$LATENCY" != 1 ] || WRK_ARGS+=(--latency)
LOAD_BEFORE=$(loadavg)
proc_ticks > "$RUN/procs.before"
printf 't\tkw_ticks\tkw_rss_kib\tngx_ticks\twrk_ticks\tbusy\ttotal\tirq_softirq\tsteal\tload1\tflag\n' > "$SAMPLES"
START_NS=$(date +%s%N)
sample() { # flag (0; 1: with a SIGUSR1 stats event; 2: the end): one row of samples.tsv
  local t
  t=$(awk -v a="$START_NS" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$(ticks "$KW_PID")" "$(status_kib "$KW_PID" VmRSS)" \
    "$(ticks "$NGX_WORKER")" "$(if [ "$WRK_TICKS" = now ]; then ticks "$WRK_PID"; else echo "$WRK_TICKS"; fi)" "$(cpu_ticks | tr ' ' '\t')" \
    "$(awk '{ print $1 }' /proc/loadavg)" "$1" >> "$SAMPLES"
}
WRK_TICKS=0   # wrk starts right after the t=0 sample, with no CPU used yet
sample 1   # t=0, the idle stats event above
log "== wrk ${WRK_ARGS[*]} $URL  (load average before: $LOAD_BEFORE)"
wrk "${WRK_ARGS[@]}" "$URL" > "$RUN/wrk.out" 2>&1 &
WRK_PID=$!
WRK_TICKS=now
STATE=completed
next_sample=$SAMPLE_EVERY next_stats=$STATS_EVERY deadline=$(( DURATION + 60 ))
while alive "$WRK_PID"; do
  el=$(( ($(date +%s%N) - START_NS) / 1000000000 ))
  if [ "$el" -ge "$deadline" ]; then
    log "== wrk still running $deadline s after its start: stopping it"
    STATE="wrk overran"
    break
  fi
  if ! alive "$KW_PID"; then
    log "== keepwatch exited during the load"
    STATE="keepwatch exited during the load"
    break
  fi
  if [ "$el" -ge "$next_sample" ]; then
    if [ "$el" -ge "$next_stats" ]; then
      sample 1
      kill -USR1 "$KW_PID"
      next_stats=$(( next_stats + STATS_EVERY ))
    else
      sample 0
    fi
    next_sample=$(( next_sample + SAMPLE_EVERY ))
    [ $(( next_sample % 60 )) != 0 ] || log "   $el s: keepwatch RSS $(status_kib "$KW_PID" VmRSS) KiB"
  fi
  sleep 0.5
done
WRK_RC=0
if [ "$STATE" = completed ]; then
  wait "$WRK_PID" || WRK_RC=$?
else
  stop_pid "$WRK_PID" wrk TERM 5
  WRK_RC=killed
fi
WRK_PID="" WRK_TICKS=""
sample 2   # the end of the load, paired with the final stats event
END_NS=$(date +%s%N)
proc_ticks > "$RUN/procs.after"
LOAD_AFTER=$(loadavg)

# --- keepwatch's end -------------------------------------------------------------------------
KW_RC=""
KW_HWM=$(status_kib "$KW_PID" VmHWM)
if alive "$KW_PID"; then
  sleep "$SETTLE"
  KW_HWM=$(status_kib "$KW_PID" VmHWM)
  log "== SIGINT to keepwatch"
  kill -INT "$KW_PID"
  end=$(( $(date +%s) + STOP_TIMEOUT ))
  while alive "$KW_PID" && [ "$(date +%s)" -lt "$end" ]; do
    h=$(status_kib "$KW_PID" VmHWM)
    [ -z "$h" ] || KW_HWM=$h
    sleep 0.1
  done
  if alive "$KW_PID"; then
    STATE="keepwatch still running $STOP_TIMEOUT s after SIGINT"
    log "== $STATE"
    stop_pid "$KW_PID" keepwatch KILL 5
    KW_RC=killed
  fi
fi
if [ -z "$KW_RC" ]; then
  KW_RC=0
  wait "$KW_PID" || KW_RC=$?
fi
KW_PID=""
stop_pid "$NGX_PID" nginx TERM 10
NGX_PID=""

# --- results ---------------------------------------------------------------------------------
num() { # integer with thousands separators, or n/a
  if [ -z "$1" ] || [ "$1" = null ]; then echo n/a; return; fi
  awk -v x="$1" 'BEGIN { x = sprintf("%.0f", x); s = ""; m = ""
    if (x < 0) { m = "-"; x = -x }
    while (length(x) > 3) { s = "," substr(x, length(x) - 2) s; x = substr(x, 1, length(x) - 3) }
    print m x s }'
}
mib() { [ -n "$1" ] && awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }' || echo n/a; }
jn() { [ -n "$1" ] && echo "$1" || echo null; }   # a number for JSON, or null
pc() { if [ -n "$1" ]; then echo "$1%"; else echo n/a; fi; }   # a percentage, or n/a

# wrk
WRK_REQ=$(awk '/ requests in / { print $1; exit }' "$RUN/wrk.out")
WRK_RPS=$(awk '/^Requests\/sec:/ { print $2; exit }' "$RUN/wrk.out")
WRK_READ=$(awk '/ requests in / { sub(/.*, /, ""); sub(/ read$/, ""); print; exit }' "$RUN/wrk.out")
WRK_ERRORS=$(awk '/Socket errors:/ { sub(/^ *Socket errors: /, ""); print; exit }' "$RUN/wrk.out")
WRK_NON2XX=$(awk '/Non-2xx or 3xx responses:/ { print $NF; exit }' "$RUN/wrk.out")
WRK_LAT=$(awk '$1 == "Latency" && NF >= 5 { print "avg " $2 ", stdev " $3 ", max " $4; exit }' "$RUN/wrk.out")
WRK_PCT=$(awk '/Latency Distribution/ { f = 1; next } f && $1 ~ /%$/ { printf "%s%s %s", sep, $1, $2; sep = ", " }
  f && $1 !~ /%$/ { f = 0 }' "$RUN/wrk.out")
WRK_SECONDS=""
[ -z "$WRK_REQ" ] || [ -z "$WRK_RPS" ] ||
  WRK_SECONDS=$(awk -v n="$WRK_REQ" -v r="$WRK_RPS" 'BEGIN { if (r > 0) printf "%.2f", n / r }')

# keepwatch: its final stats event, the server's, the stats over time
JSON_OK=no
[ -s "$JSON" ] && jq -c . "$JSON" > /dev/null 2>&1 && JSON_OK=yes
KW_STATS=$(grep '"event":"stats"' "$JSON" | tail -n 1)
read -r KW_REQ KW_RESP KW_PKTS KW_CONNS KW_LOST KRECV KDROP KIFDROP < <(
  jq -r '[.requests, .responses, .packets, .connections, .lost_requests, .kernel.received,
          .kernel.dropped, .kernel.interface_dropped] | map(tostring) | join(" ")' <<< "$KW_STATS" 2> /dev/null ||
  echo "" ) || true
# what keepwatch lost to the capture's holes
read -r HOLES HOLES_LARGE CONN_GAP QUEUES_DROPPED NOT_HTTP < <(
  jq -r '[.capture_holes, .capture_holes_too_large, .connections_with_gap, .queues_dropped,
          .not_http] | map(tostring) | join(" ")' <<< "$KW_STATS" 2> /dev/null || echo "" ) || true
LOSS=""
if [ -n "$HOLES" ] && [ "$HOLES$HOLES_LARGE$CONN_GAP$QUEUES_DROPPED$NOT_HTTP" != 00000 ]; then
  LOSS="$(num "$HOLES") holes stepped over, $(num "$HOLES_LARGE") over 256 KiB left as gaps, $(num "$CONN_GAP") connections with a gap, $(num "$QUEUES_DROPPED") out-of-order queues dropped, $(num "$NOT_HTTP") connections given up (not_http)"
fi
KW_SERVER_REQ=$(grep '"event":"server"' "$JSON" | jq -r --argjson p "$PORT" \
  'select(.server_port == $p) | .requests' 2> /dev/null | tail -n 1 || true)
grep '"event":"stats"' "$JSON" | jq -r '[.requests, .responses, .packets, .kernel.received,
  .kernel.dropped] | map(tostring) | join("\t")' > "$RUN/stats-over-time.tsv" 2> /dev/null || true
# the rows of samples.tsv with a SIGUSR1 pair, in order, with the stats events
awk -F'\t' 'NR > 1 && $11 >= 1' "$SAMPLES" | paste - "$RUN/stats-over-time.tsv" > "$RUN/over-time.tsv" || true
# on lo each packet is received twice: drops beyond that are the kernel's
DROPS=""
[ -z "$KDROP" ] || DROPS=$(( KDROP + KIFDROP ))

# CPU and RSS from the samples: first row is t=0, last row the end of the load
read -r KW_T0 KW_T1 BUSY0 BUSY1 TOT0 TOT1 SIRQ0 SIRQ1 STEAL0 STEAL1 < <(awk -F'\t' '
  NR == 2 { k0 = $2; b0 = $6; t0 = $7; q0 = $8; s0 = $9 }
  NR > 1 && $2 != "" { k1 = $2; b1 = $6; t1 = $7; q1 = $8; s1 = $9 }
  END { print k0, k1, b0, b1, t0, t1, q0, q1, s0, s1 }' "$SAMPLES")
SECONDS_LOAD=$(awk -v a="$START_NS" -v b="$END_NS" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
pct() { # ticks0 ticks1 seconds: CPU % of one core
  awk -v a="$1" -v b="$2" -v s="$3" -v c="$CLK" 'BEGIN { if (a == "" || b == "" || s <= 0) print ""; else printf "%.1f", (b - a) / c / s * 100 }'
}
rate_col() { # column: CPU % of one core of a process, over the samples in which it was seen
  awk -F'\t' -v col="$1" -v c="$CLK" 'NR > 1 && $col != "" { if (t0 == "") { t0 = $1; k0 = $col } t1 = $1; k1 = $col }
    END { if (t1 > t0) printf "%.1f", (k1 - k0) / c / (t1 - t0) * 100 }' "$SAMPLES"
}
KW_CPU=$(pct "$KW_T0" "$KW_T1" "$SECONDS_LOAD")
NGX_CPU=$(rate_col 4)
WRK_CPU=$(rate_col 5)
share() { # ticks0 ticks1: % of one core of the machine's ticks over the load
  awk -v a="$1" -v b="$2" -v t0="$TOT0" -v t1="$TOT1" -v n="$NCPU" \
    'BEGIN { if (t1 > t0 && a != "") printf "%.1f", (b - a) / (t1 - t0) * n * 100 }'
}
MACHINE_CPU=$(share "$BUSY0" "$BUSY1")
SOFTIRQ_CPU=$(share "$SIRQ0" "$SIRQ1")
STEAL_CPU=$(share "$STEAL0" "$STEAL1")
# busy time not in keepwatch, nginx or wrk. The loopback's delivery runs in
# softirq: without CONFIG_IRQ_TIME_ACCOUNTING (tick accounting) its ticks are
# also charged to the process that was running, so they are in ours already;
# with it, they are charged to no process and are taken out here.
IRQ_TIME=0
if zcat /proc/config.gz 2> /dev/null | grep -q '^CONFIG_IRQ_TIME_ACCOUNTING=y' ||
   grep -qs '^CONFIG_IRQ_TIME_ACCOUNTING=y' "/boot/config-$(uname -r)"; then
  IRQ_TIME=1
fi
OTHER_CPU=$(awk -v m="$MACHINE_CPU" -v q="$SOFTIRQ_CPU" -v i="$IRQ_TIME" -v k="$KW_CPU" -v g="$NGX_CPU" -v w="$WRK_CPU" \
  'BEGIN { if (m != "" && k != "" && g != "" && w != "") { o = m - k - g - w - (i ? q : 0); if (o < 0) o = 0; printf "%.1f", o } }')
# the other processes that used the most CPU during the load (long-lived ones;
# short-lived ones such as compilers only show in OTHER_CPU)
OTHERS=$(awk -v s="$SECONDS_LOAD" -v c="$CLK" -v skip=" $NGX_PID $NGX_WORKERS $$ " '
  NR == FNR { before[$1] = $2; next }
  ($1 in before) && index(skip, " " $1 " ") == 0 && $3 != "keepwatch" && $3 != "wrk" {
    d = ($2 - before[$1]) / c / s * 100; if (d >= 1) printf "%.1f %s\n", d, $3 }' \
  "$RUN/procs.before" "$RUN/procs.after" | sort -rn | head -n 5 | awk '{ printf "%s%s %s%%", sep, $2, $1; sep = ", " }')
RSS_FIRST=$(awk -F'\t' 'NR > 2 && $3 != "" { print $3; exit }' "$SAMPLES")
RSS_LAST=$(awk -F'\t' 'NR > 1 && $3 != "" { r = $3 } END { print r }' "$SAMPLES")
RSS_MAX_SAMPLE=$(awk -F'\t' 'NR > 1 && $3 > m { m = $3 } END { print m }' "$SAMPLES")
RSS_SAMPLES=$(awk -F'\t' 'NR > 1 && $3 != "" { n++ } END { print n + 0 }' "$SAMPLES")
# The peak: VmHWM is brought up to date by the kernel only now and then (at an
# unmap, at exit), so it may lag a sample of VmRSS: the larger of the two.
RSS_PEAK=$(awk -v a="$KW_HWM" -v b="$RSS_MAX_SAMPLE" 'BEGIN { if (a != "" || b != "") print (a + 0 > b + 0 ? a : b) }')
RSS_VERDICT=n/a
if [ -n "$RSS_FIRST" ] && [ -n "$RSS_LAST" ]; then
  RSS_VERDICT=$(awk -v a="$RSS_FIRST" -v b="$RSS_LAST" 'BEGIN { d = b - a
    printf "%s (%+.1f MiB from the first sample under load to the last)", (d <= 1024 || d <= a / 100) ? "flat" : "GROWING", d / 1024 }')
fi
KW_RPS=""
[ -z "$KW_REQ" ] || KW_RPS=$(awk -v n="$KW_REQ" -v s="$SECONDS_LOAD" 'BEGIN { printf "%.0f", n / s }')

# requests: equal, or wrk's plus those in flight when it stopped, or a mismatch.
# With connection events, the requests in flight are counted: wrk exits
# without reading its last responses, so the kernel closes each connection
# that holds one with a RST (rst_by client); a request still unanswered when
# it closed shows as requests > responses.
IN_FLIGHT="" RST_CONNS="" PROBES=""
if grep -q '"event":"connection"' "$JSON"; then
  read -r RST_CONNS UNANSWERED PROBES < <(grep '"event":"connection"' "$JSON" | jq -rs '
    [ .[] | select(.closed_by == "client") ] as $c
    | [ ($c | map(select(.rst_by == "client" and .requests > 0)) | length),
        ($c | map(select(.rst_by != "client") | .requests - .responses) | add // 0),
        (map(select(.requests == 0)) | length) ] | map(tostring) | join(" ")')
  IN_FLIGHT=$(( RST_CONNS + UNANSWERED ))
fi
DIFF="" REQ_VERDICT="not compared: a count is missing"
if [ -n "$WRK_REQ" ] && [ -n "$KW_REQ" ]; then
  DIFF=$(( KW_REQ - WRK_REQ ))
  if [ "$DIFF" = 0 ]; then
    REQ_VERDICT="equal"
  elif [ -n "$IN_FLIGHT" ] && [ "$DIFF" = "$IN_FLIGHT" ]; then
    REQ_VERDICT="equal once the $DIFF request(s) in flight when wrk stopped are counted: wrk closed $RST_CONNS connection(s) with a RST over a response it never read"
    [ "$UNANSWERED" = 0 ] || REQ_VERDICT="$REQ_VERDICT, and $UNANSWERED request(s) had no response yet when it closed"
  elif [ "$DIFF" -gt 0 ] && [ "$DIFF" -le "$CONNECTIONS" ]; then
    REQ_VERDICT="equal but for $DIFF request(s), within what can be in flight when wrk stops (one per connection, $CONNECTIONS)"
    [ -z "$IN_FLIGHT" ] || REQ_VERDICT="$REQ_VERDICT, though the connection events show $IN_FLIGHT"
  else
    if [ "$DIFF" -lt 0 ]; then
      REQ_VERDICT="MISMATCH: keepwatch saw $(num $(( -DIFF ))) fewer requests than wrk counted"
    else
      REQ_VERDICT="MISMATCH: keepwatch saw $(num "$DIFF") more requests than wrk counted"
    fi
    REQ_VERDICT="$REQ_VERDICT (expected 0..$CONNECTIONS more${IN_FLIGHT:+, $IN_FLIGHT by the connection events})"
  fi
  # On lo the kernel counts both copies of a packet, in received and in
  # dropped alike, and a transaction is one request and one response packet:
  # a drop costs about a quarter of a transaction.
  [ "${DROPS:-0}" = 0 ] ||
    REQ_VERDICT="$REQ_VERDICT; the kernel dropped $(num "$DROPS") packets, worth about $(num $(( DROPS / 4 ))) transactions on lo (both copies of a packet are counted)"
fi
[ "$KW_RC" = 0 ] || [ "$STATE" != completed ] || STATE="keepwatch exited with status $KW_RC"
[ -n "$WRK_REQ" ] || [ "$STATE" != completed ] || STATE="wrk printed no result (exit $WRK_RC)"

KW_OPTS="${KW_ARGS[*]}"
KW_OPTS=${KW_OPTS//--json=$JSON/--json=FILE}
pkgver() { dpkg-query -W -f '${Version}' "$1" 2> /dev/null | sed 's/^[0-9]*://; s/-[^-]*$//' || echo "?"; }
command_line() { # the invocation, without machine paths
  local out="" v
  for v in DURATION CONNECTIONS THREADS LATENCY BUFFER_KIB IMMEDIATE EVENTS KEEPWATCH PORT BODY_BYTES \
           KEEPALIVE_REQUESTS WRK_TIMEOUT SAMPLE_EVERY STATS_EVERY SETTLE SWEEP; do
    if printenv "$v" > /dev/null; then
      case $v in
        KEEPWATCH) case $KW in "$REPO"/*) out+="KEEPWATCH=${KW#"$REPO"/} " ;; *) out+="KEEPWATCH=<build>/keepwatch " ;; esac ;;
        SWEEP) out+="SWEEP=<short runs>/runs.jsonl " ;;
        *) out+="$v=$(printf '%q' "${!v}") " ;;
      esac
    fi
  done
  echo "${out}bench/live-load.sh${ARGV[*]:+ ${ARGV[*]}}"
}

# --- the plain text summary -----------------------------------------------------------------------
{
  echo "keepwatch live load: $(date -u '+%Y-%m-%d %H:%M UTC'), run $STATE"
  echo "  command:     $(command_line)"
  echo "  load:        wrk ${WRK_ARGS[*]} $URL ($BODY_BYTES-byte file; nginx $(pkgver nginx-common), 1 worker, keepalive_requests $KEEPALIVE_REQUESTS)"
  echo "  keepwatch:   ${KW_OPTS} '$KW_FILTER'; exit $KW_RC"
  echo "  machine:     $NCPU cores, load average before $LOAD_BEFORE, after $LOAD_AFTER;" \
    "busy $(pc "$MACHINE_CPU") of one core (of $(( NCPU * 100 ))%; in interrupts $(pc "$SOFTIRQ_CPU"), steal $(pc "$STEAL_CPU")), other processes than ours $(pc "$OTHER_CPU")${OTHERS:+ (longest-lived: $OTHERS)}"
  echo "  wrk:         $(num "$WRK_REQ") requests in ${WRK_SECONDS:-n/a} s, $WRK_READ read, ${WRK_RPS:-n/a} requests/s, exit $WRK_RC" \
    "${WRK_ERRORS:+; socket errors: $WRK_ERRORS}${WRK_NON2XX:+; non-2xx/3xx: $WRK_NON2XX}"
  echo "  latency:     ${WRK_LAT:-n/a}${WRK_PCT:+; $WRK_PCT}"
  echo "  keepwatch:   $(num "$KW_REQ") requests, $(num "$KW_RESP") responses, $(num "$KW_LOST") lost, $(num "$KW_CONNS") connections${PROBES:+ ($PROBES without a request)}, $(num "$KW_PKTS") packets; server event: $(num "$KW_SERVER_REQ") requests; ${KW_RPS:-n/a} requests/s; JSON parses: $JSON_OK"
  echo "  requests:    keepwatch - wrk = $(num "$DIFF"): $REQ_VERDICT"
  echo "  kernel:      received $(num "$KRECV") (twice each packet on lo: $(num "$([ -z "$KRECV" ] || echo $(( KRECV / 2 )))")), dropped $(num "$KDROP"), interface dropped $(num "$KIFDROP")"
  [ -z "$LOSS" ] || echo "  holes:       $LOSS"
  echo "  CPU:         keepwatch $(pc "$KW_CPU") of one core over $SECONDS_LOAD s; nginx worker $(pc "$NGX_CPU"), wrk $(pc "$WRK_CPU")"
  echo "  RSS (MiB):   idle $(mib "$KW_IDLE_RSS"), first under load $(mib "$RSS_FIRST"), peak $(mib "$RSS_PEAK") (VmHWM $(mib "$KW_HWM"), with the start's; samples' max $(mib "$RSS_MAX_SAMPLE")), last $(mib "$RSS_LAST"); $RSS_SAMPLES samples: $RSS_VERDICT"
  echo "  over time (a stats event every $STATS_EVERY s):"
  printf '    %8s %14s %14s %10s %8s %9s\n' "t s" "kw requests" "kernel recv" "dropped" "RSS MiB" "CPU %"
  awk -F'\t' -v c="$CLK" '{ cpu = (NR > 1 && $1 > t) ? sprintf("%.1f", ($2 - k) / c / ($1 - t) * 100) : "-"
    printf "    %8.0f %14s %14s %10s %8.1f %9s\n", $1, $12, $15, $16, $3 / 1024, cpu; t = $1; k = $2 }' "$RUN/over-time.tsv"
  [ ! -s "$RUN/keepwatch.err" ] || { echo "  keepwatch's stderr:"; sed 's/^/    /' "$RUN/keepwatch.err" | head -n 10; }
  echo "  files:       $RUN"
} > "$RUN/summary.txt"
cat "$RUN/summary.txt"

# --- the machine-readable line ---------------------------------------------------------------------
RESULT=$(jq -nc \
  --arg run "$RUN_ID" --arg state "$STATE" --arg started "$(date -u -d "@$(( START_NS / 1000000000 ))" +%Y-%m-%dT%H:%M:%SZ)" \
  --argjson duration "$DURATION" --argjson connections "$CONNECTIONS" --argjson threads "$THREADS" \
  --arg buffer_kib "${BUFFER_KIB:-default}" --argjson immediate "$([ "$IMMEDIATE" = 1 ] && echo true || echo false)" \
  --argjson wrk_requests "$(jn "$WRK_REQ")" --argjson wrk_rps "$(jn "$WRK_RPS")" --arg wrk_errors "$WRK_ERRORS" \
  --argjson kw_requests "$(jn "$KW_REQ")" --argjson kw_responses "$(jn "$KW_RESP")" \
  --argjson kw_server_requests "$(jn "$KW_SERVER_REQ")" --argjson kw_connections "$(jn "$KW_CONNS")" \
  --argjson kw_packets "$(jn "$KW_PKTS")" --argjson diff "$(jn "$DIFF")" --arg requests "$REQ_VERDICT" \
  --argjson kernel_received "$(jn "$KRECV")" --argjson kernel_dropped "$(jn "$KDROP")" \
  --argjson kernel_interface_dropped "$(jn "$KIFDROP")" \
  --argjson kw_cpu_pct "$(jn "$KW_CPU")" --argjson nginx_cpu_pct "$(jn "$NGX_CPU")" --argjson wrk_cpu_pct "$(jn "$WRK_CPU")" \
  --argjson other_cpu_pct "$(jn "$OTHER_CPU")" \
  --argjson rss_idle_kib "$(jn "$KW_IDLE_RSS")" --argjson rss_first_kib "$(jn "$RSS_FIRST")" \
  --argjson rss_peak_kib "$(jn "$RSS_PEAK")" --argjson rss_last_kib "$(jn "$RSS_LAST")" \
  --arg load_before "$LOAD_BEFORE" --arg load_after "$LOAD_AFTER" \
  --arg kw_exit "$KW_RC" --arg json_ok "$JSON_OK" \
  --argjson capture_holes "$(jn "$HOLES")" --argjson capture_holes_too_large "$(jn "$HOLES_LARGE")" \
  --argjson not_http "$(jn "$NOT_HTTP")" \
  '{live_load: $run, state: $state, started: $started, duration: $duration, connections: $connections,
    threads: $threads, buffer_kib: $buffer_kib, immediate: $immediate, wrk_requests: $wrk_requests,
    wrk_rps: $wrk_rps, wrk_errors: $wrk_errors, kw_requests: $kw_requests, kw_responses: $kw_responses,
    kw_server_requests: $kw_server_requests, kw_connections: $kw_connections, kw_packets: $kw_packets,
    requests_diff: $diff, requests: $requests, kernel_received: $kernel_received,
    kernel_dropped: $kernel_dropped, kernel_interface_dropped: $kernel_interface_dropped,
    kw_cpu_pct: $kw_cpu_pct, nginx_cpu_pct: $nginx_cpu_pct, wrk_cpu_pct: $wrk_cpu_pct,
    other_cpu_pct: $other_cpu_pct, rss_idle_kib: $rss_idle_kib, rss_first_kib: $rss_first_kib,
    rss_peak_kib: $rss_peak_kib, rss_last_kib: $rss_last_kib, load_before: $load_before,
    load_after: $load_after, kw_exit: $kw_exit, json_parses: ($json_ok == "yes"),
    capture_holes: $capture_holes, capture_holes_too_large: $capture_holes_too_large, not_http: $not_http}')
echo "$RESULT" >> "$WORK/runs.jsonl"
echo "$RESULT"

# --- docs/live.md ---------------------------------------------------------------------------------------
if [ "$UPDATE_DOC" = 1 ]; then
  {
    echo "## Load test"
    echo
    echo "Written by \`bench/live-load.sh --update-doc\` (see its header for the settings); do not edit it by hand."
    echo "nginx serves a small file on 127.0.0.1 to wrk while keepwatch captures lo. On lo the kernel counts every packet twice," \
      "in \`received\` and in \`dropped\` alike, and a transaction is about one request and one response packet, so a drop costs" \
      "about a quarter of a transaction. wrk counts the responses it read; keepwatch also sees the requests still in flight" \
      "when wrk stops (wrk then closes those connections with a RST), so with no drop keepwatch's count is wrk's plus those."
    echo
    if [ -s "${SWEEP:-}" ]; then
      echo "Short runs first, to choose the setting (\`DURATION=30\`; CPU in % of one core; RSS of keepwatch: idle, first sample under load, peak, last):"
      echo
      echo "| wrk -c | -B KiB | requests/s | wrk requests | keepwatch's requests | kernel dropped | holes over 256 KiB | connections given up | keepwatch CPU % | RSS MiB | other processes CPU % | load average before → after |"
      echo "| ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
      jq -r 'def th: if . == null then "n/a" elif . < 0 then "-" + (-. | th) elif . < 1000 then tostring
               else (. / 1000 | floor | th) + "," + ("00" + (. % 1000 | tostring))[-3:] end;
        def mib: if . == null then "n/a" else (. / 1024 * 10 | round / 10 | tostring) end;
        def n: if . == null then "n/a" else tostring end;
        (.requests_diff) as $d
        | "| \(.connections) | \(.buffer_kib) | \(.wrk_rps | if . == null then null else round end | th) | \(.wrk_requests | th) | " +
          (if $d == null then "n/a" elif $d == 0 then "equal" elif $d > 0 and $d <= .connections then "equal + \($d) in flight"
           elif $d < 0 then "\(-$d | th) missing" else "\($d | th) more" end) + " | " +
          "\(.kernel_dropped | th) | \(.capture_holes_too_large | n) | \(.not_http | n) | \(.kw_cpu_pct | n) | " +
          "\(.rss_idle_kib | mib) / \(.rss_first_kib | mib) / \([.rss_peak_kib, .rss_first_kib, .rss_last_kib] | max | mib) / \(.rss_last_kib | mib) | " +
          "\(.other_cpu_pct | n) | \(.load_before | split(" ")[0]) → \(.load_after | split(" ")[0]) |"' "$SWEEP"
      echo
      echo "Then the run below, at the setting chosen."
      echo
    fi
    echo "Run of $(date -u -d "@$(( START_NS / 1000000000 ))" '+%Y-%m-%d %H:%M UTC'), in the repository's top directory:"
    echo
    echo "    $(command_line)"
    echo
    echo "Machine: $NCPU cores ($(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(free -g | awk '/^Mem:/ { print $2 }') GiB of memory," \
      "Linux $(uname -r | cut -d- -f1); nginx $(pkgver nginx-common), wrk $(pkgver wrk), libpcap $(pkgver libpcap0.8)." \
      "The machine is shared: load average (1, 5, 15 min) $LOAD_BEFORE before the run and $LOAD_AFTER after it;" \
      "during it the machine was busy $(pc "$MACHINE_CPU") of one core (of $(( NCPU * 100 ))%; $(pc "$SOFTIRQ_CPU") in interrupts, mostly the loopback's delivery, steal $(pc "$STEAL_CPU"))," \
      "of which other processes than keepwatch, nginx and wrk $(pc "$OTHER_CPU")${OTHERS:+ (the busiest long-lived ones: $OTHERS)}."
    echo
    echo "nginx: one worker, a $BODY_BYTES-byte static file, keepalive_requests $KEEPALIVE_REQUESTS, keepalive_timeout 75 s, no access log." \
      "wrk: \`wrk ${WRK_ARGS[*]}\`. keepwatch: \`keepwatch ${KW_OPTS} '$KW_FILTER'\`, stopped by SIGINT $SETTLE s after wrk ended (exit $KW_RC); run $STATE."
    echo
    echo "| | |"
    echo "| --- | ---: |"
    echo "| requests counted by wrk (responses read) | $(num "$WRK_REQ") |"
    echo "| requests seen by keepwatch (final stats) | $(num "$KW_REQ") |"
    echo "| keepwatch − wrk | $(num "$DIFF") |"
    echo "| responses seen by keepwatch / lost | $(num "$KW_RESP") / $(num "$KW_LOST") |"
    echo "| connections seen by keepwatch | $(num "$KW_CONNS")${PROBES:+ ($PROBES without a request: the address check of wrk)} |"
    echo "| requests/s (wrk) | $(num "$WRK_RPS") |"
    echo "| wrk latency | ${WRK_LAT:-n/a}${WRK_PCT:+; $WRK_PCT} |"
    echo "| wrk socket errors | ${WRK_ERRORS:-none} |"
    echo "| kernel: received / dropped / interface dropped (on lo every packet counts twice) | $(num "$KRECV") / $(num "$KDROP") / $(num "$KIFDROP") |"
    echo "| keepwatch: holes in the capture | ${LOSS:-none} |"
    echo "| packets keepwatch read | $(num "$KW_PKTS") |"
    echo "| keepwatch CPU, % of one core | ${KW_CPU:-n/a} |"
    echo "| nginx worker / wrk CPU, % of one core | ${NGX_CPU:-n/a} / ${WRK_CPU:-n/a} |"
    echo "| keepwatch RSS MiB: idle / first under load / peak / last | $(mib "$KW_IDLE_RSS") / $(mib "$RSS_FIRST") / $(mib "$RSS_PEAK") / $(mib "$RSS_LAST") |"
    echo
    echo "Requests: $REQ_VERDICT. RSS: $RSS_VERDICT, over $RSS_SAMPLES samples $SAMPLE_EVERY s apart."
    echo
    echo "Over time: a stats event (SIGUSR1) every $STATS_EVERY s, with keepwatch's RSS and its CPU since the row before:"
    echo
    echo "| t s | keepwatch requests | kernel received | kernel dropped | RSS MiB | CPU % |"
    echo "| ---: | ---: | ---: | ---: | ---: | ---: |"
    awk -F'\t' -v c="$CLK" '{ cpu = (NR > 1 && $1 > t) ? sprintf("%.1f", ($2 - k) / c / ($1 - t) * 100) : "-"
      printf "| %.0f | %s | %s | %s | %.1f | %s |\n", $1, $12, $15, $16, $3 / 1024, cpu; t = $1; k = $2 }' "$RUN/over-time.tsv"
  } > "$RUN/section.md"
  if [ ! -f "$DOC" ]; then
    printf '<!-- live-load:begin -->\n<!-- live-load:end -->\n' > "$DOC"
  elif ! grep -q '^<!-- live-load:begin -->$' "$DOC"; then
    printf '\n<!-- live-load:begin -->\n<!-- live-load:end -->\n' >> "$DOC"
  fi
  tmp=$DOC.tmp.$$
  awk -v sect="$RUN/section.md" '
    $0 == "<!-- live-load:begin -->" { print; while ((getline l < sect) > 0) print l; skip = 1; next }
    $0 == "<!-- live-load:end -->" { skip = 0; print "" }
    !skip { print }' "$DOC" > "$tmp"
  mv "$tmp" "$DOC"
  log "== updated docs/live.md"
fi

[ "$STATE" = completed ] || exit 1
