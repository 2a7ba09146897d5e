#!/usr/bin/env python3
"""synth.py: captures that loopback traffic from real servers cannot produce,
written packet by packet (python3 stdlib only). Writes into the folder given
(default: this one).

  retransmit-after-fin.pcap: the server's response segment is missing at the
  capture point and its FIN is captured first; the response comes again 200 ms
  later (a retransmission). The FIN must be taken in stream order: the response
  is seen, nothing is lost, and the close counts as announced.
"""
import os
import socket
import struct
import sys

FIN, SYN, PSH, ACK = 1, 2, 8, 16


class Pcap:
    def __init__(self, path):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))

    def packet(self, ts, frame):
        sec = int(ts)
        self.f.write(struct.pack("<IIII", sec, int(round((ts - sec) * 1e6)), len(frame),
                                 len(frame)))
        self.f.write(frame)

    def close(self):
        self.f.close()


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def tcp(src, dst, sport, dport, seq, ack, flags, data=b""):
    th = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4,
                     flags, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(data), 0, 0x4000, 64, 6, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + ip + th + data


def retransmit_after_fin(path):
    p = Pcap(path)
    c, s = ("10.0.0.1", 40000), ("10.0.0.2", 80)
    cs, ss = 1000, 5000
    p.packet(1.0, tcp(c[0], s[0], c[1], s[1], cs, 0, SYN))
    p.packet(1.00001, tcp(s[0], c[0], s[1], c[1], ss, cs + 1, SYN | ACK))
    cs, ss = cs + 1, ss + 1
    p.packet(1.00002, tcp(c[0], s[0], c[1], s[1], cs, ss, ACK))
    req = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
    p.packet(1.1, tcp(c[0], s[0], c[1], s[1], cs, ss, PSH | ACK, req))
    cs += len(req)
    resp = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi"
    p.packet(1.101, tcp(s[0], c[0], s[1], c[1], ss + len(resp), cs, FIN | ACK))  # FIN first
    p.packet(1.301, tcp(s[0], c[0], s[1], c[1], ss, cs, PSH | ACK, resp))        # then the data
    ss += len(resp) + 1
    p.packet(1.302, tcp(c[0], s[0], c[1], s[1], cs, ss, FIN | ACK))
    cs += 1
    p.packet(1.303, tcp(s[0], c[0], s[1], c[1], ss, cs, ACK))
    p.close()


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    retransmit_after_fin(os.path.join(out, "retransmit-after-fin.pcap"))
