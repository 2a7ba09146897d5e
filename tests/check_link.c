/* check_link.c: capture/. The link table and kw_link_decode() on frames of
 * every link type we decode, with IPv4 and IPv6 headers, whole, cut at every
 * byte, and malformed; the cursor's reads; kw_cap_next()'s results on files,
 * a file cut short and a read error.
 *
 * Every input is copied flush against a PROT_NONE page (picohttpparser's
 * test.c), so a read one byte past the slice crashes even without ASan. */
#define _GNU_SOURCE /* fopencookie: a stream that fails the way a disk does */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture/cap.h"
#include "capture/link.h"
#include "common/cursor.h"

/* Link types, spelled out so the test says which numbers the files carry. */
#define LT_NULL 0
#define LT_EN10MB 1
#define LT_RAW 12
#define LT_IEEE802_11 105
#define LT_LOOP 108
#define LT_LINUX_SLL 113
#define LT_IPV4 228
#define LT_IPV6 229
#define LT_LINUX_SLL2 276

#define FRAME_MAX 256
#define IP_TOTAL 40 /* IPv4 20 + TCP 20: short enough that Ethernet pads it */

/* ---- the guard page ----------------------------------------------------- */

static uint8_t *guard_lo; /* two pages; the second one is PROT_NONE */
static size_t page_len;

static void guard_setup(void)
{
    page_len = (size_t)sysconf(_SC_PAGESIZE);
    void *m = mmap(NULL, 2 * page_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(m, MAP_FAILED);
    guard_lo = m;
    ck_assert_int_eq(mprotect(guard_lo + page_len, page_len, PROT_NONE), 0);
}

static void guard_teardown(void)
{
    munmap(guard_lo, 2 * page_len);
    guard_lo = NULL;
}

/* Copies `len` bytes so that the last one sits just before the guard page. */
static struct kw_slice flush(const uint8_t *bytes, size_t len)
{
    ck_assert_uint_le(len, page_len);
    uint8_t *p = guard_lo + page_len - len;
    if (len)
        memcpy(p, bytes, len);
    return kw_slice_make(p, len);
}

/* ---- frame builders ------------------------------------------------------ */

/* An IPv4 header (no options) with `total` as its total length, followed by
 * payload bytes up to `total`. Returns the number of bytes written. */
static size_t put_ipv4(uint8_t *b, uint16_t total, uint16_t frag)
{
    memset(b, 0, total < 20 ? 20 : total);
    b[0] = 0x45;
    b[2] = (uint8_t)(total >> 8);
    b[3] = (uint8_t)total;
    b[4] = 0x12, b[5] = 0x34; /* identification */
    b[6] = (uint8_t)(frag >> 8);
    b[7] = (uint8_t)frag;
    b[8] = 64; /* TTL */
    b[9] = 6;  /* TCP */
    b[12] = 127, b[15] = 1;
    b[16] = 127, b[19] = 2;
    for (size_t i = 20; i < total; i++)
        b[i] = (uint8_t)(0xa0 + i); /* payload: anything but zero */
    return total < 20 ? 20 : total;
}

/* An IPv6 header with `payload_len` and `next`; the payload is not written. */
static size_t put_ipv6_header(uint8_t *b, uint16_t payload_len, uint8_t next)
{
    memset(b, 0, 40);
    b[0] = 0x60;
    b[4] = (uint8_t)(payload_len >> 8);
    b[5] = (uint8_t)payload_len;
    b[6] = next;
    b[7] = 64;
    b[23] = 1, b[39] = 1;
    return 40;
}

/* A bare IPv6 header: no payload, no next header (59). */
static size_t put_ipv6(uint8_t *b)
{
    return put_ipv6_header(b, 0, 59);
}

/* A 20-byte TCP header (data offset 5) with anything but zero for the rest. */
static size_t put_tcp(uint8_t *b)
{
    memset(b, 0, 20);
    b[0] = 0x9c, b[1] = 0x40; /* 40000 */
    b[3] = 80;
    b[12] = 0x50;
    b[13] = 0x18; /* PSH ACK */
    return 20;
}

/* IPv6, Hop-by-Hop options (8 bytes), Destination options (16), TCP (20). */
static size_t put_ipv6_ext_tcp(uint8_t *b)
{
    size_t n = put_ipv6_header(b, 8 + 16 + 20, 0);
    memset(b + n, 0, 24);
    b[n] = 60;           /* next: destination options */
    b[n + 1] = 0;        /* 8 bytes */
    b[n + 2] = 1;        /* PadN, 4 bytes of padding */
    b[n + 3] = 4;
    n += 8;
    b[n] = 6;            /* next: TCP */
    b[n + 1] = 1;        /* 16 bytes */
    b[n + 2] = 1, b[n + 3] = 12;
    n += 16;
    return n + put_tcp(b + n);
}

static size_t put_be16(uint8_t *b, uint16_t v)
{
    b[0] = (uint8_t)(v >> 8);
    b[1] = (uint8_t)v;
    return 2;
}

/* dst, src, then `n_types` 16-bit words: tag types with their TCIs and the
 * final ethertype, as given. */
static size_t put_eth(uint8_t *b, const uint16_t *words, size_t n_words)
{
    static const uint8_t macs[12] = { 0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02 };
    memcpy(b, macs, 12);
    size_t n = 12;
    for (size_t i = 0; i < n_words; i++)
        n += put_be16(b + n, words[i]);
    return n;
}

/* Pads an Ethernet frame to the 60-byte minimum, as a NIC does; the padding
 * is not zero so that a slice that kept it would change the IP bytes seen. */
static size_t eth_pad(uint8_t *b, size_t len)
{
    for (; len < 60; len++)
        b[len] = 0xee;
    return len;
}

/* A frame and what kw_link_decode() should make of it. */
struct frame {
    const char *name;
    int linktype;
    uint8_t bytes[FRAME_MAX];
    size_t len;
    enum kw_link_res res;
    uint8_t family;     /* 4 or 6 for IP frames */
    size_t family_from; /* shortest prefix that tells the family */
    size_t ip_off;      /* where the IP header starts */
    size_t ip_len;      /* the IP length (padding left out) */
    size_t hdr_len;     /* IP header(s): where the transport starts */
    size_t hdr_min;     /* shortest IP prefix a cut packet is handed on with */
    uint8_t protocol;
    size_t need;        /* shortest prefix that decides `res` */
};

enum frame_id {
    F_ETH_IPV4,
    F_ETH_VLAN_IPV4,
    F_ETH_QINQ_IPV4,
    F_ETH_QINQ_OLD_IPV4,
    F_ETH_IPV6,
    F_ETH_ARP,
    F_ETH_VLAN_IPV6,
    F_ETH_IPV4_OPTIONS,
    F_ETH_IPV6_EXT,
    F_SLL_IPV4,
    F_SLL_IPV6,
    F_SLL2_IPV4,
    F_SLL2_ARP,
    F_NULL_LE_IPV4,
    F_NULL_BE_IPV4,
    F_NULL_LE_IPV6_24,
    F_NULL_LE_IPV6_28,
    F_NULL_LE_IPV6_30,
    F_NULL_BE_IPV6_30,
    F_LOOP_IPV4,
    F_LOOP_IPV6_24,
    F_RAW_IPV4,
    F_RAW_IPV6,
    F_IPV4_IPV4,
    F_IPV6_IPV6,
    F_N
};

/* The IP part of frame `f`, from its IP header at f->ip_off (already written):
 * what the decoder must find there. */
static void ip_facts(struct frame *f, uint8_t family, size_t ip_len, size_t hdr_len,
                     uint8_t protocol)
{
    f->res = KW_LINK_IP;
    f->family = family;
    f->ip_len = ip_len;
    f->hdr_len = hdr_len;
    f->hdr_min = family == 4 ? 20 : hdr_len;
    f->protocol = protocol;
    f->need = f->ip_off + ip_len;
    if (!f->family_from)
        f->family_from = f->ip_off; /* the link layer says which IP follows */
}

static void ipv4_frame(struct frame *f, size_t ip_off, uint16_t total)
{
    f->ip_off = ip_off;
    f->len = ip_off + put_ipv4(f->bytes + ip_off, total, 0);
    ip_facts(f, 4, total, 20, 6);
}

static void ipv6_frame(struct frame *f, size_t ip_off)
{
    f->ip_off = ip_off;
    f->len = ip_off + put_ipv6(f->bytes + ip_off);
    ip_facts(f, 6, 40, 40, 59);
}

/* Builds frame `id`. */
static struct frame make(enum frame_id id)
{
    struct frame f;
    memset(&f, 0, sizeof(f));
    uint8_t *b = f.bytes;
    size_t n = 0;

    switch (id) {
    case F_ETH_IPV4:
        f.name = "ethernet ipv4", f.linktype = LT_EN10MB;
        ipv4_frame(&f, put_eth(b, (const uint16_t[]){ 0x0800 }, 1), IP_TOTAL);
        f.len = eth_pad(b, f.len); /* 54 -> 60 */
        break;
    case F_ETH_VLAN_IPV4:
        f.name = "ethernet 802.1Q ipv4", f.linktype = LT_EN10MB;
        ipv4_frame(&f, put_eth(b, (const uint16_t[]){ 0x8100, 0x0064, 0x0800 }, 3), 100);
        break;
    case F_ETH_QINQ_IPV4:
        f.name = "ethernet QinQ ipv4", f.linktype = LT_EN10MB;
        ipv4_frame(&f, put_eth(b, (const uint16_t[]){ 0x88a8, 0x00c8, 0x8100, 0x0064, 0x0800 }, 5),
                   IP_TOTAL);
        f.len = eth_pad(b, f.len);
        break;
    case F_ETH_QINQ_OLD_IPV4:
        f.name = "ethernet 0x9100 QinQ ipv4", f.linktype = LT_EN10MB;
        ipv4_frame(&f, put_eth(b, (const uint16_t[]){ 0x9100, 0x00c8, 0x8100, 0x0064, 0x0800 }, 5),
                   IP_TOTAL);
        f.len = eth_pad(b, f.len);
        break;
    case F_ETH_IPV6:
        f.name = "ethernet ipv6", f.linktype = LT_EN10MB;
        ipv6_frame(&f, put_eth(b, (const uint16_t[]){ 0x86dd }, 1));
        break;
    case F_ETH_ARP:
        f.name = "ethernet arp", f.linktype = LT_EN10MB, f.res = KW_LINK_NOT_IP;
        n = put_eth(b, (const uint16_t[]){ 0x0806, 0x0001, 0x0800 }, 3); /* htype, ptype */
        f.need = 14;
        b[n++] = 6, b[n++] = 4;
        n += put_be16(b + n, 1); /* request */
        memset(b + n, 0x11, 20); /* addresses */
        f.len = eth_pad(b, n + 20);
        break;
    case F_ETH_VLAN_IPV6:
        f.name = "ethernet 802.1Q ipv6", f.linktype = LT_EN10MB;
        ipv6_frame(&f, put_eth(b, (const uint16_t[]){ 0x8100, 0x0064, 0x86dd }, 3));
        break;
    case F_ETH_IPV4_OPTIONS:
        f.name = "ethernet ipv4 with options", f.linktype = LT_EN10MB;
        ipv4_frame(&f, put_eth(b, (const uint16_t[]){ 0x0800 }, 1), 48);
        n = f.ip_off;
        b[n] = 0x46; /* ihl 6: one word of options */
        b[n + 20] = 0x01, b[n + 21] = 0x01, b[n + 22] = 0x01, b[n + 23] = 0x00; /* NOPs, EOL */
        f.hdr_len = 24;
        f.len = eth_pad(b, f.len);
        break;
    case F_ETH_IPV6_EXT:
        f.name = "ethernet ipv6, hop-by-hop and destination options, tcp", f.linktype = LT_EN10MB;
        f.ip_off = put_eth(b, (const uint16_t[]){ 0x86dd }, 1);
        f.len = f.ip_off + put_ipv6_ext_tcp(b + f.ip_off);
        ip_facts(&f, 6, 40 + 8 + 16 + 20, 40 + 8 + 16, 6);
        break;
    case F_SLL_IPV4:
    case F_SLL_IPV6:
        f.name = id == F_SLL_IPV4 ? "linux sll ipv4" : "linux sll ipv6";
        f.linktype = LT_LINUX_SLL;
        n += put_be16(b + n, id == F_SLL_IPV4 ? 0 : 4); /* to us; sent by us */
        n += put_be16(b + n, 772);                     /* ARPHRD_LOOPBACK */
        n += put_be16(b + n, 6);
        n += 8; /* address, zero */
        n += put_be16(b + n, id == F_SLL_IPV4 ? 0x0800 : 0x86dd);
        if (id == F_SLL_IPV4)
            ipv4_frame(&f, n, IP_TOTAL);
        else
            ipv6_frame(&f, n);
        break;
    case F_SLL2_IPV4:
        f.name = "linux sll2 ipv4", f.linktype = LT_LINUX_SLL2;
        n += put_be16(b + n, 0x0800);
        n += 2;                       /* reserved */
        b[n + 3] = 1, n += 4;         /* ifindex */
        n += put_be16(b + n, 772);    /* hatype */
        b[n++] = 0;                   /* pkttype */
        b[n++] = 6;                   /* halen */
        n += 8;                       /* address */
        ipv4_frame(&f, n, IP_TOTAL);  /* at 20 */
        break;
    case F_SLL2_ARP:
        f.name = "linux sll2 arp", f.linktype = LT_LINUX_SLL2, f.res = KW_LINK_NOT_IP;
        n += put_be16(b + n, 0x0806);
        n += 18;
        f.need = n;
        memset(b + n, 0x22, 28);
        f.len = n + 28;
        break;
    case F_NULL_LE_IPV4:
    case F_NULL_BE_IPV4:
        f.name = id == F_NULL_LE_IPV4 ? "bsd null le ipv4" : "bsd null be ipv4";
        f.linktype = LT_NULL;
        b[id == F_NULL_LE_IPV4 ? 0 : 3] = 2; /* AF_INET */
        ipv4_frame(&f, 4, IP_TOTAL);
        break;
    case F_NULL_LE_IPV6_24:
    case F_NULL_LE_IPV6_28:
    case F_NULL_LE_IPV6_30:
        f.name = id == F_NULL_LE_IPV6_24   ? "bsd null le AF_INET6 24"
                 : id == F_NULL_LE_IPV6_28 ? "bsd null le AF_INET6 28"
                                           : "bsd null le AF_INET6 30";
        f.linktype = LT_NULL;
        b[0] = id == F_NULL_LE_IPV6_24 ? 24 : id == F_NULL_LE_IPV6_28 ? 28 : 30;
        ipv6_frame(&f, 4);
        break;
    case F_NULL_BE_IPV6_30:
        f.name = "bsd null be AF_INET6 30", f.linktype = LT_NULL;
        b[3] = 30;
        ipv6_frame(&f, 4);
        break;
    case F_LOOP_IPV4:
        f.name = "bsd loop ipv4", f.linktype = LT_LOOP;
        b[3] = 2;
        ipv4_frame(&f, 4, IP_TOTAL);
        break;
    case F_LOOP_IPV6_24:
        f.name = "bsd loop AF_INET6 24", f.linktype = LT_LOOP;
        b[3] = 24;
        ipv6_frame(&f, 4);
        break;
    case F_RAW_IPV4:
    case F_IPV4_IPV4:
        f.name = id == F_RAW_IPV4 ? "DLT_RAW ipv4" : "DLT_IPV4 ipv4";
        f.linktype = id == F_RAW_IPV4 ? LT_RAW : LT_IPV4;
        f.family_from = 1; /* the version nibble says */
        ipv4_frame(&f, 0, IP_TOTAL);
        break;
    case F_RAW_IPV6:
    case F_IPV6_IPV6:
        f.name = id == F_RAW_IPV6 ? "DLT_RAW ipv6" : "DLT_IPV6 ipv6";
        f.linktype = id == F_RAW_IPV6 ? LT_RAW : LT_IPV6;
        f.family_from = 1;
        ipv6_frame(&f, 0);
        break;
    case F_N:
        ck_abort_msg("no such frame");
    }
    ck_assert_uint_le(f.len, FRAME_MAX);
    return f;
}

/* ---- assertions ---------------------------------------------------------- */

static const char *res_name(enum kw_link_res r)
{
    switch (r) {
    case KW_LINK_IP: return "IP";
    case KW_LINK_NOT_IP: return "NOT_IP";
    case KW_LINK_TRUNCATED: return "TRUNCATED";
    case KW_LINK_INVALID: return "INVALID";
    case KW_LINK_FRAGMENT: return "FRAGMENT";
    }
    return "?";
}

/* What kw_link_decode() should say. For KW_LINK_IP: the packet is
 * bytes[ip_off, ip_off + ip_len) of the copy, its transport from hdr_len on
 * (nothing if the capture stops before), `wire_total` its IP length on the wire. */
struct want {
    enum kw_link_res res;
    uint8_t family;
    size_t ip_off, ip_len, hdr_len, wire_total;
    uint8_t protocol;
    bool is_cut, is_fragment;
};

/* Runs kw_link_decode() on the first `caplen` bytes of `bytes`, flush against
 * the guard page, and checks the result and *ip (link.h). */
static void expect(const char *what, int linktype, const uint8_t *bytes, size_t caplen,
                   uint32_t wire_len, struct want w)
{
    struct kw_slice frame = flush(bytes, caplen);
    struct kw_ip ip;
    memset(&ip, 0xa5, sizeof(ip)); /* everything must be set */
    enum kw_link_res got = kw_link_decode(linktype, frame, wire_len, &ip);
    ck_assert_msg(got == w.res, "%s (caplen %zu, wire %u): got %s, want %s", what, caplen,
                  (unsigned)wire_len, res_name(got), res_name(w.res));
    ck_assert_msg(ip.family == w.family, "%s (caplen %zu, wire %u) %s: family %u, want %u",
                  what, caplen, (unsigned)wire_len, res_name(got), ip.family, w.family);
    if (got != KW_LINK_IP) {
        ck_assert_msg(ip.packet.len == 0 && ip.transport.len == 0 && ip.src_addr.len == 0 &&
                          ip.dst_addr.len == 0,
                      "%s (caplen %zu, wire %u): slices set on %s", what, caplen,
                      (unsigned)wire_len, res_name(got));
        return;
    }
    ck_assert_msg(ip.packet.p == frame.p + w.ip_off && ip.packet.len == w.ip_len,
                  "%s (caplen %zu, wire %u): packet at %td, %zu bytes; want %zu, %zu", what,
                  caplen, (unsigned)wire_len, ip.packet.p - frame.p, ip.packet.len, w.ip_off,
                  w.ip_len);
    ck_assert_msg(ip.packet.p[0] >> 4 == w.family, "%s: the packet starts with no IP header",
                  what);
    ck_assert_msg(ip.is_cut == w.is_cut, "%s (caplen %zu, wire %u): is_cut %d", what, caplen,
                  (unsigned)wire_len, ip.is_cut);
    ck_assert_msg(ip.is_fragment == w.is_fragment, "%s: is_fragment %d", what, ip.is_fragment);
    ck_assert_uint_eq(ip.protocol, w.protocol);
    size_t addr_off = w.family == 4 ? 12 : 8, addr_len = w.family == 4 ? 4 : 16;
    ck_assert_msg(ip.src_addr.p == ip.packet.p + addr_off && ip.src_addr.len == addr_len &&
                      ip.dst_addr.p == ip.src_addr.p + addr_len && ip.dst_addr.len == addr_len,
                  "%s: addresses not where the header has them", what);
    size_t transport_len = w.ip_len > w.hdr_len ? w.ip_len - w.hdr_len : 0;
    ck_assert_msg(ip.transport.len == transport_len,
                  "%s (caplen %zu): transport %zu bytes, want %zu", what, caplen,
                  ip.transport.len, transport_len);
    if (transport_len)
        ck_assert_ptr_eq(ip.transport.p, ip.packet.p + w.hdr_len);
    ck_assert_uint_eq(ip.transport_wire_len, w.wire_total - w.hdr_len);
}

/* What the first `n` bytes of `f` give, with the frame's whole length on the
 * wire (`snaplen_cut`) or with `n` (every byte of the frame captured). */
static struct want want_prefix(const struct frame *f, size_t n, bool snaplen_cut)
{
    struct want w = { f->res, f->family, f->ip_off, f->ip_len, f->hdr_len, f->ip_len, f->protocol,
                      false, false };
    if (n >= f->need)
        return w;
    w.family = f->family && n >= f->family_from ? f->family : 0;
    if (!snaplen_cut)
        w.res = KW_LINK_INVALID;
    else if (f->res == KW_LINK_IP && n >= f->ip_off + f->hdr_min)
        w.ip_len = n - f->ip_off, w.is_cut = true;
    else
        w.res = KW_LINK_TRUNCATED;
    return w;
}

static void expect_frame(const struct frame *f)
{
    expect(f->name, f->linktype, f->bytes, f->len, (uint32_t)f->len, want_prefix(f, f->len, false));
}

/* A result with nothing decoded. */
static struct want want_res(enum kw_link_res res, uint8_t family)
{
    struct want w = { res, family, 0, 0, 0, 0, 0, false, false };
    return w;
}

/* ---- whole frames, one tcase per link family ----------------------------- */

START_TEST(test_eth_ipv4)
{
    struct frame f = make(F_ETH_IPV4);
    ck_assert_uint_eq(f.len, 60); /* padded: the IP slice must leave the 6 pad bytes out */
    expect_frame(&f);
}
END_TEST

START_TEST(test_eth_ipv4_options)
{
    struct frame f = make(F_ETH_IPV4_OPTIONS);
    expect_frame(&f); /* the transport starts after the options */
}
END_TEST

START_TEST(test_eth_vlan)
{
    struct frame f = make(F_ETH_VLAN_IPV4);
    expect_frame(&f);
    f = make(F_ETH_VLAN_IPV6);
    expect_frame(&f);
}
END_TEST

START_TEST(test_eth_qinq)
{
    struct frame f = make(F_ETH_QINQ_IPV4);
    ck_assert_uint_eq(f.ip_off, 22);
    expect_frame(&f);
    f = make(F_ETH_QINQ_OLD_IPV4);
    expect_frame(&f);
}
END_TEST

START_TEST(test_eth_ipv6)
{
    struct frame f = make(F_ETH_IPV6);
    expect_frame(&f);
    f = make(F_ETH_IPV6_EXT);
    expect_frame(&f); /* TCP after two extension headers */
}
END_TEST

START_TEST(test_eth_arp)
{
    struct frame f = make(F_ETH_ARP);
    expect_frame(&f);
}
END_TEST

/* Ethertypes below 0x0600 are 802.3 lengths (LLC follows): not IP. */
START_TEST(test_eth_8023_length)
{
    struct frame f = make(F_ETH_IPV4);
    f.bytes[12] = 0x00, f.bytes[13] = 0x2e;
    expect("ethernet 802.3 length", f.linktype, f.bytes, f.len, (uint32_t)f.len,
           want_res(KW_LINK_NOT_IP, 0));
}
END_TEST

/* Nine 802.1Q tags, all captured: more than VLAN_TAGS_MAX, and no real
 * network stacks that many. Not IP in any case, and no over-read. */
START_TEST(test_eth_too_many_tags)
{
    uint16_t words[2 * 9 + 1];
    for (int i = 0; i < 9; i++)
        words[2 * i] = 0x8100, words[2 * i + 1] = (uint16_t)(i + 1);
    words[18] = 0x0800;
    uint8_t b[FRAME_MAX];
    size_t n = put_eth(b, words, 19);
    n += put_ipv4(b + n, IP_TOTAL, 0);
    expect("ethernet, 9 tags", LT_EN10MB, b, n, (uint32_t)n, want_res(KW_LINK_INVALID, 0));
}
END_TEST

START_TEST(test_sll)
{
    struct frame f = make(F_SLL_IPV4);
    ck_assert_uint_eq(f.ip_off, 16);
    expect_frame(&f);
    f = make(F_SLL_IPV6);
    expect_frame(&f);
}
END_TEST

START_TEST(test_sll2)
{
    struct frame f = make(F_SLL2_IPV4);
    ck_assert_uint_eq(f.ip_off, 20);
    expect_frame(&f);
    f = make(F_SLL2_ARP);
    expect_frame(&f);
}
END_TEST

START_TEST(test_null_ipv4)
{
    struct frame f = make(F_NULL_LE_IPV4);
    expect_frame(&f);
    f = make(F_NULL_BE_IPV4);
    expect_frame(&f);
}
END_TEST

START_TEST(test_null_ipv6)
{
    static const enum frame_id ids[] = { F_NULL_LE_IPV6_24, F_NULL_LE_IPV6_28,
                                         F_NULL_LE_IPV6_30, F_NULL_BE_IPV6_30 };
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        struct frame f = make(ids[i]);
        expect_frame(&f);
    }
}
END_TEST

START_TEST(test_null_other_family)
{
    struct frame f = make(F_NULL_LE_IPV4);
    f.bytes[0] = 7; /* no address family we know */
    expect("bsd null af 7", f.linktype, f.bytes, f.len, (uint32_t)f.len,
           want_res(KW_LINK_NOT_IP, 0));
}
END_TEST

/* The link layer says IPv6; the header is IPv4: invalid, and counted as IPv6. */
START_TEST(test_null_ipv6_family_ipv4_header)
{
    struct frame f = make(F_NULL_LE_IPV4);
    f.bytes[0] = 30;
    expect("bsd null AF_INET6 holding IPv4", f.linktype, f.bytes, f.len, (uint32_t)f.len,
           want_res(KW_LINK_INVALID, 6));
}
END_TEST

START_TEST(test_loop)
{
    struct frame f = make(F_LOOP_IPV4);
    expect_frame(&f);
    f = make(F_LOOP_IPV6_24);
    expect_frame(&f);
    /* LOOP is network order only: a little-endian AF_INET is some other family. */
    f = make(F_LOOP_IPV4);
    f.bytes[0] = 2, f.bytes[3] = 0;
    expect("bsd loop, le AF_INET", f.linktype, f.bytes, f.len, (uint32_t)f.len,
           want_res(KW_LINK_NOT_IP, 0));
}
END_TEST

START_TEST(test_raw)
{
    static const enum frame_id ids[] = { F_RAW_IPV4, F_RAW_IPV6, F_IPV4_IPV4, F_IPV6_IPV6 };
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        struct frame f = make(ids[i]);
        expect_frame(&f);
    }
}
END_TEST

START_TEST(test_raw_bad_version)
{
    struct frame f = make(F_RAW_IPV4);
    f.bytes[0] = 0x55;
    expect("DLT_RAW version 5", LT_RAW, f.bytes, f.len, (uint32_t)f.len,
           want_res(KW_LINK_INVALID, 0));
}
END_TEST

/* ---- the table ----------------------------------------------------------- */

/* Every row of the table decodes a frame of its link type. */
START_TEST(test_every_row_decodes)
{
    static const struct {
        int linktype;
        enum frame_id frame;
    } rows[] = {
        { LT_EN10MB, F_ETH_IPV4 },  { LT_LINUX_SLL, F_SLL_IPV4 }, { LT_LINUX_SLL2, F_SLL2_IPV4 },
        { LT_NULL, F_NULL_LE_IPV4 }, { LT_LOOP, F_LOOP_IPV4 },     { LT_RAW, F_RAW_IPV4 },
        { LT_IPV4, F_IPV4_IPV4 },   { LT_IPV6, F_IPV6_IPV6 },
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct frame f = make(rows[i].frame);
        ck_assert_int_eq(f.linktype, rows[i].linktype);
        ck_assert_msg(kw_link_supported(f.linktype), "link type %d should be supported",
                      f.linktype);
        expect_frame(&f);
    }
}
END_TEST

START_TEST(test_unknown_rejected)
{
    static const int no[] = { LT_IEEE802_11, 127 /* radiotap */, 9 /* PPP */, -1, 1000 };
    struct frame f = make(F_ETH_IPV4);
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        ck_assert_msg(!kw_link_supported(no[i]), "link type %d should not be supported", no[i]);
        /* decoding a frame as that type gives nothing and reads nothing past it */
        expect("unsupported link type", no[i], f.bytes, f.len, (uint32_t)f.len,
               want_res(KW_LINK_INVALID, 0));
    }
}
END_TEST

/* The list an unsupported-link-type error shows: every row, by name. */
START_TEST(test_list_supported)
{
    char list[512];
    size_t n = kw_link_list_supported(list, sizeof(list));
    ck_assert_uint_eq(n, strlen(list));
    ck_assert_str_eq(list, "EN10MB (Ethernet), LINUX_SLL (Linux cooked), LINUX_SLL2 (Linux "
                           "cooked v2), NULL (BSD loopback), LOOP (OpenBSD loopback), RAW (raw "
                           "IP), IPV4 (raw IPv4), IPV6 (raw IPv6)");
    /* too small a buffer: cut, terminated, never overrun */
    for (size_t size = 1; size < 40; size++) {
        char small[40];
        memset(small, 'x', sizeof(small));
        size_t got = kw_link_list_supported(small, size);
        ck_assert_uint_eq(got, size - 1);
        ck_assert_uint_eq(strlen(small), size - 1);
        ck_assert_int_eq(small[size], 'x');
        ck_assert_int_eq(strncmp(small, list, size - 1), 0);
    }
    ck_assert_uint_eq(kw_link_list_supported(list, 0), 0);
}
END_TEST

/* ---- truncation ---------------------------------------------------------- */

/* Cut `f` to `caplen`: when the wire had more, an IP packet whose headers are
 * in is handed on cut, anything shorter is TRUNCATED; when the wire had no
 * more, a short frame is INVALID. */
static void expect_cut(const struct frame *f, size_t caplen, const char *what)
{
    expect(what, f->linktype, f->bytes, caplen, (uint32_t)f->len, want_prefix(f, caplen, true));
    expect(what, f->linktype, f->bytes, caplen, (uint32_t)caplen, want_prefix(f, caplen, false));
}

START_TEST(test_cut_link_header)
{
    struct frame f = make(F_ETH_IPV4);
    expect_cut(&f, 10, "ethernet cut in the addresses");
    expect_cut(&f, 13, "ethernet cut in the ethertype");
    f = make(F_SLL2_IPV4);
    expect_cut(&f, 12, "sll2 cut in the header");
    f = make(F_SLL_IPV4);
    expect_cut(&f, 15, "sll cut in the protocol");
    f = make(F_NULL_LE_IPV4);
    expect_cut(&f, 3, "bsd null cut in the family");
    f = make(F_LOOP_IPV4);
    expect_cut(&f, 2, "bsd loop cut in the family");
    f = make(F_RAW_IPV4);
    expect_cut(&f, 0, "raw ip, nothing captured");
}
END_TEST

START_TEST(test_cut_vlan_tag)
{
    struct frame f = make(F_ETH_VLAN_IPV4);
    expect_cut(&f, 14, "802.1Q cut after the tag type");
    expect_cut(&f, 15, "802.1Q cut in the TCI");
    expect_cut(&f, 17, "802.1Q cut in the inner ethertype");
    f = make(F_ETH_QINQ_IPV4);
    expect_cut(&f, 19, "QinQ cut in the inner TCI");
}
END_TEST

START_TEST(test_cut_ip_header)
{
    struct frame f = make(F_ETH_IPV4);
    expect_cut(&f, 14, "ethernet cut before the IPv4 header");
    ck_assert_uint_eq(want_prefix(&f, 14, true).family, 4); /* the ethertype said it */
    expect_cut(&f, 14 + 10, "ethernet cut in the IPv4 header");
    expect_cut(&f, 14 + 19, "ethernet cut one byte short of the IPv4 header");
    f = make(F_RAW_IPV4);
    expect_cut(&f, 1, "raw ip cut after the version byte");
    f = make(F_ETH_IPV6);
    expect_cut(&f, 14 + 39, "ethernet cut one byte short of the IPv6 header");
    f = make(F_ETH_IPV6_EXT);
    expect_cut(&f, 14 + 40 + 4, "ipv6 cut in the hop-by-hop header");
    expect_cut(&f, 14 + 40 + 8 + 15, "ipv6 cut in the destination options");
    ck_assert_int_eq(want_prefix(&f, 14 + 63, true).res, KW_LINK_TRUNCATED);
}
END_TEST

START_TEST(test_cut_ip_payload)
{
    struct frame f = make(F_ETH_IPV4);
    expect_cut(&f, 14 + 30, "ethernet cut in the IPv4 payload");
    expect_cut(&f, 14 + IP_TOTAL - 1, "ethernet one byte short of the IPv4 total length");
    ck_assert(want_prefix(&f, 14 + 20, true).is_cut);
    f = make(F_ETH_VLAN_IPV4); /* total 100: a typical snaplen cut */
    expect_cut(&f, 18 + 60, "802.1Q ipv4 cut by the snaplen");
    f = make(F_ETH_IPV4_OPTIONS);
    expect_cut(&f, 14 + 22, "ipv4 cut in its options: addresses, no transport");
    f = make(F_ETH_IPV6_EXT);
    expect_cut(&f, 14 + 64, "ipv6 cut after its extension headers");
    expect_cut(&f, 14 + 70, "ipv6 cut in the TCP header");
}
END_TEST

/* The IPv4 total length says more than the frame holds, though every byte
 * of the frame was captured: the header lies. */
START_TEST(test_total_length_past_frame)
{
    struct frame f = make(F_RAW_IPV4);
    f.bytes[2] = 0x03, f.bytes[3] = 0xe8; /* 1000 */
    expect("raw ip, total 1000 in 40", LT_RAW, f.bytes, f.len, (uint32_t)f.len,
           want_res(KW_LINK_INVALID, 4));
    struct want w = { KW_LINK_IP, 4, 0, f.len, 20, 1000, 6, true, false };
    expect("raw ip, total 1000, 40 of 1000 captured", LT_RAW, f.bytes, f.len, 1000, w);
    f = make(F_RAW_IPV6);
    f.bytes[4] = 0x03, f.bytes[5] = 0xe8; /* payload 1000 */
    expect("raw ipv6, payload 1000 in 0", LT_RAW, f.bytes, f.len, (uint32_t)f.len,
           want_res(KW_LINK_INVALID, 6));
    struct want w6 = { KW_LINK_IP, 6, 0, f.len, 40, 1040, 59, true, false };
    expect("raw ipv6, payload 1000, none captured", LT_RAW, f.bytes, f.len, 1040, w6);
}
END_TEST

/* Every prefix of every frame, with the wire length of the whole frame and
 * with the prefix's own: want_prefix() says what each must give. */
START_TEST(test_every_prefix)
{
    for (int id = 0; id < F_N; id++) {
        struct frame f = make((enum frame_id)id);
        for (size_t n = 0; n <= f.len; n++) {
            expect(f.name, f.linktype, f.bytes, n, (uint32_t)f.len, want_prefix(&f, n, true));
            expect(f.name, f.linktype, f.bytes, n, (uint32_t)n, want_prefix(&f, n, false));
        }
    }
}
END_TEST

/* ---- IP headers that cannot be right ------------------------------------- */

START_TEST(test_bad_ipv4)
{
    struct frame f = make(F_ETH_IPV4);
    uint8_t *h = f.bytes + 14;
    struct want invalid = want_res(KW_LINK_INVALID, 4);
    h[0] = 0x55; /* version 5 */
    expect("ipv4 version 5", f.linktype, f.bytes, f.len, (uint32_t)f.len, invalid);
    expect("ipv4 version 5, snaplen cut", f.linktype, f.bytes, f.len, 1500, invalid);
    for (uint8_t ihl = 0; ihl < 5; ihl++) {
        h[0] = (uint8_t)(0x40 | ihl);
        expect("ipv4 ihl < 5", f.linktype, f.bytes, f.len, (uint32_t)f.len, invalid);
    }
    h[0] = 0x46; /* 24-byte header */
    h[2] = 0, h[3] = 23;
    expect("ipv4 total 23 < ihl 24", f.linktype, f.bytes, f.len, (uint32_t)f.len, invalid);
    h[0] = 0x45;
    h[3] = 19;
    expect("ipv4 total 19 < 20", f.linktype, f.bytes, f.len, (uint32_t)f.len, invalid);
    h[3] = 0;
    expect("ipv4 total 0", f.linktype, f.bytes, f.len, (uint32_t)f.len, invalid);
    h[0] = 0x4f; /* 60-byte header, in a 40-byte packet */
    h[3] = IP_TOTAL;
    expect("ipv4 ihl 15, total 40", f.linktype, f.bytes, f.len, (uint32_t)f.len, invalid);
    /* total == ihl * 4: a bare header is a valid packet */
    h[0] = 0x45;
    h[3] = 20;
    struct want bare = { KW_LINK_IP, 4, 14, 20, 20, 20, 6, false, false };
    expect("ipv4 total == 20", f.linktype, f.bytes, f.len, (uint32_t)f.len, bare);
}
END_TEST

START_TEST(test_bad_ipv6)
{
    struct frame f = make(F_ETH_IPV6);
    f.bytes[14] = 0x40; /* version 4 under the IPv6 ethertype */
    expect("ipv6 ethertype, version 4", f.linktype, f.bytes, f.len, (uint32_t)f.len,
           want_res(KW_LINK_INVALID, 6));
    /* an extension header whose length runs past the payload length */
    f = make(F_ETH_IPV6_EXT);
    f.bytes[14 + 40 + 8 + 1] = 9; /* destination options of 80 bytes in 36 */
    expect("ipv6 extension past the payload", f.linktype, f.bytes, f.len, (uint32_t)f.len,
           want_res(KW_LINK_INVALID, 6));
    expect("ipv6 extension past the payload, snaplen cut", f.linktype, f.bytes, f.len,
           (uint32_t)f.len + 100, want_res(KW_LINK_INVALID, 6));
}
END_TEST

/* Nine Destination Options headers: more than RFC 8200 allows, and a chain
 * someone would make to tire whoever walks it. */
START_TEST(test_ipv6_too_many_extensions)
{
    uint8_t b[FRAME_MAX];
    size_t n = put_ipv6_header(b, 9 * 8, 60);
    for (int i = 0; i < 9; i++, n += 8) {
        memset(b + n, 0, 8);
        b[n] = i < 8 ? 60 : 59;
    }
    expect("ipv6, 9 extension headers", LT_RAW, b, n, (uint32_t)n, want_res(KW_LINK_INVALID, 6));
    /* eight are walked */
    n = put_ipv6_header(b, 8 * 8 + 20, 60);
    for (int i = 0; i < 8; i++, n += 8) {
        memset(b + n, 0, 8);
        b[n] = i < 7 ? 60 : 6;
    }
    n += put_tcp(b + n);
    struct want w = { KW_LINK_IP, 6, 0, n, 40 + 64, n, 6, false, false };
    expect("ipv6, 8 extension headers", LT_RAW, b, n, (uint32_t)n, w);
}
END_TEST

/* A Fragment header (RFC 8200 4.5): the first fragment carries the TCP
 * header; a later one only data; an atomic fragment (RFC 6946) is whole. */
START_TEST(test_ipv6_fragment)
{
    uint8_t b[FRAME_MAX];
    static const struct {
        uint16_t offset_flags;
        bool is_fragment;
        const char *what;
    } cases[] = {
        { 0x0001, true, "first fragment (offset 0, M)" },
        { 0x0008, true, "last fragment (offset 1)" },
        { 0x0009, true, "middle fragment (offset 1, M)" },
        { 0x0000, false, "atomic fragment" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = put_ipv6_header(b, 8 + 20, 44);
        b[n] = 6; /* next: TCP */
        b[n + 1] = 0;
        put_be16(b + n + 2, cases[i].offset_flags);
        b[n + 4] = 0, b[n + 5] = 0, b[n + 6] = 0x12, b[n + 7] = 0x34; /* id */
        n += 8;
        n += put_tcp(b + n);
        struct want w = { KW_LINK_IP, 6, 0, n, 48, n, 6, false, cases[i].is_fragment };
        expect(cases[i].what, LT_RAW, b, n, (uint32_t)n, w);
    }
}
END_TEST

/* AH counts its length in 4-byte words, less 2 (RFC 4302 2.2); ESP ends the
 * walk: what follows is encrypted. */
START_TEST(test_ipv6_auth_and_esp)
{
    uint8_t b[FRAME_MAX];
    size_t n = put_ipv6_header(b, 24 + 20, 51);
    memset(b + n, 0, 24);
    b[n] = 6;     /* next: TCP */
    b[n + 1] = 4; /* (4 + 2) * 4 = 24 bytes */
    n += 24;
    n += put_tcp(b + n);
    struct want w = { KW_LINK_IP, 6, 0, n, 64, n, 6, false, false };
    expect("ipv6 AH then TCP", LT_RAW, b, n, (uint32_t)n, w);

    n = put_ipv6_header(b, 16, 50);
    memset(b + n, 0x77, 16);
    n += 16;
    struct want esp = { KW_LINK_IP, 6, 0, n, 40, n, 50, false, false };
    expect("ipv6 ESP", LT_RAW, b, n, (uint32_t)n, esp);
}
END_TEST

/* ---- fragments ----------------------------------------------------------- */

static void expect_frag(uint16_t total, uint16_t frag, enum kw_link_res want, bool is_fragment,
                        const char *what)
{
    uint8_t b[FRAME_MAX];
    size_t n = put_eth(b, (const uint16_t[]){ 0x0800 }, 1);
    n += put_ipv4(b + n, total, frag);
    n = eth_pad(b, n);
    struct want w = { want, 4, 14, total, 20, total, 6, false, is_fragment };
    if (want != KW_LINK_IP)
        w = want_res(want, 4);
    expect(what, LT_EN10MB, b, n, (uint32_t)n, w);
}

START_TEST(test_fragment)
{
    expect_frag(20, 0x2000, KW_LINK_FRAGMENT, true, "MF, no payload");
    expect_frag(27, 0x2000, KW_LINK_FRAGMENT, true, "MF, 7 bytes of payload");
    expect_frag(24, 0x0010, KW_LINK_FRAGMENT, true, "last fragment at offset 128, 4 bytes");
    expect_frag(28, 0x2000, KW_LINK_IP, true, "MF, 8 bytes of payload");
    expect_frag(IP_TOTAL, 0x2000, KW_LINK_IP, true, "MF, 20 bytes of payload");
    expect_frag(IP_TOTAL, 0x0003, KW_LINK_IP, true, "last fragment at offset 24");
    expect_frag(20, 0x4000, KW_LINK_IP, false, "DF is not a fragment");
    expect_frag(20, 0x8000, KW_LINK_IP, false, "the reserved bit is not a fragment");
}
END_TEST

START_TEST(test_fragment_with_options)
{
    uint8_t b[FRAME_MAX];
    size_t n = put_eth(b, (const uint16_t[]){ 0x0800 }, 1);
    put_ipv4(b + n, 30, 0x2000);
    b[n] = 0x46; /* 24-byte header: 30 < 24 + 8 */
    n = eth_pad(b, n + 30);
    expect("MF, ihl 6, 6 bytes of payload", LT_EN10MB, b, n, (uint32_t)n,
           want_res(KW_LINK_FRAGMENT, 4));
}
END_TEST

/* ---- the cursor ------------------------------------------------------------ */

/* Reads at the end of the bytes fail and leave the cursor where it was; the
 * bytes sit against the guard page, so a read past them would crash. */
START_TEST(test_cursor_reads)
{
    static const uint8_t bytes[] = { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x01 };
    struct kw_slice s = flush(bytes, sizeof(bytes));
    struct kw_cur c = kw_cur_make(s);
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    ck_assert(kw_cur_peek_u8(&c, &u8) && u8 == 0x12 && kw_cur_left(&c) == 9);
    ck_assert(kw_cur_be16(&c, &u16) && u16 == 0x1234);
    ck_assert(kw_cur_be32(&c, &u32) && u32 == 0x56789abc);
    struct kw_cur before = c;
    ck_assert(!kw_cur_be32(&c, &u32) && c.p == before.p); /* 3 left */
    ck_assert(!kw_cur_le32(&c, &u32) && c.p == before.p);
    ck_assert(!kw_cur_skip(&c, 4) && c.p == before.p);
    struct kw_slice piece;
    ck_assert(!kw_cur_bytes(&c, 4, &piece) && c.p == before.p);
    ck_assert(kw_cur_bytes(&c, 2, &piece) && piece.p == s.p + 6 && piece.len == 2);
    ck_assert(kw_cur_u8(&c, &u8) && u8 == 0x01 && kw_cur_left(&c) == 0);
    ck_assert(!kw_cur_u8(&c, &u8) && !kw_cur_peek_u8(&c, &u8) && !kw_cur_be16(&c, &u16));
    ck_assert(kw_cur_skip(&c, 0) && kw_cur_rest(&c).len == 0);

    c = kw_cur_make(s);
    ck_assert(kw_cur_le32(&c, &u32) && u32 == 0x78563412);
    struct kw_cur sub;
    ck_assert(kw_cur_sub(&c, 3, &sub) && kw_cur_left(&sub) == 3 && kw_cur_left(&c) == 2);
    ck_assert(!kw_cur_be32(&sub, &u32) && kw_cur_be16(&sub, &u16) && u16 == 0x9abc);
    ck_assert(!kw_cur_sub(&c, 3, &sub) && kw_cur_left(&c) == 2);
    ck_assert(kw_cur_rest(&c).p == s.p + 7 && kw_cur_rest(&c).len == 2);

    c = kw_cur_make(kw_slice_make(s.p, 0)); /* an empty frame */
    ck_assert(!kw_cur_u8(&c, &u8) && kw_cur_left(&c) == 0);
}
END_TEST

/* ---- kw_cap: files in, IP packets out ------------------------------------ */

struct rec {
    uint32_t sec, usec;
    const uint8_t *bytes;
    uint32_t caplen, wire_len;
};

static char tmp_dir[] = "/tmp/check_link.XXXXXX";

static void files_setup(void)
{
    ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
}

static void files_teardown(void)
{
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp_dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* A pcap file (microseconds, link type `linktype`) in memory. */
static size_t pcap_bytes(uint8_t *out, size_t out_len, int linktype, const struct rec *recs,
                         size_t n_recs)
{
    uint32_t head[6] = { 0xa1b2c3d4, 2 | 4u << 16, 0, 0, 65535, (uint32_t)linktype };
    size_t n = sizeof(head);
    ck_assert_uint_le(n, out_len);
    memcpy(out, head, n); /* host order: libpcap reads either */
    for (size_t i = 0; i < n_recs; i++) {
        uint32_t rh[4] = { recs[i].sec, recs[i].usec, recs[i].caplen, recs[i].wire_len };
        ck_assert_uint_le(n + sizeof(rh) + recs[i].caplen, out_len);
        memcpy(out + n, rh, sizeof(rh));
        memcpy(out + n + sizeof(rh), recs[i].bytes, recs[i].caplen);
        n += sizeof(rh) + recs[i].caplen;
    }
    return n;
}

/* Writes the first `keep` bytes of a pcap file into tmp_dir/name; returns the path. */
static const char *pcap_write(const char *name, int linktype, const struct rec *recs,
                              size_t n_recs, size_t cut_by)
{
    static char paths[4][96];
    static int next;
    uint8_t bytes[4096];
    size_t n = pcap_bytes(bytes, sizeof(bytes), linktype, recs, n_recs);
    char *path = paths[next++ % 4];
    snprintf(path, sizeof(paths[0]), "%s/%s", tmp_dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(bytes, 1, n - cut_by, f), n - cut_by);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

static struct frame eth_ipv4, eth_ipv6, eth_arp;

static void frames_setup(void)
{
    files_setup();
    eth_ipv4 = make(F_ETH_IPV4);
    eth_ipv6 = make(F_ETH_IPV6);
    eth_arp = make(F_ETH_ARP);
}

static struct rec whole(const struct frame *f, uint32_t sec)
{
    struct rec r = { sec, 0, f->bytes, (uint32_t)f->len, (uint32_t)f->len };
    return r;
}

static struct rec cut(const struct frame *f, uint32_t sec, uint32_t caplen)
{
    struct rec r = { sec, 0, f->bytes, caplen, (uint32_t)f->len };
    return r;
}

/* IP packets come out decoded and in order, everything else is counted;
 * the latest time counts every packet, IP or not. */
START_TEST(test_cap_results)
{
    struct rec recs[] = {
        whole(&eth_ipv4, 10), whole(&eth_arp, 30), whole(&eth_ipv6, 20),
        cut(&eth_ipv4, 5, 14 + 6),  /* cut inside the IPv4 header: counted, dropped */
        cut(&eth_ipv4, 6, 14 + 30), /* cut after it: handed on, marked */
    };
    const char *path = pcap_write("results.pcap", LT_EN10MB, recs, 5, 0);
    struct kw_stats st;
    memset(&st, 0, sizeof(st));
    char err[KW_CAP_ERRBUF];
    struct kw_cap *cap = kw_cap_open_files(&path, 1, NULL, &st, NULL, err);
    ck_assert_msg(cap != NULL, "%s", err);
    ck_assert_int_eq(kw_cap_latest_ts(cap), KW_TS_NONE);
    struct kw_pkt pkt;
    ck_assert_int_eq(kw_cap_next(cap, &pkt), KW_CAP_PKT);
    ck_assert_uint_eq(pkt.frame, 1);
    ck_assert_int_eq(pkt.ts, 10 * (kw_usec)KW_USEC_PER_SEC);
    ck_assert(pkt.ip.family == 4 && !pkt.ip.is_cut && pkt.ip.packet.len == IP_TOTAL);
    ck_assert_int_eq(kw_cap_next(cap, &pkt), KW_CAP_PKT);
    ck_assert(pkt.frame == 3 && pkt.ip.family == 6); /* IPv6 goes on: reassembly counts it */
    ck_assert_int_eq(kw_cap_next(cap, &pkt), KW_CAP_PKT);
    ck_assert(pkt.frame == 5 && pkt.ip.family == 4 && pkt.ip.is_cut && pkt.ip.packet.len == 30);
    ck_assert_int_eq(kw_cap_next(cap, &pkt), KW_CAP_END);
    ck_assert_int_eq(kw_cap_next(cap, &pkt), KW_CAP_END);
    ck_assert_uint_eq(st.packets, 5);
    ck_assert_uint_eq(st.skip_not_ip, 1);
    ck_assert_uint_eq(st.skip_truncated, 1);
    ck_assert_uint_eq(st.skip_ipv6 + st.skip_invalid + st.files_truncated, 0);
    ck_assert_int_eq(kw_cap_latest_ts(cap), 30 * (kw_usec)KW_USEC_PER_SEC);
    ck_assert_str_eq(kw_cap_error(cap), "");
    kw_cap_close(cap);
}
END_TEST

/* A file cut in the middle of a record: warned, counted, and the next file is read. */
START_TEST(test_cap_cut_file_goes_on)
{
    struct rec a[] = { whole(&eth_ipv4, 1), whole(&eth_ipv4, 2) };
    struct rec b[] = { whole(&eth_arp, 3), whole(&eth_ipv4, 4) };
    const char *paths[2] = { pcap_write("a.pcap", LT_EN10MB, a, 2, 25),
                             pcap_write("b.pcap", LT_EN10MB, b, 2, 0) };
    struct kw_stats st;
    memset(&st, 0, sizeof(st));
    char err[KW_CAP_ERRBUF], said[512] = "";
    FILE *warn = fmemopen(said, sizeof(said), "w");
    struct kw_cap *cap = kw_cap_open_files(paths, 2, NULL, &st, warn, err);
    ck_assert_msg(cap != NULL, "%s", err);
    struct kw_pkt pkt;
    ck_assert(kw_cap_next(cap, &pkt) == KW_CAP_PKT && pkt.frame == 1);
    ck_assert(kw_cap_next(cap, &pkt) == KW_CAP_PKT && pkt.frame == 3); /* b's second record */
    ck_assert_int_eq(kw_cap_next(cap, &pkt), KW_CAP_END);
    fclose(warn);
    ck_assert_uint_eq(st.files_truncated, 1);
    ck_assert_uint_eq(st.packets, 3);
    ck_assert_msg(strstr(said, paths[0]) && strstr(said, "truncated dump file") &&
                      strstr(said, "after 1 packets; going on"),
                  "warning: %s", said);
    kw_cap_close(cap);
}
END_TEST

/* A stream that reads like a disk failing after `good` bytes: EIO. */
struct failing {
    const uint8_t *bytes;
    size_t good, at;
};

static ssize_t failing_read(void *cookie, char *buf, size_t size)
{
    struct failing *f = cookie;
    if (f->at >= f->good) {
        errno = EIO;
        return -1;
    }
    size_t n = f->good - f->at < size ? f->good - f->at : size;
    memcpy(buf, f->bytes + f->at, n);
    f->at += n;
    return (ssize_t)n;
}

/* A read error is no cut file: reading stops, with the error for main, and
 * stays stopped. Standard input is where a pipe or a failing disk is read. */
START_TEST(test_cap_read_error)
{
    struct rec recs[] = { whole(&eth_ipv4, 1), whole(&eth_ipv4, 2) };
    static uint8_t bytes[1024];
    size_t n = pcap_bytes(bytes, sizeof(bytes), LT_EN10MB, recs, 2);
    static struct failing source;
    source = (struct failing){ bytes, n - 20, 0 }; /* the second record fails */
    cookie_io_functions_t io = { .read = failing_read };
    FILE *in = fopencookie(&source, "r", io);
    ck_assert_ptr_nonnull(in);
    stdin = in; /* glibc: stdin is a variable, and kw_cap reads "-" from it */
    const char *path = "-";
    struct kw_stats st;
    memset(&st, 0, sizeof(st));
    char err[KW_CAP_ERRBUF];
    struct kw_cap *cap = kw_cap_open_files(&path, 1, NULL, &st, NULL, err);
    ck_assert_msg(cap != NULL, "%s", err);
    struct kw_pkt pkt;
    ck_assert_int_eq(kw_cap_next(cap, &pkt), KW_CAP_PKT);
    ck_assert_int_eq(kw_cap_next(cap, &pkt), KW_CAP_ERROR);
    const char *why = kw_cap_error(cap);
    ck_assert_msg(strstr(why, "standard input") && strstr(why, "Input/output error") &&
                      strstr(why, "after 1 packets") && !strchr(why, '\n'),
                  "error: %s", why);
    ck_assert_int_eq(kw_cap_next(cap, &pkt), KW_CAP_ERROR); /* sticky */
    ck_assert_uint_eq(st.files_truncated, 0);
    ck_assert_uint_eq(st.packets, 1);
    kw_cap_close(cap);
}
END_TEST

/* The error names the file, the link type and every type the table has. */
START_TEST(test_cap_unsupported_link_type)
{
    struct rec recs[] = { whole(&eth_ipv4, 1) };
    const char *path = pcap_write("wifi.pcap", LT_IEEE802_11, recs, 1, 0);
    struct kw_stats st;
    memset(&st, 0, sizeof(st));
    char err[KW_CAP_ERRBUF];
    ck_assert_ptr_null(kw_cap_open_files(&path, 1, NULL, &st, NULL, err));
    char list[512];
    kw_link_list_supported(list, sizeof(list));
    ck_assert_msg(strstr(err, path) && strstr(err, "unsupported link type IEEE802_11 (105)") &&
                      strstr(err, list),
                  "error: %s", err);
}
END_TEST

/* ---- suite --------------------------------------------------------------- */

static TCase *tcase(const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, guard_setup, guard_teardown);
    return tc;
}

static Suite *link_suite(void)
{
    Suite *s = suite_create("capture");

    TCase *tc = tcase("ethernet");
    tcase_add_test(tc, test_eth_ipv4);
    tcase_add_test(tc, test_eth_ipv4_options);
    tcase_add_test(tc, test_eth_vlan);
    tcase_add_test(tc, test_eth_qinq);
    tcase_add_test(tc, test_eth_ipv6);
    tcase_add_test(tc, test_eth_arp);
    tcase_add_test(tc, test_eth_8023_length);
    tcase_add_test(tc, test_eth_too_many_tags);
    suite_add_tcase(s, tc);

    tc = tcase("cooked");
    tcase_add_test(tc, test_sll);
    tcase_add_test(tc, test_sll2);
    suite_add_tcase(s, tc);

    tc = tcase("loopback");
    tcase_add_test(tc, test_null_ipv4);
    tcase_add_test(tc, test_null_ipv6);
    tcase_add_test(tc, test_null_other_family);
    tcase_add_test(tc, test_null_ipv6_family_ipv4_header);
    tcase_add_test(tc, test_loop);
    suite_add_tcase(s, tc);

    tc = tcase("raw");
    tcase_add_test(tc, test_raw);
    tcase_add_test(tc, test_raw_bad_version);
    suite_add_tcase(s, tc);

    tc = tcase("table");
    tcase_add_test(tc, test_every_row_decodes);
    tcase_add_test(tc, test_unknown_rejected);
    tcase_add_test(tc, test_list_supported);
    suite_add_tcase(s, tc);

    tc = tcase("truncated");
    tcase_add_test(tc, test_cut_link_header);
    tcase_add_test(tc, test_cut_vlan_tag);
    tcase_add_test(tc, test_cut_ip_header);
    tcase_add_test(tc, test_cut_ip_payload);
    tcase_add_test(tc, test_total_length_past_frame);
    tcase_add_test(tc, test_every_prefix);
    suite_add_tcase(s, tc);

    tc = tcase("invalid");
    tcase_add_test(tc, test_bad_ipv4);
    tcase_add_test(tc, test_bad_ipv6);
    tcase_add_test(tc, test_ipv6_too_many_extensions);
    suite_add_tcase(s, tc);

    tc = tcase("fragment");
    tcase_add_test(tc, test_fragment);
    tcase_add_test(tc, test_fragment_with_options);
    tcase_add_test(tc, test_ipv6_fragment);
    tcase_add_test(tc, test_ipv6_auth_and_esp);
    suite_add_tcase(s, tc);

    tc = tcase("cursor");
    tcase_add_test(tc, test_cursor_reads);
    suite_add_tcase(s, tc);

    tc = tcase_create("files");
    tcase_add_checked_fixture(tc, frames_setup, files_teardown);
    tcase_add_test(tc, test_cap_results);
    tcase_add_test(tc, test_cap_cut_file_goes_on);
    tcase_add_test(tc, test_cap_read_error);
    tcase_add_test(tc, test_cap_unsupported_link_type);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(link_suite());
    srunner_run_all(sr, CK_NORMAL);
    int n_failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return n_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
