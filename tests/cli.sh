#!/bin/bash
# cli.sh: keepwatch as a user runs it: options, exit status, error messages,
# several inputs, standard input, filters, odd and broken files.
#
# Run by `make check` with KEEPWATCH (the built binary) and srcdir (the source
# tree) set; by hand from the build directory: tests/cli.sh
# Prints "ok - ..." or "not ok - ..." per check, then "N passed, M failed";
# exits 1 if any check failed. Needs bash and python3; tshark is optional.
set -u

KEEPWATCH=${KEEPWATCH:-./keepwatch}
srcdir=${srcdir:-.}
PCAPS=$srcdir/tests/pcaps
SELF=${BASH_SOURCE[0]}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/keepwatch-cli.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

n_passed=0
n_failed=0
why=() # diagnostics of the check being run, printed if it fails

# check DESCRIPTION FUNCTION [ARGS...]: one independent check.
check()
{
    local desc=$1
    shift
    why=()
    if "$@"; then
        echo "ok - $desc"
        n_passed=$((n_passed + 1))
    else
        echo "not ok - $desc"
        local line
        for line in "${why[@]}"; do
            echo "#   $line"
        done
        n_failed=$((n_failed + 1))
    fi
}

skip()
{
    echo "ok - $1 # SKIP $2"
}

# run NAME [ARGS...]: runs keepwatch (at most 5 s); stdout in $tmp/NAME.out,
# stderr in $tmp/NAME.err, exit status in $rc. Standard input is the caller's.
rc=0
run()
{
    local name=$1
    shift
    if command -v timeout >/dev/null; then
        timeout 5 "$KEEPWATCH" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
    else
        "$KEEPWATCH" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
    fi
    rc=$?
    why+=("keepwatch $* -> exit $rc")
    local line
    while IFS= read -r line; do
        why+=("stderr: $line")
    done < <(head -n 3 "$tmp/$name.err")
}

# want_rc N: the last run exited with N.
want_rc()
{
    [ "$rc" -eq "$1" ] && return 0
    why+=("wanted exit status $1")
    return 1
}

# err_has NAME TEXT: the stderr of run NAME contains TEXT (fixed string).
err_has()
{
    grep -qF -- "$2" "$tmp/$1.err" && return 0
    why+=("stderr does not mention '$2'")
    return 1
}

# pyj FILE EXPR: evaluates the Python expression EXPR, where `ev` is the list
# of JSON events in FILE (one per line) and `by(kind)` those of one kind; prints
# the result. A line that is not JSON makes it print nothing and fail.
pyj()
{
    python3 -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = lambda kind: [e for e in ev if e.get("event") == kind]
print(eval(sys.argv[2]))' "$1" "$2"
}

# want_py FILE EXPR VALUE: pyj FILE EXPR prints VALUE.
want_py()
{
    local got
    got=$(pyj "$1" "$2" 2>&1)
    [ "$got" = "$3" ] && return 0
    why+=("$2: got '${got//$'\n'/ | }', wanted '$3'")
    return 1
}

n_conns()
{
    grep -c '"event":"connection"' "$1"
}

# pcap_file PATH LINKTYPE PAYLOAD: a pcap file with one packet, using only python3.
pcap_file()
{
    python3 -c '
import struct, sys
path, linktype, payload = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3])
with open(path, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, linktype))
    f.write(struct.pack("<IIII", 1700000000, 0, len(payload), len(payload)) + payload)
' "$1" "$2" "$3"
}

# --- usage ------------------------------------------------------------------

t_help()
{
    run help --help
    want_rc 0 && grep -q '^usage: keepwatch' "$tmp/help.out" && grep -q -- '-r FILE' "$tmp/help.out" ||
        { why+=("no usage on stdout"); return 1; }
}

t_version()
{
    run version --version
    want_rc 0 && grep -q '^keepwatch [0-9]' "$tmp/version.out" || { why+=("no version"); return 1; }
}

t_no_args()
{
    run noargs
    want_rc 2 && [ -s "$tmp/noargs.err" ] && [ ! -s "$tmp/noargs.out" ] ||
        { why+=("wanted a message on stderr and nothing on stdout"); return 1; }
}

t_unknown_option()
{
    run unknown --no-such-option -r "$PCAPS/tornado-http11.pcap"
    want_rc 2 && err_has unknown --no-such-option
}

t_r_without_file()
{
    run rnofile -r
    want_rc 2 && [ -s "$tmp/rnofile.err" ]
}

# --- unreadable input ---------------------------------------------------------

t_nonexistent()
{
    run nonexistent -r /nonexistent/keepwatch.pcap
    want_rc 2 && err_has nonexistent /nonexistent/keepwatch.pcap
}

t_not_a_capture()
{
    run notcap -r "$SELF"
    want_rc 2 && err_has notcap "$SELF"
}

t_empty_file()
{
    : >"$tmp/empty.pcap"
    run empty -r "$tmp/empty.pcap"
    want_rc 2 && err_has empty "$tmp/empty.pcap"
}

t_unsupported_linktype()
{
    pcap_file "$tmp/wifi.pcap" 105 "$(printf '%080d' 0)" || return 1
    run wifi -r "$tmp/wifi.pcap"
    want_rc 2 && err_has wifi "unsupported link type" && err_has wifi 105 &&
        err_has wifi "$tmp/wifi.pcap"
}

# cap.h: every file is opened before any output, so a bad second file fails at once.
t_bad_second_file()
{
    run badsecond --json -r "$PCAPS/tornado-http11.pcap" -r /nonexistent/b.pcap
    want_rc 2 && err_has badsecond /nonexistent/b.pcap || return 1
    [ ! -s "$tmp/badsecond.out" ] || { why+=("output before the error"); return 1; }
}

# --- inputs -----------------------------------------------------------------

t_stdin()
{
    run file --json -r "$PCAPS/tornado-http11.pcap"
    want_rc 0 || return 1
    run stdin --json -r - <"$PCAPS/tornado-http11.pcap"
    want_rc 0 || return 1
    [ -s "$tmp/file.out" ] && cmp -s "$tmp/file.out" "$tmp/stdin.out" ||
        { why+=("-r - and -r FILE differ"); return 1; }
}

t_two_files()
{
    run one --json -r "$PCAPS/tornado-http11.pcap"
    local a
    a=$(n_conns "$tmp/one.out")
    run other --json -r "$PCAPS/nginx-pipelined.pcap"
    local b
    b=$(n_conns "$tmp/other.out")
    run both --json -r "$PCAPS/tornado-http11.pcap" -r "$PCAPS/nginx-pipelined.pcap"
    want_rc 0 || return 1
    local n
    n=$(n_conns "$tmp/both.out")
    [ "$a" -ge 1 ] && [ "$b" -ge 1 ] && [ "$n" -eq $((a + b)) ] ||
        { why+=("connections: $a + $b, both: $n"); return 1; }
    want_py "$tmp/both.out" 'sorted({e["server_port"] for e in by("connection")})' '[18081, 18083]'
}

t_pcapng()
{
    run ng --json -r "$PCAPS/tornado-http11.pcapng"
    want_rc 0 || return 1
    run classic --json -r "$PCAPS/tornado-http11.pcap"
    cmp -s "$tmp/ng.out" "$tmp/classic.out" || { why+=("pcapng and pcap differ"); return 1; }
}

# --- filters ------------------------------------------------------------------

t_filter_none()
{
    run port1 --json -r "$PCAPS/tornado-http11.pcap" tcp port 1
    want_rc 0 || return 1
    [ "$(n_conns "$tmp/port1.out")" -eq 0 ] || { why+=("connections left"); return 1; }
    want_py "$tmp/port1.out" 'by("stats")[0]["packets"]' 0
}

t_filter_keep()
{
    run all --json -r "$PCAPS/tornado-http11.pcap"
    run port18081 --json -r "$PCAPS/tornado-http11.pcap" tcp port 18081
    want_rc 0 || return 1
    local n
    n=$(n_conns "$tmp/port18081.out")
    [ "$n" -ge 1 ] && [ "$n" -eq "$(n_conns "$tmp/all.out")" ] ||
        { why+=("$n connections kept"); return 1; }
}

t_filter_sll2()
{
    run any18081 --json -r "$PCAPS/tornado-any.pcap" tcp port 18081
    want_rc 0 && [ "$(n_conns "$tmp/any18081.out")" -ge 1 ] ||
        { why+=("filter on a LINUX_SLL2 file kept nothing"); return 1; }
}

t_filter_invalid()
{
    run badfilter -r "$PCAPS/tornado-http11.pcap" tcp port
    want_rc 2 && [ -s "$tmp/badfilter.err" ]
}

# --- output -----------------------------------------------------------------

t_json_file()
{
    run jsonfile --json="$tmp/report.json" -r "$PCAPS/tornado-http11.pcap"
    want_rc 0 || return 1
    ! grep -q '{' "$tmp/jsonfile.out" || { why+=("JSON on stdout"); return 1; }
    grep -q '^#1 ' "$tmp/jsonfile.out" || { why+=("no text report on stdout"); return 1; }
    want_py "$tmp/report.json" 'len(by("connection")), len(by("stats"))' '(1, 1)' || return 1
    run jsonfile2 --json "$tmp/report2.json" -r "$PCAPS/tornado-http11.pcap"
    want_rc 2 && err_has jsonfile2 "--json=$tmp/report2.json" || return 1
    [ ! -e "$tmp/report2.json" ] || { why+=("--json took the next word as its file"); return 1; }
}

# The traps of the old command line: --json never takes the next word, every
# long option takes --opt=value, a capture without its -r is said to be one.
t_json_never_takes_the_next_word()
{
    local cap kw
    cap=$(cd "$PCAPS" && pwd)/tornado-http11.pcap
    kw=$(cd "$(dirname "$KEEPWATCH")" && pwd)/$(basename "$KEEPWATCH")
    ( cd "$tmp" && "$kw" -r "$cap" --json tcp port 18081 >"$tmp/jsonword.out" 2>"$tmp/jsonword.err" )
    rc=$?
    want_rc 0 || return 1
    [ ! -e "$tmp/tcp" ] || { why+=("wrote a file named tcp"); return 1; }
    want_py "$tmp/jsonword.out" 'by("stats")[0]["requests"]' 2
}

t_long_options_take_equals()
{
    run eq --grace=0.5 --fail-on=error --disable=lost-request --max-streams=4096 \
        --flow-timeout-idle=60 --rules="$PCAPS/rule-policy-mismatch.pcap.rules" \
        -r "$PCAPS/tornado-http10.pcap"
    want_rc 0 || return 1
    ! grep -q 'lost-request' "$tmp/eq.out" || { why+=("--disable=RULE ignored"); return 1; }
    run sp --grace 0.5 --fail-on error -r "$PCAPS/tornado-http10.pcap"
    want_rc 1
}

t_capture_without_its_r()
{
    run two -r "$PCAPS/tornado-http11.pcap" "$PCAPS/nginx-pipelined.pcap"
    want_rc 2 && err_has two "give each capture file its own -r"
}

t_filter_matching_nothing()
{
    run nothing -r "$PCAPS/tornado-http11.pcap" tcp port 1
    want_rc 0 && err_has nothing "the filter 'tcp port 1' matched no packet"
}

t_fail_on_nothing_checked()
{
    run empty --fail-on notice -r "$PCAPS/tornado-http11.pcap" tcp port 1
    want_rc 1 && err_has empty "no HTTP transaction was decoded" || return 1
    run allowed --fail-on notice --allow-empty -r "$PCAPS/tornado-http11.pcap" tcp port 1
    want_rc 0
}

# --- damaged and unusual captures ---------------------------------------------

t_truncated_file()
{
    run trunc --json -r "$PCAPS/truncated-file.pcap"
    want_rc 0 && err_has trunc truncated || return 1
    want_py "$tmp/trunc.out" 'by("stats")[0]["files_truncated"]' 1 &&
        want_py "$tmp/trunc.out" 'by("stats")[0]["packets"]' 22 &&
        want_py "$tmp/trunc.out" '[e["requests"] for e in sorted(by("connection"), key=lambda e: e["conn"])][:1]' '[2]' &&
        want_py "$tmp/trunc.out" 'len(by("connection")) >= 2' True
}

t_snaplen_cut()
{
    run snap --json -r "$PCAPS/snaplen-cut.pcap"
    want_rc 0 || return 1
    want_py "$tmp/snap.out" 'by("stats")[0]["skipped"]["truncated"] > 0' True
}

ISO_RE='^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$'

t_nanosec_format()
{
    run nano --json -r "$PCAPS/nginx-nanosec.pcap"
    want_rc 0 || return 1
    want_py "$tmp/nano.out" \
        "len(ev) > 1 and all(__import__('re').match(r'$ISO_RE', e['ts']) for e in ev)" True
}

# Every event time is a packet time, in microseconds; nanoseconds are cut (or
# rounded), never read as microseconds. Packet times as tshark sees them.
t_nanosec_tshark()
{
    run nanots --json -r "$PCAPS/nginx-nanosec.pcap"
    want_rc 0 || return 1
    tshark -r "$PCAPS/nginx-nanosec.pcap" -T fields -e frame.time_epoch \
        >"$tmp/nano.epochs" 2>/dev/null || { why+=("tshark failed"); return 1; }
    local first
    first=$(tshark -r "$PCAPS/nginx-nanosec.pcap" -T fields -e frame.time_epoch -c 1 2>/dev/null)
    local got
    got=$(python3 -c '
import datetime, json, sys
first = sys.argv[2]
frames = set()
for l in open(sys.argv[3]):
    s, ns = l.strip().split(".")
    ns = int(ns.ljust(9, "0"))
    frames.add((int(s), ns // 1000))
    frames.add((int(s) + (ns + 500) // 1000 // 1000000, (ns + 500) // 1000 % 1000000))
times = []
for l in open(sys.argv[1]):
    ts = json.loads(l)["ts"]
    d = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    times.append((int(d.timestamp()), d.microsecond, ts))
earliest = min(times)
if earliest[0] != int(first.split(".")[0]):
    print("earliest event %s, first packet %s" % (earliest[2], first))
for t in times:
    if t[:2] not in frames:
        print("event time %s is no packet time" % t[2])
print("done")' "$tmp/nanots.out" "$first" "$tmp/nano.epochs" 2>&1)
    [ "$got" = "done" ] && return 0
    why+=("$got")
    return 1
}

# A transaction as a user reads it, whatever the link layer.
TXN='[(e["request"], e["method"], e["uri"], e["version"], e["status"], e["resp_body_len"]) for e in by("transaction")]'

t_sll2_same_as_ethernet()
{
    run eth --json -r "$PCAPS/tornado-http11.pcap"
    run sll2 --json -r "$PCAPS/tornado-any.pcap"
    want_rc 0 || return 1
    local want
    want=$(pyj "$tmp/eth.out" "$TXN") || return 1
    [ "$want" != "[]" ] || { why+=("no transactions in tornado-http11.pcap"); return 1; }
    want_py "$tmp/sll2.out" "$TXN" "$want" &&
        want_py "$tmp/sll2.out" '[(e["requests"], e["responses"], e["closed_by"]) for e in by("connection")]' \
            "$(pyj "$tmp/eth.out" '[(e["requests"], e["responses"], e["closed_by"]) for e in by("connection")]')"
}

# Random bytes after a valid file header: whatever comes of it, no crash.
t_garbage_after_header()
{
    python3 -c '
import random, struct, sys
r = random.Random(20240101)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    f.write(bytes(r.getrandbits(8) for _ in range(8192)))
' "$tmp/garbage.pcap" || return 1
    run garbage --json -r "$tmp/garbage.pcap"
    [ "$rc" -eq 0 ] || [ "$rc" -eq 2 ] || { why+=("wanted exit 0 or 2"); return 1; }
}

# Valid record headers around random frames (Ethernet, IPv4, TCP to port 80,
# the rest random), so that the bytes get past the file reader.
t_garbage_frames()
{
    python3 -c '
import random, struct, sys
r = random.Random(7)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i in range(2000):
        body = bytes(r.getrandbits(8) for _ in range(r.randrange(0, 120)))
        ip = bytes([0x45, 0]) + struct.pack(">H", 20 + 20 + len(body)) + bytes(4) + \
             bytes([64, 6, 0, 0, 10, 0, 0, r.randrange(1, 4), 10, 0, 0, 9])
        tcp = struct.pack(">HHII", 40000 + r.randrange(3), 80, r.getrandbits(32), r.getrandbits(32)) + \
              bytes([0x50, r.getrandbits(8)]) + bytes(6)
        frame = bytes(12) + b"\x08\x00" + ip + tcp + body
        if r.random() < 0.3:   # then mangle anything
            frame = bytearray(frame)
            for _ in range(r.randrange(1, 6)):
                frame[r.randrange(len(frame))] = r.getrandbits(8)
            frame = bytes(frame)
        cap = r.randrange(0, len(frame) + 1) if r.random() < 0.2 else len(frame)
        f.write(struct.pack("<IIII", 1700000000 + i // 100, (i % 100) * 10000, cap, len(frame)))
        f.write(frame[:cap])
' "$tmp/frames.pcap" || return 1
    run frames --json -r "$tmp/frames.pcap"
    want_rc 0 || return 1
    want_py "$tmp/frames.out" 'by("stats")[0]["packets"]' 2000
}

check "--help exits 0 and prints the usage" t_help
check "--version exits 0 and prints the version" t_version
check "no arguments: exit 2, a message on stderr" t_no_args
check "an unknown option: exit 2, named on stderr" t_unknown_option
check "-r without a file: exit 2" t_r_without_file
check "-r of a missing file: exit 2, stderr names the file" t_nonexistent
check "-r of a file that is no capture: exit 2, stderr names the file" t_not_a_capture
check "an empty file: exit 2, stderr names the file" t_empty_file
check "link type 105: exit 2, stderr says unsupported link type 105 and names the file" \
    t_unsupported_linktype
check "a missing second file fails before any output" t_bad_second_file
check "-r - (standard input) gives the same JSON as -r FILE" t_stdin
check "-r A -r B reports the connections of both" t_two_files
check "pcapng gives the same JSON as pcap" t_pcapng
check "filter 'tcp port 1' leaves no connection" t_filter_none
check "filter 'tcp port 18081' keeps the tornado connection" t_filter_keep
check "a filter works on a LINUX_SLL2 capture" t_filter_sll2
check "an invalid filter: exit 2" t_filter_invalid
check "--json=FILE writes the file beside the text report; --json FILE is refused, naming --json=FILE" t_json_file
check "a file cut mid-packet: exit 0, warning, files_truncated 1, earlier connections kept" \
    t_truncated_file
check "snaplen-cut packets are counted in skipped.truncated" t_snaplen_cut
check "nanosecond capture: ts are ISO 8601 UTC with 6 decimals" t_nanosec_format
if command -v tshark >/dev/null; then
    check "nanosecond capture: event times are tshark's packet times, in microseconds" \
        t_nanosec_tshark
else
    skip "nanosecond capture: event times are tshark's packet times" "tshark not installed"
fi
check "LINUX_SLL2 capture gives the same requests and statuses as Ethernet" \
    t_sll2_same_as_ethernet
check "random bytes after a pcap header: exit 0 or 2, no crash" t_garbage_after_header
check "2000 random and mangled TCP frames: exit 0, all counted" t_garbage_frames

# --- rules: exit status for CI jobs, configuration errors -------------------------

t_fail_on()
{
    # tornado-http10 has an error (lost-request); tomcat has no finding at all
    run failerr --fail-on error -r "$PCAPS/tornado-http10.pcap"
    want_rc 1 || return 1
    run failnone --fail-on notice -r "$PCAPS/tomcat-max2-timeout3.pcap"
    want_rc 0 || return 1
    run nofail -r "$PCAPS/tornado-http10.pcap"
    want_rc 0
}

t_fail_on_disabled()
{
    # with the two rules that fire disabled, nothing reaches the threshold
    run faildis --fail-on notice --disable lost-request --disable ambiguous-persistence \
        -r "$PCAPS/tornado-http10.pcap"
    want_rc 0
}

t_bad_rules_file()
{
    printf 'grace 1\nseverity lost-request fatal\n' > "$tmp/bad.rules"
    run badrules --rules "$tmp/bad.rules" -r "$PCAPS/tornado-http10.pcap"
    want_rc 2 && err_has badrules "$tmp/bad.rules:2:" && err_has badrules fatal
}

t_bad_rule_option()
{
    run badrule --disable no-such-rule -r "$PCAPS/tornado-http10.pcap"
    want_rc 2 && err_has badrule no-such-rule || return 1
    run badfail --fail-on sometimes -r "$PCAPS/tornado-http10.pcap"
    want_rc 2 && err_has badfail sometimes
}

t_suppress()
{
    printf 'suppress server 127.0.0.0/8 port 18081\n' > "$tmp/quiet.rules"
    run quiet --json --rules "$tmp/quiet.rules" -r "$PCAPS/tornado-http10.pcap"
    want_rc 0 || return 1
    if grep -q '"event":"alert"' "$tmp/quiet.out"; then
        why+=("an alert for a suppressed server")
        return 1
    fi
}

# --- the idle limit -----------------------------------------------------------

# idle-timeout.pcap (tests/pcaps/README.md): connection 1 is silent for 400 s
# while connection 2 talks, then its client sends again.
t_idle_timeout_default()
{
    run idle --json --no-midstream -r "$PCAPS/idle-timeout.pcap"
    want_rc 0 || return 1
    want_py "$tmp/idle.out" \
        '[(e["conn"], e["ts"], e["close"], e["closed_by"], e["requests"], e["duration_s"]) for e in by("connection")]' \
        "[(1, '1970-01-01T00:00:01.000020Z', 'timeout', 'none', 1, 300.10098), (2, '1970-01-01T00:00:01.500020Z', 'fin', 'client', 24, 478.50018)]" &&
        want_py "$tmp/idle.out" '[by("stats")[0][k] for k in ("requests", "responses", "lost_requests")]' '[25, 25, 0]' &&
        want_py "$tmp/idle.out" 'by("stats")[0]["skipped"]["mid_stream"]' 4 &&
        want_py "$tmp/idle.out" 'sum(1 for e in by("transaction") if e["conn"] == 2 and e["status"] == 200)' 24
}

# By default the client's late request is picked up as a connection of its
# own, marked midstream: nothing of it is lost, and the picked-up
# connection counts among the connections.
t_idle_timeout_pickup()
{
    run idlepick --json -r "$PCAPS/idle-timeout.pcap"
    want_rc 0 || return 1
    want_py "$tmp/idlepick.out" \
        '[(e["conn"], e["close"], e["requests"], e["midstream"]) for e in by("connection")]' \
        "[(1, 'timeout', 1, False), (3, 'fin', 1, True), (2, 'fin', 24, False)]" &&
        want_py "$tmp/idlepick.out" '[by("stats")[0][k] for k in ("connections", "requests", "responses")]' '[3, 26, 26]' &&
        want_py "$tmp/idlepick.out" '[(e["uri"], e["midstream"]) for e in by("transaction") if e["conn"] == 3]' \
        "[('/again', True)]"
}

# The connection ends when the limit passes, reported between the other
# connection's requests around that time, not at the end of the capture.
t_idle_timeout_in_order()
{
    run idleorder --json -r "$PCAPS/idle-timeout.pcap"
    want_py "$tmp/idleorder.out" \
        '[e.get("uri", "end %d" % e["conn"]) for e in ev if e["event"] in ("transaction", "connection")][15:18]' \
        "['/b14', 'end 1', '/b15']"
}

t_idle_timeout_shorter()
{
    run idle100 --json --flow-timeout-idle 100 -r "$PCAPS/idle-timeout.pcap"
    want_rc 0 || return 1
    want_py "$tmp/idle100.out" '[(e["close"], e["duration_s"]) for e in by("connection") if e["conn"] == 1]' \
        "[('timeout', 100.10098)]"
}

t_idle_timeout_never()
{
    run idle0 --json --no-midstream --flow-timeout-idle 0 -r "$PCAPS/idle-timeout.pcap"
    want_rc 0 || return 1
    want_py "$tmp/idle0.out" \
        '[(e["conn"], e["close"], e["closed_by"], e["requests"], e["responses"]) for e in by("connection")]' \
        "[(1, 'fin', 'client', 2, 2), (2, 'fin', 'client', 24, 24)]" &&
        want_py "$tmp/idle0.out" 'by("stats")[0]["skipped"]["mid_stream"]' 0
}

t_idle_timeout_option()
{
    run idlehelp --help
    grep -q -- '--flow-timeout-idle S' "$tmp/idlehelp.out" || { why+=("not in --help"); return 1; }
    run idlebad --flow-timeout-idle -5 -r "$PCAPS/idle-timeout.pcap"
    want_rc 2 && err_has idlebad --flow-timeout-idle || return 1
    run idleword --flow-timeout-idle soon -r "$PCAPS/idle-timeout.pcap"
    want_rc 2 && err_has idleword soon
}

check "--flow-timeout-idle default 300: the silent connection ends as a timeout 300 s after its last packet; its late packets are mid-stream; nothing lost from the other" \
    t_idle_timeout_default
check "by default the late request after an idle end is picked up as a connection of its own (midstream)" \
    t_idle_timeout_pickup
check "an idle timeout is reported when the limit passes, among the other connection's requests" \
    t_idle_timeout_in_order
check "--flow-timeout-idle 100 ends it 100 s after its last packet" t_idle_timeout_shorter
check "--flow-timeout-idle 0: never ended for idleness; its late request is seen" t_idle_timeout_never
check "--flow-timeout-idle: in --help; a negative or non-numeric value is exit 2" \
    t_idle_timeout_option

check "--fail-on error: exit 1 on an error finding, 0 without findings or without the option" \
    t_fail_on
check "--fail-on ignores disabled rules" t_fail_on_disabled
check "a bad rules file: exit 2, stderr names FILE:LINE and the bad word" t_bad_rules_file
check "--disable of an unknown rule, --fail-on of an unknown level: exit 2" t_bad_rule_option
check "suppress server ADDR/BITS port P drops its alerts" t_suppress

# --- outputs ------------------------------------------------------------------

# The same wire bytes print the same way on every line: a target holding a
# backslash, a double quote, ESC, a byte that is not UTF-8 and a valid UTF-8
# character, on the transaction line and in the finding that quotes it.
t_escaping_same_everywhere()
{
    run esctext -r "$PCAPS/escape-in-uri.pcap"
    want_rc 0 || return 1
    local want='GET /a\\b"c\x1bd\xffe\xc3\xa9f'
    grep -qF -- "+0.099980  $want HTTP/1.1  ->" "$tmp/esctext.out" ||
        { why+=("transaction line does not show $want"); return 1; }
    grep -qF -- "response 1 ($want) though" "$tmp/esctext.out" ||
        { why+=("finding does not quote $want"); return 1; }
    run escjson --json -r "$PCAPS/escape-in-uri.pcap"
    want_rc 0 || return 1
    local t='by("transaction")[0]' a='by("alert")[0]'
    want_py "$tmp/escjson.out" "$t[\"uri\"] == \"/a\\\\b\\\"c\\x1bd\\ufffde\\u00e9f\"" True &&
    want_py "$tmp/escjson.out" "$t[\"uri_raw\"]" 2f615c6222631b64ff65c3a966 &&
    want_py "$tmp/escjson.out" "$a[\"evidence\"][\"request_line\"] == \"GET \" + $t[\"uri\"]" True &&
    want_py "$tmp/escjson.out" "$a[\"evidence\"][\"request_line_raw\"]" 474554202f615c6222631b64ff65c3a966 &&
    want_py "$tmp/escjson.out" "(\"(GET \" + $t[\"uri\"] + \")\") in $a[\"message\"]" True &&
    ! grep -q $'\x1b' "$tmp/escjson.out" || { why+=("a raw ESC in the JSON"); return 1; }
}

# Several outputs at once: text on standard output and JSON to a file, each
# equal to its own run.
t_text_and_json_at_once()
{
    local cap=$PCAPS/tornado-http10.pcap
    run both -r "$cap" --json="$tmp/both.json"
    want_rc 0 || return 1
    run textonly -r "$cap"
    run jsononly --json -r "$cap"
    cmp -s "$tmp/both.out" "$tmp/textonly.out" || { why+=("text differs from a text-only run"); return 1; }
    cmp -s "$tmp/both.json" "$tmp/jsononly.out" || { why+=("JSON differs from a JSON-only run"); return 1; }
    grep -q '"event":"alert"' "$tmp/both.json" && grep -q 'ERROR lost-request' "$tmp/both.out" ||
        { why+=("findings missing from one of them"); return 1; }
}

check "--json never takes the next word: no file named tcp, the words are the filter" \
    t_json_never_takes_the_next_word
check "every long option takes --opt=value as well as --opt value" t_long_options_take_equals
check "-r a.pcap b.pcap: says each capture needs its own -r" t_capture_without_its_r
check "a filter that matched no packet is said on standard error" t_filter_matching_nothing
check "--fail-on fails when no HTTP was decoded at all, unless --allow-empty" \
    t_fail_on_nothing_checked
# The text report joins other logs: capture times, frames and the filter.
t_text_joins_logs()
{
    run tj -r "$PCAPS/tornado-http10.pcap"
    want_rc 0 || return 1
    grep -q '^#1 2026-11-21T22:50:45.316745Z 127.0.0.1:33312 -> ' "$tmp/tj.out" ||
        { why+=("no UTC time on the connection's first line"); return 1; }
    grep -qF 'ERROR lost-request at 2026-11-21T22:50:45.368147Z (+0.051402): ' "$tmp/tj.out" &&
    grep -qF '(RFC 2616 8.1.4) [frames 8, 10, 11]' "$tmp/tj.out" ||
        { why+=("finding without its time or frames"); return 1; }
    grep -qxF '   wireshark filter: ip.addr==127.0.0.1 && tcp.port==33312 && tcp.port==18081' \
        "$tmp/tj.out" || { why+=("no filter, or the shared address twice"); return 1; }
    TZ=Asia/Kolkata run tjl --local-time -r "$PCAPS/tornado-http10.pcap"
    grep -q '^#1 2026-11-22T04:20:45.316745+05:30 ' "$tmp/tjl.out" ||
        { why+=("--local-time: not local time with its offset"); return 1; }
}

# Findings about a server as a whole sit under its paragraph; a server never
# seen gets one of its own.
t_server_findings_under_server()
{
    printf 'expect server 127.0.0.1 port 18082 max-requests 100\nexpect server 127.0.0.1 port 1 max-requests 1\n' \
        >"$tmp/sf.rules"
    run sf --rules "$tmp/sf.rules" -r "$PCAPS/tomcat-max2-timeout3.pcap"
    want_rc 0 || return 1
    awk '/^server 127.0.0.1:18082 /{s=1} s && /WARNING policy-mismatch/{print "ok"; exit}' \
        "$tmp/sf.out" | grep -q ok || { why+=("policy-mismatch not under its server"); return 1; }
    awk '/^server 127.0.0.1:1  no HTTP exchange seen/{s=1} s && /WARNING expectation-unmet/{print "ok"; exit}' \
        "$tmp/sf.out" | grep -q ok || { why+=("expectation-unmet not under its unseen server"); return 1; }
}

check "the text report: capture time on each connection and finding, frames, the filter once" \
    t_text_joins_logs
check "server findings under their server's paragraph; a never-seen server gets its own" \
    t_server_findings_under_server
t_redact_uri_query()
{
    run red --redact=uri-query --json="$tmp/red.json" -r "$PCAPS/query-in-uri.pcap"
    want_rc 0 || return 1
    ! grep -q 's3cret' "$tmp/red.out" "$tmp/red.json" || { why+=("the query is still printed"); return 1; }
    grep -qF 'GET /login? HTTP/1.1' "$tmp/red.out" && grep -qF '(GET /login?)' "$tmp/red.out" &&
        want_py "$tmp/red.json" 'by("transaction")[0]["uri"], by("alert")[0]["evidence"]["request_line"]' \
            "('/login?', 'GET /login?')" || return 1
    run plain -r "$PCAPS/query-in-uri.pcap"
    grep -q 's3cret' "$tmp/plain.out" || { why+=("without --redact the query must show"); return 1; }
}

t_json_events_sensor_schema()
{
    run ev --json --events=alert,stats --sensor=edge-7 -r "$PCAPS/tornado-http10.pcap"
    want_rc 0 || return 1
    want_py "$tmp/ev.out" '[e["event"] for e in ev]' "['alert', 'alert', 'stats']" &&
    want_py "$tmp/ev.out" 'set(e["sensor"] for e in ev), by("stats")[0]["schema_version"]' \
        "({'edge-7'}, 3)" || return 1
    run evbad --json --events=alerts -r "$PCAPS/tornado-http10.pcap"
    want_rc 2 && err_has evbad "--events" || return 1
    run host --json -r "$PCAPS/tornado-http10.pcap"
    want_py "$tmp/host.out" 'ev[0]["sensor"]' "$(hostname)"
}

check "--redact uri-query drops the query from every line, text and JSON" t_redact_uri_query
check "--events chooses the JSON events; sensor on every event (the host name by default); schema_version" \
    t_json_events_sensor_schema
t_quiet()
{
    run q -q -r "$PCAPS/tornado-http10.pcap" -r "$PCAPS/tornado-http11.pcap"
    want_rc 0 || return 1
    grep -q '^#1 ' "$tmp/q.out" && grep -q 'ERROR lost-request' "$tmp/q.out" &&
        grep -q '^server 127.0.0.1:18081' "$tmp/q.out" && grep -q ' packets, ' "$tmp/q.out" ||
        { why+=("-q lost a finding, a server paragraph or the totals"); return 1; }
    ! grep -q -e '^#2 ' -e '  GET /_health' -e 'server FIN' "$tmp/q.out" ||
        { why+=("-q printed a connection without findings, or transaction lines"); return 1; }
}

# Colours and wrapping only on a terminal (a pseudo-terminal of 80 columns
# here), never in a file or a pipe; NO_COLOR and --color=never turn colour off.
t_terminal()
{
    run plainfile -r "$PCAPS/tornado-http10.pcap"
    ! grep -q $'\x1b' "$tmp/plainfile.out" || { why+=("escape codes in a file"); return 1; }
    run always --color=always -r "$PCAPS/tornado-http10.pcap"
    grep -qF $'\x1b[1;31mERROR\x1b[0m lost-request' "$tmp/always.out" ||
        { why+=("--color=always: no colour"); return 1; }
    run badcolor --color=sometimes -r "$PCAPS/tornado-http10.pcap"
    want_rc 2 || return 1
    command -v script >/dev/null || return 0
    local kw cap
    kw=$(cd "$(dirname "$KEEPWATCH")" && pwd)/$(basename "$KEEPWATCH")
    cap=$(cd "$PCAPS" && pwd)/tornado-http10.pcap
    script -q -c "stty cols 80; '$kw' -r '$cap'" /dev/null | tr -d '\r' >"$tmp/tty.out"
    grep -qF $'\x1b[1;31mERROR' "$tmp/tty.out" || { why+=("a terminal got no colour"); return 1; }
    awk '{ gsub(/\x1b\[[0-9;]*m/, ""); if (length($0) > 80) bad = 1 } END { exit bad }' \
        "$tmp/tty.out" || { why+=("a line wider than the terminal"); return 1; }
    script -q -c "stty cols 80; NO_COLOR=1 '$kw' -r '$cap'" /dev/null >"$tmp/nocolor.out"
    ! grep -q $'\x1b\[' "$tmp/nocolor.out" || { why+=("NO_COLOR ignored"); return 1; }
}

check "-q: only the findings, their connections' first lines, server paragraphs and totals" t_quiet
check "a terminal gets colours and lines that fit; a file none; NO_COLOR and --color respected" \
    t_terminal
t_summary_every()
{
    run sum --json --summary-every=100 -r "$PCAPS/idle-timeout.pcap"
    want_rc 0 || return 1
    want_py "$tmp/sum.out" '[e["ts"][11:19] for e in by("server")]' \
        "['00:01:50', '00:03:30', '00:05:10', '00:06:50', '00:08:00']" || return 1
    run once --json -r "$PCAPS/idle-timeout.pcap"
    want_py "$tmp/once.out" 'len(by("server"))' 1
}

check "--summary-every S: every server's policy each S seconds of capture time and at the end" \
    t_summary_every
# Reading a pipe, each event is written when it happens: the first
# transaction is out while the writer still holds the pipe open.
t_pipe_streams()
{
    python3 - "$KEEPWATCH" "$PCAPS/tornado-http10.pcap" "$tmp" <<'PY' || return 1
import subprocess, sys, time, struct
kw, cap, tmp = sys.argv[1:4]
data = open(cap, "rb").read()
# the end of the 7th record: the first response has been captured
off, n = 24, 0
while n < 7:
    incl = struct.unpack("<I", data[off + 8:off + 12])[0]
    off += 16 + incl
    n += 1
for args, name in (([kw, "--json", "-r", "-"], "json"), ([kw, "-r", "-"], "text")):
    out = open("%s/pipe.%s" % (tmp, name), "wb")
    p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=out)
    p.stdin.write(data[:off]); p.stdin.flush()
    first = b""
    for _ in range(50):
        time.sleep(0.1)
        first = open("%s/pipe.%s" % (tmp, name), "rb").read()
        if first:
            break
    p.stdin.write(data[off:]); p.stdin.close(); p.wait(timeout=5)
    whole = open("%s/pipe.%s" % (tmp, name), "rb").read()
    want = b'"event":"transaction"' if name == "json" else b"#1    +0.000096  GET /_health"
    if want not in first or not first.endswith(b"\n"):
        print("%s: nothing, or a cut line, while the pipe was open: %r" % (name, first[:80]))
        sys.exit(1)
    if b"lost-request" not in whole:
        print("%s: the rest never came" % name)
        sys.exit(1)
PY
}

check "reading a pipe (-r -), each event is written, whole, when it happens" t_pipe_streams
# --syslog: each finding at or above the level, to the local syslog socket.
# The test listens on /dev/log itself, where no syslog daemon does.
t_syslog()
{
    python3 - "$KEEPWATCH" "$PCAPS/tornado-http10.pcap" <<'PY'
import os, socket, subprocess, sys
kw, cap = sys.argv[1:3]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind("/dev/log")
try:
    for level, want in (("notice", ["ambiguous-persistence", "lost-request"]), ("error", ["lost-request"])):
        subprocess.run([kw, "-q", "--syslog", "--syslog-level=" + level, "-r", cap],
                       stdout=subprocess.DEVNULL, check=True)
        sock.settimeout(1)
        got = []
        while True:
            try:
                got.append(sock.recv(8192).decode())
            except socket.timeout:
                break
        rules = [m.split("rule=")[1].split()[0] for m in got]
        if rules != want:
            print("level %s: %s, wanted %s" % (level, rules, want)); sys.exit(1)
        if not all("keepwatch[" in m and "server=127.0.0.1:18081" in m for m in got):
            print("not as documented: %r" % got[:1]); sys.exit(1)
        if level == "notice" and not got[1].startswith("<27>"):
            print("lost-request is not LOG_ERR: %r" % got[1][:8]); sys.exit(1)
finally:
    os.unlink("/dev/log")
PY
}

if [ ! -e /dev/log ]; then
    check "--syslog: findings at or above --syslog-level to syslog, rule id first" t_syslog
else
    skip "--syslog" "this machine's own syslog daemon holds /dev/log"
fi
check "the same wire bytes print the same way on the transaction line and in the finding, text and JSON" \
    t_escaping_same_everywhere
check "--json=FILE: text on standard output and JSON in FILE, each equal to its own run" \
    t_text_and_json_at_once

# --- progress -----------------------------------------------------------------

# A capture of 4,800 packets: tornado-http11.pcap's 12 frames 400 times.
many_packets()
{
    python3 - "$PCAPS/tornado-http11.pcap" "$tmp/many.pcap" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
head, recs, off = data[:24], [], 24
while off + 16 <= len(data):
    n = int.from_bytes(data[off + 8:off + 12], "little")
    recs.append(data[off:off + 16 + n]); off += 16 + n
open(sys.argv[2], "wb").write(head + b"".join(recs) * 400)
PY
}

# The progress line: on a terminal (a pseudo-terminal from script(1)) when the
# report goes to a file; never with -q, never when standard error is a pipe.
t_progress()
{
    command -v script >/dev/null || { why+=("script(1) is missing"); return 1; }
    many_packets || return 1
    script -qec "'$KEEPWATCH' -r '$tmp/many.pcap' >'$tmp/prog.out'" /dev/null >"$tmp/prog.tty"
    local line=$'\r\e''\[Kkeepwatch: [0-9.]+ [kM]?B of [0-9.]+ [kM]B \([0-9]+%\), [0-9.]+ [kMG]?B/s, [0-9]+ s left'
    grep -aqE "$line" "$tmp/prog.tty" ||
        { why+=("no progress line: $(head -c 200 "$tmp/prog.tty" | cat -v)"); return 1; }
    tail -c 4 "$tmp/prog.tty" | grep -aq $'\r\e\[K' || { why+=("the line is not erased at the end"); return 1; }
    grep -q "400 connections" "$tmp/prog.out" || { why+=("the report is not whole"); return 1; }
    script -qec "'$KEEPWATCH' -q -r '$tmp/many.pcap' >/dev/null" /dev/null >"$tmp/progq.tty"
    [ ! -s "$tmp/progq.tty" ] || { why+=("-q shows progress: $(cat -v "$tmp/progq.tty" | head -c 100)"); return 1; }
    run progpipe -r "$tmp/many.pcap"
    [ ! -s "$tmp/progpipe.err" ] || { why+=("progress on a pipe"); return 1; }
}

check "progress on a terminal: bytes of the total, rate, time left; never with -q or in a pipe" t_progress

# Findings name the file their frames are in and their numbers there.
t_frames_in_files()
{
    local first=$PCAPS/tornado-http11.pcap second=$PCAPS/tornado-http10.pcap n
    n=$(python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); o=24; n=0
while o+16<=len(d): o+=16+int.from_bytes(d[o+8:o+12],"little"); n+=1
print(n)' "$first")
    run ff --json -r "$first" -r "$second"
    want_rc 0 || return 1
    want_py "$tmp/ff.out" '[(a["evidence"]["file"], [f - '"$n"' for f in a["evidence"]["frames"]] == a["evidence"]["file_frames"]) for a in by("alert") if a["rule"] == "lost-request"]' \
        "[('$second', True)]" || return 1
    run fft -r "$first" -r "$second"
    grep -qF "[frames $((n + 8)), $((n + 10)), $((n + 11)); $second 8, 10, 11]" "$tmp/fft.out" ||
        { why+=("the text does not name the file: $(grep lost-request "$tmp/fft.out")"); return 1; }
}

check "findings name the file of their frames and the frame numbers in it" t_frames_in_files

# --- live capture: the command line (tests/live.py sniffs for real) ----------

t_live_usage()
{
    run liveboth -r "$PCAPS/tornado-http11.pcap" -i lo
    want_rc 2 && err_has liveboth "not both" || return 1
    run livew -w "$tmp/x.pcap" -r "$PCAPS/tornado-http11.pcap"
    want_rc 2 && err_has livew "for a live capture (-i)" || return 1
    run liverot -i lo -G 60
    want_rc 2 && err_has liverot "give -w FILE" || return 1
    run livestdout -i lo -w -
    want_rc 2 && err_has livestdout "standard output holds the report" || return 1
    run liveev -i lo --evidence="$tmp/ev"
    want_rc 2 && err_has liveev "give -w FILE" || return 1
    run liveprec -i lo --time-stamp-precision=pico
    want_rc 2 && err_has liveprec "micro or nano" || return 1
    run livecount -i lo -c 0
    want_rc 2 && err_has livecount "-c wants a number from 1"
}

t_live_open_errors()
{
    run noiface -i no-such-interface0
    want_rc 2 && err_has noiface "no-such-interface0" || return 1
    [ "$(wc -l <"$tmp/noiface.err")" -eq 1 ] || { why+=("more than one line"); return 1; }
    if [ "$(id -u)" -eq 0 ]; then
        run badfilter -i lo tcp port
        want_rc 2 && err_has badfilter "invalid filter 'tcp port'" || return 1
        run listif -D
        want_rc 0 && grep -q '^[0-9]*\.lo ' "$tmp/listif.out" ||
            { why+=("-D does not list lo"); return 1; }
    fi
}

check "live options: -r with -i, -w/-C/-G/-c without -i, -w -, bad values" t_live_usage
check "live: a missing interface, a bad filter: one line, exit status 2; -D lists lo" \
    t_live_open_errors

echo "$n_passed passed, $n_failed failed"
[ "$n_failed" -eq 0 ]
