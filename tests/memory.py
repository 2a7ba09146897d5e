#!/usr/bin/env python3
"""memory.py: hostile volumes cost counters, not memory.

Writes synthetic captures (Ethernet, IPv4, TCP with real handshakes) and runs
keepwatch on each, reading its peak RSS from the kernel (wait4). Checks what a
user running keepwatch on a busy or hostile link relies on:
  - peak RSS does not grow with the number of connections in a capture;
  - more connections open at once than the stream table holds are dropped
    and counted (streams_evicted), never silently and never unboundedly;
  - a SYN flood, a header bomb and a flood of pipelined requests stay bounded
    and are reported; requests in flight cost what their text holds;
  - connections whose ports were chosen to collide in the flow table's hash
    (as it was before it was keyed per run) are all followed; `--generate
    hashflood FILE N` writes that capture, for timing it;
  - incomplete fragmented datagrams from many hosts cost bounded memory;
  - when the reassembler runs out of memory (an address-space limit), what was
    decoded before is still reported, then the error, exit status 2.
Environment: KEEPWATCH (the binary), MEMORY_SCALE (multiplies the sizes),
KW_SANITIZED=1 (sanitizer build: RSS bounds and the memory limit not checked).
Prints "ok - ..." / "not ok - ..." and "N passed, M failed".
"""
import json
import os
import resource
import struct
import subprocess
import sys
import tempfile

KEEPWATCH = os.environ.get("KEEPWATCH", "./keepwatch")
SCALE = float(os.environ.get("MEMORY_SCALE", "1"))
# Under AddressSanitizer RSS measures the sanitizer's shadow memory: the
# volumes still run (no crash, the right counts), the RSS bounds are not checked.
SANITIZED = os.environ.get("KW_SANITIZED") == "1"

CLIENT_MAC, SERVER_MAC = b"\x02\x00\x00\x00\x00\x01", b"\x02\x00\x00\x00\x00\x02"
SERVER_IP = bytes([10, 0, 0, 1])
SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01


class Pcap:
    """A pcap writer with one TCP helper; timestamps advance 10 us a packet."""

    def __init__(self, path):
        self.f = open(path, "wb", buffering=1 << 20)
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        self.t = 1_700_000_000_000_000

    def tcp(self, src, sport, dst, dport, seq, ack, flags, payload=b""):
        self.t += 10
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                          5 << 4, flags, 65535, 0, 0)
        total = 20 + 20 + len(payload)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, 6, 0, src, dst)
        eth = (SERVER_MAC + CLIENT_MAC if src != SERVER_IP else CLIENT_MAC + SERVER_MAC) + b"\x08\x00"
        frame = eth + ip + tcp + payload
        self.f.write(struct.pack("<IIII", self.t // 1_000_000, self.t % 1_000_000,
                                 len(frame), len(frame)))
        self.f.write(frame)

    def first_fragment(self, src, dst, ident, payload):
        """The first fragment (MF set) of a TCP/IPv4 datagram: the rest never comes."""
        self.t += 10
        total = 20 + len(payload)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, ident & 0xFFFF, 0x2000, 64, 6, 0,
                         src, dst)
        frame = CLIENT_MAC + SERVER_MAC + b"\x08\x00" + ip + payload
        self.f.write(struct.pack("<IIII", self.t // 1_000_000, self.t % 1_000_000,
                                 len(frame), len(frame)))
        self.f.write(frame)

    def close(self):
        self.f.close()


def client_ip(i):
    return bytes([10, 1 + (i >> 16) % 200, (i >> 8) & 0xFF, i & 0xFF])


class Conn:
    """One client connection to the server, tracking sequence numbers."""

    def __init__(self, pc, i):
        self.pc, self.ip, self.port = pc, client_ip(i), 10000 + i % 50000
        self.c, self.s = 1000, 5000

    def handshake(self):
        pc = self.pc
        pc.tcp(self.ip, self.port, SERVER_IP, 80, self.c, 0, SYN)
        pc.tcp(SERVER_IP, 80, self.ip, self.port, self.s, self.c + 1, SYN | ACK)
        self.c += 1
        self.s += 1
        pc.tcp(self.ip, self.port, SERVER_IP, 80, self.c, self.s, ACK)

    def send(self, data):
        self.pc.tcp(self.ip, self.port, SERVER_IP, 80, self.c, self.s, ACK | PSH, data)
        self.c += len(data)

    def answer(self, data):
        self.pc.tcp(SERVER_IP, 80, self.ip, self.port, self.s, self.c, ACK | PSH, data)
        self.s += len(data)

    def close(self):
        pc = self.pc
        pc.tcp(self.ip, self.port, SERVER_IP, 80, self.c, self.s, FIN | ACK)
        self.c += 1
        pc.tcp(SERVER_IP, 80, self.ip, self.port, self.s, self.c, FIN | ACK)
        self.s += 1
        pc.tcp(self.ip, self.port, SERVER_IP, 80, self.c, self.s, ACK)


REQ = b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n"
RESP = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def short_connections(path, n):
    pc = Pcap(path)
    for i in range(n):
        c = Conn(pc, i)
        c.handshake()
        c.send(REQ)
        c.answer(RESP)
        c.close()
    pc.close()


def concurrent_connections(path, n):
    pc = Pcap(path)
    conns = [Conn(pc, i) for i in range(n)]
    for c in conns:
        c.handshake()
    for c in conns:
        c.send(REQ)
        c.answer(RESP)
    for c in conns:
        c.close()
    pc.close()


def syn_flood(path, n):
    pc = Pcap(path)
    for i in range(n):
        pc.tcp(client_ip(i), 10000 + i % 50000, SERVER_IP, 80, i * 7919, 0, SYN)
    pc.close()


def header_bomb(path, megabytes):
    pc = Pcap(path)
    c = Conn(pc, 1)
    c.handshake()
    c.send(b"GET / HTTP/1.1\r\n")
    line = b"X-Filler: " + b"a" * 1388 + b"\r\n"
    for _ in range(int(megabytes * 1024 * 1024 / len(line))):
        c.send(line)
    c.close()
    pc.close()


def pipeline_flood(path, n):
    pc = Pcap(path)
    c = Conn(pc, 1)
    c.handshake()
    burst = REQ * 40
    for _ in range(n // 40):
        c.send(burst)
    c.close()
    pc.close()


def run(path, *opts):
    """keepwatch --json on path: (stats event, the first connection events).
    Events are read as a stream, so that this process stays small."""
    conns, stats = [], None
    with subprocess.Popen([KEEPWATCH, *opts, "--json", "-r", path], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL) as p:
        for line in p.stdout:
            e = json.loads(line)
            if e["event"] == "stats":
                stats = e
            elif e["event"] == "connection" and len(conns) < 10:
                conns.append(e)
    return stats, conns


def peak_rss_kib(path, *opts, fmt="--json"):
    """keepwatch's own peak RSS, writing JSON (or, fmt=None, the text report).
    A forked child counts its parent's pages until it execs, so this process
    keeps itself small (captures are written by another)."""
    pid = os.fork()
    if pid == 0:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.execv(KEEPWATCH, [KEEPWATCH, *opts, *([fmt] if fmt else []), "-r", path])
    _, status, usage = os.wait4(pid, 0)
    return usage.ru_maxrss, os.waitstatus_to_exitcode(status)


passed = failed = 0


def check_rss(ok, what):
    check(ok or SANITIZED, what + (" (not checked under a sanitizer)" if SANITIZED else ""))


def check(ok, what):
    global passed, failed
    print(("ok - " if ok else "not ok - ") + what)
    if ok:
        passed += 1
    else:
        failed += 1


def memory_eaters(path, n):
    """5 whole exchanges, then `n` connections that each send one 60,000-byte
    segment and stay open: libnids keeps each in a 120,000-byte buffer."""
    pc = Pcap(path)
    for i in range(5):
        c = Conn(pc, i)
        c.handshake()
        c.send(REQ)
        c.answer(RESP)
        c.close()
    head = b"POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 1000000\r\n\r\n"
    body = head + b"u" * (60000 - len(head))
    for i in range(5, 5 + n):
        c = Conn(pc, i)
        c.handshake()
        c.send(body)
    pc.close()


M64 = (1 << 64) - 1


def unseeded_home(client, port):
    """The home slot keepwatch's flow table gave a connection to SERVER_IP:80
    before its hash was keyed (at the default --max-connections: 131,072 slots)."""
    e1 = int.from_bytes(client, "little") << 16 | port
    e2 = int.from_bytes(SERVER_IP, "little") << 16 | 80
    if e1 > e2:
        e1, e2 = e2, e1
    h = (e1 * 0x9E3779B97F4A7C15 ^ e2) & M64
    h ^= h >> 31
    h = (h * 0xBF58476D1CE4E5B9) & M64
    h ^= h >> 29
    return h & 0x1FFFF


def colliding_endpoints(n, skip=0):
    """`n` client endpoints whose home slots under the unseeded hash lie in one
    window of 4,096 slots: a single probe run thousands of slots long. The
    first `skip` found are left out (so that RSTs can use others)."""
    found = []
    i = 0
    while len(found) < n + skip:
        ip = bytes([10, 1 + (i >> 24) % 200, (i >> 16) & 0xFF, (i >> 8) & 0xFF])
        port = 1024 + (i & 0xFF) * 251 % 64000
        i += 1
        if unseeded_home(ip, port) < 4096:
            found.append((ip, port))
    return found[skip:]


def hash_flood(path, n):
    """`n` connections whose ports collide in the unseeded flow table, kept
    open, then 4n RSTs of connections that do not exist, colliding too: each
    RST is looked up, and with the unseeded hash walks the whole pile."""
    pc = Pcap(path)
    ends = colliding_endpoints(5 * n)
    for ip, port in ends[:n]:
        pc.tcp(ip, port, SERVER_IP, 80, 1000, 0, SYN)
        pc.tcp(SERVER_IP, 80, ip, port, 5000, 1001, SYN | ACK)
        pc.tcp(ip, port, SERVER_IP, 80, 1001, 5001, ACK)
    for ip, port in ends[n:]:
        pc.tcp(ip, port, SERVER_IP, 80, 77, 0, 0x04)  # RST
    pc.close()


def fragment_flood(path, n):
    """`n` datagrams to as many hosts, each its first 1,480-byte fragment only
    (libnids bounded fragment memory per destination host, not in total)."""
    pc = Pcap(path)
    body = struct.pack("!HHIIBBHHH", 40000, 80, 1, 1, 5 << 4, ACK, 65535, 0, 0) + b"f" * 1460
    for i in range(n):
        pc.first_fragment(SERVER_IP, client_ip(i), i, body)
    pc.close()


def pipelined_connections(path, n):
    """`n` connections open at once, each with 32 short requests pipelined in
    one segment and never answered: every connection keeps 32 in flight."""
    pc = Pcap(path)
    conns = [Conn(pc, i) for i in range(n)]
    for c in conns:
        c.handshake()
    for c in conns:
        c.send(b"GET / HTTP/1.1\n\n" * 32)
    pc.close()


GENERATORS = {"short": short_connections, "concurrent": concurrent_connections,
              "synflood": syn_flood, "bomb": header_bomb, "pipeline": pipeline_flood,
              "eaters": memory_eaters, "pipelined": pipelined_connections,
              "hashflood": hash_flood, "fragflood": fragment_flood}


def run_limited(path, limit_bytes):
    """keepwatch --json on path with its address space limited: (exit status,
    stdout lines, stderr lines)."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))
    p = subprocess.run([KEEPWATCH, "--json", "-r", path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, preexec_fn=limit, check=False)
    return p.returncode, p.stdout.decode().splitlines(), p.stderr.decode().splitlines()


def smallest_limit(path):
    """The smallest address-space limit (to 256 KiB) under which keepwatch
    reads `path` with exit status 0: what it needs before any connection."""
    low, high = 1 << 20, 1 << 32
    if run_limited(path, high)[0] != 0:
        return None
    while high - low > 256 << 10:
        mid = (low + high) // 2
        if run_limited(path, mid)[0] == 0:
            high = mid
        else:
            low = mid
    return high


def out_of_memory(d):
    """Out of memory inside libnids: the connections decoded before are
    reported, the open ones end as capture-end, the stats line is written,
    then the error on standard error, exit 2."""
    small, eaters = os.path.join(d, "whole.pcap"), os.path.join(d, "eaters.pcap")
    generate("eaters", small, 0)
    generate("eaters", eaters, 600)
    base = smallest_limit(small)
    if base is None:
        check(False, "out of memory: keepwatch runs without a limit")
        return
    # 24 MiB past what it needs: 200 or so of the 600 connections fit in it
    rc, out, err = run_limited(eaters, base + (24 << 20))
    events = [json.loads(line) for line in out]
    conns = [e for e in events if e["event"] == "connection"]
    stats = [e for e in events if e["event"] == "stats"]
    said = "out of memory in the TCP reassembler (libnids, "
    check(rc == 2 and err and err[-1].startswith("keepwatch: " + said),
          f"out of memory inside libnids: exit status {rc} (want 2), stderr ends "
          f"{err[-1] if err else None!r}")
    first = [(e["conn"], e["requests"], e["responses"], e["close"]) for e in conns[:5]]
    check(first == [(i, 1, 1, "fin") for i in range(1, 6)],
          f"out of memory: the 5 whole connections before it are reported: {first}")
    opened = conns[5:]
    check(len(stats) == 1 and events[-1] is stats[0] and stats[0]["connections"] == len(conns)
          and 10 < len(opened) < 600 and all(e["close"] == "capture-end" for e in opened),
          f"out of memory: {len(opened)} connections open at the failure end as capture-end "
          f"({len(conns)} in all), then the stats line")


def generate(kind, path, size):
    """In a process of its own, so that this one stays small: a forked child's
    peak RSS counts its parent's pages until it execs keepwatch."""
    subprocess.run([sys.executable, __file__, "--generate", kind, path, repr(size)], check=True)


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--generate":
        GENERATORS[sys.argv[2]](sys.argv[3], float(sys.argv[4]) if sys.argv[2] == "bomb"
                                else int(sys.argv[4]))
        return 0
    with tempfile.TemporaryDirectory() as d:
        small, large = int(10000 * SCALE), int(100000 * SCALE)
        a, b = os.path.join(d, "small.pcap"), os.path.join(d, "large.pcap")
        generate("short", a, small)
        generate("short", b, large)
        rss_a, rc_a = peak_rss_kib(a)
        rss_b, rc_b = peak_rss_kib(b)
        stats, _ = run(b)
        check(rc_a == 0 and rc_b == 0, "short connections: exit status 0")
        check(stats["connections"] == large and stats["requests"] == large and
              stats["responses"] == large,
              f"{large} short connections: all seen ({stats['connections']} connections, "
              f"{stats['requests']} requests, {stats['responses']} responses)")
        check_rss(rss_b <= rss_a * 1.25 + 2048,
              f"peak RSS does not grow with the capture: {small} connections {rss_a} KiB, "
              f"{large} connections {rss_b} KiB")

        n = int(60000 * SCALE) if SCALE >= 1 else 60000
        p = os.path.join(d, "concurrent.pcap")
        generate("concurrent", p, n)
        stats, _ = run(p)
        rss, rc = peak_rss_kib(p)
        opened = stats["connections"] - stats["connections_midstream"]
        check(rc == 0 and stats["streams_evicted"] > 0 and opened == n,
              f"{n} connections open at once, more than --max-connections "
              f"(49,152): {stats['streams_evicted']} evicted and counted, "
              f"{stats['connections_midstream']} picked up again on their later data")
        # about 12 KiB per connection open at once, 8 KiB of it libnids' two buffers
        check_rss(rss < 49153 * 16, f"{n} connections open at once: peak RSS {rss} KiB, "
                                f"bounded by the stream table")
        rss_small, rc = peak_rss_kib(p, "--max-connections", "3072")
        check_rss(rc == 0 and rss_small < 3073 * 16 + 30 * 1024,
              f"the same with --max-connections 3072: peak RSS {rss_small} KiB")

        p = os.path.join(d, "synflood.pcap")
        generate("synflood", p, int(300000 * SCALE))
        stats, _ = run(p)
        rss, rc = peak_rss_kib(p)
        check(rc == 0 and stats["connections"] == 0,
              f"SYN flood of {int(300000 * SCALE)}: no connection, exit 0")
        check_rss(rss < 200 * 1024, f"SYN flood: peak RSS {rss} KiB")

        p = os.path.join(d, "bomb.pcap")
        generate("bomb", p, 20 * SCALE)
        stats, conns = run(p)
        rss, rc = peak_rss_kib(p)
        check(rc == 0 and conns and conns[0]["not_http"] == "header section over the size cap",
              f"a {20 * SCALE:.0f} MB header section: reported as "
              f"{conns[0]['not_http'] if conns else None!r}")
        check_rss(rss < 100 * 1024, f"header bomb: peak RSS {rss} KiB")

        p = os.path.join(d, "pipeline.pcap")
        generate("pipeline", p, int(20000 * SCALE))
        stats, conns = run(p)
        rss, rc = peak_rss_kib(p)
        check(rc == 0 and conns and conns[0]["not_http"] == "too many requests outstanding" and
              stats["requests"] == 32,
              f"{int(20000 * SCALE)} pipelined requests never answered: followed up to 32, "
              f"then {conns[0]['not_http'] if conns else None!r}")
        check_rss(rss < 100 * 1024, f"pipeline flood: peak RSS {rss} KiB")

        p = os.path.join(d, "hashflood.pcap")
        n = int(5000 * SCALE)
        generate("hashflood", p, n)
        stats, _ = run(p)
        check(stats["connections"] == n and stats["skipped"]["mid_stream"] == 4 * n,
              f"{n} connections with ports chosen to collide, then {4 * n} stray RSTs: "
              f"{stats['connections']} connections, {stats['skipped']['mid_stream']} mid-stream")

        p = os.path.join(d, "fragflood.pcap")
        n = int(100000 * SCALE)
        generate("fragflood", p, n)
        rss, rc = peak_rss_kib(p)
        check(rc == 0, f"{n} incomplete fragmented datagrams to {n} hosts: exit status {rc}")
        check_rss(rss < 100 * 1024, f"incomplete fragments to {n} hosts: peak RSS {rss} KiB "
                                    f"(bounded in total, not per host)")
        n = int(8000 * SCALE) if SCALE >= 1 else 8000
        p = os.path.join(d, "pipelined.pcap")
        generate("pipelined", p, n)
        stats, _ = run(p)
        rss, rc = peak_rss_kib(p)
        check(rc == 0 and stats["requests"] == 32 * n,
              f"{n} connections with 32 pipelined requests each: {stats['requests']} requests")
        # The model of README and docs/security.md: at most 32 KiB a connection
        # open at once, whatever it carries (12 KiB, and 32 requests in flight of
        # about 0.5 KiB each); about 60 KiB a connection before: 502 MB for 8,000
        check_rss(rss < n * 32 + 30 * 1024,
                  f"{n} connections with 32 requests in flight each: peak RSS {rss} KiB "
                  f"({rss // n} KiB a connection, at most 32)")
        rss, rc = peak_rss_kib(p, fmt=None)
        # the text report's lines of an open connection are bounded too (4 KiB
        # of lines, 8 tail lines, 8 findings): about 56 KiB a connection before
        check_rss(rc == 0 and rss < n * 32 + 30 * 1024,
                  f"the same, writing the text report: peak RSS {rss} KiB "
                  f"({rss // n} KiB a connection, at most 32)")

        if SANITIZED:  # sanitizers reserve terabytes of address space
            check(True, "out of memory inside libnids (not checked under a sanitizer)")
        else:
            out_of_memory(d)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
