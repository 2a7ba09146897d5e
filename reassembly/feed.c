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
#define TCP_HEADER_MIN 20

/* --- start and stop ------------------------------------------------------------ */

struct kw_reasm *kw_reasm_new(const struct kw_reasm_config *cfg, const struct kw_reasm_sink *sink,
                              struct kw_stats *stats, char err[KW_REASM_ERRBUF])
{
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
                               stats) < 0) {
        snprintf(err, KW_REASM_ERRBUF, "out of memory for %d streams", cfg->n_tcp_streams);
        kw_reasm_free(r);
        return NULL;
    }
    r->stats = stats;
    r->idle_limit = (kw_usec)cfg->idle_timeout_s * KW_USEC_PER_SEC;
    r->clock = KW_TS_NONE;
    if (!reasm_nids_start(r, cfg)) {
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
    reasm_defrag_free(&r->defrag);
    free(r);
}

const char *kw_reasm_error(const struct kw_reasm *r)
{
    return r->error;
}

/* --- feeding ----------------------------------------------------------------- */

/* A TCP segment, whole or cut by the snaplen, and the IPv4 packet that
 * carries it as libnids will see it. */
struct seg_in {
    struct kw_slice packet;      /* the IPv4 packet for libnids */
    struct kw_slice transport;   /* the TCP header and what follows, as captured */
    size_t transport_wire_len;   /* its length on the wire */
    struct kw_slice src, dst;    /* 4-byte addresses */
};

static struct seg_in seg_of_packet(const struct kw_ip *ip)
{
    return (struct seg_in){ ip->packet, ip->transport, ip->transport_wire_len, ip->src_addr,
                            ip->dst_addr };
}

/* The TCP header, through the cursor. */
static bool parse_segment(const struct seg_in *in, struct reasm_segment *sg)
{
    struct kw_cur c = kw_cur_make(in->transport), h;
    uint8_t data_offset;
    if (!kw_cur_sub(&c, TCP_HEADER_MIN, &h))
        return false;
    /* sport(2) dport(2) seq(4) ack(4) offset(4 bits) flags */
    if (!(kw_cur_be16(&h, &sg->sport) && kw_cur_be16(&h, &sg->dport) &&
          kw_cur_be32(&h, &sg->seq) && kw_cur_skip(&h, 4) && kw_cur_u8(&h, &data_offset) &&
          kw_cur_u8(&h, &sg->flags)))
        return false; /* cannot happen: the 20 bytes are there */
    size_t thl = (size_t)(data_offset >> 4) * 4;
    if (thl < TCP_HEADER_MIN || in->transport_wire_len < thl)
        return false;
    memcpy(&sg->src, in->src.p, 4);
    memcpy(&sg->dst, in->dst.p, 4);
    sg->payload = in->transport_wire_len - thl;
    return true;
}

static struct reasm_conn *lookup(struct kw_reasm *r, const struct reasm_segment *sg)
{
    return reasm_conn_find(&r->conns, sg->src, sg->sport, sg->dst, sg->dport);
}

/* Neither we nor libnids follow it, not even half open. */
static bool unknown_to_libnids(const struct reasm_segment *sg)
{
    return !reasm_nids_knows(sg->src, sg->sport, sg->dst, sg->dport);
}

static bool feed_libnids(struct kw_reasm *r, struct kw_slice ipv4)
{
    r->opened = r->ended = r->delivered_to = NULL;
    return reasm_nids_feed(r, ipv4);
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
    reasm_nids_sync_urgent(r, c);
    reasm_conn_note_segment(&r->conns, c, sg, r->ts, r->frame);
    reasm_conn_touch(&r->conns, c, r->clock);
}

/* A SYN from a client on a 4-tuple whose handshake is older than the flow
 * timeout makes libnids drop the old stream without a callback and start
 * a new one, which a RST may free in turn. Our record of the old connection
 * must end with it: kept, it would fill the pool with connections libnids no
 * longer follows, and let go of a stream libnids has since given to another
 * connection. It ends as idle if it was past the idle limit already. */
static void after_syn(struct kw_reasm *r, const struct reasm_segment *sg)
{
    struct reasm_conn *c = lookup(r, sg);
    if (!c || reasm_nids_owns(r, c))
        return;
    c->stream = NULL;
    struct kw_reasm_end end = { .how = KW_CLOSE_TIMEOUT, .timeout = KW_TIMEOUT_REUSED,
                                .rst_dir = KW_TO_SERVER, .ts = r->ts, .frame = r->frame };
    if (r->idle_limit && r->ts - c->last_active > r->idle_limit) {
        end.timeout = KW_TIMEOUT_IDLE;
        end.ts = c->last_active + r->idle_limit;
        end.frame = 0;
    }
    reasm_end_conn(r, c, end);
}

/* A TCP/IPv4 packet the snaplen cut: its data is missing, the gap shows at the end. */
static void note_cut_segment(struct kw_reasm *r, const struct kw_pkt *pkt)
{
    struct reasm_segment sg;
    struct seg_in in = seg_of_packet(&pkt->ip);
    if (pkt->ip.protocol != IPPROTO_TCP || pkt->ip.is_fragment || !parse_segment(&in, &sg))
        return;
    struct reasm_conn *c = lookup(r, &sg);
    if (!c)
        return;
    reasm_conn_note_segment(&r->conns, c, &sg, pkt->ts, pkt->frame);
    reasm_conn_touch(&r->conns, c, r->clock);
}

/* One whole TCP segment. */
static int feed_segment(struct kw_reasm *r, const struct seg_in *in)
{
    struct reasm_segment sg;
    if (!parse_segment(in, &sg)) {
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
    if (!feed_libnids(r, in->packet))
        return -1;
    if ((sg.flags & (TH_SYN_BIT | TH_ACK_BIT | TH_RST_BIT)) == TH_SYN_BIT)
        after_syn(r, &sg);
    /* A bare ACK carries nothing to note: no lookup (most packets are data,
     * whose connection the data callback names, or bare ACKs). */
    if (sg.payload || (sg.flags & (TH_FIN_BIT | TH_RST_BIT)))
        after_segment(r, &sg, c, rst_was_unknown);
    return 0;
}

/* A fragment: kept until its datagram is whole, which is then fed as one
 * packet, its TCP header read from it (so that a fragmented FIN or RST is
 * seen, from the side that sent it). */
static int feed_fragment(struct kw_reasm *r, const struct kw_ip *ip)
{
    struct reasm_datagram dg;
    if (reasm_defrag_add(&r->defrag, ip, r->ts, r->stats, &dg) != REASM_FRAG_DONE)
        return 0;
    if (dg.family != 4) { /* IPv6 is not analysed yet */
        r->stats->skip_ipv6++;
        return 0;
    }
    struct seg_in in = { dg.packet, dg.payload, dg.payload.len, dg.src, dg.dst };
    return feed_segment(r, &in);
}

int kw_reasm_feed(struct kw_reasm *r, const struct kw_pkt *pkt)
{
    if (r->failed)
        return -1;
    if (pkt->ts > r->clock)
        r->clock = pkt->ts;
    r->ts = pkt->ts;
    r->frame = pkt->frame;
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
    if (ip->is_fragment)
        return feed_fragment(r, ip);
    struct seg_in in = seg_of_packet(ip);
    return feed_segment(r, &in);
}

/* --- time ---------------------------------------------------------------------- */

void kw_reasm_tick(struct kw_reasm *r, kw_usec now)
{
    if (!r->idle_limit || r->failed || now < 0)
        return;
    struct reasm_conn *c;
    while ((c = reasm_conn_first(&r->conns, REASM_BY_ACTIVITY)) &&
           now - c->last_active > r->idle_limit) {
        reasm_nids_release(r, c);
        reasm_end_conn(r, c, (struct kw_reasm_end){ .how = KW_CLOSE_TIMEOUT,
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
    reasm_defrag_flush(&r->defrag, r->stats);
    struct reasm_conn *c;
    while ((c = reasm_conn_first(&r->conns, REASM_BY_OPENING)))
        reasm_end_conn(r, c, (struct kw_reasm_end){ .how = KW_CLOSE_CAPTURE_END,
                                                    .timeout = KW_TIMEOUT_NONE,
                                                    .rst_dir = KW_TO_SERVER,
                                                    .ts = r->ts, .frame = r->frame });
    reasm_nids_stop(r); /* after a failure libnids' state may be half updated: left alone */
}
