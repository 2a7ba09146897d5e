/* cursor.h: the one way to read packet bytes, bounds-checked (tcpdump GET_BE_U_2 style). */
#ifndef KW_CURSOR_H
#define KW_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kw_cur {
    const uint8_t *p, *end;
};

static inline size_t kw_cur_left(const struct kw_cur *c)
{
    return (size_t)(c->end - c->p);
}

/* Compare lengths, never form p + n past end (undefined behaviour). */
static inline bool kw_cur_skip(struct kw_cur *c, size_t n)
{
    if (kw_cur_left(c) < n)
        return false;
    c->p += n;
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

/* Host-order 32-bit value, for BSD loopback's address family word. */
static inline bool kw_cur_le32(struct kw_cur *c, uint32_t *v)
{
    if (kw_cur_left(c) < 4)
        return false;
    *v = (uint32_t)c->p[3] << 24 | (uint32_t)c->p[2] << 16 | (uint32_t)c->p[1] << 8 | c->p[0];
    c->p += 4;
    return true;
}

#endif
