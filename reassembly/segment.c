/* segment.c: what a TCP segment means for our records, around libnids: FINs
 * and the furthest data seen, SYNs that take a 4-tuple over, RSTs and ACKs
 * that would end or stall a connection on a stranger's word. */
#include <stdio.h>
#include <string.h>

#include "common/cursor.h"
#include "reassembly/reasm-impl.h"

#define TH_FIN_BIT 0x01
#define TH_SYN_BIT 0x02
#define TH_RST_BIT 0x04
#define TH_ACK_BIT 0x10
#define TH_URG_BIT 0x20
#define TCP_HEADER_MIN 20

/* The TCP header, through the cursor. Inlined where every packet passes. */
static inline __attribute__((always_inline)) bool parse(const struct seg_in *in,
                                                        struct reasm_segment *sg)
{
    struct kw_cur c = kw_cur_make(in->transport), h;
    uint8_t data_offset;
    if (!kw_cur_sub(&c, TCP_HEADER_MIN, &h))
        return false;
    /* sport(2) dport(2) seq(4) ack(4) offset(4 bits) flags window(2) */
    if (!(kw_cur_be16(&h, &sg->sport) && kw_cur_be16(&h, &sg->dport) &&
          kw_cur_be32(&h, &sg->seq) && kw_cur_be32(&h, &sg->ack) && kw_cur_u8(&h, &data_offset) &&
          kw_cur_u8(&h, &sg->flags) && kw_cur_be16(&h, &sg->window)))
        return false; /* cannot happen: the 20 bytes are there */
    size_t thl = (size_t)(data_offset >> 4) * 4;
    if (thl < TCP_HEADER_MIN || in->transport_wire_len < thl)
        return false;
    memcpy(&sg->src, in->src.p, 4);
    memcpy(&sg->dst, in->dst.p, 4);
    sg->header_len = (uint8_t)thl;
    sg->cut = false;
    sg->payload = in->transport_wire_len - thl;
    return true;
}

bool reasm_parse_segment(const struct seg_in *in, struct reasm_segment *sg)
{
    return parse(in, sg);
}

static struct reasm_conn *lookup(struct kw_reasm *r, const struct reasm_segment *sg)
{
    return reasm_conn_lookup(&r->conns, sg->src, sg->sport, sg->dst, sg->dport);
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

static enum kw_dir dir_of(const struct reasm_conn *c, const struct reasm_segment *sg)
{
    return sg->src == c->cli_addr && sg->sport == c->cli_port ? KW_TO_SERVER : KW_TO_CLIENT;
}

static bool fin_sent(const struct reasm_conn *c, enum kw_dir d)
{
    return reasm_conn_fin_sent(c, d);
}

/* The sequence number the receiver expects next from direction d: past the
 * in-order data (and the FIN, if sent). */
static uint32_t next_in_order(const struct reasm_conn *c, enum kw_dir d)
{
    return c->seq_base[d] + (uint32_t)reasm_conn_reached(c, d) + fin_sent(c, d);
}

/* The sequence number past all the sender was seen to send (and its FIN). */
static uint32_t next_sent(const struct reasm_conn *c, enum kw_dir d)
{
    return c->seq_base[d] + (uint32_t)reasm_conn_sent_end(c, d);
}

/* A segment of `c` that libnids did not deliver: was it dropped because of
 * an ACK for data never sent? Then it is fed again. false if libnids failed. */
static bool __attribute__((noinline))
undelivered(struct kw_reasm *r, const struct seg_in *in, const struct reasm_segment *sg,
            struct reasm_conn *c)
{
    enum kw_dir d = dir_of(c, sg);
    if (!reasm_nids_unstick_ack(r, c, d, sg->seq, (uint32_t)sg->payload, next_sent(c, d)))
        return true;
    r->stats->ack_unseen++;
    return feed_libnids(r, in->packet);
}

/* What is rare about a segment of `c`: a RST held back that it shows was no
 * end, an urgent pointer. */
static void __attribute__((noinline))
unusual(struct kw_reasm *r, const struct reasm_segment *sg, struct reasm_conn *c)
{
    if (c->rst_held && (sg->payload || (sg->flags & TH_FIN_BIT))) {
        reasm_conn_forget_rst(&r->conns, c); /* the connection went on: it was no end */
        r->stats->rst_ignored++;
    }
    if ((sg->flags & TH_URG_BIT) || c->had_urgent) {
        c->had_urgent = true;
        reasm_nids_sync_urgent(r, c);
    }
}

/* After libnids has seen a segment with data, a FIN or a RST: which of our
 * connections it belongs to, if any (NULL if none, or if the segment ended
 * it), and what it shows. false if libnids failed. */
static inline __attribute__((always_inline)) bool
after_segment(struct kw_reasm *r, const struct seg_in *in, const struct reasm_segment *sg,
              struct reasm_conn **cp, bool rst_was_unknown)
{
    struct reasm_conn *c = *cp ? *cp : r->delivered_to ? r->delivered_to : r->opened;
    if (!c && !(sg->flags & TH_RST_BIT))
        c = lookup(r, sg); /* data out of order or again, a FIN */
    *cp = NULL;
    if (c && c != r->delivered_to && !(sg->flags & TH_RST_BIT) && c->is_open &&
        c != r->ended && !undelivered(r, in, sg, c))
        return false;
    if (!c && r->midstream && sg->payload && (sg->flags & (TH_ACK_BIT | TH_SYN_BIT | TH_RST_BIT)) ==
                                                 TH_ACK_BIT && !r->opened && !r->ended) {
        /* data of a 4-tuple we have no record of: its handshake was not captured
         * (libnids does not follow it, or has it half open at most) */
        if (!reasm_pick_up(r, in, sg))
            return false;
        c = r->delivered_to ? r->delivered_to : lookup(r, sg);
    }
    if (!c || c == r->ended || !c->is_open) {
        /* data, a FIN or a RST of a connection whose handshake was not captured */
        if (!r->opened && !r->ended && !(sg->flags & TH_SYN_BIT) &&
            ((sg->flags & TH_RST_BIT) ? rst_was_unknown : unknown_to_libnids(sg)))
            r->stats->skip_mid_stream++;
        return true;
    }
    if (c->rst_held || c->had_urgent || (sg->flags & TH_URG_BIT))
        unusual(r, sg, c);
    reasm_conn_note_segment(&r->conns, c, sg, r->ts, r->frame);
    reasm_conn_touch(&r->conns, c, r->clock);
    if ((c->n_ahead[0] || c->n_ahead[1]) && !(sg->flags & TH_RST_BIT) &&
        !reasm_fill_holes(r, c)) /* its ACK may prove the other way's hole */
        return false;
    *cp = c->is_open ? c : NULL;
    return true;
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

/* A TCP packet the snaplen cut, its addresses as libnids knows them. */
void reasm_note_cut_segment(struct kw_reasm *r, const struct seg_in *in)
{
    struct reasm_segment sg;
    if (!reasm_parse_segment(in, &sg))
        return;
    sg.cut = true;
    struct reasm_conn *c = lookup(r, &sg);
    reasm_wire_cut(r, c, &sg);
    if (!c)
        return;
    reasm_conn_note_segment(&r->conns, c, &sg, r->ts, r->frame);
    reasm_conn_touch(&r->conns, c, r->clock);
}

enum rst_verdict { RST_EXACT, RST_HELD, RST_OUT_OF_WINDOW };

/* A RST ends a connection at once only at the sequence number its receiver
 * expects next (RFC 5961 3.2, as Linux checks it: also one less once the
 * sender's FIN was sent), or just past all the sender was seen to send (the
 * capture may have missed some of it). libnids would take any RST in the
 * receiver's window: one blind RST would end the analysis of a connection
 * whose ends never saw it. One in the window but not exact is held back from
 * libnids: it ends the connection only if neither side sends data or a FIN
 * within REASM_RST_HOLD of it (kw_reasm_feed, kw_reasm_tick); one outside the
 * window is ignored, as its receiver ignores it. */
static enum rst_verdict judge_rst(struct kw_reasm *r, struct reasm_conn *c,
                                  const struct reasm_segment *sg)
{
    enum kw_dir d = dir_of(c, sg);
    uint32_t expected = next_in_order(c, d);
    if (sg->seq == expected || sg->seq == next_sent(c, d) ||
        (fin_sent(c, d) && sg->seq == expected - 1))
        return RST_EXACT;
    if (!reasm_nids_in_window(r, c, d, sg->seq)) {
        r->stats->rst_out_of_window++;
        return RST_OUT_OF_WINDOW;
    }
    r->stats->rst_held++;
    reasm_conn_hold_rst(&r->conns, c, d, r->ts, r->frame);
    return RST_HELD;
}

void reasm_end_held_rsts(struct kw_reasm *r, kw_usec now, bool all)
{
    struct reasm_conn *c;
    while ((c = reasm_conn_first(&r->conns, REASM_RST_HELD)) &&
           (all || now - c->held_rst_ts > REASM_RST_HOLD)) {
        reasm_nids_release(r, c);
        reasm_end_conn(r, c, (struct kw_reasm_end){ .how = KW_CLOSE_RST,
                                                    .rst_dir = c->held_rst_dir,
                                                    .ts = c->held_rst_ts,
                                                    .frame = c->held_rst_frame });
    }
}

/* A SYN or a RST: what libnids is told, and what it did. */
static int feed_syn_or_rst(struct kw_reasm *r, const struct seg_in *in, struct reasm_segment *sg)
{
    struct reasm_conn *c = NULL;
    bool rst_was_unknown = false, rst_exact = false;
    if (sg->flags & TH_RST_BIT) {
        /* Looked up before feeding: a RST frees what it ends. */
        if ((c = lookup(r, sg))) {
            if (!(rst_exact = judge_rst(r, c, sg) == RST_EXACT)) {
                reasm_conn_touch(&r->conns, c, r->clock);
                return 0; /* not for libnids */
            }
        } else {
            rst_was_unknown = unknown_to_libnids(sg);
        }
    }
    struct kw_slice packet = in->packet;
    bool pure_syn = (sg->flags & (TH_SYN_BIT | TH_ACK_BIT | TH_RST_BIT)) == TH_SYN_BIT;
    if (pure_syn && sg->payload)
        packet = reasm_tfo_syn(r, in, sg);
    else if ((sg->flags & (TH_SYN_BIT | TH_ACK_BIT)) == (TH_SYN_BIT | TH_ACK_BIT) && r->n_tfo)
        packet = reasm_tfo_synack(r, in, sg);
    if (!feed_libnids(r, packet))
        return -1;
    if (pure_syn)
        after_syn(r, sg);
    if (!(sg->flags & TH_RST_BIT))
        return 0; /* data in a SYN is the stream's once the handshake is done */
    if (!after_segment(r, in, sg, &c, rst_was_unknown))
        return -1;
    if (c && rst_exact) { /* libnids did not take it (an ACK moved its window): we do */
        reasm_nids_release(r, c);
        reasm_end_conn(r, c, (struct kw_reasm_end){ .how = KW_CLOSE_RST, .rst_dir = dir_of(c, sg),
                                                    .ts = r->ts, .frame = r->frame });
    }
    return 0;
}

/* One whole segment with neither SYN nor RST; `seen` is its connection's
 * record before libnids saw it, if any. */
static int feed_segment(struct kw_reasm *r, const struct seg_in *in, struct reasm_segment *sg,
                        struct reasm_conn *seen)
{
    struct reasm_conn *c = NULL;
    if (r->conns.n_holed && (sg->flags & TH_ACK_BIT) && (c = seen)) {
        /* its ACK may prove the other way's hole: filled first, so that libnids
         * takes the ACK (for a FIN behind the hole, say) as it was meant */
        enum kw_dir other = dir_of(c, sg) == KW_TO_SERVER ? KW_TO_CLIENT : KW_TO_SERVER;
        if (c->n_ahead[other] && !reasm_fill_acked(r, c, other, sg->ack))
            return -1;
        c = NULL;
    }
    if (!feed_libnids(r, in->packet))
        return -1;
    struct reasm_conn *opened = r->n_tfo ? r->opened : NULL;
    /* A bare ACK carries nothing more to note (wire.c has counted it): no
     * second lookup (most packets are data, whose connection the data
     * callback names, or bare ACKs). */
    if ((sg->payload || (sg->flags & TH_FIN_BIT)) && !after_segment(r, in, sg, &c, false))
        return -1;
    if (opened && opened->is_open && !reasm_tfo_deliver(r, opened))
        return -1;
    return 0;
}

/* One whole TCP segment, counted (wire.c) before and after libnids sees it. */
int reasm_feed_segment(struct kw_reasm *r, const struct seg_in *in)
{
    struct reasm_segment sg;
    if (!parse(in, &sg)) {
        r->stats->tcp_invalid++;
        return 0;
    }
    r->src_addr = sg.src;
    r->src_port = sg.sport;
    struct reasm_conn *seen = reasm_wire_before(r, &sg);
    int rc = (sg.flags & (TH_SYN_BIT | TH_RST_BIT)) ? feed_syn_or_rst(r, in, &sg)
                                                     : feed_segment(r, in, &sg, seen);
    if (rc == 0 && r->wire_pending)
        reasm_wire_after(r, &sg);
    return rc;
}
