#!/usr/bin/env python3
"""rawclient.py - tiny raw-socket HTTP/1.x client for recording test captures.

Python 3 standard library only.  It exists to produce connection timings
that curl cannot: requests separated by exact idle sleeps, pipelined
requests in a single write, a request sent after the server's FIN, waiting
for the server to close an idle connection, reconnecting when the server
has closed.

Steps are given as options and executed in command-line order:

  --req SPEC           send one request, read its response
  --pipeline SPEC...   send all the requests in ONE write, then read all
                       the responses
  --stale SPEC         send a request on the current socket even if the
                       server already closed it (FIN); then read whatever
                       comes back (response, EOF or RST)
  --sleep SECS         stay idle (the socket is watched: a server FIN or RST
                       arriving meanwhile is logged)
  --read-until-fin     read until the server's FIN (bounded by --timeout)
  --close              close the client side (FIN) now

SPEC is "METHOD PATH [VERSION]" optionally followed by header lines
separated by "|", e.g. "GET /_health HTTP/1.0|Connection: keep-alive".
VERSION defaults to HTTP/1.1.  A Host header is added unless given.

Connection handling:
  * a connection is opened lazily by the first step that needs one;
  * --reconnect: before a --req/--pipeline, if the previous response was not
    persistent (Connection: close, HTTP/1.0 without keep-alive, ...) or the
    server has closed the socket, wait (bounded) for the server's FIN, close
    our side and open a new connection.  Without --reconnect the request is
    written on the old socket whatever its state;
  * --lost-ok: a --req that gets no response because the server closed the
    connection (FIN before any byte of the response, RST, failed send) is
    logged as lost and the run goes on; the client closes that socket, so
    the next request opens a new connection.  Without it that is an error;
  * --close-on-fin: when a server FIN is seen while sleeping/reading, close
    our side immediately (otherwise we close lazily, at the next request or
    at the end);
  * at the end the client closes; if the last response announced a close,
    it first waits (bounded) for the server's FIN so that the server closes
    first.

Everything is bounded: every socket operation uses --timeout (default 5 s),
and the whole run is aborted after --max-time (default 60 s).

Events are logged on stderr with times relative to the start.
Exit status: 0 on success, 1 on protocol/timeout error, 2 on usage error.
"""

import argparse
import errno
import select
import socket
import sys
import time

T0 = time.monotonic()


def log(msg):
    sys.stderr.write("rawclient %8.3f %s\n" % (time.monotonic() - T0, msg))
    sys.stderr.flush()


class ClientError(Exception):
    pass


class Request:
    def __init__(self, spec, host_header):
        parts = spec.split("|")
        words = parts[0].split()
        if len(words) not in (2, 3):
            raise ValueError("bad request line in spec %r" % spec)
        self.method = words[0]
        self.path = words[1]
        self.version = words[2] if len(words) == 3 else "HTTP/1.1"
        self.headers = []
        for h in parts[1:]:
            if ":" not in h:
                raise ValueError("bad header %r in spec %r" % (h, spec))
            name, value = h.split(":", 1)
            self.headers.append((name.strip(), value.strip()))
        if not any(n.lower() == "host" for n, _ in self.headers):
            self.headers.insert(0, ("Host", host_header))

    def header(self, name):
        for n, v in self.headers:
            if n.lower() == name.lower():
                return v
        return None

    def wants_keepalive(self):
        conn = (self.header("Connection") or "").lower()
        tokens = [t.strip() for t in conn.split(",")]
        if "close" in tokens:
            return False
        if self.version == "HTTP/1.0":
            return "keep-alive" in tokens
        return True

    def encode(self):
        lines = ["%s %s %s" % (self.method, self.path, self.version)]
        lines += ["%s: %s" % (n, v) for n, v in self.headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def __str__(self):
        return "%s %s %s" % (self.method, self.path, self.version)


class Conn:
    def __init__(self, opts):
        self.opts = opts
        self.sock = None
        self.buf = b""
        self.peer_fin = False      # server FIN seen
        self.reset = False         # RST seen
        self.will_close = False    # last exchange announced a close
        self.count = 0             # connections opened

    # -- helpers --------------------------------------------------------
    def deadline_check(self):
        if time.monotonic() - T0 > self.opts.max_time:
            raise ClientError("overall --max-time %.1fs exceeded" % self.opts.max_time)

    def is_open(self):
        return self.sock is not None

    def connect(self):
        self.deadline_check()
        s = socket.create_connection((self.opts.host, self.opts.port),
                                     timeout=self.opts.timeout)
        s.settimeout(self.opts.timeout)
        self.sock = s
        self.buf = b""
        self.peer_fin = False
        self.reset = False
        self.will_close = False
        self.count += 1
        log("connect #%d local port %d" % (self.count, s.getsockname()[1]))

    def ensure(self):
        if self.sock is None:
            self.connect()

    def close(self, why=""):
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None
            log("client close%s" % (" (" + why + ")" if why else ""))

    def _recv(self, timeout):
        """One recv with a timeout.  Returns bytes, b'' on FIN, None on timeout."""
        self.deadline_check()
        if self.peer_fin or self.reset:
            return b""
        r, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
        if not r:
            return None
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            self.reset = True
            log("connection reset by server (RST)")
            return b""
        if not data:
            self.peer_fin = True
            log("server FIN (EOF)")
        return data

    def fill(self, what):
        data = self._recv(self.opts.timeout)
        if data is None:
            raise ClientError("timeout (%.1fs) waiting for %s" % (self.opts.timeout, what))
        if not data:
            return False
        self.buf += data
        return True

    def read_line(self, what):
        while b"\r\n" not in self.buf:
            if not self.fill(what):
                raise ClientError("connection closed while reading %s" % what)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("latin-1")

    def read_exact(self, n, what):
        while len(self.buf) < n:
            if not self.fill(what):
                raise ClientError("connection closed while reading %s" % what)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def poll_state(self):
        """Non-blocking look at the socket: notice a pending FIN or RST."""
        if self.sock is None or self.peer_fin or self.reset:
            return
        r, _, _ = select.select([self.sock], [], [], 0)
        if not r:
            return
        try:
            data = self.sock.recv(65536, socket.MSG_PEEK)
        except ConnectionResetError:
            self.reset = True
            log("connection reset by server (RST)")
            return
        if not data:
            self.peer_fin = True
            log("server FIN (EOF)")
        else:
            log("unexpected %d bytes pending from server" % len(data))

    # -- HTTP -----------------------------------------------------------
    def read_response(self, req):
        while True:
            status = self.read_line("status line of response to %s" % req)
            hdrs = []
            while True:
                line = self.read_line("headers")
                if line == "":
                    break
                name, _, value = line.partition(":")
                hdrs.append((name.strip().lower(), value.strip()))
            words = status.split(" ", 2)
            if len(words) < 2 or not words[0].startswith("HTTP/"):
                raise ClientError("bad status line %r" % status)
            code = int(words[1])
            if 100 <= code < 200 and code != 101:
                log("interim response: %s" % status)
                continue
            break
        hd = {}
        for n, v in hdrs:
            hd[n] = (hd[n] + ", " + v) if n in hd else v
        conn_tokens = [t.strip().lower() for t in hd.get("connection", "").split(",")]
        te = hd.get("transfer-encoding", "").lower()
        body = 0
        framing = "none"
        if req.method == "HEAD" or code in (204, 304):
            framing = "no body"
        elif "chunked" in te:
            framing = "chunked"
            while True:
                size_line = self.read_line("chunk size")
                size = int(size_line.split(";")[0].strip(), 16)
                if size == 0:
                    while self.read_line("trailer") != "":
                        pass
                    break
                body += len(self.read_exact(size, "chunk data"))
                if self.read_exact(2, "chunk CRLF") != b"\r\n":
                    raise ClientError("bad chunk terminator")
        elif "content-length" in hd:
            framing = "content-length"
            n = int(hd["content-length"])
            body = len(self.read_exact(n, "body"))
        else:
            framing = "until-close"
            while self.fill("close-delimited body"):
                pass
            body = len(self.buf)
            self.buf = b""
        persistent = req.wants_keepalive()
        if "close" in conn_tokens:
            persistent = False
        elif words[0] == "HTTP/1.0" and "keep-alive" not in conn_tokens:
            persistent = False
        if framing == "until-close":
            persistent = False
        extra = []
        for n in ("connection", "keep-alive", "content-length", "transfer-encoding"):
            if n in hd:
                extra.append("%s: %s" % (n, hd[n]))
        log("response to %s: %s [%s] body %d bytes (%s)%s" % (
            req, status, "; ".join(extra), body, framing,
            "" if persistent else " -> not persistent"))
        if not persistent:
            self.will_close = True
        return code

    def send(self, data, what):
        self.deadline_check()
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError) as e:
            self.reset = True
            log("send of %s failed: %s" % (what, e))
            return False
        log("sent %s (%d bytes in one write)" % (what, len(data)))
        return True

    def wait_fin(self, timeout):
        """Read (and discard) until the server's FIN, at most timeout s."""
        end = time.monotonic() + timeout
        while not (self.peer_fin or self.reset):
            left = end - time.monotonic()
            if left <= 0:
                log("no server FIN within %.1fs" % timeout)
                return False
            data = self._recv(left)
            if data is None:
                continue
            if data:
                log("discarding %d unexpected bytes" % len(data))
        return True

    def lost(self, req, why):
        """--lost-ok: the request got no response; note how, close."""
        if self.sock is not None and not self.reset:
            time.sleep(0.05)   # let a RST from the server come in
            err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self.reset = True
                log("socket error %s (the server answered with RST)" % errno.errorcode.get(err, err))
        log("request lost, no response: %s (%s%s)" % (
            req, why, ", RST" if self.reset else ""))
        self.close("after lost request")

    def prepare_for_request(self):
        if self.sock is not None and self.opts.reconnect:
            self.poll_state()
            if self.will_close or self.peer_fin or self.reset:
                if self.will_close and not (self.peer_fin or self.reset):
                    self.wait_fin(self.opts.timeout)
                self.close("server closed, reconnecting")
        self.ensure()


def run(opts):
    host_header = opts.host_header or (
        "%s:%d" % (("[%s]" % opts.host) if ":" in opts.host else opts.host, opts.port))
    c = Conn(opts)
    for kind, arg in opts.steps:
        if kind == "req":
            req = Request(arg, host_header)
            c.prepare_for_request()
            fin_before = c.peer_fin
            if not c.send(req.encode(), str(req)):
                if not opts.lost_ok:
                    raise ClientError("could not send %s" % req)
                c.lost(req, "send failed")
                continue
            try:
                c.read_response(req)
            except ClientError:
                if not (opts.lost_ok and (c.peer_fin or c.reset) and not c.buf):
                    raise
                c.lost(req, "server FIN had arrived before the request was sent"
                       if fin_before else "server closed before answering")
        elif kind == "pipeline":
            reqs = [Request(a, host_header) for a in arg]
            c.prepare_for_request()
            data = b"".join(r.encode() for r in reqs)
            if not c.send(data, "%d pipelined requests (%s)" % (
                    len(reqs), ", ".join(str(r) for r in reqs))):
                raise ClientError("could not send pipeline")
            for r in reqs:
                c.read_response(r)
        elif kind == "stale":
            req = Request(arg, host_header)
            c.ensure()
            c.poll_state()
            log("stale send: server FIN already seen: %s" % ("yes" if c.peer_fin else "no"))
            if c.send(req.encode(), str(req) + " (stale socket)"):
                # the answer is either a response, EOF or an RST
                saved_fin = c.peer_fin
                c.peer_fin = False
                try:
                    if saved_fin:
                        # recv() would return EOF at once; wait a little so the
                        # RST (if any) is processed, then look.
                        time.sleep(0.05)
                    data = c._recv(opts.timeout)
                    if data is None:
                        log("no answer to stale request within %.1fs" % opts.timeout)
                    elif data:
                        c.buf += data
                        c.read_response(req)
                    elif not c.reset:
                        log("read after stale request: EOF (server had closed)")
                finally:
                    c.peer_fin = c.peer_fin or saved_fin
                # a second write surfaces an RST as EPIPE/ECONNRESET
                if not c.reset:
                    try:
                        c.sock.send(b"")
                    except OSError as e:
                        c.reset = True
                        log("socket error after stale request: %s "
                            "(the server answered with RST)" % e)
            c.close("after stale request")
        elif kind == "sleep":
            secs = float(arg)
            log("idle %.3fs" % secs)
            end = time.monotonic() + secs
            while True:
                c.deadline_check()
                left = end - time.monotonic()
                if left <= 0:
                    break
                if c.sock is None or c.peer_fin or c.reset:
                    time.sleep(left)
                    continue
                r, _, _ = select.select([c.sock], [], [], left)
                if r:
                    c.poll_state()
                    if c.peer_fin or c.reset:
                        if opts.close_on_fin:
                            c.close("server closed while idle")
                    else:
                        time.sleep(min(left, 0.01))
        elif kind == "read_until_fin":
            c.ensure()
            c.wait_fin(opts.timeout)
            if opts.close_on_fin:
                c.close("after server FIN")
        elif kind == "close":
            c.close("requested")
        else:  # pragma: no cover
            raise ClientError("unknown step %r" % kind)
    if c.sock is not None:
        if c.will_close and not (c.peer_fin or c.reset):
            c.wait_fin(opts.timeout)
        c.close("end")
    log("done, %d connection(s)" % c.count)


class StepAction(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        steps = getattr(namespace, "steps", None) or []
        steps.append((self.dest, values))
        namespace.steps = steps


def main(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Example: rawclient.py --port 18081 --reconnect "
               "--req 'GET /a' --sleep 2 --req 'GET /a' "
               "--pipeline 'GET /a' 'HEAD /a' --stale 'GET /a HTTP/1.0'",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host-header", help="value of the Host header (default host:port)")
    p.add_argument("--timeout", type=float, default=5.0,
                   help="timeout for each socket wait, seconds (default 5)")
    p.add_argument("--max-time", type=float, default=60.0,
                   help="abort the whole run after this many seconds (default 60)")
    p.add_argument("--reconnect", action="store_true",
                   help="open a new connection when the server closed / announced close")
    p.add_argument("--lost-ok", action="store_true",
                   help="a request lost to a server close is logged, not an error")
    p.add_argument("--close-on-fin", action="store_true",
                   help="close our side as soon as a server FIN is seen")
    p.set_defaults(steps=[])
    p.add_argument("--req", dest="req", action=StepAction, metavar="SPEC")
    p.add_argument("--pipeline", dest="pipeline", action=StepAction, nargs="+", metavar="SPEC")
    p.add_argument("--stale", dest="stale", action=StepAction, metavar="SPEC")
    p.add_argument("--sleep", dest="sleep", action=StepAction, metavar="SECS")
    p.add_argument("--read-until-fin", dest="read_until_fin", action=StepAction, nargs=0)
    p.add_argument("--close", dest="close", action=StepAction, nargs=0)
    opts = p.parse_args(argv)
    if not opts.steps:
        p.error("no steps given")
    if opts.timeout <= 0 or opts.timeout > 120 or opts.max_time <= 0 or opts.max_time > 600:
        p.error("--timeout must be in (0,120] and --max-time in (0,600]")
    for kind, arg in opts.steps:
        try:
            if kind in ("req", "stale"):
                Request(arg, "x")
            elif kind == "pipeline":
                for a in arg:
                    Request(a, "x")
            elif kind == "sleep":
                if not 0 <= float(arg) <= 300:
                    raise ValueError("sleep must be within 0..300 s")
        except ValueError as e:
            p.error(str(e))
    try:
        run(opts)
    except (ClientError, OSError) as e:
        log("error: %s" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
