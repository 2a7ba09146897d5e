#!/usr/bin/env python3
"""synth.py: captures that loopback traffic from real servers cannot produce,
written packet by packet (python3 stdlib only). Writes into the folder given
(default: this one).

  escape-in-uri.pcap: a request target holding a backslash, a double quote,
  ESC, an invalid UTF-8 byte (0xff) and a valid one (e with acute accent),
  answered by a server that then closes at once without Connection: close.
  The same wire bytes must print the same way on the transaction line and
  in the unannounced-close finding that quotes the request line.

  query-in-uri.pcap: a request whose target carries a secret in its query
  (/login?token=s3cret), answered and then closed unannounced: --redact
  uri-query must drop the query from every line that shows the target.

  retransmit-after-fin.pcap: the server's response segment is missing at the
  capture point and its FIN is captured first; the response comes again 200 ms
  later (a retransmission). The FIN must be taken in stream order: the response
  is seen, nothing is lost, and the close counts as announced.

  http-as-spoken.pcap: requests and responses as clients and servers send
  them, not as RFC 7230 says: a target with a space, bare LF line ends, junk
  before a status line, an HTTP/0.9 request and its response (the body
  alone, to the close), a status 000, a Content-Length folded onto a
  continuation line, a Transfer-Encoding of "chunked" in quotes. Each is
  decoded, paired and recorded (req_anomalies, resp_anomalies).

  not-http.pcap: connections to port 80 that speak something else: TLS, SSH,
  the HTTP/2 preface, binary data, SMTP. Each says what it is (not_http).

  cut-and-answered.pcap: a response cut short by the server's FIN (its
  framing and the bytes seen are reported); a request whose headers turn
  invalid after the server already answered it (the response is reported).

  tunnel-idle.pcap: a CONNECT tunnel left idle 20 s, then the server closes;
  and a plain exchange on a second connection. The tunnel's idle time is not
  HTTP idle time: the server's idle timeout is not inferred from it.

  proxied.pcap: a request through two proxies (X-Forwarded-For, Via) with a
  Content-Type, answered after a 100 Continue by a 201 with its own; the
  client's body sent again (a retransmission) and a zero window from the
  server on the way; then a response whose reason phrase holds a byte that is
  not UTF-8. The transaction fields and the connection's history (T, w) say
  so, and tshark agrees on the packets and bytes.

  idle-timeout.pcap: connection 1 makes one request, then stays silent for
  400 s (its FIN or RST lost, as far as the capture goes) while connection 2
  makes a request every 20 s; then connection 1's client sends a second
  request, which is answered, and both connections close. With the default
  idle limit (--flow-timeout-idle 300) connection 1 ends as a timeout 300 s
  after its last packet and its late packets are mid-stream; with 0 it is
  followed to the end.
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


def tcp(src, dst, sport, dport, seq, ack, flags, data=b"", window=65535):
    th = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4,
                     flags, window, 0, 0)
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


class Conn:
    """One client connection to 10.0.0.2:80, its sequence numbers kept."""

    def __init__(self, pcap, client_ip, port, client_isn, server_isn):
        self.p, self.c, self.s = pcap, (client_ip, port), ("10.0.0.2", 80)
        self.cs, self.ss = client_isn, server_isn

    def handshake(self, t):
        c, s = self.c, self.s
        self.p.packet(t, tcp(c[0], s[0], c[1], s[1], self.cs, 0, SYN))
        self.p.packet(t + 0.00001, tcp(s[0], c[0], s[1], c[1], self.ss, self.cs + 1, SYN | ACK))
        self.cs, self.ss = self.cs + 1, self.ss + 1
        self.p.packet(t + 0.00002, tcp(c[0], s[0], c[1], s[1], self.cs, self.ss, ACK))

    def exchange(self, t, path):
        c, s = self.c, self.s
        req = b"GET /" + path + b" HTTP/1.1\r\nHost: x\r\n\r\n"
        resp = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
        self.p.packet(t, tcp(c[0], s[0], c[1], s[1], self.cs, self.ss, PSH | ACK, req))
        self.cs += len(req)
        self.p.packet(t + 0.001, tcp(s[0], c[0], s[1], c[1], self.ss, self.cs, PSH | ACK, resp))
        self.ss += len(resp)

    def server_close(self, t):
        """The server closes first: FIN, the client's FIN, the last ACK."""
        c, s = self.c, self.s
        self.p.packet(t, tcp(s[0], c[0], s[1], c[1], self.ss, self.cs, FIN | ACK))
        self.ss += 1
        self.p.packet(t + 0.0001, tcp(c[0], s[0], c[1], s[1], self.cs, self.ss, FIN | ACK))
        self.cs += 1
        self.p.packet(t + 0.0002, tcp(s[0], c[0], s[1], c[1], self.ss, self.cs, ACK))

    def close(self, t):
        c, s = self.c, self.s
        self.p.packet(t, tcp(c[0], s[0], c[1], s[1], self.cs, self.ss, FIN | ACK))
        self.cs += 1
        self.p.packet(t + 0.0001, tcp(s[0], c[0], s[1], c[1], self.ss, self.cs, FIN | ACK))
        self.ss += 1
        self.p.packet(t + 0.0002, tcp(c[0], s[0], c[1], s[1], self.cs, self.ss, ACK))


def idle_timeout(path):
    p = Pcap(path)
    quiet, busy = Conn(p, "10.0.0.1", 40001, 1000, 5000), Conn(p, "10.0.0.3", 40002, 7000, 9000)
    quiet.handshake(1.0)
    quiet.exchange(1.1, b"a")
    busy.handshake(1.5)
    for i in range(24):  # every 20 s from 10 s to 470 s
        busy.exchange(10.0 + 20 * i, b"b%d" % i)
        if i == 19:  # the quiet one again, 400.1 s after its last packet (1.101)
            quiet.exchange(401.2, b"again")
            quiet.close(402.0)
    busy.close(480.0)
    p.close()


def escape_in_uri(path):
    p = Pcap(path)
    conn = Conn(p, "10.0.0.1", 40003, 3000, 8000)
    conn.handshake(1.0)
    conn.exchange(1.1, b'a\\b"c\x1bd\xffe\xc3\xa9f')
    conn.server_close(1.1015)
    p.close()


# --- fragments and IPv6 extension headers -------------------------------------------

DEST_OPTS, FRAG6 = 60, 44


def tcp_segment(sport, dport, seq, ack, flags, data=b""):
    return struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4,
                       flags, 65535, 0, 0) + data


def ipv6_frame(src, dst, next_header, payload):
    ip = struct.pack("!IHBB16s16s", 0x60000000, len(payload), next_header, 64,
                     socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst))
    return b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x86\xdd" + ip + payload


def tcp_in_ipv6_fragments(src, dst, ident, upper, size):
    """The TCP segment `upper` in IPv6 fragments of `size` bytes (the last shorter)."""
    frames = []
    for off in range(0, len(upper), size):
        part = upper[off:off + size]
        more = 1 if off + size < len(upper) else 0
        frag = struct.pack("!BBHI", 6, 0, off | more, ident)
        frames.append(ipv6_frame(src, dst, FRAG6, frag + part))
    return frames


def tcp_in_ipv4_fragments(src, dst, ident, upper, size):
    """The TCP segment `upper` in IPv4 fragments of `size` bytes; the last takes
    what is left, never less than 8 bytes."""
    frames, off = [], 0
    while off < len(upper):
        take = size if len(upper) - off - size >= 8 else len(upper) - off
        part = upper[off:off + take]
        flags = (0x2000 if off + take < len(upper) else 0) | off // 8
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(part), ident, flags, 64, 6, 0,
                         socket.inet_aton(src), socket.inet_aton(dst))
        ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
        frames.append(b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + ip + part)
        off += take
    return frames


def fragments(path):
    """Connection 1, IPv6: the request in four fragments, the third first; the
    response (Connection: close) behind a Destination Options header; the
    server's FIN in three fragments, its TCP header split. Connection 2, IPv4:
    the response in two fragments, then the client's RST in two, its flags in
    the second."""
    p = Pcap(path)
    c, s = ("2001:db8::1", 40000), ("2001:db8::2", 80)
    cs, ss = 1000, 5000

    def six(t, a, b, seq, ack, flags, data=b""):
        p.packet(t, ipv6_frame(a[0], b[0], 6, tcp_segment(a[1], b[1], seq, ack, flags, data)))
    six(1.0, c, s, cs, 0, SYN)
    six(1.00001, s, c, ss, cs + 1, SYN | ACK)
    cs, ss = cs + 1, ss + 1
    six(1.00002, c, s, cs, ss, ACK)
    req = b"GET /fragmented HTTP/1.1\r\nHost: x\r\nUser-Agent: synth\r\n\r\n"
    frames = tcp_in_ipv6_fragments(c[0], s[0], 7,
                                   tcp_segment(c[1], s[1], cs, ss, PSH | ACK, req), 24)
    for i, f in enumerate([frames[2], frames[0], frames[1]] + frames[3:]):
        p.packet(1.1 + i * 0.0001, f)
    cs += len(req)
    resp = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi"
    opts = bytes([6, 0, 1, 4, 0, 0, 0, 0])  # next: TCP, length 0, PadN of 4 bytes
    p.packet(1.102, ipv6_frame(s[0], c[0], DEST_OPTS,
                               opts + tcp_segment(s[1], c[1], ss, cs, PSH | ACK, resp)))
    ss += len(resp)
    for i, f in enumerate(tcp_in_ipv6_fragments(s[0], c[0], 8, tcp_segment(s[1], c[1], ss, cs,
                                                                     FIN | ACK), 8)):
        p.packet(1.2 + i * 0.0001, f)
    ss += 1
    six(1.3, c, s, cs, ss, FIN | ACK)
    cs += 1
    six(1.3001, s, c, ss, cs, ACK)

    c, s = ("10.0.0.1", 40001), ("10.0.0.2", 80)
    cs, ss = 3000, 9000
    p.packet(2.0, tcp(c[0], s[0], c[1], s[1], cs, 0, SYN))
    p.packet(2.00001, tcp(s[0], c[0], s[1], c[1], ss, cs + 1, SYN | ACK))
    cs, ss = cs + 1, ss + 1
    p.packet(2.00002, tcp(c[0], s[0], c[1], s[1], cs, ss, ACK))
    req = b"GET /v4 HTTP/1.1\r\nHost: x\r\n\r\n"
    p.packet(2.1, tcp(c[0], s[0], c[1], s[1], cs, ss, PSH | ACK, req))
    cs += len(req)
    resp = b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n" + b"b" * 40
    for i, f in enumerate(tcp_in_ipv4_fragments(s[0], c[0], 21, tcp_segment(s[1], c[1], ss, cs,
                                                                      PSH | ACK, resp), 48)):
        p.packet(2.101 + i * 0.0001, f)
    ss += len(resp)
    for i, f in enumerate(tcp_in_ipv4_fragments(c[0], s[0], 22, tcp_segment(c[1], s[1], cs, ss,
                                                                      0x04 | ACK), 8)):
        p.packet(2.2 + i * 0.0001, f)
def query_in_uri(path):
    p = Pcap(path)
    conn = Conn(p, "10.0.0.1", 40004, 4000, 9000)
    conn.handshake(1.0)
    conn.exchange(1.1, b"login?token=s3cret&user=bob")
    conn.server_close(1.1015)
    p.close()


class Talk(Conn):
    """A connection whose client and server send the bytes given."""

    def client(self, t, data):
        c, s = self.c, self.s
        self.p.packet(t, tcp(c[0], s[0], c[1], s[1], self.cs, self.ss, PSH | ACK, data))
        self.cs += len(data)

    def server(self, t, data):
        c, s = self.c, self.s
        self.p.packet(t, tcp(s[0], c[0], s[1], c[1], self.ss, self.cs, PSH | ACK, data))
        self.ss += len(data)


def http_as_spoken(path):
    p = Pcap(path)
    a = Talk(p, "10.0.0.1", 41001, 1000, 5000)
    a.handshake(1.0)
    a.client(1.1, b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n")
    a.server(1.101, b"PHP Notice: undefined index\n"
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")
    a.client(1.2, b"GET /c HTTP/1.1\nHost: x\n\n")
    a.server(1.201, b"HTTP/1.1 000 Zero\nContent-Length:\n 2\n\nhi")
    a.client(1.3, b"GET /d HTTP/1.1\r\nHost: x\r\n\r\n")
    a.server(1.301, b'HTTP/1.1 200 OK\r\nTransfer-Encoding: "chunked"\r\n\r\n2\r\nhi\r\n0\r\n\r\n')
    a.server_close(1.302)
    b = Talk(p, "10.0.0.1", 41002, 2000, 6000)
    b.handshake(2.0)
    b.client(2.1, b"GET /old\r\n")
    b.server(2.101, b"<html>old</html>\n")
    b.server_close(2.102)
    p.close()


def not_http(path):
    p = Pcap(path)
    talks = [
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(32),       # a TLS ClientHello
        b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n",                       # SSH
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00",  # HTTP/2
        b"\x00\x00\x00\x2c\x00\x01\x00\x00",                                  # binary
        b"EHLO mail.example.org\r\n",                                         # SMTP
    ]
    for i, data in enumerate(talks):
        t = Talk(p, "10.0.0.1", 41010 + i, 1000 + i, 5000 + i)
        t.handshake(1.0 + i)
        t.client(1.1 + i, data)
        t.close(1.2 + i)
    p.close()


def cut_and_answered(path):
    p = Pcap(path)
    a = Talk(p, "10.0.0.1", 41020, 1000, 5000)
    a.handshake(1.0)
    a.client(1.1, b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
    a.server(1.101, b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 100)
    a.server_close(1.102)
    b = Talk(p, "10.0.0.1", 41021, 2000, 6000)
    b.handshake(2.0)
    b.client(2.1, b"GET /early HTTP/1.1\r\nHost: x\r\n")
    b.server(2.101, b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                    b"Connection: close\r\n\r\n")
    b.client(2.102, b"Bad Header: x\r\n\r\n")
    b.server_close(2.103)
    p.close()


def proxied(path):
    p = Pcap(path)
    a = Talk(p, "10.0.0.1", 41040, 1000, 5000)
    a.handshake(1.0)
    a.client(1.1, b"POST /orders HTTP/1.1\r\nHost: shop.example\r\n"
                  b"Content-Type: application/json; charset=utf-8\r\n"
                  b"X-Forwarded-For: 203.0.113.7, 198.51.100.2\r\n"
                  b"Via: 1.1 edge-cache, 1.1 lb\r\nExpect: 100-continue\r\n"
                  b"Content-Length: 13\r\n\r\n")
    a.server(1.101, b"HTTP/1.1 100 Continue\r\n\r\n")
    body = b'{"items": 1}\n'
    a.client(1.102, body)
    c, s = a.c, a.s
    p.packet(1.302, tcp(c[0], s[0], c[1], s[1], a.cs - len(body), a.ss, PSH | ACK, body))  # again
    p.packet(1.303, tcp(s[0], c[0], s[1], c[1], a.ss, a.cs, ACK, window=0))  # a zero window
    a.server(1.304, b"HTTP/1.1 201 Cr\xc3\xa9\xc3\xa9\r\nContent-Type: application/json\r\n"
                    b"Location: /orders/7\r\nContent-Length: 2\r\n\r\n{}")
    a.client(1.4, b"GET /orders/7 HTTP/1.1\r\nHost: shop.example\r\n\r\n")
    a.server(1.401, b"HTTP/1.1 404 Not\xff Here\r\nContent-Type: text/plain\r\n"
                    b"Content-Length: 0\r\n\r\n")
    a.close(1.5)
    p.close()


def tunnel_idle(path):
    p = Pcap(path)
    a = Talk(p, "10.0.0.1", 41030, 1000, 5000)
    a.handshake(1.0)
    a.client(1.1, b"CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n")
    a.server(1.101, b"HTTP/1.1 200 Connection established\r\n\r\n")
    a.client(1.2, b"\x16\x03\x01\x00\x05hello")
    a.server(1.201, b"\x16\x03\x03\x00\x05world")
    a.server_close(21.201)  # after 20 s of tunnel silence
    b = Talk(p, "10.0.0.1", 41031, 2000, 6000)
    b.handshake(2.0)
    b.exchange(2.1, b"plain")
    b.close(2.2)
    p.close()
# --- capture/: encapsulations, fragments, times, pcapng sections ------------------
#
# Each capture below re-wraps the frames of a recorded one (its "twin"), so that
# its report must equal the twin's but for what the wrapping changes (the
# bytes on the wire, the packets added): tests/pcaps/README.md says which.
#
#   encap-*.pcap        tornado-http11.pcap's frames inside MPLS, PPPoE, GRE
#                       (IPv4 and Ethernet), ERSPAN II and III, VXLAN, GENEVE
#                       (over IPv6, with options), IPv4 in IPv4 and in IPv6, and
#                       as NFLOG records (link type 239)
#   ipv4-fragments.pcap the same, its four data segments in IPv4 fragments whose
#                       last one holds 5 or 6 bytes, and a first fragment of 4
#                       bytes (dropped)
#   ts-usec-carry.pcap  the same, some microsecond fields of 1,000,000 and more
#                       (up to 2.2e9, past 2^31) with the seconds lowered to match
#   ts-nsec-carry.pcap  nginx-nanosec.pcap, nanosecond fields of 10^9 and more
#   ts-after-2038.pcap  tornado-http11.pcap 13.3 years later: seconds past 2^31
#   ts-pcapng-limit.pcapng  tornado-http11.pcap as pcapng, with two ARP frames
#                       whose 64-bit times are past the year 9999 (invalid)
#   pcapng-two-sections.pcapng  tornado-http11.pcap (Ethernet, little-endian)
#                       then tornado-any.pcap (LINUX_SLL2) in a big-endian section
#   pcapng-two-interfaces.pcapng  tornado-http11.pcap on interface 0 (Ethernet),
#                       UDP on interface 1 (raw IP) of the same section

def read_pcap(path):
    """(link type, [(seconds, fraction, frame)]) of a classic pcap file."""
    with open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack("<I", data[:4])
    end = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype, = struct.unpack(end + "I", data[20:24])
    records, at = [], 24
    while at + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack(end + "IIII", data[at:at + 16])
        records.append((sec, frac, data[at + 16:at + 16 + caplen]))
        at += 16 + caplen
    return linktype, records


def write_pcap(path, linktype, records, nano=False):
    """records: (seconds, fraction, frame); the fraction field is written as given."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B23C4D if nano else 0xA1B2C3D4, 2, 4, 0, 0,
                            262144, linktype))
        for sec, frac, frame in records:
            f.write(struct.pack("<IIII", sec, frac, len(frame), len(frame)) + frame)


def pcapng_block(end, btype, body):
    body += b"\0" * (-len(body) % 4)
    n = 12 + len(body)
    return struct.pack(end + "II", btype, n) + body + struct.pack(end + "I", n)


def pcapng_section(end, interfaces, packets):
    """interfaces: link types; packets: (interface, microseconds, frame)."""
    out = pcapng_block(end, 0x0A0D0D0A, struct.pack(end + "IHHq", 0x1A2B3C4D, 1, 0, -1))
    for lt in interfaces:
        out += pcapng_block(end, 1, struct.pack(end + "HHI", lt, 0, 262144))
    for iface, usec, frame in packets:
        out += pcapng_block(end, 6, struct.pack(end + "IIIII", iface, usec >> 32,
                                                usec & 0xFFFFFFFF, len(frame), len(frame))
                            + frame)
    return out


def ip_checksummed(header):
    return header[:10] + struct.pack("!H", checksum(header)) + header[12:]


def ipv4_packet(src, dst, proto, payload, ident=0, frag=0x4000):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, frag, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    return ip_checksummed(h) + payload


def ipv6_packet(src, dst, nxt, payload):
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), nxt, 64,
                       socket.inet_pton(socket.AF_INET6, src),
                       socket.inet_pton(socket.AF_INET6, dst)) + payload


def udp6(src, dst, sport, dport, payload):
    n = 8 + len(payload)
    pseudo = socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) + \
        struct.pack("!IxxxB", n, 17)
    c = checksum(pseudo + struct.pack("!HHHH", sport, dport, n, 0) + payload) or 0xFFFF
    return struct.pack("!HHHH", sport, dport, n, c) + payload


def ether(etype, payload, outbound=True):
    macs = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01" if outbound else b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02"
    return macs + struct.pack("!H", etype) + payload


def gre_header(proto, key=None, seq=None, with_checksum=False, payload=b""):
    flags = (0x8000 if with_checksum else 0) | (0x2000 if key is not None else 0) | \
        (0x1000 if seq is not None else 0)
    h = struct.pack("!HH", flags, proto)
    if with_checksum:
        h += struct.pack("!HH", checksum(struct.pack("!HH", flags, proto) + b"\0\0\0\0" +
                                         (struct.pack("!I", key) if key is not None else b"") +
                                         (struct.pack("!I", seq) if seq is not None else b"") +
                                         payload), 0)
    if key is not None:
        h += struct.pack("!I", key)
    if seq is not None:
        h += struct.pack("!I", seq)
    return h + payload


TUNNEL_A, TUNNEL_B = "192.0.2.1", "192.0.2.2"
TUNNEL6_A, TUNNEL6_B = "2001:db8::1", "2001:db8::2"


def from_client(frame):
    """tornado-http11.pcap: the client's port is 33268."""
    return struct.unpack("!H", frame[34:36])[0] == 33268


def over_ipv4(proto, payload, out):
    a, b = (TUNNEL_A, TUNNEL_B) if out else (TUNNEL_B, TUNNEL_A)
    return ether(0x0800, ipv4_packet(a, b, proto, payload), out)


def wrap_encap(kind, i, frame):
    """Frame i of tornado-http11.pcap (Ethernet, IPv4) inside encapsulation `kind`."""
    ip, out = frame[14:], from_client(frame)
    if kind == "mpls":  # two labels, the bottom one with S set
        return ether(0x8847, struct.pack("!II", 1000 << 12 | 64, 2000 << 12 | 0x100 | 64) + ip, out)
    if kind == "pppoe":
        return ether(0x8864, struct.pack("!BBHHH", 0x11, 0, 0x1234, 2 + len(ip), 0x0021) + ip, out)
    if kind == "gre":  # checksum, key and sequence number present
        return over_ipv4(47, gre_header(0x0800, key=7, seq=i, with_checksum=True, payload=ip), out)
    if kind == "gre-teb":
        return over_ipv4(47, gre_header(0x6558, payload=frame), out)
    if kind == "erspan2":  # version 1, VLAN 0, COS 0, En 3, session 5, index 0
        hdr = struct.pack("!HHI", 1 << 12, 3 << 11 | 5, 0)
        return over_ipv4(47, gre_header(0x88BE, seq=i, payload=hdr + frame), out)
    if kind == "erspan3":  # version 2, session 6, a timestamp, frame type 0, O set
        hdr = struct.pack("!HHIHH", 2 << 12, 6, 123456 + i, 0, 0x0001) + bytes(8)
        return over_ipv4(47, gre_header(0x22EB, seq=i, payload=hdr + frame), out)
    if kind == "vxlan":
        vx = struct.pack("!II", 0x08000000, 42 << 8)
        udp = struct.pack("!HHHH", 54321, 4789, 8 + len(vx) + len(frame), 0) + vx + frame
        return over_ipv4(17, udp, out)
    if kind == "geneve":  # one 4-byte option (class 0x0102, type 0x80), over IPv6
        option = struct.pack("!HBB", 0x0102, 0x80, 1) + b"\xab\xcd\xef\x01"
        gen = struct.pack("!BBHI", len(option) // 4, 0, 0x6558, 42 << 8) + option + frame
        a, b = (TUNNEL6_A, TUNNEL6_B) if out else (TUNNEL6_B, TUNNEL6_A)
        return ether(0x86DD, ipv6_packet(a, b, 17, udp6(a, b, 54321, 6081, gen)), out)
    if kind == "ipip":
        return over_ipv4(4, ip, out)
    if kind == "4in6":
        a, b = (TUNNEL6_A, TUNNEL6_B) if out else (TUNNEL6_B, TUNNEL6_A)
        return ether(0x86DD, ipv6_packet(a, b, 4, ip), out)
    raise ValueError(kind)


def nflog_record(ip):
    """An NFLOG record (pcap/nflog.h): AF_INET, version 0, group 7, TLVs in little
    endian like the header of the file they go in."""
    def tlv(t, value):
        return struct.pack("<HH", 4 + len(value), t) + value + b"\0" * (-len(value) % 4)
    return struct.pack("!BBH", 2, 0, 7) + tlv(1, struct.pack("!HBx", 0x0800, 3)) + \
        tlv(10, b"kw\0") + tlv(9, ip)


def encapsulations(out):
    _, recs = read_pcap(os.path.join(TWINS, "tornado-http11.pcap"))
    for kind in ("mpls", "pppoe", "gre", "gre-teb", "erspan2", "erspan3", "vxlan", "geneve",
                 "ipip", "4in6"):
        write_pcap(os.path.join(out, "encap-%s.pcap" % kind), 1,
                   [(s, f, wrap_encap(kind, i, fr)) for i, (s, f, fr) in enumerate(recs)])
    write_pcap(os.path.join(out, "encap-nflog.pcap"), 239,
               [(s, f, nflog_record(fr[14:])) for s, f, fr in recs])


def fragments_of(ip, first_len):
    """IPv4 packet `ip` (no options) as two fragments: `first_len` bytes of data
    (a multiple of 8), then the rest, DF cleared."""
    ident, = struct.unpack("!H", ip[4:6])
    src, dst, proto, data = ip[12:16], ip[16:20], ip[9], ip[20:]
    def frag(offset, chunk, more):
        h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(chunk), ident,
                        (0x2000 if more else 0) | offset // 8, 64, proto, 0, src, dst)
        return ip_checksummed(h) + chunk
    return [frag(0, data[:first_len], True), frag(first_len, data[first_len:], False)]


def ipv4_fragments(out):
    _, recs = read_pcap(os.path.join(TWINS, "tornado-http11.pcap"))
    res = []
    for i, (s, f, fr) in enumerate(recs):
        ip = fr[14:]
        payload = len(ip) - 20
        if payload > 40:  # the two requests and the two responses
            last = payload % 8 or 8
            for part in fragments_of(ip, payload - last):
                res.append((s, f, fr[:14] + part))
            assert 0 < last < 8
        else:
            res.append((s, f, fr))
        if i == 2:  # a first fragment with 4 bytes of data: too short, dropped
            tiny = ipv4_packet("10.9.9.9", "10.9.9.8", 6, b"\x01\x02\x03\x04", 0x4242, 0x2000)
            res.append((s, f, fr[:14] + tiny))
    write_pcap(os.path.join(out, "ipv4-fragments.pcap"), 1, res)


def times(out):
    _, recs = read_pcap(os.path.join(TWINS, "tornado-http11.pcap"))
    carry = {3: 1, 5: 2, 7: 2200}  # seconds moved into the microsecond field
    write_pcap(os.path.join(out, "ts-usec-carry.pcap"), 1,
               [(s - carry.get(i, 0), f + carry.get(i, 0) * 1000000, fr)
                for i, (s, f, fr) in enumerate(recs)])
    later = 420000000  # 13.3 years: 2040, seconds past 2^31
    write_pcap(os.path.join(out, "ts-after-2038.pcap"), 1,
               [(s + later, f, fr) for s, f, fr in recs])
    assert recs[0][0] + later > 2 ** 31
    _, nrecs = read_pcap(os.path.join(TWINS, "nginx-nanosec.pcap"))
    ncarry = {2: 1, 4: 3, 6: 4}  # 4e9 ns: past 2^31 too
    write_pcap(os.path.join(out, "ts-nsec-carry.pcap"), 1,
               [(s - ncarry.get(i, 0), f + ncarry.get(i, 0) * 1000000000, fr)
                for i, (s, f, fr) in enumerate(nrecs)], nano=True)
    arp = ether(0x0806, struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + bytes(20))
    pkts = [(0, s * 1000000 + f, fr) for s, f, fr in recs]
    pkts.insert(4, (0, 2 ** 64 - 1, arp))                      # year 584,556
    pkts.insert(9, (0, 253402300800 * 1000000, arp))           # 10000-01-01T00:00:00Z
    with open(os.path.join(out, "ts-pcapng-limit.pcapng"), "wb") as f:
        f.write(pcapng_section("<", [1], pkts))


def pcapng_sections(out):
    _, eth = read_pcap(os.path.join(TWINS, "tornado-http11.pcap"))
    _, sll2 = read_pcap(os.path.join(TWINS, "tornado-any.pcap"))
    with open(os.path.join(out, "pcapng-two-sections.pcapng"), "wb") as f:
        f.write(pcapng_section("<", [1], [(0, s * 1000000 + u, fr) for s, u, fr in eth]))
        f.write(pcapng_section(">", [276], [(0, s * 1000000 + u, fr) for s, u, fr in sll2]))
    pkts = []
    for i, (s, u, fr) in enumerate(eth):
        pkts.append((0, s * 1000000 + u, fr))
        if i % 3 == 1:  # a DNS-like datagram on the raw IP interface
            udp = struct.pack("!HHHH", 5353, 5353, 8 + 12, 0) + bytes(12)
            pkts.append((1, s * 1000000 + u, ipv4_packet("10.1.1.1", "224.0.0.251", 17, udp)))
    with open(os.path.join(out, "pcapng-two-interfaces.pcapng"), "wb") as f:
        f.write(pcapng_section("<", [1, 101], pkts))


TWINS = os.path.dirname(os.path.abspath(__file__))  # the recorded captures wrapped above


def capture_world(out):
    encapsulations(out)
    ipv4_fragments(out)
    times(out)
    pcapng_sections(out)


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    retransmit_after_fin(os.path.join(out, "retransmit-after-fin.pcap"))
    idle_timeout(os.path.join(out, "idle-timeout.pcap"))
    escape_in_uri(os.path.join(out, "escape-in-uri.pcap"))
    fragments(os.path.join(out, "fragments.pcap"))
    query_in_uri(os.path.join(out, "query-in-uri.pcap"))
    http_as_spoken(os.path.join(out, "http-as-spoken.pcap"))
    not_http(os.path.join(out, "not-http.pcap"))
    cut_and_answered(os.path.join(out, "cut-and-answered.pcap"))
    tunnel_idle(os.path.join(out, "tunnel-idle.pcap"))
    proxied(os.path.join(out, "proxied.pcap"))
    capture_world(out)
