#!/usr/bin/env bash
# record.sh - re-record keepwatch's test captures of real HTTP/1.x traffic.
#
# Debian 12 (bookworm) packages needed:
#   tcpdump tshark (brings wireshark-common: capinfos, editcap) curl
#   python3 python3-tornado tomcat10 nginx-light (or any nginx) lighttpd apache2
#   nodejs coreutils procps
#
# Run as root (tcpdump on lo).  Every server is a private instance started
# from a temporary directory with its own config, listening on 127.0.0.1
# high ports only, and stopped (by pid) after its capture.  Captures are
# written next to this script, or into $OUT_DIR.
#
# Usage: ./record.sh                 # all captures
#        ./record.sh NAME [NAME...]  # some captures, NAME = file name with or
#                                    # without .pcap, e.g. tomcat-max2-timeout3
#        ./record.sh --list
# Environment: OUT_DIR, PYTHON (default /usr/bin/python3, must have tornado),
#   KEEP_WORK=1 (keep temp dirs), PORT_TORNADO PORT_TOMCAT PORT_NGINX
#   PORT_APACHE PORT_LIGHTTPD (defaults 18081..18085), PORT_BAD (badserver.py,
#   18090), PORT_NODE (node_server.js, 18091), PORT_NGINX_KA (nginx-keepalive,
#   18092), PORT_TORNADO6 PORT_NGINX6 PORT_NODE6 PORT_DUAL (the IPv6 captures,
#   on [::1], 18093..18096), NODE (default node).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT_DIR=${OUT_DIR:-$HERE}
PYTHON=${PYTHON:-/usr/bin/python3}
RAWCLIENT="$HERE/rawclient.py"
PORT_TORNADO=${PORT_TORNADO:-18081}
PORT_TOMCAT=${PORT_TOMCAT:-18082}
PORT_NGINX=${PORT_NGINX:-18083}
PORT_APACHE=${PORT_APACHE:-18084}
PORT_LIGHTTPD=${PORT_LIGHTTPD:-18085}
PORT_BAD=${PORT_BAD:-18090}
PORT_NODE=${PORT_NODE:-18091}
PORT_NGINX_KA=${PORT_NGINX_KA:-18092}
PORT_TORNADO6=${PORT_TORNADO6:-18093}
PORT_NGINX6=${PORT_NGINX6:-18094}
PORT_NODE6=${PORT_NODE6:-18095}
PORT_DUAL=${PORT_DUAL:-18096}
NODE=${NODE:-node}
# fixed mtime of every served file, so ETag/Last-Modified are stable
FILE_DATE='2024-01-01 00:00:00 UTC'

ALL=(
  tornado-http11 tornado-http11.pcapng tornado-http10 tornado-http10-keepalive
  tornado-chunked tornado-any
  tomcat-max2-timeout3 truncated-file
  nginx-pipelined nginx-nanosec snaplen-cut
  apache-keepalive lighttpd-keepalive
  rule-unannounced-close rule-request-after-close rule-close-ignored
  rule-idle-timeout-early rule-max-exceeded rule-unframed-response
  rule-chunked-to-http10 rule-conflicting-framing rule-keepalive-header-unlisted
  rule-abortive-close
  node-keepalive nginx-keepalive idle-race-node
  tornado-http11-ipv6 nginx-keepalive-ipv6 node-keepalive-ipv6 nginx-dual-stack
)

# ---------------------------------------------------------------- helpers
PIDS=()        # processes started by this script (servers, tcpdump)
WORKDIRS=()
TCPDUMP_PID=
SERVER_PID=

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'record.sh: error: %s\n' "$*" >&2; exit 1; }

# stop_pid PID [SIGNAL]: signal one process we started, wait (bounded) for it
stop_pid() {
  local pid=$1 sig=${2:-TERM} i
  [ -n "$pid" ] || return 0
  kill -"$sig" "$pid" 2>/dev/null || true
  for i in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid did not exit after SIG$sig, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$? p d
  set +e
  for p in "${PIDS[@]}"; do
    if kill -0 "$p" 2>/dev/null; then stop_pid "$p" TERM; fi
  done
  if [ "${KEEP_WORK:-0}" = 1 ]; then
    [ ${#WORKDIRS[@]} -gt 0 ] && log "work dirs kept: ${WORKDIRS[*]}"
  else
    for d in "${WORKDIRS[@]}"; do rm -rf -- "$d"; done
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# new_workdir: make a temp dir, put its path in $W (no subshell, so that
# cleanup() knows about it)
new_workdir() {
  W=$(mktemp -d /tmp/keepwatch-rec.XXXXXX)
  chmod 755 "$W"          # servers drop privileges (nginx, apache)
  WORKDIRS+=("$W")
}

# make_docroot DIR: the small static files every server serves
make_docroot() {
  local d=$1 i
  mkdir -p "$d"
  printf 'hello\n' >"$d/hello.txt"
  : >"$d/big.txt"
  for i in $(seq -w 1 16); do
    printf 'line %s: 0123456789abcdefghijklmnopqrstuvwxyz\n' "$i" >>"$d/big.txt"
  done
  touch -d "$FILE_DATE" "$d/hello.txt" "$d/big.txt"
  chmod 755 "$d"
  chmod 644 "$d"/*.txt
}

# wait_http URL [SECONDS]: bounded readiness probe (before capturing starts)
wait_http() {
  local url=$1 secs=${2:-20} i
  for i in $(seq 1 $((secs * 5))); do
    if curl -s -o /dev/null --max-time 1 "$url"; then return 0; fi
    if [ -n "$SERVER_PID" ] && ! kill -0 "$SERVER_PID" 2>/dev/null; then
      die "server (pid $SERVER_PID) died while waiting for $url"
    fi
    sleep 0.2
  done
  die "no answer from $url within ${secs}s"
}

# wait_log FILE PATTERN [SECONDS]: bounded wait for a server's "ready" line
# (for servers that must not be probed: a probe would use up a connection)
wait_log() {
  local f=$1 pat=$2 secs=${3:-20} i
  for i in $(seq 1 $((secs * 10))); do
    if grep -q -- "$pat" "$f" 2>/dev/null; then return 0; fi
    if [ -n "$SERVER_PID" ] && ! kill -0 "$SERVER_PID" 2>/dev/null; then
      cat "$f" >&2
      die "server (pid $SERVER_PID) died before printing '$pat'"
    fi
    sleep 0.1
  done
  die "no '$pat' in $f within ${secs}s"
}

# server_start LOGFILE CMD...: start a server in the background, keep its pid
server_start() {
  local logf=$1; shift
  "$@" >"$logf" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
}

server_stop() {
  stop_pid "$SERVER_PID" TERM
  SERVER_PID=
}

# cap_start FILE PORT [IFACE] [tcpdump options...]
cap_start() {
  local file=$1 port=$2 iface=${3:-lo} i
  shift 3 || shift $#
  rm -f -- "$file"
  CAP_ERR=$(mktemp /tmp/keepwatch-tcpdump.XXXXXX)
  tcpdump -i "$iface" -s 0 -U --immediate-mode -n -Z root "$@" -w "$file" "tcp port $port" 2>"$CAP_ERR" &
  TCPDUMP_PID=$!
  PIDS+=("$TCPDUMP_PID")
  for i in $(seq 1 50); do
    grep -q 'listening on' "$CAP_ERR" && break
    kill -0 "$TCPDUMP_PID" 2>/dev/null || { cat "$CAP_ERR" >&2; die "tcpdump failed"; }
    sleep 0.1
  done
  grep -q 'listening on' "$CAP_ERR" || die "tcpdump did not start"
  sleep 0.3
}

cap_stop() {
  sleep 0.5                       # let the closes (FIN/ACK) reach the capture
  stop_pid "$TCPDUMP_PID" INT
  TCPDUMP_PID=
  sed 's/^/   tcpdump: /' "$CAP_ERR" >&2
  rm -f -- "$CAP_ERR"
}

raw() { "$PYTHON" "$RAWCLIENT" "$@"; }

# ---------------------------------------------------------------- servers
# tornado_start DIR [ADDRESS PORT URL-HOST]
tornado_start() {
  local w=$1 addr=${2:-127.0.0.1} port=${3:-$PORT_TORNADO} host=${4:-127.0.0.1}
  "$PYTHON" -c 'import tornado' 2>/dev/null || die "$PYTHON cannot import tornado (apt-get install python3-tornado)"
  server_start "$w/tornado.log" "$PYTHON" "$HERE/tornado_app.py" --address "$addr" --port "$port"
  wait_http "http://$host:$port/_health"
}

# nginx_start DIR [PORT] [KEEPALIVE-DIRECTIVES] [LISTEN-DIRECTIVES] [PROBE-HOST]
nginx_start() {
  local w=$1 port=${2:-$PORT_NGINX} ka=${3:-'keepalive_timeout 75s;'}
  local listen=${4:-"listen 127.0.0.1:$port;"} probe=${5:-127.0.0.1}
  make_docroot "$w/htdocs"
  mkdir -p "$w/tmp"
  cat >"$w/nginx.conf" <<EOF
daemon off;
worker_processes 1;
user nobody nogroup;
pid $w/nginx.pid;
error_log $w/error.log;
events { worker_connections 64; }
http {
    access_log $w/access.log;
    client_body_temp_path $w/tmp/body;
    proxy_temp_path $w/tmp/proxy;
    fastcgi_temp_path $w/tmp/fastcgi;
    uwsgi_temp_path $w/tmp/uwsgi;
    scgi_temp_path $w/tmp/scgi;
    types { text/plain txt; }
    default_type application/octet-stream;
    $ka
    server {
        $listen
        root $w/htdocs;
    }
}
EOF
  server_start "$w/nginx.out" nginx -p "$w" -c "$w/nginx.conf" -e "$w/error.log"
  wait_http "http://$probe:$port/hello.txt"
}

tomcat_start() {
  local w=$1 f
  local home=${CATALINA_HOME_DEBIAN:-/usr/share/tomcat10}
  [ -x "$home/bin/catalina.sh" ] || die "tomcat10 not installed ($home/bin/catalina.sh)"
  mkdir -p "$w/conf" "$w/logs" "$w/temp" "$w/work" "$w/webapps"
  for f in web.xml catalina.properties logging.properties context.xml; do
    if [ -f "$home/etc/$f" ]; then cp "$home/etc/$f" "$w/conf/"
    elif [ -f "/etc/tomcat10/$f" ]; then cp "/etc/tomcat10/$f" "$w/conf/"; fi
  done
  cat >"$w/conf/server.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<Server port="-1" shutdown="SHUTDOWN">
  <Service name="Catalina">
    <Connector address="127.0.0.1" port="$PORT_TOMCAT"
               protocol="org.apache.coyote.http11.Http11NioProtocol"
               maxKeepAliveRequests="2" keepAliveTimeout="3000"
               connectionTimeout="20000" />
    <Engine name="Catalina" defaultHost="localhost">
      <Host name="localhost" appBase="webapps" unpackWARs="false" autoDeploy="false" />
    </Engine>
  </Service>
</Server>
EOF
  make_docroot "$w/webapps/ROOT"
  server_start "$w/catalina.out" env CATALINA_HOME="$home" CATALINA_BASE="$w" \
    CATALINA_TMPDIR="$w/temp" CATALINA_PID="$w/catalina.pid" "$home/bin/catalina.sh" run
  wait_http "http://127.0.0.1:$PORT_TOMCAT/hello.txt" 90
}

apache_start() {
  local w=$1 m
  local mods=${APACHE_MODULES:-/usr/lib/apache2/modules}
  make_docroot "$w/htdocs"
  mkdir -p "$w/run"
  printf 'text/plain\ttxt\n' >"$w/mime.types"
  {
    echo "ServerRoot $w"
    echo "DefaultRuntimeDir $w/run"
    echo "PidFile $w/apache2.pid"
    echo "ErrorLog $w/error.log"
    echo "LogLevel warn"
    for m in mpm_event authz_core dir mime; do
      echo "LoadModule ${m}_module $mods/mod_${m}.so"
    done
    cat <<EOF
User www-data
Group www-data
ServerName 127.0.0.1
Listen 127.0.0.1:$PORT_APACHE
StartServers 1
ServerLimit 1
ThreadsPerChild 8
MaxRequestWorkers 8
MinSpareThreads 1
MaxSpareThreads 16
KeepAlive On
MaxKeepAliveRequests 3
KeepAliveTimeout 2
TypesConfig $w/mime.types
DocumentRoot $w/htdocs
<Directory />
    Require all denied
</Directory>
<Directory $w/htdocs>
    Require all granted
</Directory>
EOF
  } >"$w/apache2.conf"
  server_start "$w/apache2.out" apache2 -d "$w" -f "$w/apache2.conf" -DFOREGROUND
  wait_http "http://127.0.0.1:$PORT_APACHE/hello.txt"
}

lighttpd_start() {
  local w=$1
  make_docroot "$w/htdocs"
  cat >"$w/lighttpd.conf" <<EOF
server.document-root = "$w/htdocs"
server.bind = "127.0.0.1"
server.port = $PORT_LIGHTTPD
server.errorlog = "$w/error.log"
server.max-keep-alive-requests = 2
server.max-keep-alive-idle = 2
mimetype.assign = ( ".txt" => "text/plain" )
EOF
  server_start "$w/lighttpd.out" lighttpd -D -f "$w/lighttpd.conf"
  wait_http "http://127.0.0.1:$PORT_LIGHTTPD/hello.txt"
}

# bad_start DIR MODE MAX-CONNS: badserver.py (misbehaving on purpose) on
# $PORT_BAD; it exits by itself after MAX-CONNS connections or 30 s
bad_start() {
  local w=$1 mode=$2 conns=$3
  server_start "$w/badserver.log" "$PYTHON" "$HERE/badserver.py" --address 127.0.0.1 \
    --port "$PORT_BAD" --mode "$mode" --max-conns "$conns" --max-time 30
  wait_log "$w/badserver.log" 'listening on'
}

# node_start DIR [node_server.js options]: Node.js http server on $PORT_NODE
# (options given win over ours: --address ::1 --port $PORT_NODE6 for IPv6)
node_start() {
  local w=$1; shift
  command -v "$NODE" >/dev/null || die "missing $NODE (apt-get install nodejs)"
  server_start "$w/node.log" "$NODE" "$HERE/node_server.js" --address 127.0.0.1 \
    --port "$PORT_NODE" --max-time 60 "$@"
  wait_log "$w/node.log" 'listening on'
}

# ---------------------------------------------------------------- captures
curl2() { # two requests, one connection (curl reuses it), output discarded
  curl -sS --http1.1 --max-time 10 -o /dev/null -o /dev/null "$1" "$2"
}

rec_tornado_http11() {
  local w; new_workdir; w=$W
  tornado_start "$w"
  cap_start "$OUT_DIR/tornado-http11.pcap" "$PORT_TORNADO" lo
  curl2 "http://127.0.0.1:$PORT_TORNADO/_health" "http://127.0.0.1:$PORT_TORNADO/_health"
  cap_stop
  server_stop
}

rec_tornado_http11_pcapng() {
  # the very same traffic as tornado-http11.pcap, converted to pcapng
  [ -f "$OUT_DIR/tornado-http11.pcap" ] || rec_tornado_http11
  rm -f -- "$OUT_DIR/tornado-http11.pcapng"
  editcap -F pcapng "$OUT_DIR/tornado-http11.pcap" "$OUT_DIR/tornado-http11.pcapng"
}

rec_tornado_any() {
  local w; new_workdir; w=$W
  tornado_start "$w"
  cap_start "$OUT_DIR/tornado-any.pcap" "$PORT_TORNADO" any
  curl2 "http://127.0.0.1:$PORT_TORNADO/_health" "http://127.0.0.1:$PORT_TORNADO/_health"
  cap_stop
  server_stop
}

rec_tornado_http10() {
  # HTTP/1.0 without keep-alive: Tornado answers HTTP/1.1 200 (no
  # Connection header) and closes.  50 ms later a second request is written
  # on the same socket, after the server's FIN: the server answers with RST.
  local w; new_workdir; w=$W
  tornado_start "$w"
  cap_start "$OUT_DIR/tornado-http10.pcap" "$PORT_TORNADO" lo
  raw --port "$PORT_TORNADO" --timeout 3 \
    --req 'GET /_health HTTP/1.0' --sleep 0.05 --stale 'GET /_health HTTP/1.0'
  cap_stop
  server_stop
  check_http10_rst "$OUT_DIR/tornado-http10.pcap"
}

rec_tornado_http10_keepalive() {
  local w; new_workdir; w=$W
  tornado_start "$w"
  cap_start "$OUT_DIR/tornado-http10-keepalive.pcap" "$PORT_TORNADO" lo
  raw --port "$PORT_TORNADO" --timeout 3 \
    --req 'GET /_health HTTP/1.0|Connection: keep-alive' \
    --req 'GET /_health HTTP/1.0|Connection: keep-alive'
  cap_stop
  server_stop
}

rec_tornado_chunked() {
  local w; new_workdir; w=$W
  tornado_start "$w"
  cap_start "$OUT_DIR/tornado-chunked.pcap" "$PORT_TORNADO" lo
  curl -sS --http1.1 --max-time 10 -o /dev/null "http://127.0.0.1:$PORT_TORNADO/chunked"
  cap_stop
  server_stop
}

rec_tomcat_max2_timeout3() {
  # maxKeepAliveRequests=2 keepAliveTimeout=3000.
  # conn 1: requests 1,2 back to back (2nd answered with Connection: close,
  #         server closes)
  # conn 2: request 3, idle 2 s, request 4 (reused; being the 2nd request on
  #         the connection it is also answered with Connection: close)
  # conn 3: request 5, idle 4 s: the server closes the idle connection at
  #         ~3 s (the client closes as soon as it sees the FIN)
  # conn 4: request 6
  local w; new_workdir; w=$W
  tomcat_start "$w"
  cap_start "$OUT_DIR/tomcat-max2-timeout3.pcap" "$PORT_TOMCAT" lo
  raw --port "$PORT_TOMCAT" --timeout 6 --reconnect --close-on-fin \
    --req 'GET /hello.txt' --req 'GET /hello.txt' --req 'GET /hello.txt' \
    --sleep 2 --req 'GET /hello.txt' --req 'GET /hello.txt' \
    --sleep 4 --req 'GET /hello.txt'
  cap_stop
  server_stop
}

rec_truncated_file() {
  # tomcat-max2-timeout3.pcap cut in the middle of the data of its middle
  # packet record
  local src="$OUT_DIR/tomcat-max2-timeout3.pcap" cut
  [ -f "$src" ] || rec_tomcat_max2_timeout3
  cut=$("$PYTHON" - "$src" <<'EOF'
import struct, sys
data = open(sys.argv[1], "rb").read()
magic = data[:4]
endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
off, recs = 24, []
while off + 16 <= len(data):
    incl = struct.unpack(endian + "I", data[off + 8:off + 12])[0]
    recs.append((off, incl))
    off += 16 + incl
start, incl = recs[len(recs) // 2]
print(start + 16 + incl // 2)
EOF
)
  head -c "$cut" "$src" >"$OUT_DIR/truncated-file.pcap"
  log "truncated-file.pcap: first $cut bytes of tomcat-max2-timeout3.pcap"
}

rec_nginx_pipelined() {
  local w; new_workdir; w=$W
  nginx_start "$w"
  cap_start "$OUT_DIR/nginx-pipelined.pcap" "$PORT_NGINX" lo
  raw --port "$PORT_NGINX" --timeout 3 \
    --pipeline 'GET /hello.txt' 'HEAD /hello.txt' 'GET /hello.txt'
  cap_stop
  server_stop
}

rec_nginx_nanosec() {
  local w; new_workdir; w=$W
  nginx_start "$w"
  cap_start "$OUT_DIR/nginx-nanosec.pcap" "$PORT_NGINX" lo --time-stamp-precision=nano
  curl2 "http://127.0.0.1:$PORT_NGINX/hello.txt" "http://127.0.0.1:$PORT_NGINX/hello.txt"
  cap_stop
  server_stop
}

rec_snaplen_cut() {
  local w; new_workdir; w=$W
  nginx_start "$w"
  cap_start "$OUT_DIR/snaplen-cut.pcap" "$PORT_NGINX" lo -s 100
  curl2 "http://127.0.0.1:$PORT_NGINX/big.txt" "http://127.0.0.1:$PORT_NGINX/hello.txt"
  cap_stop
  server_stop
}

rec_apache_keepalive() {
  # KeepAlive On, MaxKeepAliveRequests 3, KeepAliveTimeout 2.
  # HTTP/1.0 + Connection: keep-alive requests back to back until Apache
  # closes the connection, then one more request on a new connection, which
  # is then left idle until Apache's keep-alive timeout closes it.
  local w; new_workdir; w=$W
  apache_start "$w"
  cap_start "$OUT_DIR/apache-keepalive.pcap" "$PORT_APACHE" lo
  local r='GET /hello.txt HTTP/1.0|Connection: keep-alive'
  raw --port "$PORT_APACHE" --timeout 6 --reconnect --close-on-fin \
    --req "$r" --req "$r" --req "$r" --req "$r" --req "$r" \
    --read-until-fin
  cap_stop
  server_stop
}

rec_lighttpd_keepalive() {
  # max-keep-alive-requests = 2, max-keep-alive-idle = 2.
  # conn 1: requests 1,2,3 back to back (lighttpd answers the 3rd, not the
  #         2nd, with Connection: close and closes)
  # conn 2: request 4, idle 5 s (the server closes the idle connection; the
  #         client notices it only when it wants to send the next request,
  #         at 5 s, and closes lazily then)
  # conn 3: request 5
  local w; new_workdir; w=$W
  lighttpd_start "$w"
  cap_start "$OUT_DIR/lighttpd-keepalive.pcap" "$PORT_LIGHTTPD" lo
  raw --port "$PORT_LIGHTTPD" --timeout 6 --reconnect \
    --req 'GET /hello.txt' --req 'GET /hello.txt' --req 'GET /hello.txt' \
    --req 'GET /hello.txt' --sleep 5 --req 'GET /hello.txt'
  cap_stop
  server_stop
}

# ------------------------------------------------ captures that break a rule
# Each is recorded against badserver.py (one --mode per rule) and checked
# with tshark (cap_shape); a recording whose shape is not the expected one
# (a timing race, e.g. curl reusing the connection of rule-unannounced-close
# before the server's FIN arrives) is made again, at most 5 times.

# curl_urls [CURL-OPTIONS...] -- URL...: one curl run, output discarded.
# A non-zero exit is logged, not fatal: some servers here are broken on
# purpose.
curl_urls() {
  local opts=() outs=() rc=0 u
  while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
  shift
  for u in "$@"; do outs+=(-o /dev/null "$u"); done
  curl -sS --max-time 10 "${opts[@]}" "${outs[@]}" || rc=$?
  [ $rc = 0 ] || log "curl exit status $rc (expected with this server)"
}

# bad_capture NAME MODE MAX-CONNS SHAPE CLIENT-FUNCTION
bad_capture() {
  local name=$1 mode=$2 conns=$3 shape=$4 client=$5 try w
  for try in 1 2 3 4 5; do
    new_workdir; w=$W
    bad_start "$w" "$mode" "$conns"
    cap_start "$OUT_DIR/$name.pcap" "$PORT_BAD" lo
    "$client" "http://127.0.0.1:$PORT_BAD"
    cap_stop
    server_stop
    check_shape "$OUT_DIR/$name.pcap" "$PORT_BAD" "$shape" && return 0
    log "$name: attempt $try did not give the expected shape"
  done
  die "$name: no good recording in 5 attempts"
}

# server: 200 + Content-Length, no Connection header, FIN right away.
# curl's second URL finds the connection dead and opens a new one.
cl_unannounced_close() { curl_urls --http1.1 -- "$1/hello.txt" "$1/hello.txt"; }
rec_rule_unannounced_close() {
  bad_capture rule-unannounced-close unannounced-close 2 '1/1sF 1/1sF' cl_unannounced_close
}

# server: Connection: close, FIN 300 ms later.  The client writes a second
# request 20 ms after the first response, before that FIN; not answered.
cl_request_after_close() {
  raw --port "$PORT_BAD" --timeout 3 \
    --req 'GET /hello.txt' --sleep 0.02 --stale 'GET /hello.txt'
}
rec_rule_request_after_close() {
  bad_capture rule-request-after-close request-after-close 1 '2/1sF' cl_request_after_close
}

# conn 1: request 1 says Connection: close, the server answers and keeps the
#   connection; 100 ms later request 2 on it, answered; the client closes.
# conn 2: the response says Connection: close, the server keeps the
#   connection; the client waits 2.5 s and closes.
cl_close_ignored() {
  raw --port "$PORT_BAD" --timeout 3 \
    --req 'GET /hello.txt|Connection: close' --sleep 0.1 --req 'GET /hello.txt' --close \
    --req 'GET /resp-close' --sleep 2.5 --close
}
rec_rule_close_ignored() {
  bad_capture rule-close-ignored close-ignored 2 '2/2cF 1/1cF' cl_close_ignored
}

# server: Keep-Alive: timeout=10, but closes the idle connection after 2 s
cl_idle_timeout_early() {
  raw --port "$PORT_BAD" --timeout 5 --close-on-fin --req 'GET /hello.txt' --read-until-fin
}
rec_rule_idle_timeout_early() {
  bad_capture rule-idle-timeout-early idle-timeout-early 1 '1/1sF' cl_idle_timeout_early
}

# server: Keep-Alive: timeout=5, max=1 (then max=0), answers 3 requests
cl_max_exceeded() { curl_urls --http1.1 -- "$1/hello.txt" "$1/hello.txt" "$1/hello.txt"; }
rec_rule_max_exceeded() {
  bad_capture rule-max-exceeded max-exceeded 1 '3/3cF' cl_max_exceeded
}

# server: HTTP/1.1 + Connection: keep-alive, body without framing, FIN 100 ms later
cl_unframed_response() { curl_urls --http1.1 -- "$1/hello.txt"; }
rec_rule_unframed_response() {
  bad_capture rule-unframed-response unframed-response 1 '1/1sF' cl_unframed_response
}

# HTTP/1.0 request, HTTP/1.1 chunked response (+ Connection: close), FIN
cl_chunked_to_http10() { curl_urls --http1.0 -- "$1/hello.txt"; }
rec_rule_chunked_to_http10() {
  bad_capture rule-chunked-to-http10 chunked-to-http10 1 '1/1sF' cl_chunked_to_http10
}

# conn 1: Content-Length + Transfer-Encoding: chunked; conn 2: two
# differing Content-Length headers (7 then 6, 6-byte body)
cl_conflicting_framing() {
  curl_urls --http1.1 -- "$1/cl-te"
  curl_urls --http1.1 -- "$1/cl-cl"
}
rec_rule_conflicting_framing() {
  bad_capture rule-conflicting-framing conflicting-framing 2 '1/1cF 1/1cF' cl_conflicting_framing
}

# server: HTTP/1.1 + Keep-Alive: timeout=5, no Connection header
cl_keepalive_header_unlisted() { curl_urls --http1.1 -- "$1/hello.txt" "$1/hello.txt"; }
rec_rule_keepalive_header_unlisted() {
  bad_capture rule-keepalive-header-unlisted keepalive-header-unlisted 1 '2/2cF' \
    cl_keepalive_header_unlisted
}

# server: 200 + Content-Length, no Connection header, then RST (SO_LINGER 0)
cl_abortive_close() { curl_urls --http1.1 -- "$1/hello.txt"; }
rec_rule_abortive_close() {
  bad_capture rule-abortive-close abortive-close 1 '1/1sR' cl_abortive_close
}

# ------------------------------------------------ well-behaved Node.js, nginx
rec_node_keepalive() {
  # keepAliveTimeout 1000 (advertised as timeout=1), maxRequestsPerSocket 3.
  # conn 1+2: curl, 4 URLs: the 3rd response says Connection: close (Node
  #   does not close: curl does), the 4th request goes on a new connection.
  # conn 3: one request, then idle until Node closes it (Node 20 adds a
  #   fixed 1 s to keepAliveTimeout: about 2 s).
  local w try u="http://127.0.0.1:$PORT_NODE/hello.txt"
  for try in 1 2 3; do
    new_workdir; w=$W
    node_start "$w" --keepalive-ms 1000 --max-requests 3
    cap_start "$OUT_DIR/node-keepalive.pcap" "$PORT_NODE" lo
    curl_urls --http1.1 -- "$u" "$u" "$u" "$u"
    raw --port "$PORT_NODE" --timeout 5 --close-on-fin --req 'GET /hello.txt' --read-until-fin
    cap_stop
    server_stop
    check_shape "$OUT_DIR/node-keepalive.pcap" "$PORT_NODE" '3/3cF 1/1cF 1/1sF' && return 0
  done
  die "node-keepalive: no good recording in 3 attempts"
}

rec_nginx_keepalive() {
  # keepalive_requests 2; keepalive_timeout 2s.
  # conn 1+2: curl, 3 URLs: nginx answers the 2nd with Connection: close
  #   and closes; the 3rd request goes on a new connection.
  # conn 3: one request, then idle until nginx closes it (about 2 s).
  local w try u="http://127.0.0.1:$PORT_NGINX_KA/hello.txt"
  for try in 1 2 3; do
    new_workdir; w=$W
    nginx_start "$w" "$PORT_NGINX_KA" 'keepalive_requests 2; keepalive_timeout 2s;'
    cap_start "$OUT_DIR/nginx-keepalive.pcap" "$PORT_NGINX_KA" lo
    curl_urls --http1.1 -- "$u" "$u" "$u"
    raw --port "$PORT_NGINX_KA" --timeout 5 --close-on-fin --req 'GET /hello.txt' --read-until-fin
    cap_stop
    server_stop
    check_shape "$OUT_DIR/nginx-keepalive.pcap" "$PORT_NGINX_KA" '2/2sF 1/1cF 1/1sF' && return 0
  done
  die "nginx-keepalive: no good recording in 3 attempts"
}

rec_idle_race_node() {
  # Node keepAliveTimeout 1000 (no request limit).  It advertises timeout=1
  # but closes an idle connection only after about 2 s (Node 20 adds 1 s).
  # One connection reused after idle gaps of 0.8 and 1.02 s (both side of
  # the advertised timeout), 1.98 s (just under the real one) and 2.02 s
  # (just over: the request crosses the server's FIN and is lost, answered
  # by a RST).  Recorded again (at most 5 times) until tshark shows a
  # request sent after the server's FIN.
  local w try
  for try in 1 2 3 4 5; do
    new_workdir; w=$W
    node_start "$w" --keepalive-ms 1000 --max-requests 0
    cap_start "$OUT_DIR/idle-race-node.pcap" "$PORT_NODE" lo
    raw --port "$PORT_NODE" --timeout 5 --lost-ok \
      --req 'GET /hello.txt' --sleep 0.8 --req 'GET /hello.txt' --sleep 1.02 \
      --req 'GET /hello.txt' --sleep 1.98 --req 'GET /hello.txt' --sleep 2.02 \
      --req 'GET /hello.txt'
    cap_stop
    server_stop
    check_lost_after_fin "$OUT_DIR/idle-race-node.pcap" "$PORT_NODE" && return 0
    log "idle-race-node: attempt $try lost no request, recording again"
  done
  die "idle-race-node: no request lost in 5 attempts"
}

# ------------------------------------------------ the same over IPv6 ([::1])
# Each is the IPv4 capture it is named after, with client and server on ::1
# (tests/ipv6.sh compares keepwatch's reports of the two).

rec_tornado_http11_ipv6() {
  local w; new_workdir; w=$W
  tornado_start "$w" ::1 "$PORT_TORNADO6" '[::1]'
  cap_start "$OUT_DIR/tornado-http11-ipv6.pcap" "$PORT_TORNADO6" lo
  curl2 "http://[::1]:$PORT_TORNADO6/_health" "http://[::1]:$PORT_TORNADO6/_health"
  cap_stop
  server_stop
}

rec_nginx_keepalive_ipv6() {
  local w try u="http://[::1]:$PORT_NGINX6/hello.txt"
  for try in 1 2 3; do
    new_workdir; w=$W
    nginx_start "$w" "$PORT_NGINX6" 'keepalive_requests 2; keepalive_timeout 2s;' \
      "listen [::1]:$PORT_NGINX6;" '[::1]'
    cap_start "$OUT_DIR/nginx-keepalive-ipv6.pcap" "$PORT_NGINX6" lo
    curl_urls --http1.1 -- "$u" "$u" "$u"
    raw --host ::1 --host-header "[::1]:$PORT_NGINX6" --port "$PORT_NGINX6" --timeout 5 \
      --close-on-fin --req 'GET /hello.txt' --read-until-fin
    cap_stop
    server_stop
    check_shape "$OUT_DIR/nginx-keepalive-ipv6.pcap" "$PORT_NGINX6" '2/2sF 1/1cF 1/1sF' && return 0
  done
  die "nginx-keepalive-ipv6: no good recording in 3 attempts"
}

rec_node_keepalive_ipv6() {
  local w try u="http://[::1]:$PORT_NODE6/hello.txt"
  for try in 1 2 3; do
    new_workdir; w=$W
    node_start "$w" --address ::1 --port "$PORT_NODE6" --keepalive-ms 1000 --max-requests 3
    cap_start "$OUT_DIR/node-keepalive-ipv6.pcap" "$PORT_NODE6" lo
    curl_urls --http1.1 -- "$u" "$u" "$u" "$u"
    raw --host ::1 --host-header "[::1]:$PORT_NODE6" --port "$PORT_NODE6" --timeout 5 \
      --close-on-fin --req 'GET /hello.txt' --read-until-fin
    cap_stop
    server_stop
    check_shape "$OUT_DIR/node-keepalive-ipv6.pcap" "$PORT_NODE6" '3/3cF 1/1cF 1/1sF' && return 0
  done
  die "node-keepalive-ipv6: no good recording in 3 attempts"
}

# One nginx on 127.0.0.1 and [::1]: two requests over IPv4, then two over IPv6.
rec_nginx_dual_stack() {
  local w; new_workdir; w=$W
  nginx_start "$w" "$PORT_DUAL" 'keepalive_timeout 75s;' \
    "listen 127.0.0.1:$PORT_DUAL; listen [::1]:$PORT_DUAL;"
  cap_start "$OUT_DIR/nginx-dual-stack.pcap" "$PORT_DUAL" lo
  curl2 "http://127.0.0.1:$PORT_DUAL/hello.txt" "http://127.0.0.1:$PORT_DUAL/hello.txt"
  curl2 "http://[::1]:$PORT_DUAL/hello.txt" "http://[::1]:$PORT_DUAL/hello.txt"
  cap_stop
  server_stop
  check_shape "$OUT_DIR/nginx-dual-stack.pcap" "$PORT_DUAL" '2/2cF 2/2cF'
}

# ---------------------------------------------------------------- checks
# tornado-http10: server FIN before the 2nd request, RST from the server after
check_http10_rst() {
  local f=$1 out
  command -v tshark >/dev/null || { log "tshark missing, check skipped"; return 0; }
  out=$(tshark -r "$f" -T fields -e frame.number -e tcp.srcport \
          -e tcp.flags.fin -e tcp.flags.reset -e tcp.len 2>/dev/null)
  printf '%s\n' "$out" | awk -v sp="$PORT_TORNADO" '
    $2 == sp && $3 == 1 && !fin { fin = $1 }
    $2 != sp && $5 > 0 { n++; if (n == 2) req2 = $1 }
    $2 == sp && $4 == 1 && req2 && !rst { rst = $1 }
    END {
      if (fin && req2 && rst && fin < req2 && req2 < rst) {
        printf "== check ok: server FIN frame %d, 2nd request frame %d, server RST frame %d\n", fin, req2, rst > "/dev/stderr"
        exit 0
      }
      printf "record.sh: check FAILED: fin=%s req2=%s rst=%s\n", fin, req2, rst > "/dev/stderr"
      exit 1
    }'
}

# cap_shape FILE PORT: one word per TCP connection, in order:
#   REQUESTS/RESPONSES then who closed first (s = server, c = client;
#   F = FIN, R = RST), then "!N" if N requests were sent after the server's
#   FIN.  E.g. "2/1sF" or "5/4sF!1".
cap_shape() {
  tshark -r "$1" -n -d "tcp.port==$2,http" -T fields -E occurrence=a -E aggregator=, \
    -e tcp.stream -e tcp.srcport -e tcp.flags.fin -e tcp.flags.reset -e tcp.len \
    -e http.request.method -e http.response.code 2>/dev/null |
  awk -F'\t' -v sp="$2" '
    !($1 in seen) { seen[$1] = 1; order[n++] = $1 }
    $6 != "" { req[$1] += split($6, a, ",") }
    $7 != "" { for (i = split($7, b, ","); i > 0; i--) if (b[i] !~ /^1/ || b[i] == 101) resp[$1]++ }
    $2 != sp && $5 > 0 && sfin[$1] { late[$1]++ }
    ($3 == 1 || $4 == 1) && !(($1) in closer) { closer[$1] = ($2 == sp ? "s" : "c") ($4 == 1 ? "R" : "F") }
    $2 == sp && $3 == 1 { sfin[$1] = 1 }
    END {
      for (i = 0; i < n; i++) {
        s = order[i]
        printf "%s%d/%d%s%s", (i ? " " : ""), req[s], resp[s], closer[s], late[s] ? "!" late[s] : ""
      }
      printf "\n"
    }'
}

# check_shape FILE PORT EXPECTED: cap_shape must be EXPECTED
check_shape() {
  local f=$1 port=$2 want=$3 got
  command -v tshark >/dev/null || { log "tshark missing, check skipped"; return 0; }
  got=$(cap_shape "$f" "$port")
  if [ "$got" = "$want" ]; then
    log "check ok: $(basename "$f"): $got"
    return 0
  fi
  log "check FAILED: $(basename "$f"): shape '$got', expected '$want'"
  return 1
}

# check_lost_after_fin FILE PORT: some request was sent after the server's
# FIN on its connection and got no response
check_lost_after_fin() {
  local f=$1 port=$2 got
  command -v tshark >/dev/null || { log "tshark missing, check skipped"; return 0; }
  got=$(cap_shape "$f" "$port")
  case " $got" in
    *'!'*) log "check ok: $(basename "$f"): $got (!N = requests sent after the server FIN)"
           return 0 ;;
  esac
  log "check FAILED: $(basename "$f"): shape '$got', no request after the server FIN"
  return 1
}

# ---------------------------------------------------------------- main
if [ "${1:-}" = --list ]; then printf '%s\n' "${ALL[@]}"; exit 0; fi
[ "$(id -u)" = 0 ] || die "run as root (tcpdump needs it)"
for c in tcpdump curl editcap "$PYTHON"; do
  command -v "$c" >/dev/null || die "missing $c"
done
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)

if [ $# -eq 0 ]; then set -- "${ALL[@]}"; fi
names=()
for a in "$@"; do
  a=${a%.pcap}
  ok=0
  for n in "${ALL[@]}"; do [ "$n" = "$a" ] && ok=1; done
  [ $ok = 1 ] || die "unknown capture '$a' (see --list)"
  names+=("$a")
done

for n in "${names[@]}"; do
  fn="rec_${n//[-.]/_}"
  log "recording $n"
  "$fn"
done

if command -v capinfos >/dev/null; then
  for n in "${names[@]}"; do
    case $n in *.pcapng) f="$OUT_DIR/$n" ;; *) f="$OUT_DIR/$n.pcap" ;; esac
    capinfos -c -E -T -m "$f" 2>/dev/null | tail -n +2 || true
  done
fi
log "done"
