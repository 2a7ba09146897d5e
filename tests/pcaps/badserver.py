#!/usr/bin/env python3
"""badserver.py - a small misbehaving HTTP/1.x server for test captures.

Python 3 standard library only: raw sockets, one thread per connection.
Each --mode breaks one HTTP/1.x connection-persistence rule on purpose, so
that record.sh can capture real traffic that triggers it:

  unannounced-close       200 + Content-Length, no Connection header, then
                          close (FIN) at once after the response
  request-after-close     200 + Connection: close, FIN delayed 300 ms (a
                          request arriving meanwhile is read and not answered)
  close-ignored           ignores Connection: close in requests; a request
                          for a path containing "resp-close" is answered with
                          Connection: close; never closes first
  idle-timeout-early      Connection: keep-alive + Keep-Alive: timeout=10,
                          closes an idle connection after 2 s
  max-exceeded            Connection: keep-alive + Keep-Alive: timeout=5,
                          max=1 on the first response (max counts down, not
                          below 0), keeps answering
  unframed-response       HTTP/1.1 200 + Connection: keep-alive, no
                          Content-Length, not chunked; closes 100 ms after the
                          body
  chunked-to-http10       HTTP/1.1 200 + Transfer-Encoding: chunked +
                          Connection: close whatever the request version;
                          closes after the last chunk
  conflicting-framing     path containing "cl-cl": two differing
                          Content-Length headers (7, then 6; 6-byte body);
                          any other path: Content-Length + chunked (valid
                          chunked body, Content-Length = decoded length)
  keepalive-header-unlisted  HTTP/1.1 200 + Keep-Alive: timeout=5, no
                          Connection header
  abortive-close          200 + Content-Length, no Connection header, then
                          SO_LINGER {on, 0} + close: RST right after the
                          response

Unless a mode says otherwise the server keeps the connection, answers every
request and closes when the client closes (or after 5 s idle).  Every body
is "hello\\n" (6 bytes).  Request bodies are not expected (GET/HEAD only).

Bounded: it stops accepting after --max-conns connections and exits when
their handlers are done, or after --max-time seconds, or on SIGTERM/SIGINT.
It prints "listening on HOST:PORT" on stdout once ready (record.sh waits for
that line instead of probing, which would use up a connection).  Events are
logged on stderr with times relative to the start.

Usage: badserver.py --port 18090 --mode MODE [--max-conns N] [--max-time T]
"""

import argparse
import email.utils
import signal
import socket
import struct
import sys
import threading
import time

T0 = time.monotonic()
BODY = b"hello\n"
IDLE_DEFAULT = 5.0          # seconds a connection may stay idle by default
MODES = (
    "unannounced-close", "request-after-close", "close-ignored",
    "idle-timeout-early", "max-exceeded", "unframed-response",
    "chunked-to-http10", "conflicting-framing", "keepalive-header-unlisted",
    "abortive-close",
)
_log_lock = threading.Lock()


def log(msg):
    with _log_lock:
        sys.stderr.write("badserver %8.3f %s\n" % (time.monotonic() - T0, msg))
        sys.stderr.flush()


class Request:
    def __init__(self, line, headers):
        self.line = line
        words = line.split()
        self.method = words[0] if words else ""
        self.path = words[1] if len(words) > 1 else "/"
        self.version = words[2] if len(words) > 2 else "HTTP/1.0"
        self.headers = headers

    def header(self, name):
        vals = [v for n, v in self.headers if n.lower() == name.lower()]
        return ", ".join(vals) if vals else None

    def __str__(self):
        return self.line


class Conn:
    """One accepted connection and the primitives the modes are built of."""

    def __init__(self, sock, peer, number, deadline):
        self.sock = sock
        self.peer = peer
        self.n = number
        self.deadline = deadline
        self.buf = b""
        self.eof = False
        self.count = 0          # requests read on this connection

    def log(self, msg):
        log("conn %d (%s:%d) %s" % (self.n, self.peer[0], self.peer[1], msg))

    def _wait_readable(self, timeout):
        timeout = min(timeout, self.deadline - time.monotonic())
        if timeout <= 0:
            return False
        self.sock.settimeout(timeout)
        return True

    def read_request(self, idle):
        """Read one request head.  Returns a Request, or None on client EOF,
        reset or after `idle` seconds without a complete request."""
        end = time.monotonic() + idle
        while b"\r\n\r\n" not in self.buf:
            if self.eof:
                return None
            left = end - time.monotonic()
            if left <= 0 or not self._wait_readable(left):
                self.log("idle %.3fs, no request" % idle)
                return None
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                self.log("reset by client")
                self.eof = True
                return None
            if not data:
                self.log("client FIN")
                self.eof = True
                if self.buf:
                    self.log("incomplete request discarded (%d bytes)" % len(self.buf))
                return None
            self.buf += data
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        headers = []
        for h in lines[1:]:
            name, _, value = h.partition(":")
            headers.append((name.strip(), value.strip()))
        self.count += 1
        req = Request(lines[0], headers)
        self.log("request %d: %s%s" % (self.count, req,
                 (" [Connection: %s]" % req.header("Connection"))
                 if req.header("Connection") else ""))
        return req

    def drain(self, secs):
        """Read and discard whatever the client sends for `secs` seconds
        (or until its FIN).  Returns the number of bytes discarded."""
        end = time.monotonic() + secs
        got = len(self.buf)
        if self.buf:
            self.log("discarding %d bytes already read" % len(self.buf))
        self.buf = b""
        while not self.eof:
            left = end - time.monotonic()
            if left <= 0 or not self._wait_readable(left):
                break
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                self.log("reset by client")
                self.eof = True
                break
            if not data:
                self.log("client FIN")
                self.eof = True
                break
            got += len(data)
            self.log("read %d bytes, not answered: %r" % (
                len(data), data.split(b"\r\n", 1)[0].decode("latin-1")))
        return got

    def send(self, data, what):
        try:
            self.sock.sendall(data)
        except OSError as e:
            self.log("send of %s failed: %s" % (what, e))
            return False
        self.log("sent %s (%d bytes)" % (what, len(data)))
        return True

    def send_then_fin(self, data, what):
        """Send `data` and shut down the sending side at once (FIN right
        behind the data, nothing done in between), then wait (bounded) for
        the client to close and close the socket."""
        try:
            self.sock.sendall(data)
            self.sock.shutdown(socket.SHUT_WR)
        except OSError as e:
            self.log("send of %s failed: %s" % (what, e))
            return self.close("send failed")
        self.log("sent %s (%d bytes) and FIN right behind it" % (what, len(data)))
        n = self.drain(2.0)
        if n:
            self.log("%d bytes came after our FIN, not answered" % n)
        self.close("FIN already sent")

    def close(self, why):
        """Orderly close (FIN).  Unread data would turn close() into a RST,
        so whatever is pending is read first."""
        try:
            self.sock.setblocking(False)
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                self.log("discarded %d unread bytes before close" % len(data))
        except (BlockingIOError, OSError):
            pass
        self.sock.close()
        self.log("server close, FIN (%s)" % why)

    def abort(self, why):
        """Abortive close: SO_LINGER {on, 0} then close() sends a RST."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()
        self.log("server abortive close, RST (%s)" % why)

    def wait_client_close(self, idle=IDLE_DEFAULT):
        """Keep the connection until the client closes it (or idle)."""
        self.drain(idle)
        self.close("client closed" if self.eof else "idle %.1fs" % idle)


def response(status="200 OK", headers=(), body=BODY, version="HTTP/1.1",
             length=True):
    lines = ["%s %s" % (version, status),
             "Date: %s" % email.utils.formatdate(usegmt=True),
             "Server: badserver.py",
             "Content-Type: text/plain"]
    if length:
        lines.append("Content-Length: %d" % len(body))
    lines += list(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def chunked(body, pieces=2):
    """`body` as a valid chunked body in `pieces` chunks + last chunk."""
    out, step = b"", max(1, -(-len(body) // pieces))
    for i in range(0, len(body), step):
        part = body[i:i + step]
        out += b"%x\r\n" % len(part) + part + b"\r\n"
    return out + b"0\r\n\r\n"


def body_for(req, body=BODY):
    return b"" if req.method == "HEAD" else body


# ---------------------------------------------------------------- modes
def serve_loop(c, make, idle=IDLE_DEFAULT):
    """Answer every request with make(c, req) until the client closes."""
    while True:
        req = c.read_request(idle)
        if req is None:
            break
        if not c.send(make(c, req), "response %d" % c.count):
            break
    c.close("client closed" if c.eof else "idle %.1fs" % idle)


def mode_unannounced_close(c):
    req = c.read_request(IDLE_DEFAULT)
    if req is None:
        return c.close("no request")
    c.send_then_fin(response(body=body_for(req)), "response (no Connection header), unannounced close")


def mode_request_after_close(c):
    req = c.read_request(IDLE_DEFAULT)
    if req is None:
        return c.close("no request")
    c.send(response(headers=["Connection: close"], body=body_for(req)),
           "response with Connection: close")
    n = c.drain(0.3)
    c.log("delayed FIN: 300 ms, %d bytes read meanwhile and not answered" % n)
    c.close("300 ms after the response")


def mode_close_ignored(c):
    def make(c, req):
        hdrs = ["Connection: close"] if "resp-close" in req.path else []
        if "close" in (req.header("Connection") or "").lower():
            c.log("ignoring the request's Connection: close")
        if hdrs:
            c.log("announcing Connection: close and not closing")
        return response(headers=hdrs, body=body_for(req))
    serve_loop(c, make, idle=IDLE_DEFAULT)


def mode_idle_timeout_early(c):
    def make(c, req):
        return response(headers=["Connection: keep-alive", "Keep-Alive: timeout=10"],
                        body=body_for(req))
    serve_loop(c, make, idle=2.0)


def mode_max_exceeded(c):
    def make(c, req):
        left = max(0, 1 - (c.count - 1))
        return response(headers=["Connection: keep-alive",
                                 "Keep-Alive: timeout=5, max=%d" % left],
                        body=body_for(req))
    serve_loop(c, make, idle=5.0)


def mode_unframed_response(c):
    req = c.read_request(IDLE_DEFAULT)
    if req is None:
        return c.close("no request")
    c.send(response(headers=["Connection: keep-alive"], body=body_for(req), length=False),
           "response without Content-Length or chunked")
    c.drain(0.1)
    c.close("100 ms after the body")


def mode_chunked_to_http10(c):
    req = c.read_request(IDLE_DEFAULT)
    if req is None:
        return c.close("no request")
    head = response(headers=["Transfer-Encoding: chunked", "Connection: close"],
                    body=b"", length=False)
    c.send_then_fin(head + (b"" if req.method == "HEAD" else chunked(BODY)),
                    "chunked response to %s, closing after the last chunk" % req.version)


def mode_conflicting_framing(c):
    def make(c, req):
        if "cl-cl" in req.path:
            body = body_for(req)
            return response(headers=["Content-Length: %d" % (len(BODY) + 1),
                                     "Content-Length: %d" % len(BODY)],
                            body=body, length=False)
        return response(headers=["Content-Length: %d" % len(BODY),
                                 "Transfer-Encoding: chunked"],
                        body=b"" if req.method == "HEAD" else chunked(BODY),
                        length=False)
    serve_loop(c, make)


def mode_keepalive_header_unlisted(c):
    def make(c, req):
        return response(headers=["Keep-Alive: timeout=5"], body=body_for(req))
    serve_loop(c, make, idle=5.0)


def mode_abortive_close(c):
    req = c.read_request(IDLE_DEFAULT)
    if req is None:
        return c.close("no request")
    c.send(response(body=body_for(req)), "response (no Connection header)")
    c.abort("right after the response")


HANDLERS = {m: globals()["mode_" + m.replace("-", "_")] for m in MODES}


def handle(mode, c):
    try:
        HANDLERS[mode](c)
    except Exception as e:  # keep the server alive, but say so
        c.log("handler error: %r" % e)
        try:
            c.sock.close()
        except OSError:
            pass


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="modes: " + ", ".join(MODES))
    p.add_argument("--address", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--mode", choices=MODES, required=True)
    p.add_argument("--max-conns", type=int, default=4,
                   help="stop after this many connections (default 4)")
    p.add_argument("--max-time", type=float, default=30.0,
                   help="exit after this many seconds (default 30)")
    a = p.parse_args(argv)
    if not 1 <= a.max_conns <= 100 or not 0 < a.max_time <= 600:
        p.error("--max-conns must be in 1..100 and --max-time in (0,600]")
    deadline = T0 + a.max_time

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.address, a.port))
    ls.listen(16)
    ls.settimeout(0.1)
    print("listening on %s:%d mode %s" % (a.address, a.port, a.mode), flush=True)
    log("listening on %s:%d, mode %s, max %d connections, max %.0fs" % (
        a.address, a.port, a.mode, a.max_conns, a.max_time))

    threads, n = [], 0
    while n < a.max_conns and not stop.is_set() and time.monotonic() < deadline:
        try:
            s, peer = ls.accept()
        except socket.timeout:
            continue
        n += 1
        c = Conn(s, peer, n, deadline)
        c.log("accepted")
        t = threading.Thread(target=handle, args=(a.mode, c), daemon=True)
        t.start()
        threads.append(t)
    ls.close()
    for t in threads:
        while t.is_alive() and not stop.is_set() and time.monotonic() < deadline:
            t.join(0.1)
    log("exit: %d connection(s)%s" % (n, ", stopped" if stop.is_set() else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
