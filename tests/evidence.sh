#!/usr/bin/env bash
# evidence.sh: --evidence=DIR writes, for each connection with a finding, a
# pcap of exactly that connection's packets and an index; tshark reads each
# one back and the test checks, per connection:
#
#   listed       the index lists exactly the connections that have an alert
#                at or above --evidence-level in keepwatch's JSON, with
#                their rules, worst severity, number of findings,
#                community_id and Wireshark filter as the JSON gives them
#   opens        tshark reads the file without an error
#   packets      its packets are exactly those of the connection's tcp.stream
#                in the input, in order, compared by content (the MD5 of each
#                frame) and time, and the index's packets, first_frame and
#                last_frame say so
#   frames       each of the findings' frames (numbered as in the input) is
#                the same packet as its file_frames number in the file, and
#                file_filter selects exactly those packets
#
# for every bundled capture with a finding (level notice), again at the
# default level (warning), for two inputs read as one (frames numbered on
# across them), and with a BPF filter (frames numbered after it, as the run
# numbers them). Also: standard input is refused with --evidence, and a bad
# --evidence-level. Exit status 1 when a check failed, 77 (skip) when tshark
# or python3 is missing.
set -u
KEEPWATCH=${KEEPWATCH:-./keepwatch}
srcdir=${srcdir:-.}
pcaps=$srcdir/tests/pcaps

for c in tshark python3; do
    command -v "$c" >/dev/null 2>&1 || { echo "$c not found: cannot read the evidence back (SKIP)"; exit 77; }
done
[ -x "$KEEPWATCH" ] || { echo "keepwatch binary not found: $KEEPWATCH" >&2; exit 99; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
not_ok() { echo "not ok - $*"; fail=$((fail + 1)); }

cat > "$work/check.py" <<'EOF'
# check.py NAME LEVEL DIR JSON FILTER_PORT INPUT...: the checks of evidence.sh
import json, os, subprocess, sys

name, level, d, json_path, port = sys.argv[1:6]
inputs = sys.argv[6:]
SEV = {"notice": 0, "warning": 1, "error": 2}
results = []

def check(what, cond, why=""):
    why = " ".join(str(why).split())  # one line
    results.append(("ok - " if cond else "not ok - ") + f"{name} {what}" + ("" if cond else f": {why}"))

def packets(paths):
    """Every packet of the inputs read as one: (md5, time, stream key, flags)."""
    rows = []
    for p in paths:
        out = subprocess.run(["tshark", "-n", "-o", "frame.generate_md5_hash:TRUE", "-r", p,
                              "-T", "fields", "-e", "frame.md5_hash", "-e", "frame.time_epoch",
                              "-e", "ip.src", "-e", "tcp.srcport", "-e", "ip.dst",
                              "-e", "tcp.dstport", "-e", "tcp.stream", "-e", "tcp.flags.syn",
                              "-e", "tcp.flags.ack"],
                             capture_output=True, text=True)
        if out.returncode:
            return None, out.stderr.strip().splitlines()[-1:] or ["tshark failed"]
        for line in out.stdout.splitlines():
            f = line.split("\t") + [""] * 9
            rows.append({"md5": f[0], "time": f[1], "src": (f[2], f[3]), "dst": (f[4], f[5]),
                         "stream": (p, f[6]), "syn": f[7] in ("1", "True"),
                         "ack": f[8] in ("1", "True")})
    return rows, None

orig, err = packets(inputs)
if port != "-":  # the run's BPF filter "tcp port P": frames numbered after it
    orig = [r for r in orig if port in (r["src"][1], r["dst"][1])]
for i, r in enumerate(orig):
    r["frame"] = i + 1

events = [json.loads(l) for l in open(json_path) if l.strip()]
alerts = {}
for e in events:
    if e["event"] == "alert" and e["conn"] is not None and SEV[e["severity"]] >= SEV[level]:
        alerts.setdefault(e["conn"], []).append(e)
conns = {e["conn"]: e for e in events if e["event"] == "connection"}
index = [json.loads(l) for l in open(os.path.join(d, "index.json"))]
check("listed", sorted(ix["conn"] for ix in index) == sorted(alerts),
      f"index {sorted(ix['conn'] for ix in index)}, alerts {sorted(alerts)}")

for ix in index:
    c, al = ix["conn"], alerts.get(ix["conn"], [])
    tag = f"conn {c}"
    check(f"{tag} rules", set(ix["rules"]) == {a["rule"] for a in al}
          and ix["findings"] == len(al)
          and SEV[ix["severity"]] == max([SEV[a["severity"]] for a in al] or [-1]),
          f"{ix['rules']} {ix['findings']} {ix['severity']} vs {[a['rule'] for a in al]}")
    cj = conns.get(c, {})
    check(f"{tag} fields", ix["community_id"] == cj.get("community_id")
          and ix["client_port"] == cj.get("client_port")
          and ix["wireshark_filter"] == al[0]["evidence"].get("wireshark_filter")
          and f"conn-{c}_" in ix["file"] and all(r in ix["file"] for r in ix["rules"]),
          f"{ix}")
    path = os.path.join(d, ix["file"])
    got, err = packets([path])
    check(f"{tag} opens", got is not None, f"{path}: {err}")
    if got is None:
        continue
    # the connection's tcp.stream: the latest stream of its ports with a SYN
    # before its handshake completed
    ends = {(ix["client_ip"], str(ix["client_port"])), (ix["server_ip"], str(ix["server_port"]))}
    mine = [r for r in orig if {r["src"], r["dst"]} == ends]
    syns = [r for r in mine if r["syn"] and not r["ack"]]
    stream = (syns[-1] if syns else mine[0])["stream"] if mine else None
    want = [r for r in mine if r["stream"] == stream]
    same = [(r["md5"], r["time"]) for r in got] == [(r["md5"], r["time"]) for r in want]
    check(f"{tag} packets", same and ix["packets"] == len(want)
          and ix["first_frame"] == want[0]["frame"] and ix["last_frame"] == want[-1]["frame"],
          f"file {len(got)} packets, stream {len(want)}, index {ix['packets']} "
          f"{ix['first_frame']}..{ix['last_frame']}")
    by_frame = {r["frame"]: r["md5"] for r in orig}
    pairs = list(zip(ix["frames"], ix["file_frames"]))
    check(f"{tag} frames", len(ix["frames"]) == len(ix["file_frames"]) and ix["frames"]
          and all(ff and 0 < ff <= len(got) and got[ff - 1]["md5"] == by_frame.get(f)
                  for f, ff in pairs),
          f"{pairs}")
    sel = subprocess.run(["tshark", "-n", "-r", path, "-Y", ix["file_filter"], "-T", "fields",
                          "-e", "frame.number"], capture_output=True, text=True)
    check(f"{tag} file_filter", sel.returncode == 0
          and [int(x) for x in sel.stdout.split()] == sorted(set(ix["file_frames"])),
          f"{ix['file_filter']} selects {sel.stdout.split()} ({sel.stderr.strip()})")
print("\n".join(results))
EOF

# run NAME LEVEL PORT INPUT... [-- FILTER...]: keepwatch with --evidence, then the checks
run() {
    local name=$1 level=$2 port=$3; shift 3
    local inputs=() args=() filter=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do inputs+=("$1"); args+=(-r "$1"); shift; done
    [ $# -gt 0 ] && { shift; filter=("$@"); }
    local d=$work/$name.$level
    rm -rf "$d"
    local rules=()
    [ ${#inputs[@]} -eq 1 ] && [ -e "${inputs[0]}.rules" ] && rules=(--rules "${inputs[0]}.rules")
    if ! "$KEEPWATCH" "${rules[@]}" --json="$work/out.json" --evidence="$d" \
            --evidence-level="$level" "${args[@]}" "${filter[@]}" > /dev/null 2> "$work/err"; then
        not_ok "$name: keepwatch failed: $(tail -1 "$work/err")"
        return
    fi
    [ -s "$work/out.json" ] || { not_ok "$name: no JSON"; return; }
    while IFS= read -r line; do
        case $line in
        "ok - "*) ok "${line#ok - }" ;;
        *) not_ok "${line#not ok - }" ;;
        esac
    done < <(python3 "$work/check.py" "$name" "$level" "$d" "$work/out.json" "$port" "${inputs[@]}" 2>&1)
}

any=0
for cap in "$pcaps"/*.pcap "$pcaps"/*.pcapng; do
    [ -e "$cap" ] || continue
    grep -q '"event":"alert","ts":"[^"]*","conn":[0-9]' "$cap.json" 2>/dev/null || continue
    any=1
    run "$(basename "$cap")" notice - "$cap"
done
[ $any = 1 ] || not_ok "no bundled capture has a finding"
run idle-race-default warning - "$pcaps/idle-race-node.pcap"
run rule-keepalive-unlisted-default warning - "$pcaps/rule-keepalive-header-unlisted.pcap"
run two-inputs notice - "$pcaps/tornado-http10.pcap" "$pcaps/idle-race-node.pcap"
run filtered notice 18091 "$pcaps/tornado-http10.pcap" "$pcaps/idle-race-node.pcap" -- tcp port 18091

# what is refused
if "$KEEPWATCH" --evidence="$work/stdin" -r - < "$pcaps/idle-race-node.pcap" > /dev/null 2> "$work/err"; then
    not_ok "--evidence with -r - is refused"
elif grep -q "standard input" "$work/err"; then ok "--evidence with -r - is refused"
else not_ok "--evidence with -r -: $(cat "$work/err")"; fi
if "$KEEPWATCH" --evidence="$work/x" --evidence-level=loud -r "$pcaps/idle-race-node.pcap" > /dev/null 2>&1; then
    not_ok "a bad --evidence-level is refused"
else ok "a bad --evidence-level is refused"; fi
touch "$work/a-file"
if "$KEEPWATCH" --evidence="$work/a-file" -r "$pcaps/idle-race-node.pcap" > /dev/null 2>&1; then
    not_ok "--evidence naming a file is refused"
else ok "--evidence naming a file is refused"; fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
