/* check_live.c: capture/ live, on real interfaces: lo, with real TCP
 * exchanges between sockets of this process on 127.0.0.1 (ports 18100 to
 * 18199, one per test, filtered on), "any", and a tap interface this test
 * creates (/dev/net/tun), writes frames into and removes.
 *
 * Opening, decoding what was read, TIMEOUT when idle, -c, the error
 * sentences (no such interface, no permission, a bad filter, a file that
 * cannot be written, a bad configuration), -D, interface numbers, the
 * kernel's counts (lo counts each packet twice), -w (read back with libpcap:
 * the same packets, byte for byte), -C and -G rotations and their names, the
 * frame-to-file list, an interface that goes away, a flood of packets that
 * are not IP.
 *
 * Live capture needs root (or CAP_NET_RAW and CAP_NET_ADMIN), lo and
 * /dev/net/tun: without them the whole program says why and exits 77, which
 * automake counts as skipped, never as passed. */
#define _GNU_SOURCE /* open_memstream, popen */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "capture/cap.h"
#include "common/frames.h"

#define LT_EN10MB 1
#define LT_LINUX_SLL2 276
#define SEEN_MAX 256
#define FRAME_KEEP 2048

static char tmp_dir[] = "/tmp/check_live.XXXXXX";

static void dir_setup(void)
{
    ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
}

static void dir_teardown(void)
{
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp_dir);
    ck_assert_int_eq(system(cmd), 0);
    strcpy(tmp_dir + strlen(tmp_dir) - 6, "XXXXXX");
}

static const char *in_dir(const char *name)
{
    static char paths[4][128];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, sizeof(paths[0]), "%s/%s", tmp_dir, name);
    return p;
}

static kw_usec now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (kw_usec)ts.tv_sec * KW_USEC_PER_SEC + ts.tv_nsec / 1000;
}

/* ---- traffic --------------------------------------------------------------- */

static void send_all(int fd, const void *p, size_t n)
{
    ck_assert_int_eq(send(fd, p, n, 0), (ssize_t)n);
}

static void recv_all(int fd, size_t n)
{
    char buf[4096];
    while (n) {
        ssize_t got = recv(fd, buf, n < sizeof(buf) ? n : sizeof(buf), 0);
        ck_assert_int_gt(got, 0);
        n -= (size_t)got;
    }
}

/* `n` HTTP exchanges on one connection to a listener of ours on
 * 127.0.0.1:port, each a segment of its own (no Nagle, each answer awaited),
 * then both sides close. Returns the client's port. */
static uint16_t exchange(uint16_t port, int n)
{
    static const char req[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1, ls = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert(ls >= 0 && c >= 0);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    ck_assert_msg(bind(ls, (struct sockaddr *)&a, sizeof(a)) == 0, "bind %u: %s", port,
                  strerror(errno));
    ck_assert_int_eq(listen(ls, 1), 0);
    ck_assert_int_eq(connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
    int s = accept(ls, NULL, NULL);
    ck_assert_int_ge(s, 0);
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_in me;
    socklen_t len = sizeof(me);
    ck_assert_int_eq(getsockname(c, (struct sockaddr *)&me, &len), 0);
    for (int i = 0; i < n; i++) {
        send_all(c, req, sizeof(req) - 1);
        recv_all(s, sizeof(req) - 1);
        send_all(s, resp, sizeof(resp) - 1);
        recv_all(c, sizeof(resp) - 1);
    }
    close(c);
    close(s);
    close(ls);
    return ntohs(me.sin_port);
}

/* ---- reading ----------------------------------------------------------------- */

struct seen {
    size_t n;
    struct {
        kw_usec ts;
        uint64_t frame;
        uint32_t wire_len;
        size_t caplen;
        int linktype;
        uint8_t src[4], dst[4];
        uint16_t sport, dport;
        uint8_t flags;
        uint8_t bytes[FRAME_KEEP];
    } p[SEEN_MAX];
};

static struct seen seen;

static void keep(const struct kw_pkt *pkt)
{
    ck_assert_uint_lt(seen.n, SEEN_MAX);
    ck_assert_uint_le(pkt->bytes.len, FRAME_KEEP);
    typeof(seen.p[0]) *k = &seen.p[seen.n++];
    k->ts = pkt->ts, k->frame = pkt->frame, k->wire_len = pkt->wire_len;
    k->caplen = pkt->bytes.len, k->linktype = pkt->linktype;
    memcpy(k->bytes, pkt->bytes.p, pkt->bytes.len);
    ck_assert_uint_eq(pkt->ip.family, 4);
    ck_assert_uint_eq(pkt->ip.src_addr.len, 4);
    memcpy(k->src, pkt->ip.src_addr.p, 4);
    memcpy(k->dst, pkt->ip.dst_addr.p, 4);
    if (pkt->ip.protocol == 6 && pkt->ip.transport.len >= 14) {
        const uint8_t *t = pkt->ip.transport.p;
        k->sport = (uint16_t)(t[0] << 8 | t[1]), k->dport = (uint16_t)(t[2] << 8 | t[3]);
        k->flags = t[13];
    }
}

/* Reads until nothing came for `idle_ms`, polling the descriptor between. */
static void read_all(struct kw_cap *cap, int idle_ms)
{
    kw_usec last = now_us();
    for (;;) {
        struct kw_pkt pkt;
        enum kw_cap_res r = kw_cap_next(cap, &pkt);
        if (r == KW_CAP_PKT) {
            keep(&pkt);
            last = now_us();
            continue;
        }
        ck_assert_msg(r == KW_CAP_TIMEOUT, "kw_cap_next: %d (%s)", r, kw_cap_error(cap));
        if (now_us() - last > idle_ms * 1000)
            return;
        struct pollfd pf = { kw_cap_fd(cap), POLLIN, 0 };
        ck_assert_int_ge(poll(&pf, 1, 20), 0);
    }
}

static struct kw_cap_live_config lo_config(void)
{
    /* immediate mode: 16 MiB for 255 packets of 65553 bytes */
    struct kw_cap_live_config cfg = { .iface = "lo", .immediate = true, .buffer_kib = 16384,
                                      .now = now_us() };
    return cfg;
}

static struct kw_stats st;

static struct kw_cap *open_ok(const struct kw_cap_live_config *cfg, const char *bpf)
{
    char err[KW_CAP_ERRBUF] = "";
    memset(&st, 0, sizeof(st));
    seen.n = 0;
    struct kw_cap *cap = kw_cap_open_live(cfg, bpf, &st, stderr, err);
    ck_assert_msg(cap != NULL, "%s", err);
    return cap;
}

static const char *open_fails(const struct kw_cap_live_config *cfg, const char *bpf)
{
    static char err[KW_CAP_ERRBUF];
    strcpy(err, "untouched");
    ck_assert_ptr_null(kw_cap_open_live(cfg, bpf, &st, stderr, err));
    ck_assert_ptr_null(strchr(err, '\n'));
    return err;
}

/* Every packet read was of the exchange between 127.0.0.1:client and
 * 127.0.0.1:port, in frame order from `first`, starting with its SYN. */
static void check_exchange(uint16_t port, uint16_t client, uint64_t first, kw_usec t0,
                           kw_usec t1)
{
    static const uint8_t lo_addr[4] = { 127, 0, 0, 1 };
    ck_assert_uint_ge(seen.n, 10); /* handshake 3, 2 x (2 data + acks), 2 FINs */
    for (size_t i = 0; i < seen.n; i++) {
        ck_assert_uint_eq(seen.p[i].frame, first + i);
        ck_assert(!memcmp(seen.p[i].src, lo_addr, 4) && !memcmp(seen.p[i].dst, lo_addr, 4));
        ck_assert_msg((seen.p[i].sport == client && seen.p[i].dport == port) ||
                      (seen.p[i].sport == port && seen.p[i].dport == client),
                      "packet %zu: %u -> %u", i, seen.p[i].sport, seen.p[i].dport);
        ck_assert(seen.p[i].ts >= t0 - KW_USEC_PER_SEC && seen.p[i].ts <= t1 + KW_USEC_PER_SEC);
        ck_assert(i == 0 || seen.p[i].ts >= seen.p[i - 1].ts);
        ck_assert_uint_eq(seen.p[i].wire_len, seen.p[i].caplen);
    }
    ck_assert(seen.p[0].sport == client && (seen.p[0].flags & 0x12) == 0x02); /* SYN */
    ck_assert(seen.p[1].sport == port && (seen.p[1].flags & 0x12) == 0x12);   /* SYN/ACK */
}

/* ---- reading from lo ----------------------------------------------------------- */

static void decode_test(bool immediate, uint16_t port)
{
    struct kw_cap_live_config cfg = lo_config();
    cfg.immediate = immediate;
    cfg.timeout_ms = 50;
    char bpf[32];
    snprintf(bpf, sizeof(bpf), "tcp port %u", port);
    struct kw_cap *cap = open_ok(&cfg, bpf);
    ck_assert_int_ge(kw_cap_fd(cap), 0);
    kw_usec t0 = now_us();
    uint16_t client = exchange(port, 2);
    read_all(cap, 300);
    check_exchange(port, client, 1, t0, now_us());
    ck_assert_int_eq(seen.p[0].linktype, LT_EN10MB);
    ck_assert_uint_eq(st.packets, seen.n);
    ck_assert_int_eq(kw_cap_latest_ts(cap), seen.p[seen.n - 1].ts);
    uint64_t read_bytes, total;
    kw_cap_progress(cap, &read_bytes, &total);
    ck_assert(read_bytes == 0 && total == 0);
    ck_assert_uint_eq(kw_frame_files_count(kw_cap_frame_files(cap)), 0); /* no -w */
    kw_cap_close(cap);
}

/* Packets as they come (immediate mode, TPACKET_V2), decoded. */
START_TEST(test_live_decodes)
{
    decode_test(true, 18101);
}
END_TEST

/* By blocks (TPACKET_V3): the timeout hands over a block that is not full. */
START_TEST(test_live_blocks)
{
    decode_test(false, 18102);
}
END_TEST

/* Nothing waiting: TIMEOUT at once, whatever the timeout (nonblocking). */
START_TEST(test_live_timeout_idle)
{
    struct kw_cap_live_config cfg = lo_config();
    cfg.immediate = false;
    cfg.timeout_ms = 1000;
    struct kw_cap *cap = open_ok(&cfg, "tcp port 18103");
    struct kw_pkt pkt;
    kw_usec t0 = now_us();
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(kw_cap_next(cap, &pkt), KW_CAP_TIMEOUT);
    ck_assert_int_lt(now_us() - t0, 100 * 1000);
    struct pollfd pf = { kw_cap_fd(cap), POLLIN, 0 };
    ck_assert_int_eq(poll(&pf, 1, 300), 0);
    ck_assert_uint_eq(st.packets, 0);
    ck_assert_int_eq(kw_cap_latest_ts(cap), KW_TS_NONE);
    kw_cap_close(cap);
}
END_TEST

/* -c 3: three packets, then END, and END again. */
START_TEST(test_live_count)
{
    struct kw_cap_live_config cfg = lo_config();
    cfg.count = 3;
    struct kw_cap *cap = open_ok(&cfg, "tcp port 18104");
    exchange(18104, 1);
    struct kw_pkt pkt;
    int n = 0;
    kw_usec deadline = now_us() + 5 * KW_USEC_PER_SEC;
    enum kw_cap_res r;
    while ((r = kw_cap_next(cap, &pkt)) != KW_CAP_END && now_us() < deadline) {
        if (r == KW_CAP_PKT)
            ck_assert_uint_eq(pkt.frame, (uint64_t)++n);
        else
            ck_assert_int_eq(r, KW_CAP_TIMEOUT);
    }
    ck_assert_int_eq(r, KW_CAP_END);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(kw_cap_next(cap, &pkt), KW_CAP_END);
    ck_assert_uint_eq(st.packets, 3);
    kw_cap_close(cap);
}
END_TEST

/* The kernel's counts: on lo each packet twice, none dropped; files have none. */
START_TEST(test_live_kernel_counts)
{
    struct kw_cap *cap = open_ok(&(struct kw_cap_live_config){ .iface = "lo", .now = 1 },
                                 "tcp port 18105");
    struct kw_cap_kernel_counts c = { 1, 1, 1 };
    ck_assert_int_eq(kw_cap_kernel_counts(cap, &c), 0);
    ck_assert(c.received == 0 && c.dropped == 0 && c.if_dropped == 0);
    exchange(18105, 3);
    read_all(cap, 400);
    kw_cap_tick(cap, now_us());
    ck_assert_int_eq(kw_cap_kernel_counts(cap, &c), 0);
    ck_assert_uint_ge(seen.n, 14);
    ck_assert_uint_eq(c.received, 2 * seen.n);
    ck_assert_uint_eq(c.dropped, 0);
    kw_cap_close(cap);
}
END_TEST

/* "any": Linux cooked v2, lo's packets once each. In immediate mode with
 * libpcap's buffer it holds 8 packets of 262144 bytes, and says so. */
START_TEST(test_live_any)
{
    struct kw_cap_live_config cfg = lo_config();
    cfg.iface = "any";
    cfg.buffer_kib = 0;
    char *said = NULL, err[KW_CAP_ERRBUF];
    size_t said_len = 0;
    FILE *warn = open_memstream(&said, &said_len);
    struct kw_cap *cap = kw_cap_open_live(&cfg, NULL, &st, warn, err);
    ck_assert_msg(cap != NULL, "%s", err);
    kw_cap_close(cap);
    fclose(warn);
    ck_assert_str_eq(said, "keepwatch: any: warning: in immediate mode libpcap gives each "
                     "packet a slot of up to 262144 bytes, so the buffer of 2048 KiB may hold as "
                     "few as 8 packets, and more at once are dropped (a larger buffer, -B, holds "
                     "more)\n");
    free(said);
    cfg.buffer_kib = 65536;
    cap = open_ok(&cfg, "tcp port 18106");
    kw_usec t0 = now_us();
    uint16_t client = exchange(18106, 2);
    read_all(cap, 300);
    check_exchange(18106, client, 1, t0, now_us());
    ck_assert_int_eq(seen.p[0].linktype, LT_LINUX_SLL2);
    kw_cap_close(cap);
}
END_TEST

/* ---- errors ---------------------------------------------------------------------- */

START_TEST(test_live_errors)
{
    struct kw_cap_live_config cfg = lo_config();
    cfg.iface = "kwnosuch0";
    ck_assert_str_eq(open_fails(&cfg, NULL), "kwnosuch0: no such interface");
    cfg.iface = "987654";
    const char *err = open_fails(&cfg, NULL);
    ck_assert_msg(!strncmp(err, "interface number 987654: there is none (they are numbered "
                           "from 1 to ", 68), "%s", err);
    cfg.iface = "lo";
    err = open_fails(&cfg, "tcp port");
    ck_assert_msg(!strncmp(err, "invalid filter 'tcp port': ", 27) && strlen(err) > 27, "%s",
                  err);
    err = open_fails(&cfg, "tcp port 70000");
    ck_assert_msg(!strncmp(err, "invalid filter 'tcp port 70000': ", 33), "%s", err);
    cfg.write_path = in_dir("no/such/dir.pcap");
    char want[KW_CAP_ERRBUF];
    snprintf(want, sizeof(want), "%s: cannot write capture: No such file or directory",
             cfg.write_path);
    ck_assert_str_eq(open_fails(&cfg, NULL), want);
    cfg.write_path = "/dev/full"; /* the header cannot be written: said at once */
    ck_assert_str_eq(open_fails(&cfg, NULL),
                     "/dev/full: cannot write capture: No space left on device");
    cfg.write_path = "-";
    ck_assert_str_eq(open_fails(&cfg, NULL), "-w -: keepwatch writes its report to standard "
                     "output; name a file to write the capture to");
    cfg.write_path = NULL;
    cfg.rotate_seconds = 60;
    ck_assert_str_eq(open_fails(&cfg, NULL), "rotating capture files (-C, -G) needs a file "
                     "to write (-w)");
    cfg.rotate_seconds = 0, cfg.snaplen = -1;
    ck_assert_str_eq(open_fails(&cfg, NULL), "snapshot length -1: it must be from 1 to "
                     "262144 (0: 262144)");
    cfg.snaplen = 0, cfg.buffer_kib = 1 << 30;
    ck_assert_str_eq(open_fails(&cfg, NULL), "buffer size 1073741824 KiB: it must be from 1 "
                     "to 2097151 KiB (0: libpcap's default)");
    cfg.buffer_kib = 0, cfg.iface = "";
    ck_assert_str_eq(open_fails(&cfg, NULL), "no interface to capture on was named");
}
END_TEST

/* Without root: the sentence says what is needed (in a child that gives it up). */
START_TEST(test_live_no_permission)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char err[KW_CAP_ERRBUF] = "opened";
        struct kw_stats cst;
        struct kw_cap_live_config cfg = lo_config();
        if (setgid(65534) == 0 && setuid(65534) == 0 &&
            !kw_cap_open_live(&cfg, NULL, &cst, NULL, err))
            (void)!write(fds[1], err, strlen(err));
        _exit(0);
    }
    close(fds[1]);
    char got[KW_CAP_ERRBUF] = "";
    ssize_t n = read(fds[0], got, sizeof(got) - 1);
    close(fds[0]);
    waitpid(pid, NULL, 0);
    got[n > 0 ? n : 0] = '\0';
    ck_assert_str_eq(got, "you need root (or CAP_NET_RAW) to capture on lo");
}
END_TEST

/* ---- -D ---------------------------------------------------------------------------- */

/* -D: numbered from 1, lo among them, as tcpdump -D writes them; an
 * interface can be named by its number. */
START_TEST(test_live_list)
{
    char *text = NULL, err[KW_CAP_ERRBUF];
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    ck_assert_int_eq(kw_cap_list_interfaces(out, err), 0);
    fclose(out);
    char lo_number[16] = "";
    int n = 0;
    for (char *line = text, *end; *line; line = end + 1) {
        ck_assert_ptr_nonnull(end = strchr(line, '\n'));
        *end = '\0';
        char *dot = strchr(line, '.');
        ck_assert_ptr_nonnull(dot);
        ck_assert_int_eq(atoi(line), ++n);
        if (!strcmp(dot + 1, "lo [Up, Running, Loopback]"))
            snprintf(lo_number, sizeof(lo_number), "%d", n);
        *end = '\n';
    }
    ck_assert_msg(lo_number[0], "no line for lo in:\n%s", text);
    FILE *td = popen("tcpdump -D 2>/dev/null", "r"); /* when there is one, the same lines */
    char theirs[8192];
    size_t got = td ? fread(theirs, 1, sizeof(theirs) - 1, td) : 0;
    theirs[got] = '\0';
    if (td && pclose(td) == 0)
        ck_assert_str_eq(text, theirs);
    free(text);

    struct kw_cap_live_config cfg = lo_config();
    cfg.iface = lo_number;
    struct kw_cap *cap = open_ok(&cfg, "tcp port 18107");
    uint16_t client = exchange(18107, 2);
    read_all(cap, 300);
    check_exchange(18107, client, 1, 0, now_us());
    kw_cap_close(cap);
}
END_TEST

/* ---- -w ----------------------------------------------------------------------------- */

struct file_rec {
    size_t n;
    kw_usec ts[SEEN_MAX];
    uint32_t caplen[SEEN_MAX], len[SEEN_MAX];
    uint8_t bytes[SEEN_MAX][FRAME_KEEP];
    int linktype;
    bool nano;
};

/* A -w file read back with libpcap. */
static void read_back(const char *path, struct file_rec *f)
{
    char pe[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, pe);
    ck_assert_msg(p != NULL, "%s", pe);
    FILE *raw = fopen(path, "rb");
    uint32_t magic = 0;
    ck_assert(raw && fread(&magic, 4, 1, raw) == 1);
    fclose(raw);
    f->nano = magic == 0xa1b23c4d;
    f->linktype = pcap_datalink(p);
    struct pcap_pkthdr *h;
    const u_char *b;
    int rc;
    for (f->n = 0; (rc = pcap_next_ex(p, &h, &b)) == 1; f->n++) {
        ck_assert_uint_lt(f->n, SEEN_MAX);
        ck_assert_uint_le(h->caplen, FRAME_KEEP);
        f->ts[f->n] = (kw_usec)h->ts.tv_sec * KW_USEC_PER_SEC + h->ts.tv_usec / 1000;
        f->caplen[f->n] = h->caplen, f->len[f->n] = h->len;
        memcpy(f->bytes[f->n], b, h->caplen);
    }
    ck_assert_int_eq(rc, PCAP_ERROR_BREAK); /* the end of the file, no cut record */
    pcap_close(p);
}

static struct file_rec rec;

/* Packets seen[from, from + f->n) are the file's, the same bytes and times. */
static void same_packets(const struct file_rec *f, size_t from)
{
    ck_assert_uint_le(from + f->n, seen.n);
    for (size_t i = 0; i < f->n; i++) {
        ck_assert_int_eq(f->ts[i], seen.p[from + i].ts);
        ck_assert_uint_eq(f->caplen[i], seen.p[from + i].caplen);
        ck_assert_uint_eq(f->len[i], seen.p[from + i].wire_len);
        ck_assert(!memcmp(f->bytes[i], seen.p[from + i].bytes, f->caplen[i]));
    }
}

/* The list says frame `frame` is the `at`th of `path`. */
static void frame_in(const struct kw_cap *cap, uint64_t frame, const char *path, uint64_t at)
{
    const char *name = NULL;
    uint64_t in_file = 0;
    ck_assert_msg(kw_frame_files_find(kw_cap_frame_files(cap), frame, &name, &in_file),
                  "frame %llu in no file", (unsigned long long)frame);
    ck_assert_str_eq(name, path);
    ck_assert_uint_eq(in_file, at);
}

static void write_test(bool nano, uint16_t port)
{
    struct kw_cap_live_config cfg = lo_config();
    cfg.nano = nano;
    cfg.write_path = in_dir("out.pcap");
    char bpf[32];
    snprintf(bpf, sizeof(bpf), "tcp port %u", port);
    struct kw_cap *cap = open_ok(&cfg, bpf);
    uint16_t client = exchange(port, 2);
    read_all(cap, 300);
    check_exchange(port, client, 1, 0, now_us());
    for (size_t i = 0; i < seen.n; i++)
        frame_in(cap, i + 1, cfg.write_path, i + 1);
    const char *name;
    uint64_t at;
    ck_assert(!kw_frame_files_find(kw_cap_frame_files(cap), seen.n + 1, &name, &at));
    ck_assert(!kw_frame_files_find(kw_cap_frame_files(cap), 0, &name, &at));
    kw_cap_close(cap);
    read_back(cfg.write_path, &rec);
    ck_assert_uint_eq(rec.n, seen.n);
    ck_assert_int_eq(rec.nano, nano);
    ck_assert_int_eq(rec.linktype, LT_EN10MB);
    same_packets(&rec, 0);
}

/* -w: exactly the packets read, as captured, microseconds. */
START_TEST(test_live_write)
{
    write_test(false, 18108);
}
END_TEST

/* -w with nanoseconds: the file keeps them, kw_pkt has microseconds. */
START_TEST(test_live_write_nano)
{
    write_test(true, 18109);
}
END_TEST

static off_t file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? sb.st_size : -1;
}

/* -C 300: FILE, FILE1, FILE2...; each file ends with the packet that took it
 * past 300 bytes (tcpdump checks before writing); together they are the
 * packets read, in order; the list names each frame's file and place. */
START_TEST(test_live_rotate_bytes)
{
    struct kw_cap_live_config cfg = lo_config();
    cfg.write_path = in_dir("sized.pcap");
    cfg.rotate_bytes = 300;
    struct kw_cap *cap = open_ok(&cfg, "tcp port 18110");
    exchange(18110, 4);
    read_all(cap, 300);
    char names[32][128];
    size_t n_files = 0, from = 0;
    for (;; n_files++) {
        ck_assert_uint_lt(n_files, 32);
        if (n_files)
            snprintf(names[n_files], sizeof(names[0]), "%s%zu", cfg.write_path, n_files);
        else
            snprintf(names[0], sizeof(names[0]), "%s", cfg.write_path);
        if (file_size(names[n_files]) < 0)
            break;
    }
    ck_assert_uint_ge(n_files, 3);
    ck_assert_uint_eq(kw_frame_files_count(kw_cap_frame_files(cap)), n_files);
    kw_cap_tick(cap, now_us() + 10 * KW_USEC_PER_SEC); /* the last one flushed */
    for (size_t i = 0; i < n_files; i++) {
        read_back(names[i], &rec);
        ck_assert_uint_ge(rec.n, 1);
        same_packets(&rec, from);
        for (size_t k = 0; k < rec.n; k++)
            frame_in(cap, from + k + 1, names[i], k + 1);
        off_t size = file_size(names[i]);
        off_t before_last = size - 16 - (off_t)rec.caplen[rec.n - 1];
        ck_assert_int_le(before_last, 300);
        if (i + 1 < n_files)
            ck_assert_int_gt(size, 300);
        from += rec.n;
    }
    ck_assert_uint_eq(from, seen.n);
    kw_cap_close(cap);
}
END_TEST

static int count_files(void)
{
    DIR *d = opendir(tmp_dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* The name tcpdump gives -G's file for the interval starting at `at`. */
static const char *timed_name(const char *pattern, kw_usec at)
{
    static char out[2][160];
    static int next;
    char *o = out[next++ % 2];
    time_t t = (time_t)(at / KW_USEC_PER_SEC);
    struct tm tm;
    ck_assert(localtime_r(&t, &tm) && strftime(o, sizeof(out[0]), pattern, &tm));
    return o;
}

/* -G 2 with no traffic: a new file when the clock says, not before; a late
 * tick skips the intervals it missed, and the grid does not shift. */
START_TEST(test_live_rotate_seconds_idle)
{
    struct kw_cap_live_config cfg = lo_config();
    char pattern[128];
    snprintf(pattern, sizeof(pattern), "%s/idle-%%Y%%m%%d-%%H%%M%%S.pcap", tmp_dir);
    cfg.write_path = pattern;
    cfg.rotate_seconds = 2;
    cfg.now = now_us();
    struct kw_cap *cap = open_ok(&cfg, "tcp port 18111");
    const char *first = timed_name(pattern, cfg.now);
    ck_assert_int_eq(file_size(first), 24); /* the header is on disk at once */
    kw_cap_tick(cap, cfg.now + 2 * KW_USEC_PER_SEC - 1);
    ck_assert_int_eq(count_files(), 1);
    kw_cap_tick(cap, cfg.now + 2 * KW_USEC_PER_SEC);
    ck_assert_int_eq(count_files(), 2);
    ck_assert_int_eq(file_size(timed_name(pattern, cfg.now + 2 * KW_USEC_PER_SEC)), 24);
    kw_cap_tick(cap, cfg.now + 9 * KW_USEC_PER_SEC); /* the interval from +8 s */
    ck_assert_int_eq(count_files(), 3);
    ck_assert_int_eq(file_size(timed_name(pattern, cfg.now + 8 * KW_USEC_PER_SEC)), 24);
    kw_cap_tick(cap, cfg.now + 10 * KW_USEC_PER_SEC - 1);
    ck_assert_int_eq(count_files(), 3);
    const struct kw_frame_files *ff = kw_cap_frame_files(cap);
    ck_assert_uint_eq(kw_frame_files_count(ff), 3);
    ck_assert_str_eq(kw_frame_files_at(ff, 2)->name,
                     timed_name(pattern, cfg.now + 8 * KW_USEC_PER_SEC));
    ck_assert_uint_eq(kw_frame_files_at(ff, 2)->first_frame, 1);
    read_back(timed_name(pattern, cfg.now + 8 * KW_USEC_PER_SEC), &rec);
    ck_assert_uint_eq(rec.n, 0);
    kw_cap_close(cap);
}
END_TEST

/* -G with traffic: frames read before the tick in the first file, after it
 * in the second, each numbered in its file from 1. */
START_TEST(test_live_rotate_seconds_traffic)
{
    struct kw_cap_live_config cfg = lo_config();
    char pattern[128];
    snprintf(pattern, sizeof(pattern), "%s/hour-%%s.pcap", tmp_dir);
    cfg.write_path = pattern;
    cfg.rotate_seconds = 3600;
    struct kw_cap *cap = open_ok(&cfg, "tcp port 18112");
    exchange(18112, 1);
    read_all(cap, 300);
    size_t n_first = seen.n;
    kw_cap_tick(cap, cfg.now + 3600 * (kw_usec)KW_USEC_PER_SEC);
    exchange(18112, 2);
    read_all(cap, 300);
    const char *a = timed_name(pattern, cfg.now);
    const char *b = timed_name(pattern, cfg.now + 3600 * (kw_usec)KW_USEC_PER_SEC);
    for (size_t i = 0; i < seen.n; i++)
        frame_in(cap, i + 1, i < n_first ? a : b, i < n_first ? i + 1 : i + 1 - n_first);
    kw_cap_close(cap);
    read_back(a, &rec);
    ck_assert_uint_eq(rec.n, n_first);
    same_packets(&rec, 0);
    read_back(b, &rec);
    ck_assert_uint_eq(rec.n, seen.n - n_first);
    same_packets(&rec, n_first);
}
END_TEST

/* A packet whose time is past the interval starts the next file itself,
 * before any tick: here the capture opened (the clock said) 5 s ago. */
START_TEST(test_live_rotate_seconds_on_packet)
{
    struct kw_cap_live_config cfg = lo_config();
    char pattern[128];
    snprintf(pattern, sizeof(pattern), "%s/sec-%%s.pcap", tmp_dir);
    cfg.write_path = pattern;
    cfg.rotate_seconds = 1;
    cfg.now = now_us() - 5 * KW_USEC_PER_SEC;
    struct kw_cap *cap = open_ok(&cfg, "tcp port 18113");
    exchange(18113, 1);
    read_all(cap, 300);
    const struct kw_frame_files *ff = kw_cap_frame_files(cap);
    ck_assert_uint_ge(kw_frame_files_count(ff), 2);
    const char *name;
    uint64_t at;
    ck_assert(kw_frame_files_find(ff, 1, &name, &at) && at == 1);
    ck_assert_str_ne(name, timed_name(pattern, cfg.now));
    kw_cap_close(cap);
    read_back(timed_name(pattern, cfg.now), &rec);
    ck_assert_uint_eq(rec.n, 0);
}
END_TEST

/* -G with a name without a time: written anew at each interval, as tcpdump
 * does; the frames the old one held are then in no file. */
START_TEST(test_live_rotate_rewritten)
{
    struct kw_cap_live_config cfg = lo_config();
    cfg.write_path = in_dir("same.pcap");
    cfg.rotate_seconds = 3600;
    struct kw_cap *cap = open_ok(&cfg, "tcp port 18114");
    exchange(18114, 1);
    read_all(cap, 300);
    size_t n_first = seen.n;
    frame_in(cap, 1, cfg.write_path, 1);
    kw_cap_tick(cap, cfg.now + 3600 * (kw_usec)KW_USEC_PER_SEC);
    const char *name;
    uint64_t at;
    ck_assert(!kw_frame_files_find(kw_cap_frame_files(cap), 1, &name, &at));
    exchange(18114, 1);
    read_all(cap, 300);
    frame_in(cap, n_first + 1, cfg.write_path, 1);
    ck_assert(!kw_frame_files_find(kw_cap_frame_files(cap), n_first, &name, &at));
    kw_cap_close(cap);
    read_back(cfg.write_path, &rec);
    ck_assert_uint_eq(rec.n, seen.n - n_first);
    same_packets(&rec, n_first);
}
END_TEST

/* A rotation that cannot create its file: ERROR, naming it, after the packet
 * that asked for it went on to the reader. */
START_TEST(test_live_rotate_fails)
{
    struct kw_cap_live_config cfg = lo_config();
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/gone", tmp_dir);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    char path[160];
    snprintf(path, sizeof(path), "%s/x.pcap", dir);
    cfg.write_path = path;
    cfg.rotate_bytes = 1; /* past it with the header: the first packet rotates */
    struct kw_cap *cap = open_ok(&cfg, "tcp port 18115");
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(rmdir(dir), 0);
    exchange(18115, 1);
    struct kw_pkt pkt;
    enum kw_cap_res r;
    kw_usec deadline = now_us() + 5 * KW_USEC_PER_SEC;
    while ((r = kw_cap_next(cap, &pkt)) == KW_CAP_TIMEOUT && now_us() < deadline)
        poll(&(struct pollfd){ kw_cap_fd(cap), POLLIN, 0 }, 1, 20);
    ck_assert_int_eq(r, KW_CAP_PKT);
    ck_assert_int_eq(kw_cap_next(cap, &pkt), KW_CAP_ERROR);
    char want[KW_CAP_ERRBUF];
    snprintf(want, sizeof(want), "%s1: cannot write capture: No such file or directory", path);
    ck_assert_str_eq(kw_cap_error(cap), want);
    ck_assert_int_eq(kw_cap_next(cap, &pkt), KW_CAP_ERROR);
    kw_cap_close(cap);
}
END_TEST

/* ---- a tap interface ------------------------------------------------------------------ */

static char tap_name[IFNAMSIZ]; /* kwtapPID: two runs at once do not meet */

static int tap_open(void)
{
    snprintf(tap_name, sizeof(tap_name), "kwtap%d", (int)(getpid() % 100000));
    int fd = open("/dev/net/tun", O_RDWR);
    ck_assert_msg(fd >= 0, "/dev/net/tun: %s", strerror(errno));
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    strcpy(ifr.ifr_name, tap_name);
    ck_assert_msg(ioctl(fd, TUNSETIFF, &ifr) == 0, "TUNSETIFF: %s", strerror(errno));
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    ck_assert(s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0);
    ifr.ifr_flags |= IFF_UP;
    ck_assert_int_eq(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
    close(s);
    return fd;
}

/* A frame coming in on the tap: Ethernet, then ARP or IPv4 and a TCP SYN. */
static void tap_send(int fd, bool tcp, uint16_t sport)
{
    uint8_t f[14 + 20 + 20] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 8, 0 };
    uint8_t *ip = f + 14, *t = ip + 20;
    size_t len = sizeof(f);
    if (tcp) {
        memcpy(ip, (uint8_t[]){ 0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 10, 9, 8, 7, 10, 9,
                                8, 6 }, 20);
        t[0] = (uint8_t)(sport >> 8), t[1] = (uint8_t)sport, t[3] = 80, t[12] = 0x50;
        t[13] = 0x02;
    } else {
        f[13] = 6; /* ARP: what follows does not matter here */
        len = 14 + 28;
    }
    ck_assert_int_eq(write(fd, f, len), (ssize_t)len);
}

/* Frames on another interface than lo: counted once; a flood of frames that
 * are not IP gives the caller its turn (TIMEOUT) every 256; the interface
 * going away is an ERROR that names it, and stays one. */
START_TEST(test_live_tap)
{
    int fd = tap_open();
    struct kw_cap_live_config cfg = lo_config();
    cfg.iface = tap_name;
    cfg.immediate = false; /* by blocks: 301 small frames fit in one */
    cfg.timeout_ms = 10;
    struct kw_cap *cap = open_ok(&cfg, "not ip6"); /* not what the kernel sends on it */
    for (int i = 0; i < 300; i++)
        tap_send(fd, false, 0);
    tap_send(fd, true, 40001);
    usleep(200 * 1000);
    struct kw_pkt pkt;
    ck_assert_int_eq(kw_cap_next(cap, &pkt), KW_CAP_TIMEOUT); /* 256 not IP */
    ck_assert_uint_eq(st.skip_not_ip, 256);
    ck_assert_int_eq(kw_cap_next(cap, &pkt), KW_CAP_PKT);
    ck_assert_uint_eq(pkt.frame, 301);
    ck_assert_uint_eq(st.skip_not_ip, 300);
    keep(&pkt);
    ck_assert(seen.p[0].sport == 40001 && seen.p[0].dport == 80);
    ck_assert(!memcmp(seen.p[0].src, (uint8_t[]){ 10, 9, 8, 7 }, 4));
    struct kw_cap_kernel_counts c;
    ck_assert_int_eq(kw_cap_kernel_counts(cap, &c), 0);
    ck_assert_uint_eq(c.received, 301); /* once each: it is not lo */
    ck_assert_uint_eq(c.dropped, 0);
    close(fd); /* the interface goes away */
    struct pollfd pf = { kw_cap_fd(cap), POLLIN, 0 };
    ck_assert_int_eq(poll(&pf, 1, 2000), 1);
    enum kw_cap_res r = kw_cap_next(cap, &pkt);
    while (r == KW_CAP_PKT) /* what it sent out before it went */
        r = kw_cap_next(cap, &pkt);
    ck_assert_int_eq(r, KW_CAP_ERROR);
    char want[KW_CAP_ERRBUF];
    snprintf(want, sizeof(want), "%s: capture stopped after %llu packets: ", tap_name,
             (unsigned long long)st.packets);
    const char *said = kw_cap_error(cap);
    ck_assert_msg(!strncmp(said, want, strlen(want)) && strstr(said, "interface"), "%s", said);
    ck_assert_int_eq(kw_cap_next(cap, &pkt), KW_CAP_ERROR);
    ck_assert_int_eq(kw_cap_kernel_counts(cap, &c), 0); /* the last ones read */
    ck_assert_uint_eq(c.received, 301);
    kw_cap_close(cap);
}
END_TEST

/* ---- suite -------------------------------------------------------------------------------- */

/* Why live capture cannot be tested here, or NULL. */
static const char *cannot_test(void)
{
    static char why[PCAP_ERRBUF_SIZE + 64];
    char pe[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_create("lo", pe);
    int rc = p ? pcap_activate(p) : PCAP_ERROR;
    if (rc < 0)
        snprintf(why, sizeof(why), "cannot capture on lo: %s",
                 p ? pcap_geterr(p) : pe);
    if (p)
        pcap_close(p);
    if (rc < 0)
        return why;
    int fd = open("/dev/net/tun", O_RDWR);
    if (fd < 0) {
        snprintf(why, sizeof(why), "cannot create a tap interface: /dev/net/tun: %s",
                 strerror(errno));
        return why;
    }
    close(fd);
    return NULL;
}

static Suite *live_suite(void)
{
    Suite *s = suite_create("live");
    TCase *tc = tcase_create("lo");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
    tcase_add_test(tc, test_live_decodes);
    tcase_add_test(tc, test_live_blocks);
    tcase_add_test(tc, test_live_timeout_idle);
    tcase_add_test(tc, test_live_count);
    tcase_add_test(tc, test_live_kernel_counts);
    tcase_add_test(tc, test_live_any);
    tcase_add_test(tc, test_live_errors);
    tcase_add_test(tc, test_live_no_permission);
    tcase_add_test(tc, test_live_list);
    tcase_add_test(tc, test_live_write);
    tcase_add_test(tc, test_live_write_nano);
    tcase_add_test(tc, test_live_rotate_bytes);
    tcase_add_test(tc, test_live_rotate_seconds_idle);
    tcase_add_test(tc, test_live_rotate_seconds_traffic);
    tcase_add_test(tc, test_live_rotate_seconds_on_packet);
    tcase_add_test(tc, test_live_rotate_rewritten);
    tcase_add_test(tc, test_live_rotate_fails);
    suite_add_tcase(s, tc);
    tc = tcase_create("tap");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_live_tap);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    const char *why = cannot_test();
    if (why) {
        printf("SKIP: live capture tests not run: %s (they need root, or CAP_NET_RAW and "
               "CAP_NET_ADMIN)\n", why);
        return 77;
    }
    SRunner *sr = srunner_create(live_suite());
    srunner_run_all(sr, CK_NORMAL);
    int n_failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return n_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
