/* community_id.c: Community ID v1. SHA-1 and base64 come from nettle (GnuTLS'
 * crypto library, Debian's nettle-dev), not hand-written: one digest per
 * connection is not worth owning a hash function. */
#include "output/community_id.h"

#include <nettle/base64.h>
#include <nettle/sha1.h>
#include <string.h>

#define IPPROTO_TCP_NUMBER 6

/* The spec orders the endpoints: the smaller address first, or on equal
 * addresses the smaller port, so both directions hash alike. */
static int endpoint_order(const struct kw_endpoint *a, const struct kw_endpoint *b, size_t len)
{
    int c = memcmp(a->addr, b->addr, len);
    if (c)
        return c;
    return (a->port > b->port) - (a->port < b->port);
}

size_t kw_community_id(const struct kw_conn_key *key, uint16_t seed,
                       char out[KW_COMMUNITY_ID_LEN])
{
    size_t alen = key->client.family == 6 ? 16 : 4;
    const struct kw_endpoint *lo = &key->client, *hi = &key->server;
    if (endpoint_order(lo, hi, alen) > 0) {
        lo = &key->server;
        hi = &key->client;
    }
    uint8_t buf[2 + 16 + 16 + 2 + 4], *p = buf;
    *p++ = (uint8_t)(seed >> 8);
    *p++ = (uint8_t)seed;
    memcpy(p, lo->addr, alen);
    p += alen;
    memcpy(p, hi->addr, alen);
    p += alen;
    *p++ = IPPROTO_TCP_NUMBER;
    *p++ = 0; /* padding */
    *p++ = (uint8_t)(lo->port >> 8);
    *p++ = (uint8_t)lo->port;
    *p++ = (uint8_t)(hi->port >> 8);
    *p++ = (uint8_t)hi->port;

    struct sha1_ctx ctx;
    uint8_t digest[SHA1_DIGEST_SIZE];
    sha1_init(&ctx);
    sha1_update(&ctx, (size_t)(p - buf), buf);
    sha1_digest(&ctx, sizeof(digest), digest);
    memcpy(out, "1:", 2);
    base64_encode_raw(out + 2, sizeof(digest), digest);
    size_t n = 2 + BASE64_ENCODE_RAW_LENGTH(sizeof(digest));
    out[n] = '\0';
    return n;
}
