/* wire.c: what a connection's packets showed, as Zeek's conn.log says it
 * (scripts/base/protocols/conn/main.zeek; the letters as update_history() in
 * src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc records them):
 *   S  a SYN without ACK         H  a SYN with ACK
 *   A  a pure ACK                D  a packet with payload
 *   F  a FIN                     R  a RST
 *   I  a FIN with a RST          Q  a SYN with a FIN or a RST
 *   T  payload retransmitted     G  a content gap
 *   W  a zero window advertised
 * upper case for the client, lower case for the server. Each letter is
 * recorded once a direction: Zeek records F, H, R and S again for another
 * sequence number, and C, G, T and W again at 10, 100, ... of them; we do
 * not. C (a bad checksum) is never recorded: checksums are not checked
 * (loopback and offloaded captures carry wrong ones). */
#include <stdlib.h>
#include <string.h>

#include "reassembly/reasm-impl.h"

#define TH_FIN_BIT 0x01
#define TH_SYN_BIT 0x02
#define TH_RST_BIT 0x04
#define TH_ACK_BIT 0x10

enum letter { L_S, L_H, L_A, L_D, L_F, L_R, L_T, L_G, L_W, L_I, L_Q, L_NONE };
static const char letter_chars[] = "SHADFRTGWIQ";

static void add_letter(struct reasm_history *h, enum kw_dir dir, enum letter l)
{
    if (h->seen[dir] & (1u << l))
        return;
    h->seen[dir] |= (uint16_t)(1u << l);
    if (h->len < REASM_HISTORY_MAX) /* always: each letter at most once a direction */
        h->letters[h->len++] = (char)(dir == KW_TO_SERVER ? letter_chars[l]
                                                          : letter_chars[l] | 0x20);
}

static inline bool has_letter(const struct reasm_history *h, enum kw_dir dir, enum letter l)
{
    return (h->seen[dir] >> l) & 1u;
}

static enum kw_dir other(enum kw_dir d)
{
    return d == KW_TO_SERVER ? KW_TO_CLIENT : KW_TO_SERVER;
}

/* The letters a segment's flags, payload and window make, as Zeek's
 * update_history() and update_window(): one of Q or I (several of SYN, FIN
 * and RST), S, H, F or R (one of them), D or A (none); and W for a zero
 * window, unless the segment is a RST, the sender has reset (R, I) or the
 * receiver has closed (F, I): then a zero window says nothing. */
static inline __attribute__((always_inline)) void
flag_letters(struct reasm_history *h, enum kw_dir dir, const struct reasm_segment *sg)
{
    uint8_t f = sg->flags;
    int bits = !!(f & TH_SYN_BIT) + !!(f & TH_FIN_BIT) + !!(f & TH_RST_BIT);
    enum letter l = bits > 1 ? ((f & TH_FIN_BIT) && (f & TH_RST_BIT) ? L_I : L_Q)
                    : (f & TH_SYN_BIT) ? ((f & TH_ACK_BIT) ? L_H : L_S)
                    : (f & TH_FIN_BIT) ? L_F
                    : (f & TH_RST_BIT) ? L_R
                    : sg->payload      ? L_D
                    : (f & TH_ACK_BIT) ? L_A
                                       : L_NONE;
    if (l != L_NONE && !has_letter(h, dir, l)) /* most packets: seen already */
        add_letter(h, dir, l);
    if (sg->window == 0 && !(f & TH_RST_BIT) && !has_letter(h, dir, L_R) &&
        !has_letter(h, dir, L_I) && !has_letter(h, other(dir), L_F) &&
        !has_letter(h, other(dir), L_I))
        add_letter(h, dir, L_W);
}

/* --- on the record --------------------------------------------------------------- */

static enum kw_dir dir_on(const struct reasm_conn *c, const struct reasm_segment *sg)
{
    return sg->src == c->cli_addr && sg->sport == c->cli_port ? KW_TO_SERVER : KW_TO_CLIENT;
}

/* How far, in direction `d`'s sequence space from seq_base (past a FIN's
 * octet), the segment ending at sequence number `end` reaches: near where
 * the stream has come, so wrap-safe for any length. */
static int64_t offset_of(const struct reasm_conn *c, enum kw_dir d, uint32_t end)
{
    uint64_t reached = reasm_conn_reached(c, d);
    return (int64_t)reached + (int32_t)(end - (c->seq_base[d] + (uint32_t)reached));
}

/* How far direction `d` was seen to send: the furthest segment end counted
 * (Zeek's last_seq), or the stream, if further (a handshake's data, counted
 * before the record existed, and data of ours filling a hole). */
static uint64_t furthest(const struct reasm_conn *c, enum kw_dir d)
{
    uint64_t stream = reasm_conn_sent_end(c, d);
    return c->wire.sent[d] > stream ? c->wire.sent[d] : stream;
}

/* A segment of `c`. `before`: libnids has not seen it yet, so the record
 * holds what came before it, and a segment with payload that ends no further
 * than that is a retransmission (T), as Zeek's update_last_seq() judges one.
 * After libnids has seen it (a connection picked up on it) it is no
 * retransmission. Neither a RST's sequence number nor any after the sender's
 * RST moves how far it sent: a blind RST says nothing of what was sent. */
static inline __attribute__((always_inline)) void
count_on(struct reasm_conn *c, const struct reasm_segment *sg, bool before)
{
    struct reasm_wire *w = &c->wire;
    struct reasm_history *h = &w->history;
    enum kw_dir d = dir_on(c, sg);
    w->packets[d]++; /* 64 bits: no capture makes it wrap */
    if (!(sg->flags & TH_RST_BIT) && !has_letter(h, d, L_R) && !has_letter(h, d, L_I)) {
        int64_t at = offset_of(c, d, sg->seq + (uint32_t)sg->payload +
                                         !!(sg->flags & TH_SYN_BIT) + !!(sg->flags & TH_FIN_BIT));
        if (before && sg->payload && at <= (int64_t)furthest(c, d))
            add_letter(h, d, L_T);
        if (at > (int64_t)w->sent[d])
            w->sent[d] = (uint64_t)at;
    }
    flag_letters(h, d, sg);
    /* How far it acknowledges the other way. Not from a RST (Zeek does not
     * trust those), nor an ACK of 0 far ahead: more likely broken than a
     * connection that wrapped onto 0 (Zeek's update_ack_seq()). */
    if ((sg->flags & (TH_ACK_BIT | TH_RST_BIT)) == TH_ACK_BIT) {
        enum kw_dir o = other(d);
        int64_t at = offset_of(c, o, sg->ack);
        if (at > (int64_t)w->acked[o] && !(sg->ack == 0 && at - (int64_t)w->acked[o] > (1 << 20)))
            w->acked[o] = (uint64_t)at;
    }
}

/* --- handshakes in progress ------------------------------------------------------ */

_Static_assert(sizeof(struct reasm_hs) == 64, "a handshake's entry: docs/security.md says 64 bytes");

int reasm_hs_init(struct reasm_handshakes *h, uint32_t max_connections)
{
    uint32_t want = max_connections / 4 / REASM_HS_WAYS, sets = 16;
    while (sets < want)
        sets <<= 1;
    h->entries = calloc((size_t)sets * REASM_HS_WAYS, sizeof(*h->entries));
    h->set_mask = sets - 1;
    h->n_used = 0;
    return h->entries ? 0 : -1;
}

void reasm_hs_free(struct reasm_handshakes *h)
{
    free(h->entries);
    h->entries = NULL;
}

static bool hs_matches(const struct reasm_hs *e, const struct reasm_segment *sg)
{
    return e->in_use &&
           ((e->cli == sg->src && e->cport == sg->sport && e->srv == sg->dst &&
             e->sport == sg->dport) ||
            (e->cli == sg->dst && e->cport == sg->dport && e->srv == sg->src &&
             e->sport == sg->sport));
}

static struct reasm_hs *hs_set(struct kw_reasm *r, uint32_t a1, uint16_t p1, uint32_t a2,
                               uint16_t p2)
{
    uint32_t set = reasm_conn_hash(&r->conns, a1, p1, a2, p2) & r->hs.set_mask;
    return &r->hs.entries[(size_t)set * REASM_HS_WAYS];
}

static struct reasm_hs *hs_find(struct kw_reasm *r, const struct reasm_segment *sg)
{
    if (!r->hs.n_used)
        return NULL;
    struct reasm_hs *set = hs_set(r, sg->src, sg->sport, sg->dst, sg->dport);
    for (int i = 0; i < REASM_HS_WAYS; i++)
        if (hs_matches(&set[i], sg))
            return &set[i];
    return NULL;
}

/* The entry of a pure SYN's handshake: its own (counted on for the same SYN
 * again, begun afresh for another sequence number: a new attempt); a free
 * one; else the one that counted last the longest ago. */
static struct reasm_hs *hs_take(struct kw_reasm *r, const struct reasm_segment *sg)
{
    struct reasm_hs *set = hs_set(r, sg->src, sg->sport, sg->dst, sg->dport), *e = NULL;
    for (int i = 0; i < REASM_HS_WAYS && !e; i++)
        if (hs_matches(&set[i], sg))
            e = &set[i];
    if (e && e->cli == sg->src && e->cport == sg->sport && e->isn == sg->seq)
        return e;
    for (int i = 0; i < REASM_HS_WAYS && !e; i++)
        if (!set[i].in_use)
            e = &set[i];
    if (!e) {
        e = &set[0];
        for (int i = 1; i < REASM_HS_WAYS; i++)
            if (set[i].ts < e->ts)
                e = &set[i];
    }
    if (!e->in_use)
        r->hs.n_used++;
    *e = (struct reasm_hs){ .in_use = true, .cli = sg->src, .srv = sg->dst, .cport = sg->sport,
                            .sport = sg->dport, .isn = sg->seq };
    return e;
}

static void hs_count(struct kw_reasm *r, struct reasm_hs *e, const struct reasm_segment *sg)
{
    enum kw_dir d = sg->src == e->cli && sg->sport == e->cport ? KW_TO_SERVER : KW_TO_CLIENT;
    if (e->packets[d] < UINT32_MAX) /* a SYN flood on one 4-tuple */
        e->packets[d]++;
    e->ts = r->ts;
    flag_letters(&e->history, d, sg);
}

void reasm_wire_opened(struct kw_reasm *r, struct reasm_conn *c)
{
    struct reasm_segment key = { .src = c->cli_addr, .dst = c->srv_addr, .sport = c->cli_port,
                                 .dport = c->srv_port };
    struct reasm_hs *e = hs_find(r, &key);
    if (e && e->cli == c->cli_addr && e->cport == c->cli_port) {
        c->wire.packets[KW_TO_SERVER] = e->packets[KW_TO_SERVER];
        c->wire.packets[KW_TO_CLIENT] = e->packets[KW_TO_CLIENT];
        c->wire.history = e->history;
        e->in_use = false;
        r->hs.n_used--;
        return;
    }
    /* Its entry made room for another: libnids saw a SYN and a SYN/ACK at least. */
    c->wire.packets_unknown = true;
    add_letter(&c->wire.history, KW_TO_SERVER, L_S);
    add_letter(&c->wire.history, KW_TO_CLIENT, L_H);
}

/* --- each segment ------------------------------------------------------------------ */

static bool pure_syn(const struct reasm_segment *sg)
{
    return (sg->flags & (TH_SYN_BIT | TH_ACK_BIT | TH_RST_BIT)) == TH_SYN_BIT;
}

struct reasm_conn *reasm_wire_before(struct kw_reasm *r, const struct reasm_segment *sg)
{
    r->wire_pending = true;
    if (pure_syn(sg))
        return NULL;
    struct reasm_conn *c = reasm_conn_lookup(&r->conns, sg->src, sg->sport, sg->dst, sg->dport);
    if (c) {
        count_on(c, sg, true);
        r->wire_pending = false;
        return c;
    }
    struct reasm_hs *e = hs_find(r, sg);
    if (e) {
        hs_count(r, e, sg);
        r->wire_pending = false;
    }
    return NULL;
}

void reasm_wire_after(struct kw_reasm *r, const struct reasm_segment *sg)
{
    if (!r->wire_pending)
        return;
    r->wire_pending = false;
    /* a SYN on a 4-tuple libnids still follows as before, or a connection
     * just picked up on this segment */
    struct reasm_conn *c = reasm_conn_lookup(&r->conns, sg->src, sg->sport, sg->dst, sg->dport);
    if (c)
        count_on(c, sg, false);
    else if (pure_syn(sg))
        hs_count(r, hs_take(r, sg), sg);
}

void reasm_wire_cut(struct kw_reasm *r, struct reasm_conn *c, const struct reasm_segment *sg)
{
    if (c) {
        count_on(c, sg, true);
        return;
    }
    struct reasm_hs *e = hs_find(r, sg); /* a SYN libnids never saw opens no handshake */
    if (e)
        hs_count(r, e, sg);
}

void reasm_wire_gap(struct reasm_conn *c, enum kw_dir dir)
{
    add_letter(&c->wire.history, dir, L_G);
}

void reasm_wire_end(struct reasm_conn *c, struct kw_reasm_end *end)
{
    struct reasm_wire *w = &c->wire;
    for (int d = 0; d < 2; d++) {
        if (end->gap_offset[d] != KW_NO_GAP) /* reassembly stopped at a hole */
            add_letter(&w->history, (enum kw_dir)d, L_G);
        /* Zeek's TCP_Endpoint::Size(): the furthest of what was sent and what
         * was acknowledged, less a FIN's octet (the SYN's is before seq_base) */
        uint64_t sent = furthest(c, (enum kw_dir)d), top = w->acked[d] > sent ? w->acked[d] : sent;
        uint64_t fin = has_letter(&w->history, (enum kw_dir)d, L_F) ||
                       has_letter(&w->history, (enum kw_dir)d, L_I);
        end->bytes[d] = top >= fin ? top - fin : 0;
        end->packets[d] = w->packets[d];
    }
    end->packets_unknown = w->packets_unknown;
    memcpy(end->history, w->history.letters, w->history.len);
    end->history[w->history.len] = '\0';
}
