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


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    retransmit_after_fin(os.path.join(out, "retransmit-after-fin.pcap"))
    idle_timeout(os.path.join(out, "idle-timeout.pcap"))
    escape_in_uri(os.path.join(out, "escape-in-uri.pcap"))
    query_in_uri(os.path.join(out, "query-in-uri.pcap"))
    http_as_spoken(os.path.join(out, "http-as-spoken.pcap"))
    not_http(os.path.join(out, "not-http.pcap"))
    cut_and_answered(os.path.join(out, "cut-and-answered.pcap"))
    tunnel_idle(os.path.join(out, "tunnel-idle.pcap"))
