/* cursor.h: the one way to read packet bytes, bounds-checked (tcpdump GET_BE_U_2 style).
 *
 * Every read says whether the bytes were there; on false nothing was read and
 * the cursor has not moved, so a decoder can tell a header the capture cut
 * short from one that lies. */
#ifndef KW_CURSOR_H
#define KW_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/slice.h"

struct kw_cur {
    const uint8_t *p, *end;
};

static inline struct kw_cur kw_cur_make(struct kw_slice s)
{
    struct kw_cur c = { s.p, s.p + s.len };
    return c;
}

static inline size_t kw_cur_left(const struct kw_cur *c)
{
    return (size_t)(c->end - c->p);
}

/* The bytes not read yet, as a slice of the same buffer. */
static inline struct kw_slice kw_cur_rest(const struct kw_cur *c)
{
    return kw_slice_make(c->p, kw_cur_left(c));
}

/* Compare lengths, never form p + n past end (undefined behaviour). */
static inline bool kw_cur_skip(struct kw_cur *c, size_t n)
{
    if (kw_cur_left(c) < n)
        return false;
    c->p += n;
    return true;
}

/* The next `n` bytes as a slice (no copy), then past them. */
static inline bool kw_cur_bytes(struct kw_cur *c, size_t n, struct kw_slice *out)
{
    if (kw_cur_left(c) < n)
        return false;
    *out = kw_slice_make(c->p, n);
    c->p += n;
    return true;
}

/* A cursor over the next `n` bytes only (a header of known length), then past
 * them: reads through `sub` cannot run into what follows the header. */
static inline bool kw_cur_sub(struct kw_cur *c, size_t n, struct kw_cur *sub)
{
    if (kw_cur_left(c) < n)
        return false;
    sub->p = c->p;
    sub->end = c->p + n;
    c->p += n;
    return true;
}

/* The next byte, without moving: a version nibble that picks the decoder. */
static inline bool kw_cur_peek_u8(const struct kw_cur *c, uint8_t *v)
{
    if (kw_cur_left(c) < 1)
        return false;
    *v = c->p[0];
    return true;
}

static inline bool kw_cur_u8(struct kw_cur *c, uint8_t *v)
{
    if (kw_cur_left(c) < 1)
        return false;
    *v = c->p[0];
    c->p += 1;
    return true;
}

static inline bool kw_cur_be16(struct kw_cur *c, uint16_t *v)
{
    if (kw_cur_left(c) < 2)
        return false;
    *v = (uint16_t)(c->p[0] << 8 | c->p[1]);
    c->p += 2;
    return true;
}

static inline bool kw_cur_be32(struct kw_cur *c, uint32_t *v)
{
    if (kw_cur_left(c) < 4)
        return false;
    *v = (uint32_t)c->p[0] << 24 | (uint32_t)c->p[1] << 16 | (uint32_t)c->p[2] << 8 | c->p[3];
    c->p += 4;
    return true;
}

/* A 16-bit value in this host's byte order: NFLOG's TLV lengths and types,
 * which libpcap turns into the reading host's order (pcap-util.c). */
static inline bool kw_cur_host16(struct kw_cur *c, uint16_t *v)
{
    if (kw_cur_left(c) < 2)
        return false;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    *v = (uint16_t)(c->p[0] << 8 | c->p[1]);
#else
    *v = (uint16_t)(c->p[1] << 8 | c->p[0]);
#endif
    c->p += 2;
    return true;
}

/* Little-endian 16-bit value: a little-endian pcapng section's fields. */
static inline bool kw_cur_le16(struct kw_cur *c, uint16_t *v)
{
    if (kw_cur_left(c) < 2)
        return false;
    *v = (uint16_t)(c->p[1] << 8 | c->p[0]);
    c->p += 2;
    return true;
}

/* Little-endian 32-bit value, for BSD loopback's address family word. */
static inline bool kw_cur_le32(struct kw_cur *c, uint32_t *v)
{
    if (kw_cur_left(c) < 4)
        return false;
    *v = (uint32_t)c->p[3] << 24 | (uint32_t)c->p[2] << 16 | (uint32_t)c->p[1] << 8 | c->p[0];
    c->p += 4;
    return true;
}

#endif
