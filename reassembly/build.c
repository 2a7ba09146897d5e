/* build.c: one TCP/IPv4 packet, written field by field. */
#include "reassembly/build.h"

#include <string.h>

static void be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

struct kw_slice reasm_build_tcp(uint8_t *buf, const struct reasm_tcp_out *t)
{
    size_t tcp_len = t->max_wscale ? 24 : 20, total = 20 + tcp_len + t->payload.len;
    if (total > BUILD_PACKET_MAX)
        return kw_slice_make(buf, 0);
    memset(buf, 0, 20 + tcp_len);
    buf[0] = 0x45;
    be16(buf + 2, (uint16_t)total);
    buf[6] = 0x40; /* DF */
    buf[8] = 64, buf[9] = 6;
    memcpy(buf + 12, &t->src, 4);
    memcpy(buf + 16, &t->dst, 4);
    uint8_t *h = buf + 20;
    be16(h, t->sport);
    be16(h + 2, t->dport);
    be32(h + 4, t->seq);
    be32(h + 8, t->ack);
    h[12] = (uint8_t)(tcp_len / 4 << 4);
    h[13] = t->flags;
    be16(h + 14, t->window);
    if (t->max_wscale) { /* NOP, window scale: kind 3, length 3, shift 14 */
        h[20] = 1, h[21] = 3, h[22] = 3, h[23] = 14;
    }
    if (t->payload.p)
        memcpy(h + tcp_len, t->payload.p, t->payload.len);
    else
        memset(h + tcp_len, 0, t->payload.len);
    return kw_slice_make(buf, total);
}
