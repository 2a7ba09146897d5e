/* feed.c: what each packet means. Beside libnids' stream table we keep our
 * own connection records (conns.c), for what libnids does not tell: who sent
 * a FIN or RST and when, packets of connections it does not follow, segments
 * missing from the capture (libnids stalls a direction at a hole, silently),
 * and idle connections (libnids has no idle timeout: a connection whose FIN
 * or RST was lost would stay open). */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cursor.h"
#include "reassembly/reasm-impl.h"

#define TH_FIN_BIT 0x01
#define TH_SYN_BIT 0x02
#define TH_RST_BIT 0x04
#define TH_ACK_BIT 0x10

/* --- start and stop ------------------------------------------------------------ */

struct kw_reasm *kw_reasm_new(const struct kw_reasm_config *cfg, const struct kw_reasm_sink *sink,
                              struct kw_stats *stats, char err[KW_REASM_ERRBUF])
{
    if (cfg->max_connections < KW_REASM_MAX_CONNECTIONS_MIN ||
        cfg->max_connections > KW_REASM_MAX_CONNECTIONS_MAX) {
        snprintf(err, KW_REASM_ERRBUF, "%u connections at once is out of range (%u to %u)",
                 cfg->max_connections, KW_REASM_MAX_CONNECTIONS_MIN,
                 KW_REASM_MAX_CONNECTIONS_MAX);
        return NULL;
    }
    if (cfg->idle_timeout_s < 0) {
        snprintf(err, KW_REASM_ERRBUF, "idle timeout %d s is negative", cfg->idle_timeout_s);
        return NULL;
    }
    struct kw_reasm *r = calloc(1, sizeof(*r));
    /* libnids follows 3/4 of its hash size (and one) at once: a pool 1/8
     * larger than the connections followed, so that handshakes in progress
     * do not make libnids evict a connection in the oldest-first order it
     * knows; the cap is ours, least recently active first. */
    uint32_t pool = cfg->max_connections + cfg->max_connections / 8;
    int n_tcp_streams = (int)((pool * 4ull + 2) / 3);
    uint32_t n_streams = (uint32_t)n_tcp_streams * 3 / 4 + 1;
    if (!r || reasm_table_init(&r->conns, n_streams, sink, stats) < 0 ||
        reasm_map6_init(&r->map6, n_streams) < 0 ||
        reasm_hs_init(&r->hs, cfg->max_connections) < 0) {
        snprintf(err, KW_REASM_ERRBUF, "out of memory for %u connections", cfg->max_connections);
        kw_reasm_free(r);
        return NULL;
    }
    r->stats = stats;
    r->max_connections = cfg->max_connections;
    r->idle_limit = (kw_usec)cfg->idle_timeout_s * KW_USEC_PER_SEC;
    r->midstream = cfg->midstream;
    r->clock = KW_TS_NONE;
    if (!reasm_nids_start(r, cfg, n_tcp_streams)) {
        snprintf(err, KW_REASM_ERRBUF, "%s", r->error);
        kw_reasm_free(r);
        return NULL;
    }
    return r;
}

void kw_reasm_free(struct kw_reasm *r)
{
    if (!r)
        return;
    reasm_nids_stop(r);
    reasm_table_free(&r->conns);
    reasm_map6_free(&r->map6);
    reasm_hs_free(&r->hs);
    reasm_defrag_free(&r->defrag);
    free(r);
}

const char *kw_reasm_error(const struct kw_reasm *r)
{
    return r->error;
}

/* --- feeding ----------------------------------------------------------------- */

static struct seg_in seg_of_packet(const struct kw_ip *ip)
{
    return (struct seg_in){ ip->packet, ip->transport, ip->transport_wire_len, ip->src_addr,
                            ip->dst_addr };
}

/* A TCP packet the snaplen cut: its data is missing, the gap shows at the end.
 * An IPv6 one is known by its map entry. */
static void note_cut_segment(struct kw_reasm *r, const struct kw_pkt *pkt)
{
    struct seg_in in = seg_of_packet(&pkt->ip);
    if (pkt->ip.protocol != IPPROTO_TCP || pkt->ip.is_fragment)
        return;
    uint32_t synthetic[2];
    if (pkt->ip.family == 6) {
        struct kw_cur c = kw_cur_make(pkt->ip.transport);
        uint16_t sport, dport;
        int side;
        struct map6_entry *e;
        if (!kw_cur_be16(&c, &sport) || !kw_cur_be16(&c, &dport) ||
            !(e = reasm_map6_find(&r->map6, pkt->ip.src_addr.p, sport, pkt->ip.dst_addr.p,
                                  dport, &side)))
            return;
        synthetic[0] = reasm_map6_addr(&r->map6, e, side);
        synthetic[1] = reasm_map6_addr(&r->map6, e, !side);
        in.src = kw_slice_make(&synthetic[0], 4);
        in.dst = kw_slice_make(&synthetic[1], 4);
    }
    reasm_note_cut_segment(r, &in);
}

/* --- IPv6 --------------------------------------------------------------------- */

/* The map entries whose connection ended, and the current packet's: one that
 * neither libnids nor a record of ours follows any more is freed. */
static void settle_map6(struct kw_reasm *r)
{
    for (uint32_t i = 0; i < r->n_map6_recheck; i++) {
        struct map6_entry *e = &r->map6.entries[r->map6_recheck[i]];
        if (e->in_use && !e->has_conn && !reasm_nids_knows(reasm_map6_addr(&r->map6, e, 0),
                                                          e->port[0],
                                                          reasm_map6_addr(&r->map6, e, 1),
                                                          e->port[1]))
            reasm_map6_remove(&r->map6, e);
    }
    r->n_map6_recheck = 0;
}

/* Ends a connection to make room: out of libnids, then through the sink,
 * counted. */
static void evict(struct kw_reasm *r, struct reasm_conn *c)
{
    r->stats->streams_evicted++;
    reasm_nids_release(r, c);
    reasm_end_conn(r, c, (struct kw_reasm_end){ .how = KW_CLOSE_TIMEOUT,
                                                .timeout = KW_TIMEOUT_EVICTED,
                                                .rst_dir = KW_TO_SERVER, .ts = r->ts,
                                                .frame = r->frame });
}

/* The map is full: the oldest entry goes. If libnids still follows it, its
 * connection is evicted as libnids evicts its oldest when its pool is full
 * (the map is as large as the pool). */
static void make_room_map6(struct kw_reasm *r)
{
    struct map6_entry *e = reasm_map6_oldest(&r->map6);
    uint32_t a0 = reasm_map6_addr(&r->map6, e, 0), a1 = reasm_map6_addr(&r->map6, e, 1);
    struct reasm_conn *c = e->has_conn ? reasm_conn_find(&r->conns, a0, e->port[0], a1,
                                                         e->port[1])
                                       : NULL;
    if (c) {
        evict(r, c);
    } else {
        reasm_nids_forget(a0, e->port[0], a1, e->port[1]);
    }
    r->n_map6_recheck = 0; /* e is the only one that ended, and it goes now */
    reasm_map6_remove(&r->map6, e);
}

/* A new entry for an IPv6 4-tuple, `client` on side 0. NULL when its slot
 * would be past the probe bound (counted). */
static struct map6_entry *map6_open(struct kw_reasm *r, const uint8_t *client, uint16_t cport,
                                    const uint8_t *server, uint16_t sport)
{
    struct map6_entry *e;
    while (!(e = reasm_map6_add(&r->map6, client, cport, server, sport))) {
        if (!reasm_map6_full(&r->map6)) { /* past the probe bound */
            r->stats->streams_refused++;
            return NULL;
        }
        make_room_map6(r);
    }
    return e;
}

/* An IPv6 TCP segment, whole: rewritten as IPv4 from its map entry's
 * addresses (one copy), then fed like any other. */
static int feed_ipv6(struct kw_reasm *r, const uint8_t *src, const uint8_t *dst,
                     struct kw_slice tcp)
{
    struct kw_cur c = kw_cur_make(tcp);
    uint16_t sport, dport;
    uint8_t data_offset, flags;
    if (!(kw_cur_be16(&c, &sport) && kw_cur_be16(&c, &dport) && kw_cur_skip(&c, 8) &&
          kw_cur_u8(&c, &data_offset) && kw_cur_u8(&c, &flags)) ||
        tcp.len < (size_t)(data_offset >> 4) * 4) {
        r->stats->tcp_invalid++;
        return 0;
    }
    if (tcp.len > sizeof(r->scratch) - 20) { /* no IPv4 packet can hold it */
        r->stats->skip_ipv6++;
        return 0;
    }
    int side;
    size_t thl = (size_t)(data_offset >> 4) * 4;
    uint8_t kind = flags & (TH_SYN_BIT | TH_ACK_BIT | TH_RST_BIT);
    bool opens = kind == TH_SYN_BIT, picks_up = r->midstream && kind == TH_ACK_BIT && tcp.len > thl;
    struct map6_entry *e = reasm_map6_find(&r->map6, src, sport, dst, dport, &side);
    if (!e && (opens || picks_up)) {
        /* side 0 is the client: the SYN's sender, or whom a pick-up takes for it */
        bool from_client = opens || reasm_sender_is_client(
                                        kw_slice_make(tcp.p + thl, tcp.len - thl), sport, dport);
        e = from_client ? map6_open(r, src, sport, dst, dport)
                        : map6_open(r, dst, dport, src, sport);
        side = from_client ? 0 : 1;
    }
    if (!e) { /* as libnids would not know an IPv4 one */
        if (tcp.len > thl || (flags & (TH_FIN_BIT | TH_RST_BIT)))
            r->stats->skip_mid_stream++;
        return 0;
    }
    uint32_t from = reasm_map6_addr(&r->map6, e, side), to = reasm_map6_addr(&r->map6, e, !side);
    uint8_t *p = r->scratch;
    size_t total = 20 + tcp.len;
    memset(p, 0, 20);
    p[0] = 0x45;
    p[2] = (uint8_t)(total >> 8), p[3] = (uint8_t)total;
    p[6] = 0x40; /* DF */
    p[8] = 64, p[9] = IPPROTO_TCP;
    memcpy(p + 12, &from, 4);
    memcpy(p + 16, &to, 4);
    memcpy(p + 20, tcp.p, tcp.len);
    struct seg_in in = { kw_slice_make(p, total), kw_slice_make(p + 20, tcp.len), tcp.len,
                         kw_slice_make(p + 12, 4), kw_slice_make(p + 16, 4) };
    int rc = reasm_feed_segment(r, &in);
    if (r->n_map6_recheck < sizeof(r->map6_recheck) / sizeof(r->map6_recheck[0]))
        r->map6_recheck[r->n_map6_recheck++] = (uint32_t)(e - r->map6.entries);
    return rc; /* the entry is settled after the packet */
}

/* Past the extension headers a datagram's payload may still start with
 * (those after the Fragment header): the TCP segment, or an empty slice. */
static struct kw_slice ipv6_upper(uint8_t next, struct kw_slice payload)
{
    struct kw_cur c = kw_cur_make(payload);
    for (int n = 0; n < 8 && next != IPPROTO_TCP; n++) {
        uint8_t following, len;
        if (next != 0 && next != 43 && next != 60) /* hop-by-hop, routing, destination */
            return kw_slice_make(NULL, 0);
        if (!kw_cur_u8(&c, &following) || !kw_cur_u8(&c, &len) ||
            !kw_cur_skip(&c, ((size_t)len + 1) * 8 - 2))
            return kw_slice_make(NULL, 0);
        next = following;
    }
    return next == IPPROTO_TCP ? kw_cur_rest(&c) : kw_slice_make(NULL, 0);
}

/* A fragment: kept until its datagram is whole, which is then fed as one
 * packet, its TCP header read from it (so that a fragmented FIN or RST is
 * seen, from the side that sent it). */
static int feed_fragment(struct kw_reasm *r, const struct kw_ip *ip)
{
    struct reasm_datagram dg;
    if (reasm_defrag_add(&r->defrag, ip, r->ts, r->stats, &dg) != REASM_FRAG_DONE)
        return 0;
    if (dg.family == 6) {
        struct kw_slice tcp = ipv6_upper(dg.protocol, dg.payload);
        if (!tcp.p) {
            r->stats->skip_not_tcp++;
            return 0;
        }
        return feed_ipv6(r, dg.src.p, dg.dst.p, tcp);
    }
    struct seg_in in = { dg.packet, dg.payload, dg.payload.len, dg.src, dg.dst };
    return reasm_feed_segment(r, &in);
}

/* 240.0.0.0/4: reserved (RFC 1112 4), and where IPv6 connections are mapped. */
static bool in_mapped_range(struct kw_slice addr)
{
    return (addr.p[0] & 0xf0) == 0xf0;
}

static int feed_ip(struct kw_reasm *r, const struct kw_pkt *pkt)
{
    const struct kw_ip *ip = &pkt->ip;
    if (ip->family == 4 && (in_mapped_range(ip->src_addr) || in_mapped_range(ip->dst_addr))) {
        r->stats->skip_reserved++; /* would mix with IPv6 connections */
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
    if (ip->is_fragment)
        return feed_fragment(r, ip);
    if (ip->family == 6)
        return feed_ipv6(r, ip->src_addr.p, ip->dst_addr.p, ip->transport);
    struct seg_in in = seg_of_packet(ip);
    if ((ip->packet.p[0] & 0x0f) > 5) { /* libnids rewrites options in place: a copy */
        memcpy(r->scratch, ip->packet.p, ip->packet.len);
        in.packet = kw_slice_make(r->scratch, ip->packet.len);
    }
    return reasm_feed_segment(r, &in);
}

/* A connection opened past --max-connections: the one least recently active
 * ends (after the packet, never inside a libnids callback). */
static void evict_least_active(struct kw_reasm *r)
{
    struct reasm_conn *c;
    while (r->conns.n_open > r->max_connections &&
           (c = reasm_conn_first(&r->conns, REASM_BY_ACTIVITY)))
        evict(r, c);
}

int kw_reasm_feed(struct kw_reasm *r, const struct kw_pkt *pkt)
{
    if (r->failed)
        return -1;
    if (pkt->ts > r->clock)
        r->clock = pkt->ts;
    if (r->conns.lists[REASM_RST_HELD].head)
        reasm_end_held_rsts(r, pkt->ts, false); /* before this packet: it may be late */
    r->ts = pkt->ts;
    r->frame = pkt->frame;
    int rc = feed_ip(r, pkt);
    if (r->conns.n_open > r->max_connections && !r->failed)
        evict_least_active(r);
    if (r->n_map6_recheck && !r->failed) /* an IPv6 connection ended */
        settle_map6(r);
    return rc;
}

/* --- time ---------------------------------------------------------------------- */

void kw_reasm_tick(struct kw_reasm *r, kw_usec now)
{
    if (r->failed || now < 0)
        return;
    reasm_end_held_rsts(r, now, false);
    if (!r->idle_limit)
        return;
    struct reasm_conn *c;
    while ((c = reasm_conn_first(&r->conns, REASM_BY_ACTIVITY)) &&
           now - c->last_active > r->idle_limit) {
        reasm_nids_release(r, c);
        reasm_end_conn(r, c, (struct kw_reasm_end){ .how = KW_CLOSE_TIMEOUT,
                                                    .timeout = KW_TIMEOUT_IDLE,
                                                    .rst_dir = KW_TO_SERVER,
                                                    .ts = c->last_active + r->idle_limit });
        settle_map6(r);
    }
}

void kw_reasm_finish(struct kw_reasm *r, kw_usec ts)
{
    kw_reasm_tick(r, ts);
    if (!r->failed)
        reasm_end_held_rsts(r, ts, true); /* nothing followed them */
    r->ts = ts;
    r->frame = 0;
    /* libnids would flush in hash order, which its random seed changes from run
     * to run: flush ourselves in opening order, so the report is reproducible. */
    reasm_defrag_flush(&r->defrag, r->stats);
    struct reasm_conn *c;
    while ((c = reasm_conn_first(&r->conns, REASM_BY_OPENING)))
        reasm_end_conn(r, c, (struct kw_reasm_end){ .how = KW_CLOSE_CAPTURE_END,
                                                    .timeout = KW_TIMEOUT_NONE,
                                                    .rst_dir = KW_TO_SERVER,
                                                    .ts = r->ts, .frame = r->frame });
    reasm_nids_stop(r); /* after a failure libnids' state may be half updated: left alone */
}
