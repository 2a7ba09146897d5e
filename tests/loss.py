#!/usr/bin/env python3
"""loss.py: a segment the capture missed costs what it carried, not the rest.

For every capture of tests/pcaps recorded from real servers, each data
segment in turn is removed (as if the capture had dropped it: the receiver's
ACKs still pass it), and the report on what is left is compared with the
report on the whole capture (keepwatch --json):
  - every transaction whose request and response both start after the
    missing segment is still decoded: same method, target and status;
  - a transaction whose request or response the missing segment was in is,
    if reported, marked capture_loss;
  - when the receiver's ACKs pass it (a request sent into a closing
    connection and answered by a RST is not), the bytes missing are counted
    on the connection (client_missed_bytes or server_missed_bytes: the
    segment's length) and no connection ends with a gap (reassembly went
    past the hole);
  - nothing is invented: every transaction reported is one of the whole
    capture's.
Environment: KEEPWATCH (the binary), srcdir (the source tree).
Prints "ok - ..." / "not ok - ..." and "N passed, M failed".
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

KEEPWATCH = os.environ.get("KEEPWATCH", "./keepwatch")
PCAPS = os.path.join(os.environ.get("srcdir", "."), "tests", "pcaps")
# Recorded from real servers (tests/pcaps/README.md), Ethernet, whole packets.
CAPTURES = ["tornado-http11.pcap", "tornado-http10.pcap", "tornado-http10-keepalive.pcap",
            "tornado-chunked.pcap", "tomcat-max2-timeout3.pcap", "nginx-pipelined.pcap",
            "apache-keepalive.pcap", "lighttpd-keepalive.pcap", "node-keepalive.pcap",
            "nginx-keepalive.pcap", "idle-race-node.pcap", "rule-close-ignored.pcap",
            "rule-max-exceeded.pcap", "rule-conflicting-framing.pcap",
            "tornado-http11-ipv6.pcap", "nginx-dual-stack.pcap"]

passed = failed = 0


def check(ok, what):
    global passed, failed
    print(("ok - " if ok else "not ok - ") + what)
    if ok:
        passed += 1
    else:
        failed += 1


def records(data):
    out, off = [], 24
    while off + 16 <= len(data):
        sec, usec, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        out.append((sec * 1_000_000 + usec, data[off:off + 16 + incl]))
        off += 16 + incl
    return data[:24], out


def tcp_payload(rec):
    """(sport, dport, payload length, seq, ack) of an Ethernet IPv4/IPv6 TCP
    record, or None."""
    f = rec[16:]
    if f[12:14] == b"\x08\x00" and f[23] == 6:
        hl = (f[14] & 15) * 4
        total = struct.unpack("!H", f[16:18])[0]
        tcp = 14 + hl
    elif f[12:14] == b"\x86\xdd" and f[20] == 6:
        total = 40 + struct.unpack("!H", f[18:20])[0]
        hl, tcp = 40, 54
    else:
        return None
    sport, dport, seq, ack = struct.unpack("!HHII", f[tcp:tcp + 12])
    return sport, dport, total - hl - (f[tcp + 12] >> 4) * 4, seq, ack


def acknowledged(recs, k, pp):
    """The receiver's ACKs pass the segment later: the network delivered it."""
    sport, dport, length, seq, _ = pp
    end = (seq + length) & 0xFFFFFFFF
    for _, rec in recs[k + 1:]:
        q = tcp_payload(rec)
        if q and (q[0], q[1]) == (dport, sport) and ((q[4] - end) & 0xFFFFFFFF) < 1 << 31:
            return True
    return False


def report(path):
    p = subprocess.run([KEEPWATCH, "--json", "-r", path], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, check=False)
    return p.returncode, [json.loads(line) for line in p.stdout.decode().splitlines()]


def usec(iso):
    import calendar
    date, frac = iso.rstrip("Z").split(".")
    t = calendar.timegm(tuple(int(x) for x in date.replace("T", "-").replace(":", "-")
                              .split("-")) + (0, 0, 0))
    return t * 1_000_000 + int(frac)


def ports(e):
    return e["client_port"], e["server_port"]


def txns(events):
    out, seen = [], {}
    for e in events:
        if e["event"] == "transaction":
            t = usec(e["ts"])
            ttfb = e["ttfb_s"]
            same = (ports(e), t, e["method"], e["uri"])  # requests pipelined in one segment
            seen[same] = seen.get(same, 0) + 1
            out.append({"ports": ports(e), "ts": t, "method": e["method"], "uri": e["uri"],
                        "nth": seen[same],
                        "status": e["status"], "loss": e["capture_loss"],
                        "resp": None if ttfb is None else t + round(ttfb * 1e6),
                        "end": t + round((e["response_time_s"] or ttfb or 0) * 1e6)})
    return out


def compare(name, k, t_gone, pp, proven, whole, part, conns):
    problems = []
    sport, dport, length = pp[:3]
    for w in whole:
        if (w["ports"] != (sport, dport) and w["ports"] != (dport, sport)) or \
                w["method"] is None:
            continue
        later = w["ts"] > t_gone and (w["resp"] is None or w["resp"] > t_gone)
        got = [p for p in part if p["ports"] == w["ports"] and p["ts"] == w["ts"]
               and p["method"] == w["method"] and p["uri"] == w["uri"] and p["nth"] == w["nth"]]
        if later and (not got or got[0]["status"] != w["status"]):
            problems.append(f"lost {w['method']} {w['uri']} at {w['ts']}")
        if w["ports"][1] == sport:  # the server's: a response
            touched = w["resp"] is not None and w["resp"] <= t_gone <= w["end"]
        else:
            touched = w["ts"] <= t_gone and (w["resp"] is None or t_gone < w["resp"])
        if touched and got and not got[0]["loss"]:
            problems.append(f"{w['method']} {w['uri']}: not marked capture_loss")
    for p in part:
        if p["method"] is not None and not any(
                w["ports"] == p["ports"] and w["ts"] == p["ts"] and w["method"] == p["method"]
                and w["uri"] == p["uri"] for w in whole):
            problems.append(f"invented {p['method']} {p['uri']}")
    for e in conns:
        if ports(e) in ((sport, dport), (dport, sport)):
            missed = e["client_missed_bytes"] if e["client_port"] == sport else \
                e["server_missed_bytes"]
            if proven and (missed != length or e["gap"] is not None):
                problems.append(f"connection {e['conn']}: {missed} bytes missed (want "
                                f"{length}), gap {e['gap']}")
    check(not problems, f"{name} without packet {k + 1} ({length} bytes)"
          + (": " + "; ".join(problems[:4]) if problems else ""))


def main():
    with tempfile.TemporaryDirectory() as d:
        for name in CAPTURES:
            data = open(os.path.join(PCAPS, name), "rb").read()
            head, recs = records(data)
            rc, whole_events = report(os.path.join(PCAPS, name))
            whole = txns(whole_events)
            for k, (t_gone, rec) in enumerate(recs):
                pp = tcp_payload(rec)
                if not pp or pp[2] == 0:
                    continue
                path = os.path.join(d, "part.pcap")
                with open(path, "wb") as f:
                    f.write(head + b"".join(r for i, (_, r) in enumerate(recs) if i != k))
                rc2, events = report(path)
                if rc or rc2:
                    check(False, f"{name} without packet {k + 1}: exit status {rc}, {rc2}")
                    continue
                conns = [e for e in events if e["event"] == "connection"]
                compare(name, k, t_gone, pp, acknowledged(recs, k, pp), whole, txns(events),
                        conns)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
