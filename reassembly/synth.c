/* synth.c: what we feed libnids that the wire did not carry as such.
 *
 * TCP Fast Open (RFC 7413): data in the SYN. libnids ignores a SYN's data,
 * and takes a SYN/ACK only if it acknowledges the SYN alone, so a connection
 * whose server accepted the data was never established. The SYN goes to
 * libnids without its data (kept here, bounded), the SYN/ACK with the ACK
 * of the SYN alone, and once the handshake is done the data follows as a
 * segment of its own, before anything else the client sent. A server that
 * did not take the data acknowledges the SYN alone: the client sends it
 * again, and what was kept is dropped. */
#include <string.h>

#include "reassembly/reasm-impl.h"

#define TH_SYN_BIT 0x02
#define TH_PSH_BIT 0x08
#define TH_ACK_BIT 0x10

/* A packet of ours to patch: the one being fed, copied into r->scratch
 * unless it is there already (an IPv6 one). */
static uint8_t *writable(struct kw_reasm *r, struct kw_slice packet)
{
    if (packet.p != r->scratch)
        memcpy(r->scratch, packet.p, packet.len);
    return r->scratch;
}

static struct tfo_syn *tfo_find(struct kw_reasm *r, uint32_t cli, uint16_t cport, uint32_t srv,
                                uint16_t sport)
{
    for (int i = 0; i < REASM_TFO_MAX; i++) {
        struct tfo_syn *t = &r->tfo[i];
        if (t->in_use && t->cli == cli && t->cport == cport && t->srv == srv && t->sport == sport)
            return t;
    }
    return NULL;
}

/* A slot for a new SYN: a free one, else the oldest. */
static struct tfo_syn *tfo_take(struct kw_reasm *r)
{
    struct tfo_syn *oldest = &r->tfo[0];
    for (int i = 0; i < REASM_TFO_MAX; i++) {
        if (!r->tfo[i].in_use) {
            r->n_tfo++;
            return &r->tfo[i];
        }
        if (r->tfo[i].ts < oldest->ts)
            oldest = &r->tfo[i];
    }
    return oldest;
}

struct kw_slice reasm_tfo_syn(struct kw_reasm *r, const struct seg_in *in,
                              const struct reasm_segment *sg)
{
    r->stats->syn_data++;
    struct tfo_syn *t = tfo_find(r, sg->src, sg->sport, sg->dst, sg->dport);
    if (!t)
        t = tfo_take(r);
    *t = (struct tfo_syn){ .in_use = true, .cli = sg->src, .cport = sg->sport, .srv = sg->dst,
                           .sport = sg->dport, .isn = sg->seq, .len = (uint32_t)sg->payload,
                           .ts = r->ts };
    size_t captured = in->transport.len - sg->header_len;
    t->kept = sg->payload <= sizeof(t->data) && captured >= sg->payload;
    if (t->kept)
        memcpy(t->data, in->transport.p + sg->header_len, sg->payload);
    else
        r->stats->syn_data_unkept++;
    /* the SYN alone: its IP length without the data */
    size_t len = in->packet.len - sg->payload;
    uint8_t *p = writable(r, kw_slice_make(in->packet.p, len));
    p[2] = (uint8_t)(len >> 8), p[3] = (uint8_t)len;
    return kw_slice_make(p, len);
}

struct kw_slice reasm_tfo_synack(struct kw_reasm *r, const struct seg_in *in,
                                 const struct reasm_segment *sg)
{
    struct tfo_syn *t = tfo_find(r, sg->dst, sg->dport, sg->src, sg->sport);
    if (!t || sg->ack != t->isn + 1 + t->len) {
        if (t && sg->ack == t->isn + 1) { /* the data was not taken: it comes again */
            t->in_use = false;
            r->n_tfo--;
        }
        return in->packet;
    }
    t->accepted = true;
    t->server_isn = sg->seq;
    uint8_t *p = writable(r, in->packet);
    uint8_t *ack = p + (in->transport.p - in->packet.p) + 8;
    uint32_t syn_only = t->isn + 1;
    ack[0] = (uint8_t)(syn_only >> 24), ack[1] = (uint8_t)(syn_only >> 16);
    ack[2] = (uint8_t)(syn_only >> 8), ack[3] = (uint8_t)syn_only;
    return kw_slice_make(p, in->packet.len);
}

bool reasm_tfo_deliver(struct kw_reasm *r, const struct reasm_conn *c)
{
    struct tfo_syn *t = tfo_find(r, c->cli_addr, c->cli_port, c->srv_addr, c->srv_port);
    if (!t)
        return true;
    t->in_use = false;
    r->n_tfo--;
    if (!t->accepted || !t->kept) /* not kept: a gap at the start */
        return true;
    struct reasm_tcp_out seg = { .src = t->cli, .dst = t->srv, .sport = t->cport,
                                 .dport = t->sport, .seq = t->isn + 1, .ack = t->server_isn + 1,
                                 .flags = TH_ACK_BIT | TH_PSH_BIT, .window = 65535,
                                 .payload = kw_slice_make(t->data, t->len) };
    struct kw_slice packet = reasm_build_tcp(r->synth, &seg);
    r->opened = r->ended = r->delivered_to = NULL;
    return reasm_nids_feed(r, packet);
}

/* --- connections picked up --------------------------------------------------------- */

/* An HTTP method (RFC 9110 9: a token; in practice capitals, and '-' as in
 * M-SEARCH), a space, then a target (RFC 9112 3.2): origin form ("/"),
 * asterisk form, absolute form ("http://", "https://"), or for CONNECT the
 * authority form. Words that merely begin a line ("PHP Notice: ...") are no
 * request line. */
static bool begins_request_line(struct kw_slice p)
{
    size_t i = 0;
    while (i < p.len && i < 24 && ((p.p[i] >= 'A' && p.p[i] <= 'Z') || p.p[i] == '-'))
        i++;
    if (i == 0 || i + 1 >= p.len || p.p[i] != ' ')
        return false;
    struct kw_slice target = kw_slice_make(p.p + i + 1, p.len - i - 1);
    if (target.p[0] == '/' || target.p[0] == '*')
        return true;
    if (i == 7 && !memcmp(p.p, "CONNECT", 7))
        return true;
    return (target.len >= 7 && kw_slice_eq_ci(kw_slice_make(target.p, 7), "http://")) ||
           (target.len >= 8 && kw_slice_eq_ci(kw_slice_make(target.p, 8), "https://"));
}

/* "HTTP/" digit "." digit SP (RFC 9112 4). */
static bool begins_status_line(struct kw_slice p)
{
    return p.len >= 9 && !memcmp(p.p, "HTTP/", 5) && p.p[5] >= '0' && p.p[5] <= '9' &&
           p.p[6] == '.' && p.p[7] >= '0' && p.p[7] <= '9' && p.p[8] == ' ';
}

bool reasm_sender_is_client(struct kw_slice payload, uint16_t sport, uint16_t dport)
{
    if (begins_request_line(payload))
        return true;
    if (begins_status_line(payload))
        return false;
    bool s_known = sport < 1024, d_known = dport < 1024; /* RFC 6335 6: system ports */
    if (s_known != d_known)
        return d_known;
    return sport >= dport;
}

static bool feed_synthetic(struct kw_reasm *r, const struct reasm_tcp_out *t)
{
    r->opened = r->ended = r->delivered_to = NULL;
    return reasm_nids_feed(r, reasm_build_tcp(r->synth, t));
}

bool reasm_pick_up(struct kw_reasm *r, const struct seg_in *in, const struct reasm_segment *sg)
{
    struct kw_slice payload = kw_slice_make(in->transport.p + sg->header_len,
                                            in->transport.len - sg->header_len);
    bool from_client = reasm_sender_is_client(payload, sg->sport, sg->dport);
    uint32_t cli = from_client ? sg->src : sg->dst, srv = from_client ? sg->dst : sg->src;
    uint16_t cport = from_client ? sg->sport : sg->dport, sport = from_client ? sg->dport
                                                                             : sg->sport;
    /* the segment's own numbers: the next it sends, the next it expects */
    uint32_t cli_next = from_client ? sg->seq : sg->ack, srv_next = from_client ? sg->ack
                                                                               : sg->seq;
    reasm_nids_forget(cli, cport, srv, sport); /* a half-open stream that went nowhere */
    /* window scale 14 both ways: the real windows, scaled as negotiated unseen,
     * must not make libnids drop what it is sent */
    struct reasm_tcp_out syn = { .src = cli, .dst = srv, .sport = cport, .dport = sport,
                                 .seq = cli_next - 1, .flags = TH_SYN_BIT, .window = 65535,
                                 .max_wscale = true };
    struct reasm_tcp_out syn_ack = { .src = srv, .dst = cli, .sport = sport, .dport = cport,
                                     .seq = srv_next - 1, .ack = cli_next,
                                     .flags = TH_SYN_BIT | TH_ACK_BIT, .window = 65535,
                                     .max_wscale = true };
    struct reasm_tcp_out ack = { .src = cli, .dst = srv, .sport = cport, .dport = sport,
                                 .seq = cli_next, .ack = srv_next, .flags = TH_ACK_BIT,
                                 .window = 65535 };
    r->picking_up = true;
    bool fed = feed_synthetic(r, &syn) && feed_synthetic(r, &syn_ack) &&
               feed_synthetic(r, &ack);
    r->picking_up = false;
    if (!fed)
        return false;
    r->opened = r->ended = r->delivered_to = NULL;
    return reasm_nids_feed(r, in->packet);
}

/* --- bytes the capture missed -------------------------------------------------- */

/* A hole in one direction whose bytes the other side acknowledged was no
 * loss on the network, only in the capture: libnids would stall there for
 * good (and drop what it holds after it once that passes 64 KiB). An ACK
 * that does not pass the hole proves nothing: the bytes may come again (a
 * retransmission), and the hole is left as it is. An ACK past all the data
 * seen proves no more than that data: holes are filled up to it only. */
static bool fill_proven(struct kw_reasm *r, struct reasm_conn *c, enum kw_dir dir, uint32_t ack)
{
    int d = (int)dir;
    uint64_t start, end;
    if (!c->n_ahead[d] || !reasm_conn_first_hole(&r->conns, c, dir, &start, &end))
        return true;
    int32_t past = (int32_t)(ack - (c->seq_base[d] + (uint32_t)start));
    if (past <= 0)
        return true; /* not acknowledged */
    uint64_t to = start + (uint64_t)past < end ? start + (uint64_t)past : end;
    if (to - start > REASM_FILL_MAX) {
        if (c->too_large[d] != start + 1)
            r->stats->capture_holes_too_large++;
        c->too_large[d] = start + 1;
        return true;
    }
    r->stats->capture_holes++;
    r->stats->capture_missed_bytes += to - start;
    return reasm_nids_fill(r, c, dir, (uint32_t)(to - start));
}

bool reasm_fill_acked(struct kw_reasm *r, struct reasm_conn *c, enum kw_dir dir, uint32_t ack)
{
    return fill_proven(r, c, dir, ack);
}

bool reasm_fill_holes(struct kw_reasm *r, struct reasm_conn *c)
{
    for (int d = 0; d < 2 && c->is_open; d++) {
        uint32_t ack;
        if (c->n_ahead[d] && reasm_nids_acked(r, c, (enum kw_dir)d, &ack) &&
            !fill_proven(r, c, (enum kw_dir)d, ack))
            return false;
    }
    return true;
}
