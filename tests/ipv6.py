#!/usr/bin/env python3
"""ipv6.py: IPv6 is analysed exactly like IPv4, and never shows how.

For every capture in tests/pcaps that holds IPv6 (Ethernet frames of type
0x86dd), checks that:
  - no address in 240.0.0.0/4 (where keepwatch maps IPv6 connections for
    its reassembler) appears in the text report or the JSON lines;
  - the same packets rewritten as IPv4 (one IPv4 address per IPv6 address,
    same ports, times and payloads; only for plain IPv6/TCP frames) give the
    same JSON, apart from what the addresses themselves make (the addresses,
    community_id, wireshark_filter, the byte count);
  - NAME-ipv6.pcap, recorded like its IPv4 twin NAME.pcap (tests/pcaps/
    record.sh), gives the same connections, transactions, closes and findings
    (times, ports and dates differ between two recordings).
Environment: KEEPWATCH (the binary), srcdir (the source tree).
Prints "ok - ..." / "not ok - ..." and "N passed, M failed".
"""
import glob
import json
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile

KEEPWATCH = os.environ.get("KEEPWATCH", "./keepwatch")
PCAPS = os.path.join(os.environ.get("srcdir", "."), "tests", "pcaps")
MAPPED = re.compile(rb"(?<![0-9.])2(4[0-9]|5[0-5])\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}")

passed = failed = 0


def check(ok, what):
    global passed, failed
    print(("ok - " if ok else "not ok - ") + what)
    if ok:
        passed += 1
    else:
        failed += 1


def records(data):
    """(header, endianness, [(ts_sec, ts_frac, orig_len, frame)])"""
    endian = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    out, off = [], 24
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack(endian + "IIII", data[off:off + 16])
        out.append((sec, frac, orig, data[off + 16:off + 16 + incl]))
        off += 16 + incl
    return data[:24], endian, out


def has_ipv6(path):
    data = open(path, "rb").read()
    if data[:4] not in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1",
                        b"\xa1\xb2\x3c\x4d"):
        return False  # pcapng: none of ours holds IPv6
    _, _, recs = records(data)
    return any(f[12:14] == b"\x86\xdd" for _, _, _, f in recs)


def to_ipv4(path, out):
    """Writes the capture with each plain IPv6/TCP frame as IPv4; returns the
    address map, or None when a frame cannot be rewritten (extension headers,
    fragments)."""
    head, endian, recs = records(open(path, "rb").read())
    addrs = {}

    def v4(a):
        if a not in addrs:
            addrs[a] = bytes([127, 0, 0, 66]) if a == bytes(15) + b"\x01" else \
                bytes([10, 66, len(addrs) >> 8, len(addrs) & 0xFF])
        return addrs[a]
    body = bytearray(head)
    for sec, frac, orig, f in recs:
        if f[12:14] == b"\x86\xdd":
            if f[14 + 6] != 6:
                return None
            plen = struct.unpack("!H", f[18:20])[0]
            seg = f[54:54 + plen]
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), 0, 0x4000, 64, 6, 0,
                             v4(f[22:38]), v4(f[38:54]))
            f = f[:12] + b"\x08\x00" + ip + seg
            orig = len(f)
        body += struct.pack(endian + "IIII", sec, frac, len(f), orig) + f
    open(out, "wb").write(body)
    return {socket.inet_ntop(socket.AF_INET6, a): b for a, b in addrs.items()}


def keepwatch(path, *opts):
    p = subprocess.run([KEEPWATCH, *opts, "-r", path], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, check=False)
    return p.returncode, p.stdout


def normalised(json_bytes, addr_names):
    """JSON events with the address-made fields out and addresses named."""
    events = []
    for line in json_bytes.decode().splitlines():
        e = json.loads(line)
        for k in ("community_id", "wireshark_filter", "bytes"):
            e.pop(k, None)
        for k in ("client_ip", "server_ip"):
            if e.get(k) is not None:
                e[k] = addr_names.get(e[k], e[k])
        text = json.dumps(e, sort_keys=True)
        for name, label in addr_names.items():
            text = text.replace(name + " ", label + " ").replace(name + ":", label + ":")
        events.append(text)
    return events


def summary(json_bytes):
    """What two recordings of the same exchange share."""
    out = []
    for line in json_bytes.decode().splitlines():
        e = json.loads(line)
        if e["event"] == "transaction":
            out.append(("txn", e["conn"], e["request"], e["method"], e["uri"], e["status"],
                        e["framing"], e["no_response"], e["resp_connection"]))
        elif e["event"] == "connection":
            out.append(("conn", e["conn"], e["requests"], e["responses"], e["close"],
                        e["closed_by"], e["reused"], e["http"]))
        elif e["event"] == "alert":
            out.append(("alert", e["conn"], e["rule"], e["request"]))
        elif e["event"] == "stats":
            out.append(("stats", e["connections"], e["requests"], e["responses"],
                        e["skipped"]["ipv6"], e["skipped"]["mid_stream"]))
    return out


def main():
    captures = sorted(p for p in glob.glob(os.path.join(PCAPS, "*.pcap")) if has_ipv6(p))
    check(len(captures) >= 4, f"{len(captures)} captures with IPv6 in tests/pcaps")
    with tempfile.TemporaryDirectory() as d:
        for cap in captures:
            name = os.path.basename(cap)
            rc_t, text = keepwatch(cap)
            rc_j, js = keepwatch(cap, "--json")
            leaks = MAPPED.findall(text) + MAPPED.findall(js)
            check(rc_t == 0 and rc_j == 0 and not leaks,
                  f"{name}: no mapped address (240.0.0.0/4) in the report ({len(leaks)} seen)")
            v4 = os.path.join(d, "v4.pcap")
            names = to_ipv4(cap, v4)
            if names is None:
                check(True, f"{name}: as IPv4 # skipped: extension headers or fragments")
            else:
                back = {socket.inet_ntoa(b): "HOST%d" % i for i, b in enumerate(names.values())}
                mine = {n: "HOST%d" % i for i, n in enumerate(names)}
                same = normalised(js, mine) == normalised(keepwatch(v4, "--json")[1], back)
                check(same, f"{name}: the same report as its packets rewritten as IPv4")
            twin = cap.replace("-ipv6.pcap", ".pcap")
            if twin != cap and os.path.exists(twin):
                a, b = summary(js), summary(keepwatch(twin, "--json")[1])
                check(a == b, f"{name}: the same connections, transactions, closes and "
                              f"findings as {os.path.basename(twin)}"
                              + ("" if a == b else f": {a} != {b}"))
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
