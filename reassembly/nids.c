/* nids.c: libnids, driven packet by packet from our loop. The one file that
 * includes <nids.h> and the one with file-scope mutable state: libnids'
 * callbacks carry no context, and its parameters are globals.
 *
 * Beside libnids' stream table we keep our own connection records (conns.c),
 * for what libnids does not tell: who sent a FIN or RST and when, packets of
 * connections it does not follow, segments missing from the capture (libnids
 * stalls a direction at a hole, silently), and idle connections (libnids has
 * no idle timeout: a connection whose FIN or RST was lost would stay open). */
#include "reassembly/reasm.h"

#include <netinet/in.h>
#include <nids.h>
#include <pcap/pcap.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/cursor.h"
#include "reassembly/conns.h"

#define TH_FIN_BIT 0x01
#define TH_SYN_BIT 0x02
#define TH_RST_BIT 0x04
#define TCP_HEADER_MIN 20

/* Address space set aside at start and given back when libnids runs out of
 * memory, so that the report of what was decoded can still be written (the
 * output formats each connection's end into buffers it may have to grow).
 * Never touched: it costs no memory, only address space. */
#define NO_MEM_RESERVE_BYTES (4u << 20)

struct kw_reasm {
    struct reasm_table conns;
    struct kw_stats *stats;
    pcap_t *raw_ip_handle;              /* DLT_RAW: libnids takes its link offset from it */
    kw_usec idle_limit;          /* 0: connections never go idle */
    kw_usec clock;               /* the latest packet time fed: activity is stamped with it,
                                  * so the activity order is also an order in time */
    /* the packet being fed */
    kw_usec ts;
    uint64_t frame;
    struct pcap_pkthdr hdr;      /* libnids keeps a pointer to it: it must outlive the call */
    uint32_t src_addr;
    uint16_t src_port;
    struct reasm_conn *opened;       /* set when the packet completed a handshake */
    struct reasm_conn *delivered_to; /* set when the packet's data was delivered */
    struct reasm_conn *ended;        /* set when the packet ended a connection */
    /* out of memory inside libnids: its no_mem hook jumps back to the call */
    sigjmp_buf no_mem_jump;
    bool armed;                  /* no_mem_jump is set, in an active frame */
    bool failed;                 /* libnids' state may be half updated: never call it again */
    void *no_mem_reserve;        /* NO_MEM_RESERVE_BYTES, given back on failure */
    char error[KW_REASM_ERRBUF];
};

static struct kw_reasm *kw_nids_owner; /* libnids' callbacks have no context pointer */

/* --- ending a connection ------------------------------------------------------ */

static void end_conn(struct kw_reasm *r, struct reasm_conn *c, struct kw_reasm_end end)
{
    if (c->stream && !r->failed)
        c->stream->user = NULL; /* libnids may still call back for it: nothing to do then */
    c->stream = NULL;
    if (!r->ended)
        r->ended = c;
    if (end.how == KW_CLOSE_TIMEOUT && end.timeout == KW_TIMEOUT_IDLE)
        r->stats->idle_timeouts++;
    reasm_conn_end(&r->conns, c, &end);
}

/* An end caused by the packet being fed, at its time. */
static void end_now(struct kw_reasm *r, struct reasm_conn *c, enum kw_close how,
                    enum kw_timeout why, enum kw_dir rst_dir)
{
    end_conn(r, c, (struct kw_reasm_end){ .how = how, .timeout = why, .rst_dir = rst_dir,
                                          .ts = r->ts, .frame = r->frame });
}

/* Lets libnids forget a connection we end ourselves; from outside any libnids
 * callback only (freeing there is a double free: API.txt 7). libnids may have
 * freed the stream silently (a tcp_flow_timeout takeover) and reused it for a
 * new half-open connection on the same 4-tuple: it is still ours only if the
 * 4-tuple finds it and it points back at our record. */
static void release_stream(struct reasm_conn *c)
{
    struct tuple4 t = { c->cli_port, c->srv_port, c->cli_addr, c->srv_addr };
    struct tcp_stream *s = nids_find_tcp_stream(&t);
    if (s && s == c->stream && s->user == c) {
        s->user = NULL;
        nids_free_tcp_stream(s); /* no callback */
    }
    c->stream = NULL;
}

/* --- libnids callbacks ------------------------------------------------------- */

static void on_established(struct kw_reasm *r, struct tcp_stream *a)
{
    struct reasm_conn *old =
        reasm_conn_find(&r->conns, a->addr.saddr, a->addr.source, a->addr.daddr, a->addr.dest);
    if (old) {
        /* libnids replaced a stream on a reused 4-tuple without telling us
         * (tcp_flow_timeout): the stream `old` held is gone, or is `a` now. */
        old->stream = NULL;
        end_now(r, old, KW_CLOSE_TIMEOUT, KW_TIMEOUT_REUSED, KW_TO_SERVER);
    }
    struct reasm_conn *c = reasm_conn_open(&r->conns, a->addr.saddr, a->addr.source,
                                           a->addr.daddr, a->addr.dest, r->clock);
    if (!c) { /* cannot happen: our pool is as large as libnids' */
        r->stats->streams_evicted++;
        return;
    }
    c->stream = a;
    /* libnids: a->client holds the client's own sequence numbers, a->server the server's. */
    c->seq_base[KW_TO_SERVER] = a->client.first_data_seq;
    c->seq_base[KW_TO_CLIENT] = a->server.first_data_seq;

    struct kw_conn_key key;
    memset(&key, 0, sizeof(key));
    key.client.family = key.server.family = 4;
    memcpy(key.client.addr, &a->addr.saddr, 4);
    memcpy(key.server.addr, &a->addr.daddr, 4);
    key.client.port = a->addr.source;
    key.server.port = a->addr.dest;
    c->user = r->conns.sink.on_open(r->conns.sink.ctx, &key, r->ts, false);
    a->user = c;
    a->client.collect++;
    a->server.collect++;
    r->stats->connections++;
    r->opened = c;
}

static void deliver(struct kw_reasm *r, struct tcp_stream *a, struct reasm_conn *c)
{
    /* Exactly one half has new bytes. a->server collects what the client sent. */
    enum kw_dir dir = a->server.count_new ? KW_TO_SERVER : KW_TO_CLIENT;
    struct half_stream *h = dir == KW_TO_SERVER ? &a->server : &a->client;
    size_t n = (size_t)h->count_new;
    c->delivered[dir] += n;
    r->delivered_to = c;
    if (c->user)
        r->conns.sink.on_data(r->conns.sink.ctx, c->user, dir, r->ts, r->frame,
                              kw_slice_make(h->data, n));
    reasm_conn_stream_grew(&r->conns, c, dir);
    /* libnids discards all of it: the decoder has consumed it */
}

static void kw_nids_on_tcp(struct tcp_stream *a, void **param)
{
    struct kw_reasm *r = kw_nids_owner;
    struct reasm_conn *c = a->user;
    *param = NULL; /* libnids keeps it as the listener's data: never leave it unset */

    switch (a->nids_state) {
    case NIDS_JUST_EST:
        on_established(r, a);
        return;
    case NIDS_DATA:
        if (c)
            deliver(r, a, c);
        return;
    case NIDS_CLOSE:
        if (c)
            end_now(r, c, KW_CLOSE_FIN, KW_TIMEOUT_NONE, KW_TO_SERVER);
        return;
    case NIDS_RESET:
        if (c)
            end_now(r, c, KW_CLOSE_RST, KW_TIMEOUT_NONE,
                    r->src_addr == c->cli_addr && r->src_port == c->cli_port ? KW_TO_SERVER
                                                                             : KW_TO_CLIENT);
        return;
    case NIDS_TIMED_OUT: /* evicted: the stream table was full */
        if (c) {
            r->stats->streams_evicted++;
            end_now(r, c, KW_CLOSE_TIMEOUT, KW_TIMEOUT_EVICTED, KW_TO_SERVER);
        }
        return;
    case NIDS_EXITING: /* kw_reasm_finish() has ended every connection already */
    default:
        if (c)
            end_now(r, c, KW_CLOSE_CAPTURE_END, KW_TIMEOUT_NONE, KW_TO_SERVER);
        return;
    }
}

/* Replaces libnids' default, a syslog(LOG_ALERT) per event, with counters. */
static void kw_nids_on_warning(int type, int err, struct ip *ip, void *data)
{
    (void)ip;
    (void)data;
    struct kw_reasm *r = kw_nids_owner;
    if (!r || type != NIDS_WARN_TCP)
        return;
    if (err == NIDS_WARN_TCP_BIGQUEUE)
        r->stats->queue_dropped++;
    else if (err == NIDS_WARN_TCP_HDR)
        r->stats->tcp_invalid++;
}

/* libnids' hook for a failed allocation (its default calls exit()). libnids
 * goes on as if it had memory, so we must not return: jump back to where we
 * called it, and never call it again. */
static void kw_nids_no_mem(char *where)
{
    struct kw_reasm *r = kw_nids_owner;
    if (!r || !r->armed) { /* cannot happen: every call that allocates is guarded */
        fprintf(stderr, "keepwatch: out of memory in the TCP reassembler (%s)\n", where);
        abort();
    }
    if (r->frame)
        snprintf(r->error, sizeof(r->error),
                 "out of memory in the TCP reassembler (libnids, %s) at frame %llu; the "
                 "report covers the packets before it",
                 where, (unsigned long long)r->frame);
    else
        snprintf(r->error, sizeof(r->error),
                 "out of memory starting the TCP reassembler (libnids, %s)", where);
    if (r->no_mem_reserve) {
        munmap(r->no_mem_reserve, NO_MEM_RESERVE_BYTES);
        r->no_mem_reserve = NULL;
    }
    r->failed = true;
    r->armed = false;
    siglongjmp(r->no_mem_jump, 1);
}

/* --- start and stop ------------------------------------------------------------ */

/* nids_init() allocates its tables, so it is guarded like a feed. After the
 * jump nothing but r is used (locals may be lost: C11 7.13.2.1). */
static bool init_libnids(struct kw_reasm *r)
{
    kw_nids_owner = r;
    if (sigsetjmp(r->no_mem_jump, 0))
        return false;
    r->armed = true;
    bool started = nids_init() != 0;
    r->armed = false;
    if (!started)
        snprintf(r->error, sizeof(r->error), "cannot start the TCP reassembler: %s",
                 nids_errbuf);
    return started;
}

static void set_libnids_params(const struct kw_reasm_config *cfg, pcap_t *raw_ip_handle)
{
    /* libnids keeps the pointer: static */
    static struct nids_chksum_ctl no_checksums = { 0, 0, NIDS_DONT_CHKSUM, 0 };
    nids_register_chksum_ctl(&no_checksums, 1); /* loopback and offloaded captures: bad sums */
    nids_params.pcap_desc = raw_ip_handle;               /* bare IPv4, link offset 0 */
    nids_params.device = NULL;
    nids_params.filename = NULL;
    nids_params.syslog = kw_nids_on_warning;
    nids_params.no_mem = kw_nids_no_mem;
    nids_params.scan_num_hosts = 0;             /* no port-scan detector */
    nids_params.n_tcp_streams = cfg->n_tcp_streams;
    nids_params.tcp_workarounds = 0;
    nids_params.multiproc = 0;
    nids_params.tcp_flow_timeout = cfg->flow_timeout_s;
}

struct kw_reasm *kw_reasm_new(const struct kw_reasm_config *cfg, const struct kw_reasm_sink *sink,
                              struct kw_stats *stats, char err[KW_REASM_ERRBUF])
{
    if (kw_nids_owner) {
        snprintf(err, KW_REASM_ERRBUF, "only one reassembler per process");
        return NULL;
    }
    if (cfg->n_tcp_streams < 16 || cfg->n_tcp_streams > (1 << 24)) {
        snprintf(err, KW_REASM_ERRBUF, "stream table size %d out of range (16 to 16777216)",
                 cfg->n_tcp_streams);
        return NULL;
    }
    if (cfg->idle_timeout_s < 0) {
        snprintf(err, KW_REASM_ERRBUF, "idle timeout %d s is negative", cfg->idle_timeout_s);
        return NULL;
    }
    struct kw_reasm *r = calloc(1, sizeof(*r));
    /* libnids' pool: 3/4 of its hash size, and one */
    if (!r || reasm_table_init(&r->conns, (uint32_t)cfg->n_tcp_streams * 3 / 4 + 1, sink,
                               stats) < 0 || !(r->raw_ip_handle = pcap_open_dead(DLT_RAW, 262144))) {
        snprintf(err, KW_REASM_ERRBUF, "out of memory for %d streams", cfg->n_tcp_streams);
        kw_reasm_free(r);
        return NULL;
    }
    r->stats = stats;
    r->idle_limit = (kw_usec)cfg->idle_timeout_s * KW_USEC_PER_SEC;
    r->clock = KW_TS_NONE;
    void *reserve = mmap(NULL, NO_MEM_RESERVE_BYTES, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    r->no_mem_reserve = reserve == MAP_FAILED ? NULL : reserve; /* best effort */
    set_libnids_params(cfg, r->raw_ip_handle);
    if (!init_libnids(r)) {
        snprintf(err, KW_REASM_ERRBUF, "%s", r->error);
        kw_reasm_free(r);
        return NULL;
    }
    nids_register_tcp(kw_nids_on_tcp); /* after nids_init, which resets the list */
    return r;
}

void kw_reasm_free(struct kw_reasm *r)
{
    if (!r)
        return;
    if (kw_nids_owner == r) {
        if (!r->failed && !r->error[0]) /* started, and libnids' state is whole */
            nids_exit();
        kw_nids_owner = NULL;
    }
    if (r->raw_ip_handle)
        pcap_close(r->raw_ip_handle);
    if (r->no_mem_reserve)
        munmap(r->no_mem_reserve, NO_MEM_RESERVE_BYTES);
    reasm_table_free(&r->conns);
    free(r);
}

const char *kw_reasm_error(const struct kw_reasm *r)
{
    return r->error;
}

/* --- feeding ----------------------------------------------------------------- */

/* The TCP header, through the cursor. The transport slice may be shorter than
 * its wire length when the snaplen cut the packet. IPv4 only for now. */
static bool parse_segment(const struct kw_ip *ip, struct reasm_segment *sg)
{
    struct kw_cur c = kw_cur_make(ip->transport), h;
    uint8_t data_offset;
    if (!kw_cur_sub(&c, TCP_HEADER_MIN, &h))
        return false;
    /* sport(2) dport(2) seq(4) ack(4) offset(4 bits) flags */
    if (!(kw_cur_be16(&h, &sg->sport) && kw_cur_be16(&h, &sg->dport) &&
          kw_cur_be32(&h, &sg->seq) && kw_cur_skip(&h, 4) && kw_cur_u8(&h, &data_offset) &&
          kw_cur_u8(&h, &sg->flags)))
        return false; /* cannot happen: the 20 bytes are there */
    size_t thl = (size_t)(data_offset >> 4) * 4;
    if (thl < TCP_HEADER_MIN || ip->transport_wire_len < thl)
        return false;
    memcpy(&sg->src, ip->src_addr.p, 4);
    memcpy(&sg->dst, ip->dst_addr.p, 4);
    sg->payload = ip->transport_wire_len - thl;
    return true;
}

static struct reasm_conn *lookup(struct kw_reasm *r, const struct reasm_segment *sg)
{
    return reasm_conn_find(&r->conns, sg->src, sg->sport, sg->dst, sg->dport);
}

/* Neither we nor libnids follow it, not even half open. */
static bool unknown_to_libnids(const struct reasm_segment *sg)
{
    struct tuple4 fwd = { sg->sport, sg->dport, sg->src, sg->dst };
    struct tuple4 back = { sg->dport, sg->sport, sg->dst, sg->src };
    return !nids_find_tcp_stream(&fwd) && !nids_find_tcp_stream(&back);
}

/* Hands the IPv4 packet to libnids. Inside kw_reasm_run() an allocation
 * failing in libnids jumps back there; outside one, back here, and the feed
 * fails. Nothing but r is used after the jump (locals may be lost: C11
 * 7.13.2.1). */
static bool feed_libnids(struct kw_reasm *r, const struct kw_pkt *pkt)
{
    r->ts = pkt->ts;
    r->frame = pkt->frame;
    r->opened = r->ended = r->delivered_to = NULL;
    r->hdr.ts.tv_sec = (time_t)(pkt->ts / KW_USEC_PER_SEC);
    r->hdr.ts.tv_usec = (suseconds_t)(pkt->ts % KW_USEC_PER_SEC);
    r->hdr.caplen = r->hdr.len = (bpf_u_int32)pkt->ip.packet.len;
    if (r->armed) {
        nids_pcap_handler(NULL, &r->hdr, (u_char *)(uintptr_t)pkt->ip.packet.p);
        return true;
    }
    if (sigsetjmp(r->no_mem_jump, 0))
        return false;
    r->armed = true;
    nids_pcap_handler(NULL, &r->hdr, (u_char *)(uintptr_t)pkt->ip.packet.p);
    r->armed = false;
    return true;
}

/* One sigsetjmp for the whole run instead of one per packet (about 2% of the
 * instructions on the benchmark capture). */
int kw_reasm_run(struct kw_reasm *r, void (*feed)(void *ctx), void *ctx)
{
    if (r->failed)
        return -1;
    if (r->armed) { /* already inside a run: that one catches a failure */
        feed(ctx);
        return r->failed ? -1 : 0;
    }
    if (sigsetjmp(r->no_mem_jump, 0))
        return -1;
    r->armed = true;
    feed(ctx);
    r->armed = false;
    return 0;
}

/* After libnids has seen an unfragmented segment with data, a FIN or a RST:
 * which of our connections it belongs to, if any, and what it shows. */
static void after_segment(struct kw_reasm *r, const struct reasm_segment *sg,
                          struct reasm_conn *c, bool rst_was_unknown)
{
    if (!c)
        c = r->delivered_to ? r->delivered_to : r->opened;
    if (!c && !(sg->flags & TH_RST_BIT))
        c = lookup(r, sg); /* data out of order or again, a FIN */
    if (!c || c == r->ended || !c->is_open) {
        /* data, a FIN or a RST of a connection whose handshake was not captured */
        if (!r->opened && !r->ended && !(sg->flags & TH_SYN_BIT) &&
            ((sg->flags & TH_RST_BIT) ? rst_was_unknown : unknown_to_libnids(sg)))
            r->stats->skip_mid_stream++;
        return;
    }
    reasm_conn_note_segment(&r->conns, c, sg, r->ts, r->frame);
    reasm_conn_touch(&r->conns, c, r->clock);
}

/* A TCP/IPv4 packet the snaplen cut: its data is missing, the gap shows at the end. */
static void note_cut_segment(struct kw_reasm *r, const struct kw_pkt *pkt)
{
    struct reasm_segment sg;
    if (pkt->ip.protocol != IPPROTO_TCP || pkt->ip.is_fragment || !parse_segment(&pkt->ip, &sg))
        return;
    struct reasm_conn *c = lookup(r, &sg);
    if (!c)
        return;
    reasm_conn_note_segment(&r->conns, c, &sg, pkt->ts, pkt->frame);
    reasm_conn_touch(&r->conns, c, r->clock);
}

int kw_reasm_feed(struct kw_reasm *r, const struct kw_pkt *pkt)
{
    if (r->failed)
        return -1;
    if (pkt->ts > r->clock)
        r->clock = pkt->ts;
    const struct kw_ip *ip = &pkt->ip;
    if (ip->family != 4) { /* libnids has no IPv6 */
        r->stats->skip_ipv6++;
        return 0;
    }
    if (ip->is_cut) {
        r->stats->skip_truncated++;
        note_cut_segment(r, pkt);
        return 0;
    }
    if (ip->protocol != IPPROTO_TCP) {
        r->stats->skip_not_tcp++;
        return 0;
    }
    if (ip->is_fragment) /* libnids puts the datagram together */
        return feed_libnids(r, pkt) ? 0 : -1;
    struct reasm_segment sg;
    if (!parse_segment(ip, &sg)) {
        r->stats->tcp_invalid++;
        return 0;
    }
    struct reasm_conn *c = NULL;
    bool rst_was_unknown = false;
    if (sg.flags & TH_RST_BIT) {
        /* Looked up before feeding: a RST frees what it ends. */
        c = lookup(r, &sg);
        rst_was_unknown = !c && unknown_to_libnids(&sg);
    }
    r->src_addr = sg.src;
    r->src_port = sg.sport;
    if (!feed_libnids(r, pkt))
        return -1;
    /* A bare ACK carries nothing to note: no lookup (most packets are data,
     * whose connection the data callback names, or bare ACKs). */
    if (sg.payload || (sg.flags & (TH_FIN_BIT | TH_RST_BIT)))
        after_segment(r, &sg, c, rst_was_unknown);
    return 0;
}

/* --- time ---------------------------------------------------------------------- */

void kw_reasm_tick(struct kw_reasm *r, kw_usec now)
{
    if (!r->idle_limit || r->failed || now < 0)
        return;
    struct reasm_conn *c;
    while ((c = reasm_conn_first(&r->conns, REASM_BY_ACTIVITY)) &&
           now - c->last_active > r->idle_limit) {
        release_stream(c);
        end_conn(r, c, (struct kw_reasm_end){ .how = KW_CLOSE_TIMEOUT,
                                              .timeout = KW_TIMEOUT_IDLE,
                                              .rst_dir = KW_TO_SERVER,
                                              .ts = c->last_active + r->idle_limit });
    }
}

void kw_reasm_finish(struct kw_reasm *r, kw_usec ts)
{
    kw_reasm_tick(r, ts);
    r->ts = ts;
    r->frame = 0;
    /* libnids would flush in hash order, which its random seed changes from run
     * to run: flush ourselves in opening order, so the report is reproducible. */
    struct reasm_conn *c;
    while ((c = reasm_conn_first(&r->conns, REASM_BY_OPENING)))
        end_now(r, c, KW_CLOSE_CAPTURE_END, KW_TIMEOUT_NONE, KW_TO_SERVER);
    if (!r->failed) /* after a failure libnids' state may be half updated: leave it */
        nids_exit(); /* frees libnids' streams; each has user == NULL now */
    kw_nids_owner = NULL;
}
