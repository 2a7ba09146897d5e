#!/usr/bin/env python3
"""live.py: keepwatch -i lo against real servers, as it happens.

Starts nginx on 127.0.0.1 (keepalive_requests 2, keepalive_timeout 1s) and
the Tornado app of tests/pcaps, then `keepwatch -i lo` with a port filter,
--json=FILE, -w FILE and -Z nobody, and drives curl and the raw-socket client
of tests/pcaps through the recorded scenarios:
  - a connection opened before keepwatch started, used again after: picked up;
  - curl, three URLs on nginx: the 2nd response announces the close (max 2);
  - one request, then idle past nginx's 1 s: nginx closes it (idle close);
  - the same, but the client writes again after the close: lost-request;
  - Tornado, HTTP/1.0 answered HTTP/1.1 and closed: ambiguous-persistence.
It asserts the events, the findings and the server policy (max 2, idle 1 s);
that each event is written within a second of the packet that decided it
(the JSON file is watched every 20 ms); that SIGHUP after a rename leaves two
files whose lines add up, none cut; that the process runs as nobody; that
SIGUSR1 writes a stats event; that SIGINT ends it with exit status 0 and the
kernel's counts; and that -w holds as many packets as keepwatch counted.

Needs root (to sniff lo), nginx, python3-tornado and curl; without them it
says why and exits 77 (skipped). Every wait is bounded; it stops only the
processes it started, by pid.
Environment: KEEPWATCH (the binary), srcdir (the source tree).
"""
import json
import os
import pwd
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

KEEPWATCH = os.environ.get("KEEPWATCH", "./keepwatch")
SRC = os.environ.get("srcdir", ".")
PCAPS = os.path.join(SRC, "tests", "pcaps")
# Debian's python3, which has python3-tornado, whatever python3 runs this test
SERVER_PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
LAG_MAX_S = 1.0  # an event is written this soon after the packet that decided it

passed = failed = 0


def check(ok, what):
    global passed, failed
    print(("ok - " if ok else "not ok - ") + what, flush=True)
    if ok:
        passed += 1
    else:
        failed += 1


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(77)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(port, proc, what):
    for _ in range(100):  # 10 s
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited while starting (status {proc.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{what} did not listen on 127.0.0.1:{port}")


def start_nginx(work, port):
    root = os.path.join(work, "htdocs")
    os.makedirs(os.path.join(work, "tmp"))
    os.makedirs(root)
    with open(os.path.join(root, "hello.txt"), "w") as f:
        f.write("hello\n")
    conf = os.path.join(work, "nginx.conf")
    temps = "".join(f"    {k}_temp_path {work}/tmp/{k};\n"
                    for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    with open(conf, "w") as f:
        f.write(f"""daemon off;
worker_processes 1;
user nobody nogroup;
pid {work}/nginx.pid;
error_log {work}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
{temps}    types {{ text/plain txt; }}
    keepalive_requests 2;
    keepalive_timeout 1s;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
""")
    os.chmod(work, 0o755)
    os.chmod(root, 0o755)
    p = subprocess.Popen([NGINX, "-p", work, "-c", conf, "-e", f"{work}/error.log"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_http(port, p, "nginx")
    return p


def start_tornado(port):
    p = subprocess.Popen([SERVER_PYTHON, os.path.join(PCAPS, "tornado_app.py"),
                          "--address", "127.0.0.1", "--port", str(port)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_http(port, p, "tornado")
    return p


def raw(port, *steps):
    subprocess.run([sys.executable, os.path.join(PCAPS, "rawclient.py"), "--port", str(port),
                    "--timeout", "4", "--max-time", "20", *steps],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)


class Watch:
    """The JSON lines of a file as they are written, each with the wall time it
    was first seen (the file is read every 20 ms)."""

    def __init__(self, path):
        self.path, self.off, self.partial, self.events = path, 0, b"", []

    def poll(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.off)
                data = f.read()
        except FileNotFoundError:
            return
        self.off += len(data)
        now = time.time()
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            self.events.append((now, line))

    def wait_for(self, pred, seconds):
        """Watches until an event matches pred (then returns it) or time is up."""
        end = time.time() + seconds
        seen = 0
        while True:
            self.poll()
            for t, line in self.events[seen:]:
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                if pred(e):
                    return e, t
            seen = len(self.events)
            if time.time() >= end:
                return None, None
            time.sleep(0.02)

    def reopen(self, path):
        self.poll()
        self.path, self.off, self.partial = path, 0, b""


def ts(e):
    """An event's ts (RFC 3339, UTC) in seconds since the epoch."""
    s = e["ts"]
    whole, frac = s[:19], s[20:-1]
    t = time.mktime(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) - time.timezone
    return t + (int(frac) / 10 ** len(frac) if frac else 0)


def lag_ok(e, seen, decided_at, what):
    lag = seen - decided_at
    check(-0.5 < lag <= LAG_MAX_S, f"{what}: written {lag:.3f} s after the packet that decided it")


def pcap_count(path):
    with open(path, "rb") as f:
        data = f.read()
    n, off = 0, 24
    endian = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    while off + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[off + 8:off + 12])[0]
        off += 16 + incl
        n += 1
    return n


def uid_of(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    return -1


if os.geteuid() != 0:
    skip("sniffing lo needs root (or CAP_NET_RAW): run make check as root")
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
if not NGINX:
    skip("nginx is not installed (apt-get install nginx-light)")
if subprocess.run([SERVER_PYTHON, "-c", "import tornado"], capture_output=True).returncode:
    skip("python3-tornado is not installed")
if not shutil.which("curl"):
    skip("curl is not installed")
try:
    NOBODY = pwd.getpwnam("nobody").pw_uid
except KeyError:
    skip("there is no user nobody for -Z")

work = tempfile.mkdtemp(prefix="keepwatch-live.")
os.chmod(work, 0o777)  # -Z nobody reopens the JSON file here on SIGHUP
servers, kw = [], None
try:
    p_ngx, p_tor = free_port(), free_port()
    servers.append(start_nginx(os.path.join(work, "nginx"), p_ngx))
    servers.append(start_tornado(p_tor))
    json_path, pcap_path = os.path.join(work, "events.json"), os.path.join(work, "packets.pcap")

    # a connection to Tornado (which keeps it for an hour), open before keepwatch
    early = socket.create_connection(("127.0.0.1", p_tor), timeout=5)
    early.sendall(b"GET /_health HTTP/1.1\r\nHost: x\r\n\r\n")
    early.recv(4096)

    evidence = os.path.join(work, "evidence")
    kw = subprocess.Popen([KEEPWATCH, "-i", "lo", f"--json={json_path}", "-w", pcap_path,
                           "-Z", "nobody", f"--evidence={evidence}", "--evidence-level=notice", "tcp", "port", str(p_ngx), "or", "tcp", "port",
                           str(p_tor)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          # as a shell starts a background job: SIGINT ignored, yet it
                          # must stop keepwatch
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    watch = Watch(json_path)
    # ready: a request of curl's is seen (bounded: 10 tries)
    ready = None
    for _ in range(10):
        subprocess.run(["curl", "-s", "-o", "/dev/null", "--max-time", "2",
                        f"http://127.0.0.1:{p_tor}/_health?ready"], timeout=10)
        ready, _ = watch.wait_for(lambda e: e.get("event") == "transaction" and
                                  e.get("uri") == "/_health?ready", 1)
        if ready or kw.poll() is not None:
            break
    if not ready:
        kw.send_signal(signal.SIGINT)
        out, err = kw.communicate(timeout=10)
        raise SystemExit("keepwatch never reported the probe: " + err.decode(errors="replace"))
    check(uid_of(kw.pid) == NOBODY, f"-Z nobody: runs as uid {uid_of(kw.pid)}")

    # the connection open before keepwatch: its next request is picked up
    early.sendall(b"GET /_health?early HTTP/1.1\r\nHost: x\r\n\r\n")
    early.recv(4096)
    e, t = watch.wait_for(lambda e: e.get("event") == "transaction" and
                          e.get("uri") == "/_health?early", 3)
    check(e is not None and e["midstream"] is True and e["status"] == 200,
          "a connection opened before keepwatch started is picked up")
    if e:
        lag_ok(e, t, ts(e) + e["response_time_s"], "its transaction")
    early.close()

    # nginx: three requests, the 2nd response closes (max 2)
    u = f"http://127.0.0.1:{p_ngx}/hello.txt"
    subprocess.run(["curl", "-s", "-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null",
                    "--http1.1", u, u, u], timeout=20)
    e, t = watch.wait_for(lambda e: e.get("event") == "connection" and
                          e["server_port"] == p_ngx and e["requests"] == 2, 5)
    # who sends the first FIN is a race: nginx closes, and curl closes on the header
    check(e is not None and e["close_announced"] is True and e["close"] == "fin",
          f"nginx closes after its 2nd request, announced "
          f"({e and (e['closed_by'], e['close_announced'], e['close'])})")
    if e:
        lag_ok(e, t, ts(e) + e["duration_s"], "that connection's end")

    # nginx: one request, then idle until nginx closes it at 1 s
    raw(p_ngx, "--close-on-fin", "--req", "GET /hello.txt?idle", "--read-until-fin")
    e, t = watch.wait_for(lambda e: e.get("event") == "connection" and
                          e["server_port"] == p_ngx and e["requests"] == 1 and
                          e["closed_by"] == "server", 4)
    check(e is not None and e["close_announced"] is False and
          0.9 <= (e["idle_before_close_s"] or 0) <= 1.6,
          f"nginx closes an idle connection after 1 s "
          f"({e and e['idle_before_close_s']} s idle)")
    if e:
        lag_ok(e, t, ts(e) + e["duration_s"], "the idle connection's end")

    # the same, but the client reuses it after the close: a lost request
    raw(p_ngx, "--req", "GET /hello.txt?race", "--sleep", "1.5", "--lost-ok",
        "--stale", "GET /hello.txt?lost")
    e, t = watch.wait_for(lambda e: e.get("event") == "alert" and e["rule"] == "lost-request"
                          and e["server_port"] == p_ngx, 4)
    check(e is not None, "a request written after nginx's idle close: lost-request, at once")
    if e:
        lag_ok(e, t, ts(e), "the lost-request finding")

    # Tornado: HTTP/1.0 answered HTTP/1.1, closed, then written to again
    raw(p_tor, "--req", "GET /_health HTTP/1.0", "--sleep", "0.05", "--stale",
        "GET /_health HTTP/1.0")
    e, t = watch.wait_for(lambda e: e.get("event") == "alert" and
                          e["rule"] == "ambiguous-persistence", 4)
    check(e is not None and e["server_port"] == p_tor,
          "Tornado's HTTP/1.1 answer to HTTP/1.0: ambiguous-persistence")
    if e:
        lag_ok(e, t, ts(e), "the ambiguous-persistence finding")

    # SIGUSR1: a stats event
    kw.send_signal(signal.SIGUSR1)
    e, _ = watch.wait_for(lambda e: e.get("event") == "stats", 3)
    check(e is not None and e["packets"] > 0, "SIGUSR1 writes a stats event")

    # SIGHUP after a rename: the rest goes to a new file under the old name
    rotated = json_path + ".1"
    os.rename(json_path, rotated)
    kw.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    watch.reopen(json_path)
    subprocess.run(["curl", "-s", "-o", "/dev/null", f"http://127.0.0.1:{p_tor}/_health?after"],
                   timeout=10)
    e, _ = watch.wait_for(lambda e: e.get("event") == "transaction" and
                          e.get("uri") == "/_health?after", 3)
    check(e is not None, "after SIGHUP, events go to the new file")

    # a connection still open at SIGINT
    held = socket.create_connection(("127.0.0.1", p_tor), timeout=5)
    held.sendall(b"GET /_health?held HTTP/1.1\r\nHost: x\r\n\r\n")
    held.recv(4096)
    held_port = held.getsockname()[1]
    watch.wait_for(lambda e: e.get("event") == "transaction" and
                   e.get("uri") == "/_health?held", 3)
    kw.send_signal(signal.SIGINT)
    try:
        out, err = kw.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        kw.kill()
        out, err = kw.communicate()
    check(kw.returncode == 0, f"SIGINT: exit status {kw.returncode} "
          f"{err.decode(errors='replace').strip()}")

    lines = []
    for path in (rotated, json_path):
        with open(path, "rb") as f:
            data = f.read()
        check(data.endswith(b"\n"), f"{os.path.basename(path)} ends with a whole line")
        lines += data.splitlines()
    events = []
    for line in lines:
        try:
            events.append(json.loads(line))
        except ValueError:
            check(False, f"a line cut or not JSON: {line[:80]!r}")
    stats = [e for e in events if e["event"] == "stats"][-1]
    txns = [e for e in events if e["event"] == "transaction"]
    check(stats["requests"] == len(txns),
          f"the two files add up: {len(txns)} transactions, {stats['requests']} requests "
          f"counted")
    check(stats["kernel"] is not None and stats["kernel"]["received"] >= stats["packets"],
          f"the kernel's counts at the end: {stats['kernel']}")
    ngx = [e for e in events if e["event"] == "server" and e["server_port"] == p_ngx]
    check(bool(ngx) and ngx[-1]["observed_max_requests"] == 2 and
          0.9 <= (ngx[-1]["observed_idle_timeout_s"] or 0) <= 1.6,
          "nginx's policy: max 2 requests, idle timeout 1 s (observed "
          f"{ngx and ngx[-1]['observed_max_requests']}, "
          f"{ngx and ngx[-1]['observed_idle_timeout_s']} s)")
    ends = [e for e in events if e["event"] == "connection" and e["close"] == "capture-end"]
    check([e["client_port"] for e in ends] == [held_port],
          f"at SIGINT, the connection still open ends as capture-end "
          f"({[e['client_port'] for e in ends]}, {held_port})")
    held.close()
    n = pcap_count(pcap_path)
    check(n == stats["packets"], f"-w wrote {n} packets, keepwatch counted {stats['packets']}")

    # the same traffic read back from the -w file gives the same report
    back = subprocess.run([KEEPWATCH, "--json", "-r", pcap_path], capture_output=True,
                          timeout=60)
    offline = [json.loads(line) for line in back.stdout.splitlines()]

    def story(evs):
        return sorted(
            [("txn", e["client_port"], e["uri"], e["status"], e["midstream"])
             for e in evs if e["event"] == "transaction"] +
            [("alert", e["client_port"], e["rule"], tuple(e["evidence"].get("frames", ())))
             for e in evs if e["event"] == "alert"] +
            [("conn", e["client_port"], e["requests"], e["close"], e["closed_by"])
             for e in evs if e["event"] == "connection"], key=repr)
    live_story, file_story = story(events), story(offline)
    check(live_story == file_story,
          f"the -w file read back gives the same transactions, findings and connections "
          f"({len(live_story)} facts; live only: "
          f"{[x for x in live_story if x not in file_story][:3]}, file only: "
          f"{[x for x in file_story if x not in live_story][:3]})")

    # a finding names the -w file and its frames there; --evidence copies them out
    alerts = [e for e in events if e["event"] == "alert"]
    check(bool(alerts) and all(a["evidence"]["file"] == pcap_path and
                               a["evidence"]["file_frames"] == a["evidence"]["frames"]
                               for a in alerts),
          f"findings name the -w file and their frames in it ({len(alerts)} findings)")
    try:
        with open(os.path.join(evidence, "index.json")) as f:
            index = [json.loads(line) for line in f]
    except (OSError, ValueError) as why:
        index = []
        check(False, f"no evidence index: {why}")
    by_conn = {e["conn"]: e for e in index}
    ok = bool(index)
    for a in alerts:
        entry = by_conn.get(a["conn"])
        path = entry and os.path.join(evidence, entry["file"])
        ok = ok and entry is not None and os.path.exists(path) and \
            set(a["evidence"]["frames"]) <= set(range(entry["first_frame"],
                                                      entry["last_frame"] + 1)) and \
            pcap_count(path) == entry["packets"] > 0
    check(ok, f"--evidence copied each finding's connection out of the -w file "
          f"({len(index)} captures)")
finally:
    if kw and kw.poll() is None:
        kw.kill()
        kw.wait()
    for p in servers:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    shutil.rmtree(work, ignore_errors=True)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
