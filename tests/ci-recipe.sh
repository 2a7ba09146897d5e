#!/usr/bin/env bash
# ci-recipe.sh: the CI job of docs/rules.md, run as written (the shell block
# between its ci-recipe markers) against a real nginx on 127.0.0.1: it must
# pass while the server closes after the configured number of requests, and
# fail once the server's policy changes.
#
# Needs root (tcpdump), nginx, tcpdump and curl (tests/all.sh installs them);
# skips (77) without them. Run by `make check` with KEEPWATCH and srcdir set.
set -u
KEEPWATCH=${KEEPWATCH:-./keepwatch}
srcdir=${srcdir:-.}

if [ "$(id -u)" != 0 ]; then echo "not root: cannot capture (SKIP)"; exit 77; fi
for c in nginx tcpdump curl; do
    command -v "$c" >/dev/null || { echo "$c not found (SKIP)"; exit 77; }
done

# A port nobody listens on, so that two runs at once (two builds) do not meet.
PORT=${KW_CI_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/keepwatch-ci.XXXXXX") || exit 99
chmod 755 "$tmp"
nginx_pid=
cleanup() {
    if [ -n "$nginx_pid" ]; then kill "$nginx_pid" 2>/dev/null; wait "$nginx_pid" 2>/dev/null; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

# The block between the markers, without the markers and the code fences.
sed -n '/<!-- ci-recipe:begin -->/,/<!-- ci-recipe:end -->/p' "$srcdir/docs/rules.md" |
    sed '1,2d' | sed '$d' | sed '$d' >"$tmp/recipe.sh"
grep -q '^keepwatch -q --rules' "$tmp/recipe.sh" || { echo "no recipe in docs/rules.md"; exit 99; }
mkdir -p "$tmp/bin"
ln -s "$(cd "$(dirname "$KEEPWATCH")" && pwd)/$(basename "$KEEPWATCH")" "$tmp/bin/keepwatch"

# nginx_run N: nginx on 127.0.0.1:$PORT closing connections after N requests
nginx_run() {
    if [ -n "$nginx_pid" ]; then kill "$nginx_pid"; wait "$nginx_pid" 2>/dev/null; fi
    mkdir -p "$tmp/www" "$tmp/tmp"
    printf 'hello\n' >"$tmp/www/hello.txt"
    cat >"$tmp/nginx.conf" <<CONF
daemon off;
worker_processes 1;
user nobody nogroup;
pid $tmp/nginx.pid;
error_log $tmp/error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $tmp/tmp/body;
    proxy_temp_path $tmp/tmp/proxy;
    fastcgi_temp_path $tmp/tmp/fastcgi;
    uwsgi_temp_path $tmp/tmp/uwsgi;
    scgi_temp_path $tmp/tmp/scgi;
    keepalive_requests $1;
    keepalive_timeout 10s;
    server { listen 127.0.0.1:$PORT; root $tmp/www; }
}
CONF
    nginx -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/error.log" >"$tmp/nginx.out" 2>&1 &
    nginx_pid=$!
    local i
    for i in $(seq 1 50); do
        curl -s -o /dev/null "http://127.0.0.1:$PORT/hello.txt" && return 0
        sleep 0.1
    done
    echo "nginx did not start:"; cat "$tmp/error.log" "$tmp/nginx.out"; exit 99
}

# job: the recipe, with a test suite of three requests on one connection.
job() {
    local u="http://127.0.0.1:$PORT/hello.txt"
    ( cd "$tmp" && PATH="$tmp/bin:$PATH" PORT=$PORT MAX_REQUESTS=2 \
        SUITE="curl -s -o /dev/null -o /dev/null -o /dev/null $u $u $u" \
        bash "$tmp/recipe.sh" >"$tmp/job.out" 2>"$tmp/job.err" )
}

pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
not_ok() { echo "not ok - $1"; sed 's/^/#   /' "$tmp/job.out" "$tmp/job.err"; fail=$((fail + 1)); }

nginx_run 2
if job; then ok "the job passes while nginx closes after 2 requests, as policy.rules says"
else not_ok "the job failed on a server that keeps its policy (exit $?)"; fi

nginx_run 3
job
rc=$?
if [ $rc -eq 1 ] && grep -q 'WARNING policy-mismatch' "$tmp/job.out"; then
    ok "the job fails (exit 1, policy-mismatch) once nginx closes after 3"
else
    not_ok "the job did not fail on a changed policy (exit $rc)"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
