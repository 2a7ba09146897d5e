#!/usr/bin/env python3
"""pickup.py: connections already open when the capture starts are picked up.

Every capture of tests/pcaps is cut to start in the middle of its
connections (the first N packets dropped, for every N), and the report on the
cut capture is compared with the report on the whole one (keepwatch --json,
which picks connections up by default):
  - found: every transaction whose request starts after the cut is in the cut
    capture's report, with its response (status, response time);
  - nothing invented: every transaction of the cut capture's report is one of
    the whole capture's (same connection, request time, method, target,
    status and response time; one whose request came before the cut, by its
    status and the time its response began);
  - a connection seen from its handshake in the cut capture is not marked
    midstream; one picked up is.
Environment: KEEPWATCH (the binary), srcdir (the source tree).
Prints "ok - ..." / "not ok - ..." and "N passed, M failed".
"""
import glob
import json
import os
import struct
import subprocess
import sys
import tempfile

KEEPWATCH = os.environ.get("KEEPWATCH", "./keepwatch")
PCAPS = os.path.join(os.environ.get("srcdir", "."), "tests", "pcaps")
MAX_CUTS = 60  # cuts per capture: the first packets, where the connections are
# Cuts whose report is known to differ, by capture: {cut: reason}. A failing
# excepted cut prints "ok ... # exception: REASON".
EXCEPTIONS = {
    "http-as-spoken.pcap": dict.fromkeys(
        (13, 14, 15), "connection 2's request is HTTP/0.9 (GET /old CRLF, no version): the "
        "tracker does not take it for the start of a message when it picks a stream up "
        "(http/, kw_http_dec_seek); from its handshake, it does"),
}

passed = failed = 0


def check(ok, what):
    global passed, failed
    print(("ok - " if ok else "not ok - ") + what)
    if ok:
        passed += 1
    else:
        failed += 1


def records(data):
    """The pcap's header, and each record as (time in microseconds, raw bytes)."""
    endian = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    nano = data[:4] in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    out, off = [], 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        if off + 16 + incl > len(data):
            break  # a cut file: what is whole
        out.append((sec * 1_000_000 + (frac // 1000 if nano else frac),
                    data[off:off + 16 + incl]))
        off += 16 + incl
    return data[:24], out


def report(path):
    p = subprocess.run([KEEPWATCH, "--json", "--events=transaction,connection", "-r", path],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       check=False)
    events = [json.loads(line) for line in p.stdout.decode().splitlines()]
    return p.returncode, events


def usec(iso):
    """ISO 8601 UTC with microseconds to microseconds since the epoch."""
    import calendar
    date, frac = iso.rstrip("Z").split(".")
    t = calendar.timegm(tuple(int(x) for x in date.replace("T", "-").replace(":", "-")
                              .split("-")) + (0, 0, 0))
    return t * 1_000_000 + int(frac)


def key(e):
    return (e["client_ip"], e["client_port"], e["server_ip"], e["server_port"])


def txns(events):
    out, seen = [], {}
    for e in events:
        if e["event"] != "transaction":
            continue
        t = usec(e["ts"])  # the request's first byte; with no request, the response's
        same = (key(e), t, e["method"], e["uri"])  # requests pipelined in one segment
        seen[same] = seen.get(same, 0) + 1
        out.append({"key": key(e), "ts": t, "method": e["method"], "uri": e["uri"],
                    "status": e["status"], "ttfb": e["ttfb_s"], "nth": seen[same]})
    return out


def same_request(a, b):
    return a["key"] == b["key"] and a["ts"] == b["ts"] and a["method"] == b["method"] and \
        a["uri"] == b["uri"] and a["nth"] == b["nth"]


def compare(name, cut, kept_from, whole, part, midstream_ok):
    """kept_from: the time of the last packet dropped (requests after it are
    whole), None when the cut split a fragmented datagram (the request it
    completes lost bytes before the cut: none is required)."""
    problems = []
    for w in whole:
        if w["method"] is None or kept_from is None or w["ts"] <= kept_from:
            continue
        got = [p for p in part if same_request(p, w)]
        if not got:
            problems.append(f"lost {w['method']} {w['uri']} at {w['ts']}")
        elif (got[0]["status"], got[0]["ttfb"]) != (w["status"], w["ttfb"]):
            problems.append(f"{w['method']} {w['uri']} at {w['ts']}: response "
                            f"{got[0]['status']} after {got[0]['ttfb']} s, was {w['status']} "
                            f"after {w['ttfb']} s")
    answers = [w for w in whole if w["status"] is not None]
    for p in part:
        if p["method"] is not None:
            match = [w for w in whole if same_request(p, w)]
            if not match or (p["status"] is not None and
                             (p["status"], p["ttfb"]) != (match[0]["status"], match[0]["ttfb"])):
                problems.append(f"invented {p['method']} {p['uri']} at {p['ts']} -> "
                                f"{p['status']}")
        elif p["status"] is not None:
            # a response whose request came before the cut: one of the answers
            # on that connection to a request sent before it
            match = [w for w in answers if w["key"] == p["key"] and w["status"] == p["status"]
                     and w["ts"] < p["ts"]]
            if not match:
                problems.append(f"invented response {p['status']} at {p['ts']}")
            else:
                answers.remove(match[-1])
    problems += midstream_ok
    what = f"{name} cut after {cut} packets" + (": " + "; ".join(problems[:4]) if problems
                                                else "")
    reason = EXCEPTIONS.get(name, {}).get(cut)
    if problems and reason:
        check(True, what + " # exception: " + reason)
    else:
        check(not problems, what)


def midstream_marks(events, handshakes):
    """Connections whose SYN is in the cut capture are not midstream; the others are."""
    wrong = []
    for e in events:
        if e["event"] == "connection" and e["midstream"] == (key(e) in handshakes):
            wrong.append(f"connection {e['conn']} midstream={e['midstream']}")
    return wrong


def is_fragment(rec, off):
    """An IPv4 fragment (MF or an offset), or an IPv6 one (a Fragment header
    right after the fixed header: the only place keepwatch's tests put one)."""
    f = rec[16:]
    if f[off - 2:off] == b"\x08\x00":
        return struct.unpack("!H", f[off + 6:off + 8])[0] & 0x3FFF != 0
    return f[off - 2:off] == b"\x86\xdd" and f[off + 6] == 44


def syn_keys(recs, linktype_offset):
    """(client, cport, server, sport) of every pure SYN in the records (Ethernet
    or Linux cooked v2, IPv4 or IPv6), as keepwatch prints them."""
    import ipaddress
    keys = set()
    for _, rec in recs:
        f = rec[16:]
        off = linktype_offset
        etype = f[off - 2:off]
        if etype == b"\x08\x00":
            hl = (f[off] & 15) * 4
            src, dst, tcp = f[off + 12:off + 16], f[off + 16:off + 20], off + hl
        elif etype == b"\x86\xdd" and f[off + 6] == 6:
            src, dst, tcp = f[off + 8:off + 24], f[off + 24:off + 40], off + 40
        else:
            continue
        if len(f) < tcp + 14 or (f[tcp + 13] & 0x16) != 0x02:
            continue
        sport, dport = struct.unpack("!HH", f[tcp:tcp + 4])
        keys.add((str(ipaddress.ip_address(src)), sport, str(ipaddress.ip_address(dst)), dport))
    return keys


def main():
    captures = sorted(glob.glob(os.path.join(PCAPS, "*.pcap")))
    with tempfile.TemporaryDirectory() as d:
        for cap in captures:
            data = open(cap, "rb").read()
            head, recs = records(data)
            linktype = struct.unpack("<I" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1")
                                     else ">I", head[20:24])[0]
            offset = {1: 14, 276: 20}.get(linktype)
            if offset is None:
                continue
            name = os.path.basename(cap)
            rc, whole_events = report(cap)
            whole = txns(whole_events)
            for n in range(1, min(len(recs), MAX_CUTS)):
                part_path = os.path.join(d, "part.pcap")
                with open(part_path, "wb") as f:
                    f.write(head)
                    for _, rec in recs[n:]:
                        f.write(rec)
                rc2, part_events = report(part_path)
                if rc or rc2:
                    check(False, f"{name} cut after {n} packets: exit status {rc}, {rc2}")
                    continue
                marks = midstream_marks(part_events, syn_keys(recs[n:], offset))
                split = is_fragment(recs[n - 1][1], offset) and is_fragment(recs[n][1], offset)
                compare(name, n, None if split else recs[n - 1][0], whole, txns(part_events),
                        marks)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
