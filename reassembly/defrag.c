/* defrag.c: fragments to datagrams (RFC 791 3.2, RFC 8200 4.5), with the
 * rules of today's hosts for overlaps (RFC 5722; Linux since 2018 for IPv4):
 * a fragment that overlaps another drops the whole datagram, unless it is an
 * exact copy of bytes already held (a duplicated packet), which is ignored.
 * An attacker cannot then make keepwatch read other bytes than the host. */
#include "reassembly/defrag.h"

#include <stdlib.h>
#include <string.h>

#include "common/cursor.h"

#define IPV6_FRAGMENT_HEADER 44

/* One fragment, as its header says. */
struct frag {
    uint8_t family, protocol;
    const uint8_t *src, *dst; /* 4 or 16 bytes */
    uint32_t id, offset;
    bool more;
    struct kw_slice header;   /* IPv4: the IP header, options included */
    struct kw_slice data;     /* the fragment's share of the payload */
};

static bool parse_v4(const struct kw_ip *ip, struct frag *f)
{
    struct kw_cur c = kw_cur_make(ip->packet);
    uint8_t vihl;
    uint16_t id, off_flags;
    if (!(kw_cur_u8(&c, &vihl) && kw_cur_skip(&c, 3) && kw_cur_be16(&c, &id) &&
          kw_cur_be16(&c, &off_flags)))
        return false;
    size_t hl = (size_t)(vihl & 0x0f) * 4;
    if (hl > ip->packet.len)
        return false;
    f->id = id;
    f->offset = (uint32_t)(off_flags & 0x1fff) * 8;
    f->more = (off_flags & 0x2000) != 0;
    f->protocol = ip->protocol;
    f->header = kw_slice_make(ip->packet.p, hl);
    f->data = kw_slice_make(ip->packet.p + hl, ip->packet.len - hl);
    return true;
}

/* The Fragment header sits after the unfragmentable part's extension headers. */
static bool parse_v6(const struct kw_ip *ip, struct frag *f)
{
    struct kw_cur c = kw_cur_make(ip->packet);
    uint8_t next;
    if (!kw_cur_skip(&c, 6) || !kw_cur_u8(&c, &next) || !kw_cur_skip(&c, 33))
        return false;
    for (int n = 0; n < 8; n++) {
        uint8_t following, len;
        if (next == IPV6_FRAGMENT_HEADER) { /* next(1) reserved(1) offset/flags(2) id(4) */
            uint16_t off_flags;
            if (!(kw_cur_u8(&c, &following) && kw_cur_skip(&c, 1) &&
                  kw_cur_be16(&c, &off_flags) && kw_cur_be32(&c, &f->id)))
                return false;
            f->protocol = following;
            f->offset = off_flags & 0xfff8;
            f->more = (off_flags & 1) != 0;
            f->header = kw_slice_make(NULL, 0);
            f->data = kw_cur_rest(&c);
            return true;
        }
        if (next != 0 && next != 43 && next != 60) /* hop-by-hop, routing, destination */
            return false;
        if (!kw_cur_u8(&c, &following) || !kw_cur_u8(&c, &len) ||
            !kw_cur_skip(&c, ((size_t)len + 1) * 8 - 2))
            return false;
        next = following;
    }
    return false;
}

static bool same_datagram(const struct defrag_slot *s, const struct frag *f)
{
    size_t n = f->family == 4 ? 4 : 16;
    return s->in_use && s->family == f->family && s->id == f->id &&
           (f->family == 6 || s->protocol == f->protocol) && !memcmp(s->src, f->src, n) &&
           !memcmp(s->dst, f->dst, n);
}

static kw_usec limit_of(const struct defrag_slot *s)
{
    return s->family == 4 ? DEFRAG_TIMEOUT_V4 : DEFRAG_TIMEOUT_V6;
}

static void release(struct reasm_defrag *d, struct defrag_slot *s)
{
    s->in_use = false;
    d->n_in_use--;
}

static void expire(struct reasm_defrag *d, kw_usec ts, struct kw_stats *stats)
{
    for (int i = 0; i < DEFRAG_SLOTS && d->n_in_use; i++) {
        struct defrag_slot *s = &d->slots[i];
        if (s->in_use && ts - s->first_ts > limit_of(s)) {
            release(d, s);
            stats->frag_expired++;
        }
    }
}

/* A free slot for a new datagram; when none is, the oldest datagram gives
 * its own up (counted). */
static struct defrag_slot *take(struct reasm_defrag *d, const struct frag *f, kw_usec ts,
                                struct kw_stats *stats)
{
    struct defrag_slot *s = NULL;
    for (int i = 0; i < DEFRAG_SLOTS; i++) {
        struct defrag_slot *x = &d->slots[i];
        if (!x->in_use) {
            s = x;
            break;
        }
        if (!s || x->first_ts < s->first_ts)
            s = x;
    }
    if (s->in_use) {
        release(d, s);
        stats->frag_evicted++;
    }
    if (!s->buf && !(s->buf = malloc(DEFRAG_HEADROOM + DEFRAG_PAYLOAD_MAX)))
        return NULL;
    size_t n = f->family == 4 ? 4 : 16;
    s->in_use = true;
    d->n_in_use++;
    s->family = f->family;
    s->protocol = f->protocol;
    s->id = f->id;
    memcpy(s->src, f->src, n);
    memcpy(s->dst, f->dst, n);
    s->first_ts = ts;
    s->total = 0;
    s->have = 0;
    s->have_first = false;
    memset(s->blocks, 0, sizeof(s->blocks));
    return s;
}

static bool block_set(const struct defrag_slot *s, uint32_t b)
{
    return (s->blocks[b >> 3] >> (b & 7)) & 1;
}

/* Puts the fragment in; false when it cannot belong to a real datagram. */
static bool place(struct defrag_slot *s, const struct frag *f)
{
    uint32_t len = (uint32_t)f->data.len, end = f->offset + len;
    if (end > DEFRAG_PAYLOAD_MAX - (uint32_t)f->header.len) /* 64 KiB at most, header included */
        return false;
    if (f->more ? (len == 0 || len % 8) : (s->total && s->total != end))
        return false; /* RFC 8200 4.5: all but the last are multiples of 8 */
    if (s->total && end > s->total)
        return false;
    uint32_t first = f->offset / 8, past = (end + 7) / 8, n_set = 0;
    for (uint32_t b = first; b < past; b++)
        n_set += block_set(s, b);
    if (!f->more && n_set == 0)
        for (uint32_t b = past; b < sizeof(s->blocks) * 8; b++)
            if (block_set(s, b))
                return false; /* data past the end */
    uint8_t *at = s->buf + DEFRAG_HEADROOM + f->offset;
    if (n_set) /* a copy of what is held is a duplicated packet, anything else an overlap */
        return n_set == past - first && !memcmp(at, f->data.p, len);
    memcpy(at, f->data.p, len);
    for (uint32_t b = first; b < past; b++)
        s->blocks[b >> 3] |= (uint8_t)(1u << (b & 7));
    s->have += len;
    if (!f->more)
        s->total = end;
    if (f->offset == 0) {
        s->have_first = true;
        if (f->family == 4) { /* its header goes before the payload */
            s->hdr_len = (uint8_t)f->header.len;
            memcpy(s->buf + DEFRAG_HEADROOM - f->header.len, f->header.p, f->header.len);
        } else {
            s->protocol = f->protocol;
        }
    }
    return true;
}

static uint16_t ipv4_checksum(const uint8_t *h, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(h[i] << 8 | h[i + 1]);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void finish(const struct defrag_slot *s, struct reasm_datagram *out)
{
    uint8_t *payload = s->buf + DEFRAG_HEADROOM;
    out->family = s->family;
    out->protocol = s->protocol;
    out->payload = kw_slice_make(payload, s->total);
    if (s->family == 6) {
        out->src = kw_slice_make(s->src, 16);
        out->dst = kw_slice_make(s->dst, 16);
        out->packet = kw_slice_make(NULL, 0);
        return;
    }
    uint8_t *h = payload - s->hdr_len;
    uint32_t total = s->hdr_len + s->total;
    h[2] = (uint8_t)(total >> 8), h[3] = (uint8_t)total;
    h[6] = h[7] = 0; /* no longer a fragment */
    h[10] = h[11] = 0;
    uint16_t sum = ipv4_checksum(h, s->hdr_len);
    h[10] = (uint8_t)(sum >> 8), h[11] = (uint8_t)sum;
    out->src = kw_slice_make(h + 12, 4);
    out->dst = kw_slice_make(h + 16, 4);
    out->packet = kw_slice_make(h, total);
}

enum reasm_frag_res reasm_defrag_add(struct reasm_defrag *d, const struct kw_ip *ip, kw_usec ts,
                                     struct kw_stats *stats, struct reasm_datagram *out)
{
    struct frag f = { .family = ip->family, .src = ip->src_addr.p, .dst = ip->dst_addr.p };
    if (!(ip->family == 4 ? parse_v4(ip, &f) : parse_v6(ip, &f))) {
        stats->frag_invalid++;
        return REASM_FRAG_DROPPED;
    }
    expire(d, ts, stats);
    struct defrag_slot *s = NULL;
    for (int i = 0; i < DEFRAG_SLOTS && !s; i++)
        if (same_datagram(&d->slots[i], &f))
            s = &d->slots[i];
    if (!s && !(s = take(d, &f, ts, stats))) {
        stats->frag_evicted++; /* no memory for a buffer: no room */
        return REASM_FRAG_DROPPED;
    }
    if (!place(s, &f)) {
        release(d, s);
        stats->frag_invalid++;
        return REASM_FRAG_DROPPED;
    }
    if (!s->have_first || !s->total || s->have != s->total)
        return REASM_FRAG_HELD;
    if (s->family == 4 && s->hdr_len + s->total > 65535) { /* the first header was longer */
        release(d, s);
        stats->frag_invalid++;
        return REASM_FRAG_DROPPED;
    }
    finish(s, out);
    release(d, s);
    stats->frag_datagrams++;
    return REASM_FRAG_DONE;
}

void reasm_defrag_flush(struct reasm_defrag *d, struct kw_stats *stats)
{
    for (int i = 0; i < DEFRAG_SLOTS; i++)
        if (d->slots[i].in_use) {
            release(d, &d->slots[i]);
            stats->frag_expired++;
        }
}

void reasm_defrag_free(struct reasm_defrag *d)
{
    for (int i = 0; i < DEFRAG_SLOTS; i++) {
        free(d->slots[i].buf);
        d->slots[i].buf = NULL;
    }
}
