#!/usr/bin/env bash
# crosscheck.sh: compare keepwatch with tshark on every test capture.
#
# Run by `make check` with KEEPWATCH (the binary, default ./keepwatch) and
# srcdir (the source tree, default .) in the environment. For each capture in
# $srcdir/tests/pcaps (*.pcap, *.pcapng) it runs
#
#   $KEEPWATCH --json -r FILE
#   tshark -r FILE -n -T fields -d tcp.port==P,http ... (P = every server_port
#                                                          keepwatch reports)
#
# and checks, per capture:
#
#   connections      TCP connections whose handshake was captured (tshark:
#                    distinct tcp.stream with a SYN without ACK) = keepwatch
#                    stats "connections"
#   requests         number of HTTP requests (tshark http.request.method
#                    occurrences) = keepwatch stats "requests"
#   responses        number of HTTP responses (tshark http.response.code
#                    occurrences, less interim 1xx ones) = stats "responses"
#   connN.methods    per connection, the ordered list of request methods
#   connN.statuses   per connection, the ordered list of response status codes
#   connN.community_id  per connection, the Community ID flow hash (tshark's
#                    communityid protocol, seed 0)
#   connN.packets    per connection, client_packets/server_packets: the
#                    frames of the tshark stream each way (a datagram in
#                    fragments is one frame for tshark: the one that
#                    completes it)
#   connN.bytes      per connection, client_bytes/server_bytes: each way, as
#                    Zeek's orig_bytes, from tshark's relative sequence
#                    numbers: the furthest of tcp.nxtseq (not of a RST, nor
#                    after the sender's RST) and the other way's tcp.ack (not
#                    a RST's), less the SYN's and a FIN's octets
#   connN.history    per connection, the history letters, worked out from
#                    each frame's flags, tcp.len, tcp.nxtseq and window as
#                    Zeek's update_history(), update_window() and
#                    update_last_seq() do (S H A D F R I Q W, T for payload
#                    ending no further than the furthest tcp.nxtseq before),
#                    each letter once a direction; keepwatch's G letters
#                    (content gaps, a reassembler's notion) are left out of
#                    the comparison
#
# A tshark stream is matched to a keepwatch connection by its client and
# server port (the k-th stream with a given port pair is the k-th keepwatch
# connection with that pair). A tshark stream with HTTP and no keepwatch
# connection is checked as streamS.methods / streamS.statuses against nothing.
#
# Interim responses (1xx other than 101) are not responses for keepwatch
# (they are counted in a transaction's "interim_responses"), so they are left
# out of tshark's list as well.
#
# tshark is not always right. tests/crosscheck-exceptions.txt lists the
# checks that are known to differ, one per line:
#
#   CAPTURE  CHECK  REASON...
#
# with the reason found by reading the packets by hand. An excepted check
# that fails prints "ok - ... # exception: REASON" and counts as passed; an
# exception whose check passes is reported as not needed (a note, not a
# failure). Output is one "ok - ..." / "not ok - ..." line per check and a
# final "N passed, M failed" line; the exit status is 1 when a check failed,
# 77 (skip) when tshark is missing, 99 when the test cannot run.

set -u

KEEPWATCH=${KEEPWATCH:-./keepwatch}
srcdir=${srcdir:-.}
pcapdir=$srcdir/tests/pcaps
exceptions=$srcdir/tests/crosscheck-exceptions.txt

if ! command -v tshark >/dev/null 2>&1; then
    echo "tshark not found in PATH: cannot cross-check keepwatch against it (SKIP)"
    exit 77
fi
if [ ! -x "$KEEPWATCH" ]; then
    echo "keepwatch binary not found or not executable: $KEEPWATCH" >&2
    exit 99
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/crosscheck.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

# Keep tshark away from the personal preferences of whoever runs the test.
mkdir -p "$tmp/wsconf"
export WIRESHARK_CONFIG_DIR="$tmp/wsconf"

echo "# $(tshark --version 2>/dev/null | head -n 1)"

# --- exceptions -----------------------------------------------------------
# exc.tsv: capture TAB check TAB reason
: >"$tmp/exc.tsv"
if [ -f "$exceptions" ]; then
    awk '
        /^[[:space:]]*(#|$)/ { next }
        {
            cap = $1; chk = $2
            line = $0
            sub(/^[[:space:]]*[^[:space:]]+[[:space:]]+[^[:space:]]+[[:space:]]*/, "", line)
            if (chk == "" || line == "") {
                printf "# warning: %s:%d: needs CAPTURE CHECK REASON\n", FILENAME, FNR > "/dev/stderr"
                next
            }
            printf "%s\t%s\t%s\n", cap, chk, line
        }' "$exceptions" >"$tmp/exc.tsv"
fi

# --- keepwatch JSON -> keepwatch.tsv ---------------------------------------
# Lines out:
#   C conn client_port server_port community_id  (one per connection, in conn order)
#   P conn client_packets server_packets client_bytes server_bytes history
#   M conn method                       (one per request, in order)
#   S conn status                       (one per response, in order)
#   T connections requests responses    (from the stats event)
# Only the fields before the first free-text value (uri) and the numbers are
# read. A key is matched as ,"key": or {"key": which cannot occur inside a
# JSON string (a quote in a string is always escaped).
kw_parse() {
    awk '
        function get(key,    s, p, v) {
            p = index($0, ",\"" key "\":")
            if (p == 0) p = index($0, "{\"" key "\":")
            if (p == 0) return ""
            s = substr($0, p + length(key) + 4)
            if (substr(s, 1, 1) == "\"") {
                s = substr(s, 2)
                v = ""
                while (length(s) > 0) {
                    if (substr(s, 1, 1) == "\\") { v = v substr(s, 1, 2); s = substr(s, 3); continue }
                    if (substr(s, 1, 1) == "\"") break
                    v = v substr(s, 1, 1); s = substr(s, 2)
                }
                return v
            }
            match(s, /^[^,}]*/)
            return substr(s, 1, RLENGTH)
        }
        {
            ev = get("event")
            if (ev == "connection" || ev == "transaction") {
                c = get("conn")
                if (!(c in seen)) {
                    seen[c] = 1
                    order[++n] = c
                    cport[c] = get("client_port"); sport[c] = get("server_port")
                    cid[c] = get("community_id")
                }
            }
            if (ev == "connection")
                wire[c] = "P " c " " get("client_packets") " " get("server_packets") " " \
                          get("client_bytes") " " get("server_bytes") " " get("history")
            if (ev == "transaction") {
                m = get("method"); st = get("status")
                if (m != "" && m != "null") lines[c] = lines[c] "M " c " " m "\n"
                if (st != "" && st != "null") lines[c] = lines[c] "S " c " " st "\n"
            } else if (ev == "stats") {
                stats = "T " (get("connections") - get("connections_midstream")) " " get("requests") " " get("responses")
            }
        }
        END {
            for (i = 1; i <= n; i++) {
                c = order[i]
                print "C " c " " cport[c] " " sport[c] " " cid[c]
                if (c in wire) print wire[c]
                printf "%s", lines[c]
            }
            if (stats != "") print stats
        }'
}

# --- comparison -> results.tsv ----------------------------------------------
# Reads keepwatch.tsv and tshark.tsv (frame, stream, srcport, dstport, flags,
# methods, codes, community id, tcp.len, tcp.seq, tcp.ack, tcp.nxtseq,
# window) and writes: check TAB pass|fail TAB detail
compare() {
    awk -F '\t' -v kwfile="$1" -v servers="$3" '
        function add(list, item) { return list == "" ? item : list "," item }
        function show(list) { return list == "" ? "(none)" : list }
        BEGIN {
            nsrv = split(servers, sv, " ")
            for (i = 1; i <= nsrv; i++) server[sv[i]] = 1
            kwstats = 0
            while ((getline line < kwfile) > 0) {
                split(line, f, " ")
                if (f[1] == "C") {
                    kc[++nk] = f[2]
                    key = f[3] ":" f[4]
                    kwq[key, ++kwqn[key]] = f[2]
                    kwm[f[2]] = ""; kws[f[2]] = ""; kwcid[f[2]] = f[5]
                } else if (f[1] == "M") {
                    kwm[f[2]] = add(kwm[f[2]], f[3])
                } else if (f[1] == "P") {
                    kwp[f[2]] = f[3] "/" f[4]; kwb[f[2]] = f[5] "/" f[6]
                    h = f[7]; gsub(/[Gg]/, "", h); kwh[f[2]] = h
                } else if (f[1] == "S") {
                    kws[f[2]] = add(kws[f[2]], f[3])
                } else if (f[1] == "T") {
                    kwstats = 1; kconn = f[2]; kreq = f[3]; kresp = f[4]
                }
            }
        }
        $2 == "" { next }      # not TCP
        {
            s = $2
            if (!(s in known)) { known[s] = 1; streams[++ns] = s; first_src[s] = $3; first_dst[s] = $4 }
            if (!(s in tcid) && $8 != "") tcid[s] = $8
            fl = strtonum_hex($5)
            wire_frame(s, $3, $4, fl, $9 + 0, $12 == "" ? $10 + 0 : $12 + 0, $11 + 0, $13)
            # SYN set, ACK clear: the client opens the connection
            if (int(fl / 2) % 2 == 1 && int(fl / 16) % 2 == 0 && !(s in syn)) {
                syn[s] = 1; nsyn++
                cli[s] = $3; srv[s] = $4
            }
            if ($6 != "") {
                k = split($6, a, ",")
                for (i = 1; i <= k; i++) { tm[s] = add(tm[s], a[i]); treq++ }
                http[s] = 1
            }
            if ($7 != "") {
                k = split($7, a, ",")
                for (i = 1; i <= k; i++) {
                    code = a[i] + 0
                    if (code >= 100 && code < 200 && code != 101) continue
                    ts[s] = add(ts[s], a[i]); tresp++
                }
                http[s] = 1
            }
        }
        # What one frame of stream s from port sp to dp shows, as Zeek counts
        # it: a frame more that way, how far that way went and the other was
        # acknowledged, and the history letters (each once a way, in order).
        function letter(s, sp, l) {
            if ((s, sp, l) in seen) return
            seen[s, sp, l] = 1
            hist[s] = hist[s] " " sp ":" l
        }
        function wire_frame(s, sp, dp, fl, len, nxt, ack, win,    syn, fin, rst, bits, reset) {
            frames[s, sp]++
            syn = int(fl / 2) % 2; fin = fl % 2; rst = int(fl / 4) % 2
            reset = ((s, sp, "R") in seen) || ((s, sp, "I") in seen)
            if (!rst && !reset) {
                if (len > 0 && (s, sp) in top && nxt <= top[s, sp]) letter(s, sp, "T")
                if (!((s, sp) in top) || nxt > top[s, sp]) top[s, sp] = nxt
            }
            bits = syn + fin + rst
            if (bits > 1) letter(s, sp, fin && rst ? "I" : "Q")
            else if (syn) letter(s, sp, int(fl / 16) % 2 ? "H" : "S")
            else if (fin) letter(s, sp, "F")
            else if (rst) letter(s, sp, "R")
            else if (len > 0) letter(s, sp, "D")
            else if (int(fl / 16) % 2) letter(s, sp, "A")
            if (win != "" && win + 0 == 0 && !rst && !reset && !((s, dp, "F") in seen) &&
                !((s, dp, "I") in seen))
                letter(s, sp, "W")
            if (syn) synseen[s, sp] = 1
            if (fin) finseen[s, sp] = 1
            if (int(fl / 16) % 2 && !rst && (!((s, dp) in acked) || ack > acked[s, dp]))
                acked[s, dp] = ack
        }
        # The orig_bytes (as Zeek) of stream s from port sp: see connN.bytes above.
        function seq_bytes(s, sp,    t) {
            t = ((s, sp) in top) ? top[s, sp] : 0
            if ((s, sp) in acked && acked[s, sp] > t) t = acked[s, sp]
            t -= ((s, sp) in synseen) + ((s, sp) in finseen)
            return t < 0 ? 0 : t
        }
        # The history of stream s, upper case for the letters of port cp.
        function history(s, cp,    n, ev, i, h, l) {
            n = split(hist[s], ev, " ")
            h = ""
            for (i = 1; i <= n; i++) {
                split(ev[i], l, ":")
                h = h (l[1] == cp ? l[2] : tolower(l[2]))
            }
            return h
        }
        function strtonum_hex(x,    i, d, v, c) {
            x = tolower(x); sub(/^0x/, "", x); v = 0
            for (i = 1; i <= length(x); i++) {
                c = substr(x, i, 1); d = index("0123456789abcdef", c) - 1
                if (d < 0) return 0
                v = v * 16 + d
            }
            return v
        }
        function result(name, a, b, what) {
            printf "%s\t%s\t%s: tshark %s, keepwatch %s\n", name, (a == b ? "pass" : "fail"), what, a, b
        }
        END {
            if (!kwstats) { kconn = "(no stats)"; kreq = kconn; kresp = kconn }
            result("connections", nsyn + 0, kconn, "connections with a captured handshake")
            result("requests", treq + 0, kreq, "HTTP requests")
            result("responses", tresp + 0, kresp, "HTTP responses")

            # map tshark streams to keepwatch connections
            for (i = 1; i <= ns; i++) {
                s = streams[i]
                if (!(s in cli)) {
                    if (first_src[s] in server && !(first_dst[s] in server)) {
                        cli[s] = first_dst[s]; srv[s] = first_src[s]
                    } else {
                        cli[s] = first_src[s]; srv[s] = first_dst[s]
                    }
                }
                key = cli[s] ":" srv[s]
                n = ++tq[key]
                if ((key, n) in kwq) { conn_of[s] = kwq[key, n]; stream_of[kwq[key, n]] = s }
            }
            for (i = 1; i <= nk; i++) {
                c = kc[i]
                s = (c in stream_of) ? stream_of[c] : ""
                where = (s == "") ? " (no tshark stream)" : " (tshark stream " s ")"
                result("conn" c ".methods", show(s == "" ? "" : tm[s]), show(kwm[c]), "conn " c where " request methods")
                result("conn" c ".statuses", show(s == "" ? "" : ts[s]), show(kws[c]), "conn " c where " response status codes")
                result("conn" c ".community_id", show(s == "" ? "" : tcid[s]), show(kwcid[c]), "conn " c where " community_id")
                if (!(c in kwp)) continue
                cp = s == "" ? "" : cli[s]; sp2 = s == "" ? "" : srv[s]
                result("conn" c ".packets", s == "" ? "(none)" : (frames[s, cp] + 0) "/" (frames[s, sp2] + 0),
                       kwp[c], "conn " c where " client/server packets")
                result("conn" c ".bytes", s == "" ? "(none)" : seq_bytes(s, cp) "/" seq_bytes(s, sp2),
                       kwb[c], "conn " c where " client/server bytes")
                result("conn" c ".history", s == "" ? "(none)" : show(history(s, cp)), show(kwh[c]),
                       "conn " c where " history (without G)")
            }
            for (i = 1; i <= ns; i++) {
                s = streams[i]
                if ((s in conn_of) || !(s in http)) continue
                result("stream" s ".methods", show(tm[s]), "(no connection)", "tshark stream " s " request methods")
                result("stream" s ".statuses", show(ts[s]), "(no connection)", "tshark stream " s " response status codes")
            }
        }' "$2"
}

pass=0
fail=0
: >"$tmp/used.tsv"
: >"$tmp/seen.txt"

shopt -s nullglob
captures=("$pcapdir"/*.pcap "$pcapdir"/*.pcapng)
shopt -u nullglob
if [ ${#captures[@]} -eq 0 ]; then
    echo "no captures found in $pcapdir" >&2
    exit 99
fi

for file in "${captures[@]}"; do
    name=${file##*/}
    echo "$name" >>"$tmp/seen.txt"
    echo "# $name"

    "$KEEPWATCH" --json -r "$file" >"$tmp/kw.json" 2>"$tmp/kw.err"
    kw_rc=$?
    if [ $kw_rc -ne 0 ]; then
        echo "not ok - $name: keepwatch exited $kw_rc: $(head -n 3 "$tmp/kw.err")"
        fail=$((fail + 1))
        continue
    fi
    kw_parse <"$tmp/kw.json" >"$tmp/keepwatch.tsv"

    servers=$(awk '$1 == "C" { print $4 }' "$tmp/keepwatch.tsv" | sort -un | tr '\n' ' ')
    decode=()
    for p in $servers; do
        decode+=(-d "tcp.port==$p,http")
    done

    tshark -r "$file" -n ${decode[@]+"${decode[@]}"} \
        -o tcp.desegment_tcp_streams:TRUE \
        -o http.desegment_headers:TRUE -o http.desegment_body:TRUE \
        -T fields -E separator=/t -E occurrence=a -E aggregator=, \
        -e frame.number -e tcp.stream -e tcp.srcport -e tcp.dstport -e tcp.flags \
        -e http.request.method -e http.response.code \
        --enable-protocol communityid -e communityid \
        -e tcp.len -e tcp.seq -e tcp.ack -e tcp.nxtseq -e tcp.window_size_value \
        >"$tmp/tshark.tsv" 2>"$tmp/tshark.err"
    ts_rc=$?
    if [ $ts_rc -ne 0 ]; then
        # e.g. a capture cut in the middle of a record: tshark prints the
        # packets it could read, then fails. Use what it printed.
        msg=$(grep -v '^Running as user' "$tmp/tshark.err" | head -n 2 | tr '\n' ' ')
        echo "# tshark exited $ts_rc ($msg); using the $(wc -l <"$tmp/tshark.tsv") packets it printed"
    fi

    compare "$tmp/keepwatch.tsv" "$tmp/tshark.tsv" "$servers" >"$tmp/results.tsv"

    while IFS=$'\t' read -r check status detail; do
        reason=$(awk -F '\t' -v c="$name" -v k="$check" \
            '$1 == c && $2 == k { print $3; exit }' "$tmp/exc.tsv")
        if [ "$status" = pass ]; then
            echo "ok - $name: $detail"
            pass=$((pass + 1))
        elif [ -n "$reason" ]; then
            echo "ok - $name: $detail # exception: $reason"
            printf '%s\t%s\n' "$name" "$check" >>"$tmp/used.tsv"
            pass=$((pass + 1))
        else
            echo "not ok - $name: $detail"
            fail=$((fail + 1))
        fi
    done <"$tmp/results.tsv"
done

# Exceptions for a capture that was checked but whose check did not fail
# (tshark fixed, capture re-recorded, check renamed): say so, without failing.
while IFS=$'\t' read -r cap check reason; do
    grep -qxF "$cap" "$tmp/seen.txt" || continue
    if ! grep -qxF "$cap"$'\t'"$check" "$tmp/used.tsv"; then
        echo "# note: exception not needed (the check passed or does not exist): $cap $check"
    fi
done <"$tmp/exc.tsv"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
