#!/usr/bin/env bash
# report.sh: the HTML report (--report=FILE) of every bundled capture, opened
# in a real browser. Debian's chromium, headless, renders each page to a PNG
# (--screenshot) and to its DOM as text (--dump-dom), with its log on
# standard error; the test checks, per capture:
#
#   self-contained  the page holds no script, no frame or object, and refers
#                   to nothing outside itself (every href is "#...", no src,
#                   no url(), no @import, no <link>)
#   loads           chromium exits 0, its log holds no console message
#                   ("Uncaught", ":CONSOLE"), the PNG is a PNG of the window
#   figures         each server has its race plot (svg.race-plot) and its
#                   histogram (svg.req-histogram); each connection with a
#                   finding has its ladder (svg.ladder) with a mark per finding
#   numbers         every count of the JSON's totals is in the page, and
#                   every number the DOM marks with data-field equals the
#                   JSON's (keepwatch --json on the same capture), in the
#                   totals, each server's policy and figures and each
#                   connection's table; the race plot's counts and points, the
#                   histogram's bars and each connection's findings (rule,
#                   severity, request, frames) are those of the JSON's
#                   transactions, connections and alerts
#
# Also: the page written again at each --summary-every is one whole page,
# the same as without summaries; and the same checks for a synthetic capture
# of 12,000 connections to 40 servers, past the report's bounds: 32 servers
# drawn and the rest counted, at most 200 points a line of a race plot (a
# sample of the JSON's, the counts exact), at most 50 ladders, the worst,
# and a page under 4 MB.
#
# KW_SHOTS=DIR also writes one PNG per kind of figure to DIR (the race plot
# and the ladder of the idle-race capture, the histogram of Tomcat's, which
# closes after 2 requests): docs/ keeps them for the README. Exit status 1
# when a check failed; 77 (skip) only when chromium or python3 is missing or
# chromium cannot run, saying why.
set -u
KEEPWATCH=${KEEPWATCH:-./keepwatch}
srcdir=${srcdir:-.}
pcaps=$srcdir/tests/pcaps
[ -x "$KEEPWATCH" ] || { echo "keepwatch binary not found: $KEEPWATCH" >&2; exit 99; }
command -v python3 >/dev/null 2>&1 || { echo "python3 not found (SKIP)"; exit 77; }
chromium=$(command -v chromium || command -v chromium-browser) ||
    { echo "chromium not found: apt-get install chromium (SKIP)"; exit 77; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
not_ok() { echo "not ok - $*"; fail=$((fail + 1)); }

n_runs=0
# browse URL DOM PNG LOG [ARGS...]: headless chromium, a profile of its own:
# the page's DOM as text to DOM (none: "-"), its picture to PNG, its log to LOG
browse() {
    local url=$1 dom=$2 png=$3 log=$4; shift 4
    n_runs=$((n_runs + 1))
    local profile=$work/profile.$n_runs dump=(--dump-dom) out=$dom
    [ "$dom" = - ] && dump=() out=/dev/null
    timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic \
        --no-first-run --disable-background-networking --disable-component-update \
        --disable-sync --user-data-dir="$profile" --enable-logging=stderr --v=0 \
        --hide-scrollbars "$@" --screenshot="$png" "${dump[@]}" "$url" > "$out" 2> "$log"
    local rc=$?
    rm -rf "$profile"
    return $rc
}

echo '<!DOCTYPE html><html><body><p id="x">ok</p></body></html>' > "$work/probe.html"
if ! browse "file://$work/probe.html" "$work/probe.dom" "$work/probe.png" "$work/probe.log" ||
    ! grep -q 'id="x"' "$work/probe.dom"; then
    echo "chromium cannot run here: $(grep -v -i dbus "$work/probe.log" | tail -3) (SKIP)"
    exit 77
fi

cat > "$work/check.py" <<'EOF'
# check.py NAME HTML DOM LOG PNG JSON W H: the checks of report.sh
import json, re, struct, sys
from datetime import datetime, timezone
from html.parser import HTMLParser

name, html_path, dom_path, log_path, png_path, json_path, W, H = sys.argv[1:9]
results = []

def check(what, cond, why=""):
    why = " ".join(str(why).split())[:300]
    results.append(("ok - " if cond else "not ok - ") + f"{name} {what}" + ("" if cond else f": {why}"))

class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.kids, self.text = tag, dict(attrs), parent, [], []
    def cls(self):
        return (self.attrs.get("class") or "").split()
    def all(self):
        yield self
        for k in self.kids:
            yield from k.all()
    def find(self, pred):
        return [n for n in self.all() if pred(n)]
    def content(self):
        return "".join(n_text for n in self.all() for n_text in n.text)

VOID = {"meta", "br", "img", "input", "link", "hr", "wbr", "col", "area", "base", "source"}
class Tree(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.cur = Node("#root", {}, None)
    def handle_starttag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        self.cur.kids.append(n)
        if tag not in VOID:
            self.cur = n
    def handle_startendtag(self, tag, attrs):
        self.cur.kids.append(Node(tag, attrs, self.cur))
    def handle_endtag(self, tag):
        n = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.cur = n.parent
    def handle_data(self, data):
        self.cur.text.append(data)

html = open(html_path, encoding="ascii", errors="replace").read()
bad = [m for m in re.findall(r'<script|<iframe|<object|<embed|<link|@import|url\(|\ssrc=', html, re.I)]
hrefs = [h for h in re.findall(r'href="([^"]*)"', html) if not h.startswith("#")]
check("self-contained", not bad and not hrefs, f"{bad} {hrefs}")
raw_bytes = open(html_path, "rb").read()
check("escaped", all(b == 10 or 32 <= b < 127 for b in raw_bytes),
      "a byte that is not printable ASCII: wire bytes reached the page unescaped")

log = open(log_path, errors="replace").read()
console = [l for l in log.splitlines() if ":CONSOLE" in l or "Uncaught" in l]
png = open(png_path, "rb").read()
size = struct.unpack(">II", png[16:24]) if png[:8] == b"\x89PNG\r\n\x1a\n" else None
check("loads", not console and size == (int(W), int(H)), f"console {console[:2]}, png {size}")

tree = Tree()
tree.feed(open(dom_path, errors="replace").read())
dom = tree.root

def raw(v):  # a JSON value as the page writes it
    return "null" if v is None else "true" if v is True else "false" if v is False else str(v)
events = [json.loads(l, parse_float=str, parse_int=str) for l in open(json_path) if l.strip()]
def by(kind):
    return [e for e in events if e["event"] == kind]
def field(obj, path):
    for part in path.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return KeyError
        obj = obj[part]
    return obj
def compare_fields(scope, obj, what):
    bad = []
    marked = scope.find(lambda n: "data-field" in n.attrs)
    for n in marked:
        f, v = n.attrs["data-field"], n.attrs.get("data-value")
        want = field(obj, f)
        if want is KeyError or raw(want) != v:
            bad.append(f"{f}={v} (JSON {raw(want) if want is not KeyError else 'none'})")
        elif n.tag in ("span", "td") and v not in n.content():
            bad.append(f"{f} shows '{n.content()}', not {v}")
    check(f"{what} numbers ({len(marked)})", marked and not bad, bad[:4])

def usec(iso):
    d = datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return int(d.timestamp()) * 1000000 + d.microsecond
def secs_us(s):
    return None if s is None else round(float(s) * 1e6)

stats = by("stats")[0]
totals = dom.find(lambda n: n.attrs.get("id") == "totals")
check("totals", len(totals) == 1, "no section#totals")
if totals:
    compare_fields(totals[0], stats, "totals")
    flat = {("skipped." + k if isinstance(stats.get("skipped"), dict) and k in stats["skipped"]
             else k): v for k, v in list(stats.items()) + list(stats.get("skipped", {}).items())}
    marked = {n.attrs["data-field"] for n in totals[0].find(lambda n: "data-field" in n.attrs)}
    left = [k for k, v in flat.items() if isinstance(v, str) and v.isdigit() and v != "0"
            and k not in marked and k not in ("schema_version", "skipped.refused_streams")]
    check("totals complete", not left, f"JSON counts not in the page: {left}")

txns, conns, alerts = by("transaction"), by("connection"), by("alert")
conn_by_id = {c["conn"]: c for c in conns}
unanswered_by_conn = {}
for t in txns:
    if t["request"] is not None and t["no_response"] is not None:  # HTTP/0.9: no status
        unanswered_by_conn.setdefault(t["conn"], []).append(t)
def server_of(e):
    return (e["server_ip"], e["server_port"])

# the race plot's points as the JSON gives them, by the rules of output/html.c
def race_points(server):
    rows = {"answered": [], "lost": [], "server-closes": [], "client-closes": []}
    unanswered = 0
    for t in txns:
        if server_of(t) != server or t["request"] is None or t["pipelined"]:
            continue
        idle = t["idle_before_s"]
        if idle is None or float(idle) <= 0:
            continue
        if t["no_response"] is None:
            rows["answered"].append((t["conn"], t["request"], idle))
        elif t["no_response"] == "lost":
            rows["lost"].append((t["conn"], t["request"], idle))
        else:
            unanswered += 1
    for c in conns:
        if server_of(c) != server or c["closed_by"] == "none" or c["idle_before_close_s"] is None:
            continue
        start = usec(c["ts"])
        side = "server_fin_s" if c["closed_by"] == "server" else "client_fin_s"
        at = start + (secs_us(c["duration_s"]) if c["close"] == "rst" else secs_us(c[side]))
        if any(usec(t["ts"]) < at for t in unanswered_by_conn.get(c["conn"], [])):
            continue  # a request outstanding at the close
        rows["server-closes" if c["closed_by"] == "server" else "client-closes"].append(
            (c["conn"], None, c["idle_before_close_s"]))
    return rows, unanswered

servers = by("server")
# a server named only by findings about it as a whole (never seen) gets a
# section with those findings and no figures
unseen = {server_of(a) for a in alerts if a["conn"] is None} - {server_of(s) for s in servers}
sections = dom.find(lambda n: n.tag == "section" and "server" in n.cls())
check("servers", len(sections) == min(len(servers) + len(unseen), 32),
      f"{len(sections)} sections, {len(servers)} servers, {len(unseen)} unseen")
for sec in sections:
    key = (sec.attrs.get("data-server-ip"), sec.attrs.get("data-server-port"))
    pol = [s for s in servers if server_of(s) == key]
    what = f"server {key[0]}:{key[1]}"
    race = sec.find(lambda n: n.tag == "svg" and "race-plot" in n.cls())
    hist = sec.find(lambda n: n.tag == "svg" and "req-histogram" in n.cls())
    if not pol:
        found = sorted(n.attrs["data-rule"] for n in sec.find(lambda n: "finding" in n.cls()))
        check(f"{what} (never seen)", key in unseen and not race and not hist and found ==
              sorted(a["rule"] for a in alerts if a["conn"] is None and server_of(a) == key),
              f"{key} {found}")
        continue
    check(f"{what} figures", len(race) == 1 and len(hist) == 1,
          f"{len(race)} race plots, {len(hist)} histograms")
    if len(race) != 1 or len(hist) != 1:
        continue
    compare_fields(sec, pol[0], what)
    rows, unanswered = race_points(key)
    r = race[0]
    counts = {k: r.attrs.get("data-" + k) for k in rows}
    check(f"{what} race counts", all(counts[k] == str(len(v)) for k, v in rows.items())
          and r.attrs.get("data-unanswered") == str(unanswered),
          f"page {counts} {r.attrs.get('data-unanswered')}, JSON "
          f"{ {k: len(v) for k, v in rows.items()} } {unanswered}")
    drawn = {}
    for g in r.find(lambda n: n.tag == "g" and "row" in n.cls()):
        k = [c[4:] for c in g.cls() if c.startswith("row-")][0]
        drawn[k] = sorted((int(p.attrs["data-conn"]), p.attrs.get("data-request"),
                           p.attrs["data-idle-s"]) for p in g.find(lambda n: "data-idle-s" in n.attrs))
    want = {k: sorted((int(c), q, i) for c, q, i in v) for k, v in rows.items()}
    check(f"{what} race points", all(drawn.get(k) == want[k] if len(want[k]) <= 200 else
                                     len(drawn.get(k, [])) == 200 and set(drawn[k]) <= set(want[k])
                                     for k in want),
          f"page {drawn} JSON {want}")
    reqs = [int(c["requests"]) for c in conns if server_of(c) == key]
    bars = hist[0].find(lambda n: n.tag == "rect" and "bar" in n.cls())
    badbars = [(b.attrs["data-from"], b.attrs["data-to"], b.attrs["data-count"]) for b in bars
               if int(b.attrs["data-count"]) != sum(int(b.attrs["data-from"]) <= q <= int(b.attrs["data-to"]) for q in reqs)]
    check(f"{what} histogram", bars and not badbars and hist[0].attrs.get("data-connections")
          == str(len(reqs)) and sum(int(b.attrs["data-count"]) for b in bars) == len(reqs),
          f"bars {badbars}, {hist[0].attrs.get('data-connections')} vs {len(reqs)}")

SEV = {"notice": 0, "warning": 1, "error": 2}
worst = {}
for a in alerts:
    if a["conn"] is not None:
        c = int(a["conn"])
        n, sev = worst.get(c, (0, -1))
        worst[c] = (n + 1, max(sev, SEV[a["severity"]]))
# worst first: severity, then number of findings, then the earlier
ranked = sorted(worst, key=lambda c: (-worst[c][1], -worst[c][0], c))
arts = {int(n.attrs["data-conn"]): n for n in dom.find(lambda n: n.tag == "article" and "conn" in n.cls())}
check("connections with findings", sorted(arts) == sorted(ranked[:50]),
      f"page {sorted(arts)[:20]}, JSON {sorted(ranked[:50])[:20]}")
def count(id_):
    n = dom.find(lambda n: n.attrs.get("id") == id_)
    return n[0].content() if n else None
unseen_n = len({server_of(a) for a in alerts if a["conn"] is None} - {server_of(s) for s in by("server")})
check("what was not drawn", count("ladders-not-drawn") == str(max(len(ranked) - 50, 0)) and
      count("servers-not-drawn") == str(max(len(by("server")) + unseen_n - 32, 0)),
      f"ladders {count('ladders-not-drawn')} of {len(ranked)}, servers {count('servers-not-drawn')}")
for cid, art in sorted(arts.items()):
    what = f"conn {cid}"
    compare_fields(art, conn_by_id.get(str(cid), {}), what)
    mine = sorted((a["rule"], a["severity"], raw(a["request"]),
                   ",".join(str(f) for f in sorted({int(x) for x in a["evidence"].get("frames") or []})))
                  for a in alerts if a["conn"] == str(cid))
    items = sorted((n.attrs["data-rule"], n.attrs["data-severity"], n.attrs["data-request"],
                    n.attrs["data-frames"])
                   for n in art.find(lambda n: n.tag == "li" and "finding" in n.cls()))
    check(f"{what} findings", items == mine, f"page {items}, JSON {mine}")
    ladder = art.find(lambda n: n.tag == "svg" and "ladder" in n.cls())
    marks = ladder[0].find(lambda n: "finding-mark" in n.cls()) if ladder else []
    reqs = ladder[0].find(lambda n: n.tag == "g" and "req" in n.cls()) if ladder else []
    c = conn_by_id.get(str(cid), {})
    check(f"{what} ladder", len(ladder) == 1 and len(marks) == min(len(mine), 16)
          and len(reqs) == int(c.get("requests", -1)),
          f"{len(ladder)} ladders, {len(marks)} marks for {len(mine)} findings, "
          f"{len(reqs)} request arrows for {c.get('requests')}")
if name.startswith("escape-in-uri"):  # its URI holds \ " ESC, a byte not UTF-8 and UTF-8
    labels = [n.content() for n in dom.find(lambda n: n.tag == "g" and "req" in n.cls())]
    want = r'1: GET /a\\b"c\x1bd\xffe\xc3\xa9f'  # as the text report writes it
    check("URI escaped as in the text report", any(want in l for l in labels),
          f"{labels} vs {want}")
print("\n".join(results))
EOF

# run NAME CAPTURE: the report and the JSON of one capture, rendered and checked
run() {
    local name=$1 cap=$2 args=()
    [ -e "$cap.rules" ] && args=(--rules "$cap.rules")
    local page=$work/$name.html json=$work/$name.json
    if ! "$KEEPWATCH" "${args[@]}" --json="$json" --report="$page" -r "$cap" > /dev/null 2> "$work/err"; then
        not_ok "$name: keepwatch failed: $(tail -1 "$work/err")"
        return
    fi
    if ! browse "file://$page" "$work/$name.dom" "$work/$name.png" "$work/$name.log" \
        --window-size=1000,1400; then
        not_ok "$name: chromium failed: $(grep -v -i dbus "$work/$name.log" | tail -2)"
        return
    fi
    while IFS= read -r line; do
        case $line in
        "ok - "*) ok "${line#ok - }" ;;
        *) not_ok "${line#not ok - }" ;;
        esac
    done < <(python3 "$work/check.py" "$name" "$page" "$work/$name.dom" "$work/$name.log" \
        "$work/$name.png" "$json" 1000 1400 2>&1)
}

for cap in "$pcaps"/*.pcap "$pcaps"/*.pcapng; do
    [ -e "$cap" ] || continue
    run "$(basename "$cap")" "$cap"
done

# At each summary (--summary-every) the page is written again from the
# start: the last one, at the end, is the page of a run without summaries.
cap=$pcaps/idle-race-node.pcap
if "$KEEPWATCH" --summary-every 1 --report="$work/summaries.html" -r "$cap" > /dev/null 2>&1 &&
    cmp -s "$work/summaries.html" "$work/idle-race-node.pcap.html"; then
    ok "the page written again at each summary is one whole page"
else
    not_ok "the page written at each summary differs from the page of one run"
fi

# Past the bounds: connections of 1 to 4 requests with idle gaps, each closed
# by its server after about 5 s idle; every 7th client reuses it right after
# the server's FIN and loses its request.
python3 - "$work/volume.pcap" <<'EOF'
import random, struct, sys
SYN, ACK, PSH, FIN, RST = 0x02, 0x10, 0x08, 0x01, 0x04
REQ = b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n"
RESP = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\nok"
rnd, packets = random.Random(1), []
for i in range(12000):
    cli, srv = bytes([10, 1 + (i >> 16), (i >> 8) & 255, i & 255]), bytes([10, 0, 1, i % 40])
    cp, t, seq = 10000 + i % 50000, 1_700_000_000_000_000 + i * 2000, [1000, 5000]
    def pkt(fwd, flags, data=b""):
        global t
        t += 40
        me, peer = (0, 1) if fwd else (1, 0)
        packets.append((t, cli if fwd else srv, cp if fwd else 80, srv if fwd else cli,
                        80 if fwd else cp, seq[me], seq[peer] if flags & ACK else 0, flags, data))
        seq[me] += len(data) + (1 if flags & (SYN | FIN) else 0)
    pkt(1, SYN); pkt(0, SYN | ACK); pkt(1, ACK)
    for r in range(1 + i % 4):
        t += rnd.randint(100_000, 5_200_000) if r else 0
        pkt(1, PSH | ACK, REQ); pkt(0, PSH | ACK, RESP)
    t += rnd.randint(4_900_000, 5_100_000)
    pkt(0, FIN | ACK)
    if i % 7 == 0:
        t += rnd.randint(100, 20000); pkt(1, PSH | ACK, REQ); pkt(0, RST)
    else:
        pkt(1, FIN | ACK); pkt(0, ACK)
packets.sort(key=lambda p: p[0])
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
    for t, src, sp, dst, dp, sq, ack, flags, data in packets:
        tcp = struct.pack("!HHIIBBHHH", sp, dp, sq, ack, 5 << 4, flags, 65535, 0, 0)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(data), 0, 0x4000, 64, 6, 0, src, dst)
        frame = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + ip + tcp + data
        f.write(struct.pack("<IIII", t // 1000000, t % 1000000, len(frame), len(frame)) + frame)
EOF
run volume "$work/volume.pcap"
size=$(wc -c < "$work/volume.html")
if [ "$size" -lt 4000000 ]; then ok "volume: the page is $size bytes"; else not_ok "volume: the page is $size bytes"; fi

# One PNG per kind of figure, for the README: each figure alone on a page
# with the report's style, the window its size.
if [ -n "${KW_SHOTS:-}" ]; then
    for kind in race:race:idle-race-node histogram:histogram:tomcat-max2-timeout3 \
        ladder:ladder-figure:idle-race-node; do
        file=${kind%%:*} cls=${kind#*:} page=$work/${kind##*:}.pcap.html
        cls=${cls%%:*}
        python3 - "$page" "$cls" "$work/$file.html" "$work/$file.size" <<'EOF'
import re, sys
page, cls, out, size = sys.argv[1:5]
html = open(page).read()
style = re.search(r"<style>.*?</style>", html, re.S).group(0)
fig = re.search(r'<figure class="%s".*?</figure>' % cls, html, re.S).group(0)
w, h = re.search(r'<svg[^>]* width="(\d+)" height="(\d+)"', fig).groups()
open(out, "w").write('<!DOCTYPE html><html><head><meta charset="utf-8">%s<style>body{margin:0;'
                     'padding:8px;max-width:none}figure{margin:0}figcaption{display:none}</style>'
                     '</head><body>%s</body></html>' % (style, fig))
open(size, "w").write("%d,%d" % (int(w) + 16, int(h) + 16))
EOF
        if browse "file://$work/$file.html" - "$KW_SHOTS/report-$file.png" "$work/shot.log" \
            --window-size="$(cat "$work/$file.size")"; then
            ok "screenshot $KW_SHOTS/report-$file.png"
        else
            not_ok "screenshot report-$file.png"
        fi
    done
fi

# The screenshots the README shows are there, and are PNG images.
for f in race histogram ladder; do
    png=$srcdir/docs/report-$f.png
    if [ "$(head -c 8 "$png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; then
        ok "docs/report-$f.png"
    else
        not_ok "docs/report-$f.png missing (KW_SHOTS=docs tests/report.sh writes it)"
    fi
done

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
