/* nids.c: libnids, driven packet by packet from our loop. The one file that
 * includes <nids.h> and the one with file-scope mutable state: libnids'
 * callbacks carry no context, and its parameters are globals.
 *
 * Beside libnids' stream table we keep our own small flow table, for what
 * libnids does not tell: who sent a FIN or RST and when, packets of
 * connections it does not follow, and segments missing from the capture
 * (libnids stalls a direction at a hole, silently). */
#include "reassembly/reasm.h"

#include <netinet/in.h>
#include <nids.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TH_FIN_BIT 0x01
#define TH_SYN_BIT 0x02
#define TH_RST_BIT 0x04

struct flow {
    uint32_t cli_addr, srv_addr; /* network byte order, as libnids keeps them */
    uint16_t cli_port, srv_port; /* host byte order */
    struct tcp_stream *nids;
    void *user;
    uint64_t seqno;              /* opening order, for a deterministic flush */
    uint32_t seq_base[2];        /* sequence number of each direction's first data byte */
    uint64_t delivered[2];       /* bytes handed to the sink (libnids' counters are int) */
    uint64_t highest[2];         /* end of the furthest payload seen in a packet */
    uint8_t fin_seen[2];
    uint8_t live;
    /* A FIN seen before the data it follows (a segment before it is missing or
     * comes again later): reported once the stream reaches it, at its own time. */
    int64_t fin_at[2];
    kw_usec fin_ts[2];
    uint64_t fin_frame[2];
    uint32_t next_free;
};

struct kw_reasm {
    struct kw_reasm_sink sink;
    struct kw_stats *stats;
    pcap_t *dead;                /* DLT_RAW: libnids takes its link offset from it */
    struct flow *flows;          /* pool; index 0 unused */
    uint32_t n_flows, free_head;
    uint32_t never_used;         /* flows from here on were never taken */
    uint32_t *table;             /* open addressing, linear probing: flow index or 0 */
    uint32_t table_mask;
    uint64_t next_seqno;
    /* the packet being fed */
    kw_usec ts;
    uint64_t frame;
    struct pcap_pkthdr hdr;      /* libnids keeps a pointer to it: it must outlive the call */
    uint32_t src_addr;
    uint16_t src_port;
    struct flow *opened;         /* set when the packet completed a handshake */
    struct flow *delivered_to;   /* set when the packet's data was delivered */
    struct flow *ended;          /* set when the packet ended a connection */
};

static struct kw_reasm *kw_nids_owner; /* libnids' callbacks have no context pointer */

/* --- our flow table --------------------------------------------------- */

static uint32_t flow_hash(uint32_t a1, uint16_t p1, uint32_t a2, uint16_t p2)
{
    /* Symmetric: order the endpoints, so both directions find the flow. */
    uint64_t e1 = (uint64_t)a1 << 16 | p1, e2 = (uint64_t)a2 << 16 | p2;
    if (e1 > e2) {
        uint64_t t = e1;
        e1 = e2;
        e2 = t;
    }
    uint64_t h = e1 * 0x9e3779b97f4a7c15ull ^ e2;
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 29;
    return (uint32_t)h;
}

static bool flow_match(const struct flow *f, uint32_t sa, uint16_t sp, uint32_t da, uint16_t dp)
{
    return (f->cli_addr == sa && f->cli_port == sp && f->srv_addr == da && f->srv_port == dp) ||
           (f->cli_addr == da && f->cli_port == dp && f->srv_addr == sa && f->srv_port == sp);
}

/* Returns the slot holding the flow, or the empty slot where it would go. */
static uint32_t *flow_slot(struct kw_reasm *r, uint32_t sa, uint16_t sp, uint32_t da, uint16_t dp)
{
    uint32_t i = flow_hash(sa, sp, da, dp) & r->table_mask;
    for (;;) {
        uint32_t fi = r->table[i];
        if (!fi || flow_match(&r->flows[fi], sa, sp, da, dp))
            return &r->table[i];
        i = (i + 1) & r->table_mask;
    }
}

/* Backward-shift deletion keeps probe chains whole without tombstones. */
static void flow_remove(struct kw_reasm *r, struct flow *f)
{
    uint32_t *slot = flow_slot(r, f->cli_addr, f->cli_port, f->srv_addr, f->srv_port);
    uint32_t i = (uint32_t)(slot - r->table);
    uint32_t fi = (uint32_t)(f - r->flows);
    if (r->table[i] != fi)
        return;
    for (uint32_t j = (i + 1) & r->table_mask;; j = (j + 1) & r->table_mask) {
        uint32_t gi = r->table[j];
        if (!gi)
            break;
        struct flow *g = &r->flows[gi];
        uint32_t home = flow_hash(g->cli_addr, g->cli_port, g->srv_addr, g->srv_port) &
                        r->table_mask;
        /* move g back into the hole at i when its home is not in (i, j] */
        if (((j - home) & r->table_mask) >= ((j - i) & r->table_mask)) {
            r->table[i] = gi;
            i = j;
        }
    }
    r->table[i] = 0;
    f->live = 0;
    f->nids = NULL;
    f->next_free = r->free_head;
    r->free_head = fi;
}

/* --- FINs, in stream order ------------------------------------------------ */

static void fin_now(struct kw_reasm *r, struct flow *f, enum kw_dir dir, kw_usec ts, uint64_t frame)
{
    f->fin_seen[dir] = 1;
    f->fin_at[dir] = -1;
    if (f->user)
        r->sink.on_fin(r->sink.ctx, f->user, dir, ts, frame);
}

/* A pending FIN whose place in the stream has been reached, or that the stream
 * will never reach (`flush`: the connection is over). */
static void fin_pending(struct kw_reasm *r, struct flow *f, enum kw_dir dir, bool flush)
{
    if (f->fin_at[dir] >= 0 && (flush || f->delivered[dir] >= (uint64_t)f->fin_at[dir]))
        fin_now(r, f, dir, f->fin_ts[dir], f->fin_frame[dir]);
}

/* --- ending a connection ---------------------------------------------- */

static void flow_end(struct kw_reasm *r, struct flow *f, enum kw_close how, enum kw_dir rst_dir)
{
    /* FINs the stream never reached still happened: in the order they were sent */
    enum kw_dir first = f->fin_at[KW_TO_CLIENT] >= 0 &&
                                (f->fin_at[KW_TO_SERVER] < 0 ||
                                 f->fin_ts[KW_TO_CLIENT] < f->fin_ts[KW_TO_SERVER])
                            ? KW_TO_CLIENT : KW_TO_SERVER;
    fin_pending(r, f, first, true);
    fin_pending(r, f, first == KW_TO_SERVER ? KW_TO_CLIENT : KW_TO_SERVER, true);
    struct kw_reasm_end end = { .how = how, .rst_dir = rst_dir, .ts = r->ts, .frame = r->frame };
    for (int d = 0; d < 2; d++) {
        end.gap_offset[d] = f->highest[d] > f->delivered[d] ? (int64_t)f->delivered[d] : KW_NO_GAP;
    }
    if (end.gap_offset[0] != KW_NO_GAP || end.gap_offset[1] != KW_NO_GAP)
        r->stats->connections_gap++;
    if (f->nids)
        f->nids->user = NULL;
    void *user = f->user;
    if (r->ended == NULL)
        r->ended = f;
    flow_remove(r, f);
    if (user)
        r->sink.on_end(r->sink.ctx, user, &end);
}

/* --- libnids callbacks ------------------------------------------------ */

static void on_established(struct kw_reasm *r, struct tcp_stream *a)
{
    uint32_t *slot = flow_slot(r, a->addr.saddr, a->addr.source, a->addr.daddr, a->addr.dest);
    if (*slot) {
        /* libnids replaced a stream on a reused 4-tuple without telling us (tcp_flow_timeout). */
        flow_end(r, &r->flows[*slot], KW_CLOSE_TIMEOUT, KW_TO_SERVER);
        slot = flow_slot(r, a->addr.saddr, a->addr.source, a->addr.daddr, a->addr.dest);
    }
    uint32_t fi;
    if (r->free_head) {
        fi = r->free_head;
        r->free_head = r->flows[fi].next_free;
    } else if (r->never_used < r->n_flows) {
        fi = r->never_used++;
    } else { /* cannot happen: our pool is as large as libnids' */
        r->stats->streams_evicted++;
        return;
    }
    struct flow *f = &r->flows[fi];
    memset(f, 0, sizeof(*f));
    f->cli_addr = a->addr.saddr;
    f->cli_port = a->addr.source;
    f->srv_addr = a->addr.daddr;
    f->srv_port = a->addr.dest;
    f->nids = a;
    f->live = 1;
    f->seqno = r->next_seqno++;
    f->fin_at[0] = f->fin_at[1] = -1;
    /* libnids: a->client holds the client's own sequence numbers, a->server the server's. */
    f->seq_base[KW_TO_SERVER] = a->client.first_data_seq;
    f->seq_base[KW_TO_CLIENT] = a->server.first_data_seq;
    *slot = fi;

    struct kw_conn_key key;
    memset(&key, 0, sizeof(key));
    key.client.family = key.server.family = 4;
    memcpy(key.client.addr, &a->addr.saddr, 4);
    memcpy(key.server.addr, &a->addr.daddr, 4);
    key.client.port = a->addr.source;
    key.server.port = a->addr.dest;
    f->user = r->sink.on_open(r->sink.ctx, &key, r->ts, false);
    a->user = f;
    a->client.collect++;
    a->server.collect++;
    r->stats->connections++;
    r->opened = f;
}

static void kw_nids_on_tcp(struct tcp_stream *a, void **param)
{
    struct kw_reasm *r = kw_nids_owner;
    struct flow *f = a->user;
    *param = NULL; /* libnids keeps it as the listener's data: never leave it unset */

    switch (a->nids_state) {
    case NIDS_JUST_EST:
        on_established(r, a);
        return;
    case NIDS_DATA: {
        if (!f)
            return;
        /* Exactly one half has new bytes. a->server collects what the client sent. */
        enum kw_dir dir = a->server.count_new ? KW_TO_SERVER : KW_TO_CLIENT;
        struct half_stream *h = dir == KW_TO_SERVER ? &a->server : &a->client;
        size_t n = (size_t)h->count_new;
        f->delivered[dir] += n;
        r->delivered_to = f;
        if (f->user)
            r->sink.on_data(r->sink.ctx, f->user, dir, r->ts, r->frame,
                            kw_slice_make(h->data, n));
        fin_pending(r, f, dir, false);
        return; /* libnids discards all of it: the decoder has consumed it */
    }
    case NIDS_CLOSE:
        if (f)
            flow_end(r, f, KW_CLOSE_FIN, KW_TO_SERVER);
        return;
    case NIDS_RESET: {
        if (!f)
            return;
        enum kw_dir from = r->src_addr == f->cli_addr && r->src_port == f->cli_port
                               ? KW_TO_SERVER : KW_TO_CLIENT;
        flow_end(r, f, KW_CLOSE_RST, from);
        return;
    }
    case NIDS_TIMED_OUT: /* evicted: the stream table was full */
        if (f) {
            r->stats->streams_evicted++;
            flow_end(r, f, KW_CLOSE_TIMEOUT, KW_TO_SERVER);
        }
        return;
    case NIDS_EXITING: /* kw_reasm_finish() has ended every flow already */
    default:
        if (f)
            flow_end(r, f, KW_CLOSE_CAPTURE_END, KW_TO_SERVER);
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

static void kw_nids_no_mem(char *where)
{
    fprintf(stderr, "keepwatch: out of memory in the TCP reassembler (%s)\n", where);
    exit(2);
}

/* --- public ----------------------------------------------------------- */

struct kw_reasm *kw_reasm_new(const struct kw_reasm_config *cfg, const struct kw_reasm_sink *sink,
                              struct kw_stats *stats, char err[256])
{
    static struct nids_chksum_ctl no_checksums = { 0, 0, NIDS_DONT_CHKSUM, 0 }; /* kept by libnids */
    if (kw_nids_owner) {
        snprintf(err, 256, "only one reassembler per process");
        return NULL;
    }
    if (cfg->n_tcp_streams < 16 || cfg->n_tcp_streams > (1 << 24)) {
        snprintf(err, 256, "stream table size %d out of range (16 to 16777216)", cfg->n_tcp_streams);
        return NULL;
    }
    struct kw_reasm *r = calloc(1, sizeof(*r));
    if (!r)
        goto oom;
    r->sink = *sink;
    r->stats = stats;
    r->n_flows = (uint32_t)cfg->n_tcp_streams * 3 / 4 + 2; /* libnids' pool, and index 0 */
    uint32_t size = 1;
    while (size < r->n_flows * 2)
        size <<= 1;
    r->table_mask = size - 1;
    r->flows = calloc(r->n_flows, sizeof(*r->flows));
    r->table = calloc(size, sizeof(*r->table));
    if (!r->flows || !r->table)
        goto oom;
    r->never_used = 1; /* flows are taken in order first, so untouched pages stay unmapped */
    r->dead = pcap_open_dead(DLT_RAW, 262144);
    if (!r->dead)
        goto oom;

    nids_register_chksum_ctl(&no_checksums, 1); /* loopback and offloaded captures: bad sums */
    nids_params.pcap_desc = r->dead;            /* bare IPv4, link offset 0 */
    nids_params.device = NULL;
    nids_params.filename = NULL;
    nids_params.syslog = kw_nids_on_warning;
    nids_params.no_mem = kw_nids_no_mem;
    nids_params.scan_num_hosts = 0;             /* no port-scan detector */
    nids_params.n_tcp_streams = cfg->n_tcp_streams;
    nids_params.tcp_workarounds = 0;
    nids_params.multiproc = 0;
    nids_params.tcp_flow_timeout = cfg->flow_timeout_s;
    if (!nids_init()) {
        snprintf(err, 256, "cannot start the TCP reassembler: %s", nids_errbuf);
        kw_reasm_free(r);
        return NULL;
    }
    nids_register_tcp(kw_nids_on_tcp); /* after nids_init, which resets the list */
    kw_nids_owner = r;
    return r;
oom:
    snprintf(err, 256, "out of memory for %d streams", cfg->n_tcp_streams);
    kw_reasm_free(r);
    return NULL;
}

/* The TCP header of an unfragmented IPv4 packet, read once per packet. */
struct segment {
    uint32_t src, dst;   /* network byte order */
    uint16_t sport, dport;
    uint32_t seq;
    uint8_t flags;
    size_t payload;      /* as the IP total length says, captured or not */
};

/* `ip.len` may be less than the IP total length when the snaplen cut the packet. */
static bool parse_segment(struct kw_slice ip, struct segment *sg)
{
    const uint8_t *p = ip.p;
    size_t ihl = (size_t)(p[0] & 0x0f) * 4; /* capture/ checked version and ihl */
    size_t total = (size_t)(p[2] << 8 | p[3]);
    if (ip.len < ihl + 20)
        return false;
    const uint8_t *t = p + ihl;
    size_t thl = (size_t)(t[12] >> 4) * 4;
    if (thl < 20 || total < ihl + thl)
        return false;
    memcpy(&sg->src, p + 12, 4);
    memcpy(&sg->dst, p + 16, 4);
    sg->sport = (uint16_t)(t[0] << 8 | t[1]);
    sg->dport = (uint16_t)(t[2] << 8 | t[3]);
    sg->seq = (uint32_t)t[4] << 24 | (uint32_t)t[5] << 16 | (uint32_t)t[6] << 8 | t[7];
    sg->flags = t[13];
    sg->payload = total - ihl - thl;
    return true;
}

static struct flow *lookup(struct kw_reasm *r, const struct segment *sg)
{
    uint32_t fi = *flow_slot(r, sg->src, sg->sport, sg->dst, sg->dport);
    return fi ? &r->flows[fi] : NULL;
}

/* What libnids does not tell: how far each direction's data went on the wire,
 * and the first FIN each way, at the time of its packet. */
static void observe(struct kw_reasm *r, struct flow *f, const struct segment *sg, kw_usec ts,
                    uint64_t frame)
{
    enum kw_dir dir = sg->src == f->cli_addr && sg->sport == f->cli_port ? KW_TO_SERVER
                                                                         : KW_TO_CLIENT;
    /* How far past the bytes delivered so far this segment's end lies (wrap-safe). */
    uint32_t expected = f->seq_base[dir] + (uint32_t)f->delivered[dir];
    int32_t ahead = (int32_t)(sg->seq + (uint32_t)sg->payload - expected);
    if (sg->payload && ahead > 0 && f->delivered[dir] + (uint64_t)ahead > f->highest[dir])
        f->highest[dir] = f->delivered[dir] + (uint64_t)ahead;
    if ((sg->flags & TH_FIN_BIT) && !f->fin_seen[dir] && f->fin_at[dir] < 0) {
        /* the FIN sits after this segment's payload: is the stream there yet? */
        if (ahead <= 0) {
            fin_now(r, f, dir, ts, frame);
        } else {
            f->fin_at[dir] = (int64_t)f->delivered[dir] + ahead;
            f->fin_ts[dir] = ts;
            f->fin_frame[dir] = frame;
        }
    }
}

static bool is_fragment(struct kw_slice ip)
{
    return ((ip.p[6] << 8 | ip.p[7]) & 0x3fff) != 0;
}

/* Neither we nor libnids follow it, not even half open. */
static bool unknown_to_libnids(const struct segment *sg)
{
    struct tuple4 fwd = { sg->sport, sg->dport, sg->src, sg->dst };
    struct tuple4 back = { sg->dport, sg->sport, sg->dst, sg->src };
    return !nids_find_tcp_stream(&fwd) && !nids_find_tcp_stream(&back);
}

void kw_reasm_feed(struct kw_reasm *r, kw_usec ts, uint64_t frame, struct kw_slice ip)
{
    if (ip.p[9] != IPPROTO_TCP) {
        r->stats->skip_not_tcp++;
        return;
    }
    bool fragment = is_fragment(ip);
    struct segment sg;
    struct flow *f = NULL;
    bool unknown = false;
    if (!fragment) {
        if (!parse_segment(ip, &sg)) {
            r->stats->tcp_invalid++;
            return;
        }
        if (sg.flags & TH_RST_BIT) {
            /* Looked up before feeding: a RST frees what it ends. */
            f = lookup(r, &sg);
            unknown = !f && unknown_to_libnids(&sg);
        }
        r->src_addr = sg.src;
        r->src_port = sg.sport;
    }

    r->ts = ts;
    r->frame = frame;
    r->opened = r->ended = r->delivered_to = NULL;
    r->hdr.ts.tv_sec = (time_t)(ts / KW_USEC_PER_SEC);
    r->hdr.ts.tv_usec = (suseconds_t)(ts % KW_USEC_PER_SEC);
    r->hdr.caplen = r->hdr.len = (bpf_u_int32)ip.len;
    nids_pcap_handler(NULL, &r->hdr, (u_char *)(uintptr_t)ip.p);

    /* A bare ACK carries nothing to observe: no lookup (most packets are
     * data, whose flow the data callback names, or bare ACKs). */
    if (fragment || !(sg.payload || (sg.flags & (TH_FIN_BIT | TH_RST_BIT))))
        return;
    if (!f)
        f = r->delivered_to ? r->delivered_to : r->opened;
    if (!f && !(sg.flags & TH_RST_BIT))
        f = lookup(r, &sg); /* data out of order or again, a FIN */
    if (!f || f == r->ended || !f->live) {
        /* data, a FIN or a RST of a connection whose handshake was not captured */
        if (!r->opened && !r->ended && !(sg.flags & TH_SYN_BIT) &&
            ((sg.flags & TH_RST_BIT) ? unknown : unknown_to_libnids(&sg)))
            r->stats->skip_mid_stream++;
        return;
    }
    observe(r, f, &sg, ts, frame);
}

void kw_reasm_feed_cut(struct kw_reasm *r, kw_usec ts, uint64_t frame, struct kw_slice ip)
{
    struct segment sg;
    if (ip.len < 20 || ip.p[9] != IPPROTO_TCP || is_fragment(ip) || !parse_segment(ip, &sg))
        return;
    struct flow *f = lookup(r, &sg);
    if (f)
        observe(r, f, &sg, ts, frame); /* its data is missing: the gap shows at the end */
}

static int by_seqno(const void *a, const void *b)
{
    const struct flow *x = *(struct flow *const *)a, *y = *(struct flow *const *)b;
    return x->seqno < y->seqno ? -1 : x->seqno > y->seqno;
}

void kw_reasm_finish(struct kw_reasm *r, kw_usec ts)
{
    r->ts = ts;
    r->frame = 0;
    /* libnids would flush in hash order, which its random seed changes from run
     * to run: flush ourselves in opening order, so the report is reproducible. */
    size_t n = 0;
    struct flow **open = malloc(r->n_flows * sizeof(*open));
    for (uint32_t i = 1; i < r->never_used; i++)
        if (r->flows[i].live) {
            if (open)
                open[n++] = &r->flows[i];
            else
                flow_end(r, &r->flows[i], KW_CLOSE_CAPTURE_END, KW_TO_SERVER);
        }
    if (open) {
        qsort(open, n, sizeof(*open), by_seqno);
        for (size_t i = 0; i < n; i++)
            flow_end(r, open[i], KW_CLOSE_CAPTURE_END, KW_TO_SERVER);
        free(open);
    }
    nids_exit(); /* frees libnids' streams; each has user == NULL now */
    kw_nids_owner = NULL;
}

void kw_reasm_free(struct kw_reasm *r)
{
    if (!r)
        return;
    if (kw_nids_owner == r) {
        nids_exit();
        kw_nids_owner = NULL;
    }
    if (r->dead)
        pcap_close(r->dead);
    free(r->flows);
    free(r->table);
    free(r);
}
