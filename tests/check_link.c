/* check_link.c: capture/. The link table and kw_link_decode() on frames of
 * every link type we decode, with IPv4 and IPv6 headers, whole, cut at every
 * byte, and malformed; every encapsulation, whole, cut at every byte and
 * malformed; the cursor's reads; kw_cap_next()'s results on files, a file cut
 * short and a read error; times; compressed files; files that are no capture;
 * progress; pcapng sections and interfaces libpcap reads in part; which file
 * each frame of several inputs is in (common/frames.h).
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

#include <lz4frame.h>
#include <zlib.h>
#include <zstd.h>

#include "capture/cap.h"
#include "capture/link.h"
#include "common/cursor.h"
#include "common/frames.h"

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
static void expect_bad(const char *what, int linktype, const uint8_t *bytes, size_t caplen,
                       uint32_t wire_len, struct want w, enum kw_encap bad)
{
    struct kw_slice frame = flush(bytes, caplen);
    struct kw_ip ip;
    memset(&ip, 0xa5, sizeof(ip)); /* everything must be set */
    enum kw_link_res got = kw_link_decode(linktype, frame, wire_len, &ip);
    ck_assert_msg(got == w.res, "%s (caplen %zu, wire %u): got %s, want %s", what, caplen,
                  (unsigned)wire_len, res_name(got), res_name(w.res));
    ck_assert_msg(ip.bad_encap == bad, "%s (caplen %zu, wire %u): encapsulation at fault %u, "
                  "want %u", what, caplen, (unsigned)wire_len, ip.bad_encap, bad);
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

static void expect(const char *what, int linktype, const uint8_t *bytes, size_t caplen,
                   uint32_t wire_len, struct want w)
{
    expect_bad(what, linktype, bytes, caplen, wire_len, w, KW_ENCAP_NONE);
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

/* Sixteen 802.1Q tags are as many encapsulations as are followed; seventeen,
 * all captured, are too deep (counted as such), and nothing is read past them. */
START_TEST(test_eth_too_many_tags)
{
    for (int tags = 16; tags <= 17; tags++) {
        uint16_t words[2 * 17 + 1];
        for (int i = 0; i < tags; i++)
            words[2 * i] = 0x8100, words[2 * i + 1] = (uint16_t)(i + 1);
        words[2 * tags] = 0x0800;
        uint8_t b[FRAME_MAX];
        size_t n = put_eth(b, words, (size_t)(2 * tags + 1)), ip_off = n;
        n += put_ipv4(b + n, IP_TOTAL, 0);
        struct want ok = { KW_LINK_IP, 4, ip_off, IP_TOTAL, 20, IP_TOTAL, 6, false, false };
        if (tags == 16)
            expect("ethernet, 16 tags", LT_EN10MB, b, n, (uint32_t)n, ok);
        else
            expect_bad("ethernet, 17 tags", LT_EN10MB, b, n, (uint32_t)n,
                       want_res(KW_LINK_INVALID, 0), KW_ENCAP_TOO_DEEP);
    }
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
                           "IP), IPV4 (raw IPv4), IPV6 (raw IPv6), NFLOG (Linux netfilter "
                           "log)");
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
    /* a last fragment may hold 1 to 7 bytes: legal, and handed on */
    expect_frag(24, 0x0010, KW_LINK_IP, true, "last fragment at offset 128, 4 bytes");
    expect_frag(21, 0x0001, KW_LINK_IP, true, "last fragment at offset 8, 1 byte");
    expect_frag(20, 0x0001, KW_LINK_IP, true, "last fragment at offset 8, no data");
    expect_frag(23, 0x2002, KW_LINK_IP, true, "MF at offset 16, 3 bytes");
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

/* ---- encapsulations -------------------------------------------------------- */

#define LT_NFLOG 239
#define ENCAP_MAX 512

/* An outer IPv4 header from 192.0.2.1 to 192.0.2.2 for `payload_len` bytes of `proto`. */
static size_t put_outer_ipv4(uint8_t *b, uint8_t proto, size_t payload_len)
{
    uint8_t h[ENCAP_MAX];
    put_ipv4(h, (uint16_t)(20 + payload_len), 0x4000);
    memcpy(b, h, 20); /* the header only: the payload is there already */
    b[9] = proto;
    b[12] = 192, b[13] = 0, b[14] = 2, b[15] = 1;
    b[16] = 192, b[17] = 0, b[18] = 2, b[19] = 2;
    return 20;
}

/* The packet every tunnel below carries: IPv4 127.0.0.1 -> 127.0.0.2, TCP. */
static size_t put_inner(uint8_t *b)
{
    size_t n = put_ipv4(b, IP_TOTAL, 0);
    put_tcp(b + 20);
    return n;
}

/* The same inside an Ethernet header. */
static size_t put_inner_eth(uint8_t *b)
{
    size_t n = put_eth(b, (const uint16_t[]){ 0x0800 }, 1);
    return n + put_inner(b + n);
}

static size_t put_host16(uint8_t *b, uint16_t v)
{
    memcpy(b, &v, 2); /* NFLOG's TLV fields: the host's order */
    return 2;
}

enum encap_id {
    E_MPLS, E_PPPOE, E_GRE_IPV4, E_GRE_TEB, E_ERSPAN_I, E_ERSPAN_II, E_ERSPAN_III, E_VXLAN,
    E_GENEVE_IPV6, E_IPIP, E_4IN6, E_NFLOG, E_QINQ_MPLS_GRE, E_N
};

struct encap {
    const char *name;
    int linktype;
    uint8_t b[ENCAP_MAX];
    size_t len, ip_off; /* the inner IPv4 packet, IP_TOTAL bytes */
};

/* A GRE header with flags `flags` (optional words zero) and protocol `type`. */
static size_t put_gre(uint8_t *b, uint16_t flags, uint16_t type)
{
    size_t n = put_be16(b, flags) + put_be16(b + 2, type);
    size_t words = !!(flags & 0x8000) + !!(flags & 0x2000) + !!(flags & 0x1000);
    memset(b + n, 0, 4 * words);
    return n + 4 * words;
}

/* The part of encapsulation `id` inside an outer IPv4 header of protocol *proto. */
static size_t put_tunnel(uint8_t *b, enum encap_id id, uint8_t *proto)
{
    size_t n = 0;
    *proto = 47;
    switch (id) {
    case E_GRE_IPV4:
        n = put_gre(b, 0xb000, 0x0800); /* checksum, key, sequence number */
        return n + put_inner(b + n);
    case E_GRE_TEB:
        n = put_gre(b, 0, 0x6558);
        return n + put_inner_eth(b + n);
    case E_ERSPAN_I:
        n = put_gre(b, 0, 0x88be);
        return n + put_inner_eth(b + n);
    case E_ERSPAN_II:
        n = put_gre(b, 0x1000, 0x88be);
        b[n] = 0x10, b[n + 3] = 5; /* version 1, session 5 */
        memset(b + n + 1, 0, 2), memset(b + n + 4, 0, 4);
        n += 8;
        return n + put_inner_eth(b + n);
    case E_ERSPAN_III:
        n = put_gre(b, 0x1000, 0x22eb);
        memset(b + n, 0, 20);
        b[n] = 0x20, b[n + 3] = 6, b[n + 11] = 1; /* version 2, session 6, O: 8 more bytes */
        n += 20;
        return n + put_inner_eth(b + n);
    case E_VXLAN:
        *proto = 17;
        n = put_be16(b, 54321) + put_be16(b + 2, 4789) + put_be16(b + 4, 8 + 8 + 54);
        n += put_be16(b + n, 0);
        memset(b + n, 0, 8);
        b[n] = 0x08, b[n + 6] = 42;
        n += 8;
        return n + put_inner_eth(b + n);
    case E_IPIP:
        *proto = 4;
        return put_inner(b);
    default:
        ck_abort_msg("not a tunnel over IPv4");
        return 0;
    }
}

static struct encap make_encap(enum encap_id id)
{
    static const char *names[E_N] = { "MPLS", "PPPoE", "GRE IPv4", "GRE TEB", "ERSPAN I",
                                      "ERSPAN II", "ERSPAN III", "VXLAN", "GENEVE over IPv6",
                                      "IPv4 in IPv4", "IPv4 in IPv6", "NFLOG",
                                      "QinQ, MPLS, GRE" };
    struct encap e;
    memset(&e, 0, sizeof(e));
    e.name = names[id], e.linktype = LT_EN10MB;
    uint8_t *b = e.b, proto;
    size_t n = 0, inner_len;
    switch (id) {
    case E_MPLS: /* two labels, the second the bottom of the stack */
        n = put_eth(b, (const uint16_t[]){ 0x8847, 0x003e, 0x8040, 0x007d, 0x0140 }, 5);
        break;
    case E_PPPOE:
        n = put_eth(b, (const uint16_t[]){ 0x8864, 0x1100, 0x1234, 2 + IP_TOTAL, 0x0021 }, 5);
        break;
    case E_GENEVE_IPV6: {
        n = put_eth(b, (const uint16_t[]){ 0x86dd }, 1);
        size_t udp = n + 40, gen = udp + 8;
        b[gen] = 2, b[gen + 1] = 0; /* version 0, two words of options: one option */
        put_be16(b + gen + 2, 0x6558);
        memset(b + gen + 4, 0, 4);
        static const uint8_t option[8] = { 0x01, 0x02, 0x80, 0x01, 0xab, 0xcd, 0xef, 0x01 };
        memcpy(b + gen + 8, option, 8);
        inner_len = put_inner_eth(b + gen + 16);
        put_be16(b + udp, 54321), put_be16(b + udp + 2, 6081);
        put_be16(b + udp + 4, (uint16_t)(8 + 16 + inner_len)), put_be16(b + udp + 6, 0);
        put_ipv6_header(b + n, (uint16_t)(8 + 16 + inner_len), 17);
        e.len = gen + 16 + inner_len, e.ip_off = gen + 16 + 14;
        return e;
    }
    case E_4IN6:
        n = put_eth(b, (const uint16_t[]){ 0x86dd }, 1);
        put_ipv6_header(b + n, IP_TOTAL, 4);
        n += 40;
        break;
    case E_NFLOG:
        e.linktype = LT_NFLOG;
        b[0] = 2, b[1] = 0, b[2] = 0, b[3] = 7; /* AF_INET, version 0, group 7 */
        n = 4;
        n += put_host16(b + n, 8), n += put_host16(b + n, 1); /* packet header */
        b[n] = 0x08, b[n + 1] = 0, b[n + 2] = 3, b[n + 3] = 0, n += 4;
        n += put_host16(b + n, 7), n += put_host16(b + n, 0x800a); /* prefix, nested flag set */
        memcpy(b + n, "kw\0\0", 4), n += 4;
        n += put_host16(b + n, 4 + IP_TOTAL), n += put_host16(b + n, 9); /* payload */
        break;
    case E_QINQ_MPLS_GRE: {
        n = put_eth(b, (const uint16_t[]){ 0x88a8, 1, 0x8100, 2, 0x8847, 0x003e, 0x8140 }, 7);
        size_t outer = n;
        n += 20;
        inner_len = put_tunnel(b + n, E_GRE_IPV4, &proto);
        put_outer_ipv4(b + outer, proto, inner_len);
        e.len = n + inner_len, e.ip_off = e.len - IP_TOTAL;
        return e;
    }
    case E_N:
        ck_abort_msg("no such encapsulation");
        break;
    default: {
        n = put_eth(b, (const uint16_t[]){ 0x0800 }, 1);
        size_t outer = n;
        n += 20;
        inner_len = put_tunnel(b + n, id, &proto);
        put_outer_ipv4(b + outer, proto, inner_len);
        e.len = n + inner_len, e.ip_off = e.len - IP_TOTAL;
        return e;
    }
    }
    e.ip_off = n;
    e.len = n + put_inner(b + n);
    return e;
}

/* The whole frame gives the inner packet, and only it: its header, its
 * addresses (127.0.0.x, never the tunnel's), its TCP. */
static void expect_encap(const struct encap *e)
{
    struct want w = { KW_LINK_IP, 4, e->ip_off, IP_TOTAL, 20, IP_TOTAL, 6, false, false };
    expect(e->name, e->linktype, e->b, e->len, (uint32_t)e->len, w);
    struct kw_ip ip;
    ck_assert_int_eq(kw_link_decode(e->linktype, kw_slice_make(e->b, e->len), (uint32_t)e->len,
                                    &ip), KW_LINK_IP);
    ck_assert_msg(ip.src_addr.p[0] == 127 && ip.dst_addr.p[3] == 2, "%s: outer addresses",
                  e->name);
}

/* Every prefix: cut by the snaplen, the inner packet once its header is in
 * (cut), else TRUNCATED; every byte captured, never IP, never a slice, and
 * nothing read past the bytes (the guard page). */
static void expect_encap_prefixes(const struct encap *e)
{
    for (size_t n = 0; n < e->len; n++) {
        struct kw_slice frame = flush(e->b, n);
        struct kw_ip ip;
        enum kw_link_res r = kw_link_decode(e->linktype, frame, (uint32_t)e->len, &ip);
        if (r == KW_LINK_IP && ip.protocol == 17 && ip.transport.len < 4) {
            /* cut before the UDP ports: no telling a tunnel, the outer packet goes on */
            ck_assert_msg(ip.is_cut && ip.packet.p != frame.p + e->ip_off, "%s cut at %zu",
                          e->name, n);
        } else if (n >= e->ip_off + 20) {
            ck_assert_msg(r == KW_LINK_IP && ip.is_cut && ip.packet.p == frame.p + e->ip_off &&
                              ip.packet.len == n - e->ip_off,
                          "%s cut at %zu: %s", e->name, n, res_name(r));
        } else {
            ck_assert_msg(r == KW_LINK_TRUNCATED, "%s cut at %zu: %s, want TRUNCATED", e->name,
                          n, res_name(r));
        }
        r = kw_link_decode(e->linktype, frame, (uint32_t)n, &ip);
        ck_assert_msg(r != KW_LINK_IP && !ip.packet.len && !ip.transport.len,
                      "%s, %zu bytes all captured: %s", e->name, n, res_name(r));
    }
}

START_TEST(test_encap_each)
{
    for (int id = 0; id < E_N; id++) {
        struct encap e = make_encap((enum encap_id)id);
        expect_encap(&e);
        expect_encap_prefixes(&e);
    }
}
END_TEST

/* A frame of `e` whose byte `at` is `value`, every byte captured. */
static void expect_changed(enum encap_id id, size_t at, uint8_t value, enum kw_link_res res,
                           enum kw_encap bad, const char *what)
{
    struct encap e = make_encap(id);
    ck_assert_uint_lt(at, e.len);
    e.b[at] = value;
    struct kw_slice frame = flush(e.b, e.len);
    struct kw_ip ip;
    enum kw_link_res r = kw_link_decode(e.linktype, frame, (uint32_t)e.len, &ip);
    ck_assert_msg(r == res && (r == KW_LINK_IP || ip.bad_encap == bad),
                  "%s: %s, at fault %u; want %s, %u", what, res_name(r), ip.bad_encap,
                  res_name(res), bad);
}

START_TEST(test_encap_malformed)
{
    size_t gre = 14 + 20;
    expect_changed(E_GRE_IPV4, gre, 0xf0, KW_LINK_INVALID, KW_ENCAP_GRE, "GRE routing bit");
    expect_changed(E_GRE_IPV4, gre + 1, 0x02, KW_LINK_INVALID, KW_ENCAP_GRE, "GRE version 2");
    expect_changed(E_GRE_IPV4, gre + 1, 0x01, KW_LINK_NOT_IP, KW_ENCAP_NONE,
                   "GRE version 1: PPTP");
    expect_changed(E_GRE_IPV4, gre + 1, 0x08, KW_LINK_IP, KW_ENCAP_NONE,
                   "GRE reserved bit 12: ignored");
    expect_changed(E_GRE_IPV4, gre + 2, 0x90, KW_LINK_NOT_IP, KW_ENCAP_NONE,
                   "GRE protocol type 0x9000");
    expect_changed(E_ERSPAN_II, gre + 8, 0x20, KW_LINK_INVALID, KW_ENCAP_ERSPAN,
                   "ERSPAN II header saying version 2");
    expect_changed(E_ERSPAN_III, gre + 8, 0x10, KW_LINK_INVALID, KW_ENCAP_ERSPAN,
                   "ERSPAN III header saying version 1");
    expect_changed(E_ERSPAN_III, gre + 8 + 10, 0x04, KW_LINK_NOT_IP, KW_ENCAP_NONE,
                   "ERSPAN III frame type 1");
    expect_changed(E_VXLAN, gre + 8, 0x00, KW_LINK_INVALID, KW_ENCAP_VXLAN, "VXLAN without I");
    expect_changed(E_VXLAN, gre + 8, 0xff, KW_LINK_IP, KW_ENCAP_NONE,
                   "VXLAN reserved flags: ignored");
    expect_changed(E_VXLAN, gre + 5, 7, KW_LINK_INVALID, KW_ENCAP_VXLAN, "UDP length 7");
    expect_changed(E_VXLAN, gre + 5, 0xff, KW_LINK_INVALID, KW_ENCAP_VXLAN,
                   "UDP length past the packet");
    size_t gen = 14 + 40 + 8;
    expect_changed(E_GENEVE_IPV6, gen, 0x41, KW_LINK_INVALID, KW_ENCAP_GENEVE,
                   "GENEVE version 1");
    expect_changed(E_GENEVE_IPV6, gen + 11, 0x02, KW_LINK_INVALID, KW_ENCAP_GENEVE,
                   "GENEVE option running past the options");
    expect_changed(E_GENEVE_IPV6, gen + 3, 0x00, KW_LINK_NOT_IP, KW_ENCAP_NONE,
                   "GENEVE protocol type 0x6500");
    expect_changed(E_PPPOE, 15, 0x09, KW_LINK_INVALID, KW_ENCAP_PPPOE, "PPPoE discovery code");
    expect_changed(E_PPPOE, 14, 0x21, KW_LINK_INVALID, KW_ENCAP_PPPOE, "PPPoE version 2");
    expect_changed(E_PPPOE, 18, 0x7f, KW_LINK_INVALID, KW_ENCAP_PPPOE,
                   "PPPoE length past the frame");
    expect_changed(E_PPPOE, 21, 0x23, KW_LINK_NOT_IP, KW_ENCAP_NONE, "PPP protocol LCP-ish");
    expect_changed(E_MPLS, 22, 0x05, KW_LINK_NOT_IP, KW_ENCAP_NONE,
                   "MPLS payload with first nibble 0 (pseudowire)");
    expect_changed(E_NFLOG, 1, 1, KW_LINK_INVALID, KW_ENCAP_NFLOG, "NFLOG version 1");
    expect_changed(E_NFLOG, 0, 7, KW_LINK_NOT_IP, KW_ENCAP_NONE, "NFLOG family 7");
    struct encap e = make_encap(E_NFLOG);
    put_host16(e.b + 4, 3); /* a TLV shorter than its header */
    expect_bad("NFLOG TLV of 3 bytes", e.linktype, e.b, e.len, (uint32_t)e.len,
               want_res(KW_LINK_INVALID, 0), KW_ENCAP_NFLOG);
    e = make_encap(E_NFLOG);
    put_host16(e.b + 20, 4 + IP_TOTAL + 4); /* the payload TLV runs past the frame */
    expect_bad("NFLOG payload past the frame", e.linktype, e.b, e.len, (uint32_t)e.len,
               want_res(KW_LINK_INVALID, 0), KW_ENCAP_NFLOG);
    e = make_encap(E_NFLOG);
    put_host16(e.b + 20, 4 + 30); /* a copy range of 30 bytes: the packet is cut */
    struct want cut = { KW_LINK_IP, 4, 24, 30, 20, IP_TOTAL, 6, true, false };
    expect("NFLOG payload shorter than its packet", e.linktype, e.b, 24 + 30, 24 + 30, cut);
}
END_TEST

/* MPLS label stacks with no bottom, in a whole frame: malformed, however long. */
START_TEST(test_mpls_no_bottom)
{
    uint8_t b[ENCAP_MAX];
    size_t n = put_eth(b, (const uint16_t[]){ 0x8847 }, 1);
    for (int i = 0; i < 3; i++)
        n += put_be16(b + n, 0x003e), n += put_be16(b + n, 0x8040);
    expect_bad("MPLS, 3 labels, none the bottom", LT_EN10MB, b, n, (uint32_t)n,
               want_res(KW_LINK_INVALID, 0), KW_ENCAP_MPLS);
    for (int i = 3; i < 17; i++)
        n += put_be16(b + n, 0x003e), n += put_be16(b + n, 0x8040);
    expect_bad("MPLS, 17 labels", LT_EN10MB, b, n, (uint32_t)n, want_res(KW_LINK_INVALID, 0),
               KW_ENCAP_TOO_DEEP);
}
END_TEST

/* IP in IP nested `depth` times around the inner packet. */
static size_t put_nested(uint8_t *b, int depth)
{
    size_t n = 0;
    for (int i = 0; i < depth; i++)
        n += put_outer_ipv4(b + n, 4, (size_t)(depth - 1 - i) * 20 + IP_TOTAL);
    return n + put_inner(b + n);
}

START_TEST(test_encap_depth)
{
    uint8_t b[ENCAP_MAX];
    size_t n = put_nested(b, 16);
    struct want w = { KW_LINK_IP, 4, 16 * 20, IP_TOTAL, 20, IP_TOTAL, 6, false, false };
    expect("16 tunnels", LT_RAW, b, n, (uint32_t)n, w);
    n = put_nested(b, 17);
    expect_bad("17 tunnels", LT_RAW, b, n, (uint32_t)n, want_res(KW_LINK_INVALID, 0),
               KW_ENCAP_TOO_DEEP);
}
END_TEST

/* Protocol 41 carries IPv6: the result is the inner IPv6 packet. A fragment
 * of an outer packet is not opened: its payload is a piece of the tunnel. */
START_TEST(test_ipv6_in_ipv4_and_fragments)
{
    uint8_t b[ENCAP_MAX];
    size_t n = put_outer_ipv4(b, 41, 60);
    n += put_ipv6_header(b + n, 20, 6);
    n += put_tcp(b + n);
    struct want w6 = { KW_LINK_IP, 6, 20, 60, 40, 60, 6, false, false };
    expect("IPv6 in IPv4", LT_RAW, b, n, (uint32_t)n, w6);
    b[6] = 0x20; /* MF: the outer packet is a fragment */
    b[10] = b[11] = 0;
    struct want outer = { KW_LINK_IP, 4, 0, 80, 20, 80, 41, false, true };
    expect("a fragment of IPv6 in IPv4", LT_RAW, b, n, (uint32_t)n, outer);
    n = put_outer_ipv4(b, 17, 28);
    put_be16(b + n, 1000), put_be16(b + n + 2, 53), put_be16(b + n + 4, 28);
    memset(b + n + 6, 0, 22);
    n += 28;
    struct want udp = { KW_LINK_IP, 4, 0, 48, 20, 48, 17, false, false };
    expect("UDP to port 53: no tunnel", LT_RAW, b, n, (uint32_t)n, udp);
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
    ck_assert(kw_cur_le16(&c, &u16) && u16 == 0x3412);
    uint16_t host;
    ck_assert(kw_cur_host16(&c, &host));
    ck_assert_int_eq(memcmp(&host, s.p + 2, 2), 0); /* as this host reads them */
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

/* ---- files: times, short fragments, encapsulation counters ----------------- */

/* Any bytes into tmp_dir/name; returns the path (four kept at a time). */
static const char *write_file(const char *name, const void *bytes, size_t len)
{
    static char paths[4][96];
    static int next;
    char *path = paths[next++ % 4];
    snprintf(path, sizeof(paths[0]), "%s/%s", tmp_dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(bytes, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

/* A classic pcap file with the given magic and snapshot length, in memory. */
static size_t pcap_bytes_ex(uint8_t *out, size_t out_len, uint32_t magic, uint32_t snaplen,
                            int linktype, const struct rec *recs, size_t n_recs)
{
    size_t n = pcap_bytes(out, out_len, linktype, recs, n_recs);
    memcpy(out, &magic, 4);
    memcpy(out + 16, &snaplen, 4);
    return n;
}

struct read_result {
    struct kw_stats st;
    char said[2048];
    kw_usec ts[16];
    int linktype[16];
    size_t n_pkts;
    enum kw_cap_res last;
};

/* Reads `paths` to their end (or an error), keeping what came out. */
static void read_all(const char *const *paths, size_t n_paths, struct read_result *r)
{
    memset(r, 0, sizeof(*r));
    char err[KW_CAP_ERRBUF];
    FILE *warn = fmemopen(r->said, sizeof(r->said) - 1, "w");
    struct kw_cap *cap = kw_cap_open_files(paths, n_paths, NULL, &r->st, warn, err);
    ck_assert_msg(cap != NULL, "%s", err);
    struct kw_pkt pkt;
    while ((r->last = kw_cap_next(cap, &pkt)) == KW_CAP_PKT) {
        if (r->n_pkts < 16)
            r->ts[r->n_pkts] = pkt.ts, r->linktype[r->n_pkts] = pkt.linktype;
        r->n_pkts++;
    }
    kw_cap_close(cap);
    fclose(warn);
}

#define SEC(s) ((kw_usec)(s) * KW_USEC_PER_SEC)

/* Classic pcap: seconds past 2^31 read unsigned; fractions of a second or more
 * carried into the seconds, microseconds and nanoseconds alike. */
START_TEST(test_cap_times_classic)
{
    struct rec us[] = { whole(&eth_ipv4, 0x80000005u), whole(&eth_ipv4, 10),
                        whole(&eth_ipv4, 10), whole(&eth_ipv4, 0xffffffffu) };
    us[1].usec = 1500000;
    us[2].usec = 0xffffffffu;
    us[3].usec = 999999;
    static uint8_t bytes[2048];
    size_t n = pcap_bytes(bytes, sizeof(bytes), LT_EN10MB, us, 4);
    const char *path = write_file("us.pcap", bytes, n);
    struct read_result r;
    read_all(&path, 1, &r);
    ck_assert_uint_eq(r.n_pkts, 4);
    ck_assert_int_eq(r.ts[0], SEC(2147483653));
    ck_assert_int_eq(r.ts[1], SEC(11) + 500000);
    ck_assert_int_eq(r.ts[2], SEC(10 + 4294) + 967295);
    ck_assert_int_eq(r.ts[3], SEC(4294967295) + 999999);
    ck_assert_uint_eq(r.st.skip_invalid, 0);

    struct rec ns[] = { whole(&eth_ipv4, 10), whole(&eth_ipv4, 0x90000000u) };
    ns[0].usec = 0xffffffffu; /* 4.294967295 s */
    ns[1].usec = 999999999;
    n = pcap_bytes_ex(bytes, sizeof(bytes), 0xa1b23c4d, 65535, LT_EN10MB, ns, 2);
    path = write_file("ns.pcap", bytes, n);
    read_all(&path, 1, &r);
    ck_assert_uint_eq(r.n_pkts, 2);
    ck_assert_int_eq(r.ts[0], SEC(14) + 294967);
    ck_assert_int_eq(r.ts[1], SEC(0x90000000u) + 999999);
}
END_TEST

/* ---- pcapng, built here ---------------------------------------------------- */

struct ng_pkt {
    uint32_t iface;
    uint64_t usec;
    const uint8_t *bytes;
    uint32_t len;
};

static uint32_t ng32(uint32_t v, bool big)
{
    return big ? __builtin_bswap32(v) : v;
}

static size_t ng_put32(uint8_t *b, uint32_t v, bool big)
{
    v = ng32(v, big);
    memcpy(b, &v, 4);
    return 4;
}

static size_t ng_put16(uint8_t *b, uint16_t v, bool big)
{
    v = big ? __builtin_bswap16(v) : v;
    memcpy(b, &v, 2);
    return 2;
}

/* One block: type, length, body (padded), length. */
static size_t ng_block(uint8_t *b, uint32_t type, const uint8_t *body, size_t len, bool big)
{
    size_t padded = (len + 3) & ~(size_t)3, total = 12 + padded;
    ng_put32(b, type, big);
    ng_put32(b + 4, (uint32_t)total, big);
    memcpy(b + 8, body, len);
    memset(b + 8 + len, 0, padded - len);
    ng_put32(b + 8 + padded, (uint32_t)total, big);
    return total;
}

/* A section in either byte order: its interfaces (link types, snaplen 262144)
 * and its packets; on a little-endian host, `big` writes the other order. */
static size_t ng_section(uint8_t *b, bool big, const uint16_t *linktypes, size_t n_if,
                         const struct ng_pkt *pkts, size_t n_pkts)
{
    uint8_t body[2048];
    size_t n = 0, k = 0;
    k += ng_put32(body, 0x1a2b3c4d, big);
    k += ng_put16(body + k, 1, big), k += ng_put16(body + k, 0, big);
    memset(body + k, 0xff, 8), k += 8; /* section length unknown */
    n += ng_block(b + n, 0x0a0d0d0a, body, k, big);
    for (size_t i = 0; i < n_if; i++) {
        k = ng_put16(body, linktypes[i], big);
        k += ng_put16(body + k, 0, big);
        k += ng_put32(body + k, 262144, big);
        n += ng_block(b + n, 1, body, k, big);
    }
    for (size_t i = 0; i < n_pkts; i++) {
        k = ng_put32(body, pkts[i].iface, big);
        k += ng_put32(body + k, (uint32_t)(pkts[i].usec >> 32), big);
        k += ng_put32(body + k, (uint32_t)pkts[i].usec, big);
        k += ng_put32(body + k, pkts[i].len, big);
        k += ng_put32(body + k, pkts[i].len, big);
        memcpy(body + k, pkts[i].bytes, pkts[i].len);
        n += ng_block(b + n, 6, body, k + pkts[i].len, big);
    }
    return n;
}

/* 64-bit times: the last second of 9999 is the latest a time may be; later
 * ones, up to 2^64 - 1 microseconds, are invalid, and nothing overflows. */
START_TEST(test_cap_times_pcapng)
{
    const uint64_t last = 253402300799ull * 1000000 + 999999;
    const uint8_t *e = eth_ipv4.bytes;
    uint32_t len = (uint32_t)eth_ipv4.len;
    struct ng_pkt pkts[] = { { 0, 1000000, e, len },       { 0, last, e, len },
                             { 0, last + 1, e, len },      { 0, UINT64_MAX, e, len },
                             { 0, (uint64_t)INT64_MAX, e, len }, { 0, 1ull << 63, e, len } };
    static uint8_t bytes[8192];
    size_t n = ng_section(bytes, false, (const uint16_t[]){ 1 }, 1, pkts, 6);
    const char *path = write_file("limit.pcapng", bytes, n);
    struct read_result r;
    read_all(&path, 1, &r);
    ck_assert_uint_eq(r.n_pkts, 2);
    ck_assert_int_eq(r.ts[0], SEC(1));
    ck_assert_int_eq(r.ts[1], (kw_usec)last);
    ck_assert_uint_eq(r.st.skip_invalid, 4);
    ck_assert_uint_eq(r.st.packets, 6);
}
END_TEST

/* Every fragment goes on to reassembly/, which puts datagrams together, in
 * whatever order they come; only a first fragment too short to hold the ports
 * (RFC 1858 3.1's tiny fragment) is dropped here. */
START_TEST(test_cap_short_fragments)
{
    uint8_t first[20 + 16], last[23], tiny[20 + 4];
    put_ipv4(first, sizeof(first), 0x2000); /* MF, offset 0, 16 bytes */
    put_ipv4(last, sizeof(last), 0x0002);   /* offset 16, 3 bytes */
    put_ipv4(tiny, sizeof(tiny), 0x2000);   /* MF, offset 0, 4 bytes */
    struct rec recs[] = {
        { 1, 0, last, 23, 23 },  /* a short last fragment before its first: handed on */
        { 2, 0, first, 36, 36 },
        { 3, 0, tiny, 24, 24 },  /* dropped */
        { 4, 0, last, 23, 23 },
    };
    static uint8_t bytes[1024];
    size_t n = pcap_bytes(bytes, sizeof(bytes), LT_RAW, recs, 4);
    const char *path = write_file("frags.pcap", bytes, n);
    struct read_result r;
    read_all(&path, 1, &r);
    ck_assert_uint_eq(r.n_pkts, 3);
    ck_assert_int_eq(r.ts[0], SEC(1));
    ck_assert_int_eq(r.ts[2], SEC(4));
    ck_assert_uint_eq(r.st.skip_fragment, 1);
}
END_TEST

/* Malformed encapsulations are counted by kind, not as invalid frames. */
START_TEST(test_cap_encap_counts)
{
    struct encap bad_gre = make_encap(E_GRE_IPV4), no_i = make_encap(E_VXLAN),
                 good = make_encap(E_GENEVE_IPV6), pppoe = make_encap(E_PPPOE);
    bad_gre.b[14 + 20 + 1] = 0x03;
    no_i.b[14 + 20 + 8] = 0;
    pppoe.b[15] = 0xa7;
    uint16_t words[2 * 17 + 1];
    for (int i = 0; i < 17; i++)
        words[2 * i] = 0x8100, words[2 * i + 1] = 1;
    words[34] = 0x0800;
    uint8_t deep[FRAME_MAX];
    size_t n = put_eth(deep, words, 35);
    n += put_inner(deep + n);
    struct rec recs[] = {
        { 1, 0, bad_gre.b, (uint32_t)bad_gre.len, (uint32_t)bad_gre.len },
        { 2, 0, no_i.b, (uint32_t)no_i.len, (uint32_t)no_i.len },
        { 3, 0, deep, (uint32_t)n, (uint32_t)n },
        { 4, 0, pppoe.b, (uint32_t)pppoe.len, (uint32_t)pppoe.len },
        { 5, 0, good.b, (uint32_t)good.len, (uint32_t)good.len },
        { 6, 0, bad_gre.b, 14 + 20 + 2, (uint32_t)bad_gre.len }, /* cut in the GRE header */
    };
    static uint8_t bytes[4096];
    size_t len = pcap_bytes(bytes, sizeof(bytes), LT_EN10MB, recs, 6);
    const char *path = write_file("encap.pcap", bytes, len);
    struct read_result r;
    read_all(&path, 1, &r);
    ck_assert_uint_eq(r.n_pkts, 1);
    ck_assert_uint_eq(r.st.encap_invalid[KW_ENCAP_GRE], 1);
    ck_assert_uint_eq(r.st.encap_invalid[KW_ENCAP_VXLAN], 1);
    ck_assert_uint_eq(r.st.encap_invalid[KW_ENCAP_TOO_DEEP], 1);
    ck_assert_uint_eq(r.st.encap_invalid[KW_ENCAP_PPPOE], 1);
    ck_assert_uint_eq(r.st.encap_invalid[KW_ENCAP_GENEVE], 0);
    ck_assert_uint_eq(r.st.skip_truncated, 1);
    ck_assert_uint_eq(r.st.skip_invalid + r.st.skip_ipv6 + r.st.skip_not_ip, 0);
}
END_TEST

/* ---- compressed captures ---------------------------------------------------- */

/* A pcap of `n_frames` records: eth_ipv4 with its time, an ARP every tenth. */
static size_t big_pcap(uint8_t *out, size_t out_len, size_t n_frames)
{
    uint32_t head[6] = { 0xa1b2c3d4, 2 | 4u << 16, 0, 0, 65535, LT_EN10MB };
    size_t n = sizeof(head);
    memcpy(out, head, n);
    for (size_t i = 0; i < n_frames; i++) {
        const struct frame *f = i % 10 == 9 ? &eth_arp : &eth_ipv4;
        uint32_t rh[4] = { (uint32_t)(100 + i), 0, (uint32_t)f->len, (uint32_t)f->len };
        ck_assert_uint_le(n + sizeof(rh) + f->len, out_len);
        memcpy(out + n, rh, sizeof(rh));
        memcpy(out + n + sizeof(rh), f->bytes, f->len);
        n += sizeof(rh) + f->len;
    }
    return n;
}

enum fmt { GZ, ZST, LZ4, N_FMT };
static const char *fmt_name[N_FMT] = { "gzip", "zstd", "lz4" };

/* `in` compressed in `fmt` into out: libraries of those formats, so that the
 * test needs no program. gzip here may write several members, split at `split`. */
static size_t compress_to(enum fmt fmt, const uint8_t *in, size_t len, uint8_t *out,
                          size_t out_len, size_t split)
{
    if (fmt == ZST) {
        size_t n = ZSTD_compress(out, out_len, in, len, 1);
        ck_assert(!ZSTD_isError(n));
        return n;
    }
    if (fmt == LZ4) {
        LZ4F_preferences_t prefs;
        memset(&prefs, 0, sizeof(prefs));
        prefs.frameInfo.blockSizeID = LZ4F_max64KB;
        size_t n = LZ4F_compressFrame(out, out_len, in, len, &prefs);
        ck_assert(!LZ4F_isError(n));
        return n;
    }
    size_t n = 0;
    for (size_t from = 0; from < len; from = split) { /* one member per piece */
        size_t to = split > from && split < len ? split : len;
        z_stream z;
        memset(&z, 0, sizeof(z));
        ck_assert_int_eq(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
        z.next_in = (Bytef *)(uintptr_t)(in + from), z.avail_in = (uInt)(to - from);
        z.next_out = out + n, z.avail_out = (uInt)(out_len - n);
        ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
        n += z.total_out;
        deflateEnd(&z);
        if (to == len)
            break;
    }
    return n;
}

static uint8_t plain_buf[1 << 20], packed_buf[1 << 20];

/* Every format, from a file and from standard input, gives the packets of the
 * plain file; gzip in two members too. */
START_TEST(test_cap_compressed)
{
    size_t plain = big_pcap(plain_buf, sizeof(plain_buf), 30);
    const char *path = write_file("plain.pcap", plain_buf, plain);
    struct read_result want, got;
    read_all(&path, 1, &want);
    ck_assert_uint_eq(want.n_pkts, 27);
    for (int fmt = 0; fmt < N_FMT; fmt++) {
        size_t n = compress_to((enum fmt)fmt, plain_buf, plain, packed_buf, sizeof(packed_buf),
                               plain / 3);
        path = write_file("packed.any", packed_buf, n); /* the name says nothing */
        read_all(&path, 1, &got);
        ck_assert_msg(got.n_pkts == 27 && got.st.packets == 30 && got.st.skip_not_ip == 3 &&
                          got.last == KW_CAP_END && !got.st.files_truncated,
                      "%s: %zu packets", fmt_name[fmt], got.n_pkts);
        ck_assert_int_eq(memcmp(got.ts, want.ts, sizeof(got.ts)), 0);
        ck_assert_str_eq(got.said, "");
        FILE *in = fmemopen(packed_buf, n, "r");
        ck_assert_ptr_nonnull(in);
        FILE *saved = stdin;
        stdin = in; /* "-": a stream whose size is unknown and that cannot seek */
        const char *dash = "-";
        read_all(&dash, 1, &got);
        stdin = saved;
        fclose(in);
        ck_assert_msg(got.n_pkts == 27 && !got.st.files_truncated, "%s from standard input",
                      fmt_name[fmt]);
        memcpy(packed_buf + n, "junk\n", 5); /* bytes after the last stream */
        path = write_file("junk.any", packed_buf, n + 5);
        read_all(&path, 1, &got);
        /* lz4 takes 5 bytes for the start of a frame header, cut short */
        ck_assert_msg(got.n_pkts == 27 && got.st.files_truncated == 1 &&
                          strstr(got.said, fmt == LZ4 ? "ends in the middle of a stream"
                                                      : "data is followed by bytes that are not"),
                      "%s and junk: %s", fmt_name[fmt], got.said);
    }
}
END_TEST

/* Compressed data cut short, or corrupt: what came before is read, the cut is
 * counted and said, and the next file is read. */
START_TEST(test_cap_compressed_cut)
{
    size_t plain = big_pcap(plain_buf, sizeof(plain_buf), 10000); /* 760 KB */
    struct rec after[] = { whole(&eth_ipv4, 50000) };
    static uint8_t next_bytes[256];
    size_t next_len = pcap_bytes(next_bytes, sizeof(next_bytes), LT_EN10MB, after, 1);
    for (int fmt = 0; fmt < 2 * N_FMT; fmt++) {
        size_t n = compress_to((enum fmt)(fmt % N_FMT), plain_buf, plain, packed_buf,
                               sizeof(packed_buf), 0);
        bool corrupt = fmt >= N_FMT;
        if (corrupt)
            for (size_t i = n / 2; i < n / 2 + 16; i++)
                packed_buf[i] ^= 0x5a;
        const char *paths[2] = { write_file("cut.bin", packed_buf, corrupt ? n : n * 6 / 10),
                                 write_file("next.pcap", next_bytes, next_len) };
        struct read_result r;
        read_all(paths, 2, &r);
        ck_assert_msg(r.n_pkts > 1000 && r.n_pkts < 9000 && r.last == KW_CAP_END &&
                          r.st.files_truncated == 1 && r.ts[0] == SEC(100),
                      "%s %s: %zu packets", fmt_name[fmt % N_FMT], corrupt ? "corrupt" : "cut",
                      r.n_pkts);
        /* corrupt data may decompress to garbage first, which libpcap refuses */
        ck_assert_msg(strstr(r.said, paths[0]) && strstr(r.said, "going on") &&
                          (corrupt || (strstr(r.said, fmt_name[fmt % N_FMT]) &&
                                       strstr(r.said, "ends in the middle"))),
                      "%s", r.said);
    }
}
END_TEST

/* ---- inputs that are no capture ----------------------------------------------- */

static void expect_refused(const char *path, const char *want)
{
    struct kw_stats st;
    memset(&st, 0, sizeof(st));
    char err[KW_CAP_ERRBUF] = "";
    ck_assert_ptr_null(kw_cap_open_files(&path, 1, NULL, &st, NULL, err));
    char full[KW_CAP_ERRBUF + 128];
    snprintf(full, sizeof(full), "%s: %s", path, want);
    ck_assert_str_eq(err, full);
}

START_TEST(test_cap_not_captures)
{
    expect_refused(write_file("empty", "", 0), "empty file (0 bytes), not a capture");
    expect_refused(write_file("two", "\xa1\xb2", 2), "2 bytes, too short to be a capture");
    expect_refused(write_file("text", "GET / HTTP/1.1\r\nHost: x\r\n", 25),
                   "not a capture: it looks like text (it starts \"GET / HTTP/1.1\")");
    expect_refused(write_file("elf", "\x7f" "ELF\2\1\1\0", 8),
                   "not a capture: an executable (ELF)");
    expect_refused(write_file("xz", "\xfd" "7zXZ\0\0\4", 8),
                   "an xz-compressed file; keepwatch reads captures compressed with gzip, "
                   "zstd or lz4");
    expect_refused(write_file("bin", "\x01\x02\x03\x04\x05\x06\x07\x08\x09", 9),
                   "not a capture: unknown format (its first bytes: 01 02 03 04 05 06 07 08)");
    static const char text[] = "not a capture at all\n";
    size_t n = compress_to(GZ, (const uint8_t *)text, sizeof(text) - 1, packed_buf,
                           sizeof(packed_buf), 0);
    expect_refused(write_file("text.gz", packed_buf, n),
                   "a gzip file whose content is not a capture: it looks like text (it starts "
                   "\"not a capture at all\")");
    n = compress_to(ZST, (const uint8_t *)text, 0, packed_buf, sizeof(packed_buf), 0);
    expect_refused(write_file("empty.zst", packed_buf, n),
                   "a zstd file whose content is empty, not a capture");
    n = compress_to(LZ4, (const uint8_t *)text, sizeof(text) - 1, packed_buf,
                    sizeof(packed_buf), 0);
    expect_refused(write_file("cut.lz4", packed_buf, 9),
                   "an lz4 file that cannot be read: the lz4 data ends in the middle of a "
                   "stream");
    expect_refused(tmp_dir, "a directory, not a capture");
}
END_TEST

/* ---- progress ------------------------------------------------------------------ */

START_TEST(test_cap_progress)
{
    size_t plain = big_pcap(plain_buf, sizeof(plain_buf), 2000);
    size_t packed = compress_to(GZ, plain_buf, plain, packed_buf, sizeof(packed_buf), 0);
    const char *paths[2] = { write_file("a.pcap", plain_buf, plain),
                             write_file("b.pcap.gz", packed_buf, packed) };
    struct kw_stats st;
    memset(&st, 0, sizeof(st));
    char err[KW_CAP_ERRBUF];
    struct kw_cap *cap = kw_cap_open_files(paths, 2, NULL, &st, NULL, err);
    ck_assert_msg(cap != NULL, "%s", err);
    uint64_t done, total, last = 0;
    kw_cap_progress(cap, &done, &total);
    ck_assert_uint_eq(total, plain + packed);
    ck_assert_uint_le(done, plain);
    struct kw_pkt pkt;
    size_t n = 0;
    while (kw_cap_next(cap, &pkt) == KW_CAP_PKT) {
        kw_cap_progress(cap, &done, &total);
        ck_assert_uint_ge(done, last); /* never backwards */
        ck_assert_uint_le(done, total);
        last = done;
        if (++n == 1800) /* the first file's packets: not past it yet */
            ck_assert_uint_le(done, plain);
    }
    kw_cap_progress(cap, &done, &total);
    ck_assert_uint_eq(done, plain + packed);
    ck_assert_uint_eq(n, 3600);
    kw_cap_close(cap);

    FILE *in = fmemopen(plain_buf, plain, "r"); /* standard input: size unknown */
    FILE *saved = stdin;
    stdin = in;
    const char *dash[2] = { paths[0], "-" };
    memset(&st, 0, sizeof(st));
    cap = kw_cap_open_files(dash, 2, NULL, &st, NULL, err);
    ck_assert_msg(cap != NULL, "%s", err);
    kw_cap_progress(cap, &done, &total);
    ck_assert_uint_eq(total, 0);
    while (kw_cap_next(cap, &pkt) == KW_CAP_PKT)
        ;
    kw_cap_progress(cap, &done, &total);
    ck_assert_uint_eq(done, 2 * plain);
    kw_cap_close(cap);
    stdin = saved;
    fclose(in);
}
END_TEST

/* ---- which file a frame is in (common/frames.h) --------------------------------- */

/* The list says frame `frame` is the `at`th of `path`, or (path NULL) in none. */
static void frame_is(const struct kw_frame_files *ff, uint64_t frame, const char *path,
                     uint64_t at)
{
    const char *name = NULL;
    uint64_t in_file = 0;
    bool found = kw_frame_files_find(ff, frame, &name, &in_file);
    if (!path) {
        ck_assert_msg(!found, "frame %llu in %s", (unsigned long long)frame, name);
        return;
    }
    ck_assert_msg(found, "frame %llu in no file", (unsigned long long)frame);
    ck_assert_str_eq(name, path);
    ck_assert_uint_eq(in_file, at);
}

/* -r a -r b -r c -r d, c without a packet: the run's frames go on across the
 * files, and each is found in its file at its place, as far as read. */
START_TEST(test_cap_frame_files)
{
    struct rec a[] = { whole(&eth_ipv4, 1), whole(&eth_arp, 2), whole(&eth_ipv4, 3) };
    struct rec b[] = { whole(&eth_ipv4, 4), whole(&eth_ipv6, 5) };
    struct rec d[] = { whole(&eth_arp, 7) };
    const char *paths[4] = { pcap_write("a.pcap", LT_EN10MB, a, 3, 0),
                             pcap_write("b.pcap", LT_EN10MB, b, 2, 0),
                             pcap_write("c.pcap", LT_EN10MB, NULL, 0, 0),
                             pcap_write("d.pcap", LT_EN10MB, d, 1, 0) };
    struct kw_stats st;
    memset(&st, 0, sizeof(st));
    char err[KW_CAP_ERRBUF];
    struct kw_cap *cap = kw_cap_open_files(paths, 4, NULL, &st, NULL, err);
    ck_assert_msg(cap != NULL, "%s", err);
    const struct kw_frame_files *ff = kw_cap_frame_files(cap);
    frame_is(ff, 1, NULL, 0); /* not read yet */
    struct kw_pkt pkt;
    ck_assert_int_eq(kw_cap_next(cap, &pkt), KW_CAP_PKT);
    frame_is(ff, 1, paths[0], 1);
    frame_is(ff, 2, NULL, 0);
    ck_assert_uint_eq(kw_frame_files_count(ff), 1);
    while (kw_cap_next(cap, &pkt) == KW_CAP_PKT)
        ;
    ck_assert_uint_eq(st.packets, 6);
    frame_is(ff, 0, NULL, 0);
    frame_is(ff, 1, paths[0], 1);
    frame_is(ff, 3, paths[0], 3);
    frame_is(ff, 4, paths[1], 1);
    frame_is(ff, 5, paths[1], 2);
    frame_is(ff, 6, paths[3], 1); /* c held none */
    frame_is(ff, 7, NULL, 0);
    ck_assert_uint_eq(kw_frame_files_count(ff), 4);
    ck_assert_str_eq(kw_frame_files_at(ff, 2)->name, paths[2]);
    ck_assert_uint_eq(kw_frame_files_at(ff, 2)->first_frame, 6);
    ck_assert_ptr_null(kw_frame_files_at(ff, 4));
    /* what is live only: files have no descriptor, no kernel counts, no clock */
    struct kw_cap_kernel_counts kc;
    ck_assert_int_eq(kw_cap_fd(cap), -1);
    ck_assert_int_eq(kw_cap_kernel_counts(cap, &kc), -1);
    kw_cap_tick(cap, INT64_MAX);
    ck_assert_int_eq(kw_cap_next(cap, &pkt), KW_CAP_END);
    kw_cap_close(cap);
}
END_TEST

/* The list on its own: at most KW_FRAME_FILES_MAX files, the oldest
 * forgotten (and its name freed: ASan's leak check); a file written anew
 * under a name takes the frames away from the old one; empty files. */
START_TEST(test_frame_files_bounds)
{
    static struct kw_frame_files ff; /* 96 KiB: not on the stack */
    memset(&ff, 0, sizeof(ff));
    const size_t extra = 10, n = KW_FRAME_FILES_MAX + extra;
    char name[32];
    for (size_t i = 0; i < n; i++) { /* file i holds frames 10i+1 to 10i+10 */
        snprintf(name, sizeof(name), "f%zu", i);
        kw_frame_files_add(&ff, strdup(name), 10 * i + 1, true, false);
    }
    ff.last_frame = 10 * n;
    ck_assert_uint_eq(kw_frame_files_count(&ff), KW_FRAME_FILES_MAX);
    ck_assert_uint_eq(ff.n_forgotten, extra);
    ck_assert_str_eq(kw_frame_files_at(&ff, 0)->name, "f10");
    frame_is(&ff, 1, NULL, 0);
    frame_is(&ff, 10 * extra, NULL, 0);
    frame_is(&ff, 10 * extra + 1, "f10", 1);
    frame_is(&ff, 10 * extra + 10, "f10", 10);
    snprintf(name, sizeof(name), "f%zu", n - 1);
    frame_is(&ff, 10 * n, name, 10);
    frame_is(&ff, 10 * n + 1, NULL, 0);
    for (size_t i = extra; i < n; i += 997) { /* the binary search, here and there */
        snprintf(name, sizeof(name), "f%zu", i);
        frame_is(&ff, 10 * i + 7, name, 7);
    }
    kw_frame_files_add(&ff, strdup("f4000"), 10 * n + 1, true, true); /* written anew */
    ff.last_frame += 3;
    frame_is(&ff, 4000 * 10 + 5, NULL, 0);
    frame_is(&ff, 4001 * 10 + 5, "f4001", 5); /* its neighbours keep theirs */
    frame_is(&ff, 10 * n + 3, "f4000", 3);
    kw_frame_files_add(&ff, "empty", 10 * n + 4, false, false);
    kw_frame_files_add(&ff, "next", 10 * n + 4, false, false);
    ff.last_frame += 1;
    frame_is(&ff, 10 * n + 4, "next", 1);
    ck_assert_uint_eq(ff.n_forgotten, extra + 3);
    kw_frame_files_clear(&ff);
    ck_assert_uint_eq(kw_frame_files_count(&ff), 0);
    frame_is(&ff, 1, NULL, 0);
}
END_TEST

/* ---- pcapng sections and interfaces -------------------------------------------- */

static uint8_t raw_ipv4[IP_TOTAL];

/* Section 1 little-endian Ethernet, section 2 big-endian raw IP: both read,
 * each packet with its own link type, from a file plain or compressed. */
START_TEST(test_cap_pcapng_sections)
{
    put_inner(raw_ipv4);
    static uint8_t bytes[8192];
    struct ng_pkt eth[] = { { 0, 1000000, eth_ipv4.bytes, (uint32_t)eth_ipv4.len },
                            { 0, 2000000, eth_arp.bytes, (uint32_t)eth_arp.len },
                            { 0, 3000000, eth_ipv4.bytes, (uint32_t)eth_ipv4.len } };
    struct ng_pkt raw[] = { { 0, 4000000, raw_ipv4, IP_TOTAL },
                            { 0, 5000000, raw_ipv4, IP_TOTAL } };
    size_t n = ng_section(bytes, false, (const uint16_t[]){ 1 }, 1, eth, 3);
    n += ng_section(bytes + n, true, (const uint16_t[]){ 101 }, 1, raw, 2);
    n += ng_section(bytes + n, false, (const uint16_t[]){ 1 }, 1, eth, 1);
    for (int packed = 0; packed < 2; packed++) {
        size_t len = packed ? compress_to(ZST, bytes, n, packed_buf, sizeof(packed_buf), 0) : n;
        const char *path = write_file("sections", packed ? packed_buf : bytes, len);
        struct read_result r;
        read_all(&path, 1, &r);
        ck_assert_msg(r.n_pkts == 5 && r.last == KW_CAP_END, "%zu packets: %s", r.n_pkts,
                      r.said);
        ck_assert(r.linktype[0] == LT_EN10MB && r.linktype[1] == LT_EN10MB &&
                  r.linktype[2] == LT_RAW && r.linktype[3] == LT_RAW &&
                  r.linktype[4] == LT_EN10MB);
        ck_assert_int_eq(r.ts[2], SEC(4));
        ck_assert_uint_eq(r.st.files_truncated + r.st.sections_skipped, 0);
        ck_assert_str_eq(r.said, "");
    }
    /* a section of a link type keepwatch does not read: said, counted, passed */
    static uint8_t wifi[4096];
    size_t m = ng_section(wifi, false, (const uint16_t[]){ 1 }, 1, eth, 1);
    m += ng_section(wifi + m, true, (const uint16_t[]){ LT_IEEE802_11 }, 1, raw, 1);
    m += ng_section(wifi + m, false, (const uint16_t[]){ 1 }, 1, eth + 2, 1);
    const char *path = write_file("wifi-between", wifi, m);
    struct read_result w;
    read_all(&path, 1, &w);
    ck_assert_uint_eq(w.n_pkts, 2);
    ck_assert_int_eq(w.ts[1], SEC(3));
    ck_assert_uint_eq(w.st.sections_skipped, 1);
    ck_assert_msg(strstr(w.said, "pcapng section 2 not read: unsupported link type "
                                 "IEEE802_11 (105)"),
                  "%s", w.said);

    /* standard input cannot be read again: the new section's header is taken
     * from the bytes just read, plain or compressed */
    for (int packed = 0; packed < 2; packed++) {
        size_t len = packed ? compress_to(GZ, bytes, n, packed_buf, sizeof(packed_buf), 0) : n;
        FILE *in = fmemopen(packed ? packed_buf : bytes, len, "r");
        FILE *saved = stdin;
        stdin = in;
        const char *dash = "-";
        struct read_result r;
        read_all(&dash, 1, &r);
        stdin = saved;
        fclose(in);
        ck_assert_msg(r.n_pkts == 5 && r.linktype[2] == LT_RAW && r.linktype[4] == LT_EN10MB,
                      "standard input: %zu packets: %s", r.n_pkts, r.said);
        ck_assert_uint_eq(r.st.sections_skipped + r.st.files_truncated, 0);
    }
}
END_TEST

/* Two interfaces of one section with different link types: the second one's
 * packets are refused by libpcap, counted, and said once; the first one's read. */
START_TEST(test_cap_pcapng_interfaces)
{
    put_inner(raw_ipv4);
    static uint8_t bytes[8192];
    struct ng_pkt pkts[] = { { 0, 1000000, eth_ipv4.bytes, (uint32_t)eth_ipv4.len },
                             { 1, 1500000, raw_ipv4, IP_TOTAL },
                             { 0, 2000000, eth_ipv4.bytes, (uint32_t)eth_ipv4.len },
                             { 1, 2500000, raw_ipv4, IP_TOTAL },
                             { 0, 3000000, eth_ipv4.bytes, (uint32_t)eth_ipv4.len } };
    size_t n = ng_section(bytes, false, (const uint16_t[]){ 1, 101 }, 2, pkts, 5);
    const char *path = write_file("interfaces", bytes, n);
    struct read_result r;
    read_all(&path, 1, &r);
    ck_assert_uint_eq(r.n_pkts, 3);
    ck_assert_int_eq(r.ts[2], SEC(3));
    ck_assert_uint_eq(r.st.packets_unreadable, 2);
    ck_assert_uint_eq(r.st.sections_skipped + r.st.files_truncated, 0);
    ck_assert_msg(strstr(r.said, "pcapng section 1, interface 1 (link type RAW") &&
                      strstr(r.said, "2 packets of interfaces libpcap cannot read skipped"),
                  "%s", r.said);

    /* an interface libpcap accepts after the one it refused would be numbered
     * wrong: the rest of the section is skipped, the next section read */
    struct ng_pkt three[] = { { 0, 1000000, eth_ipv4.bytes, (uint32_t)eth_ipv4.len },
                              { 1, 1500000, raw_ipv4, IP_TOTAL },
                              { 2, 2000000, eth_ipv4.bytes, (uint32_t)eth_ipv4.len } };
    n = ng_section(bytes, false, (const uint16_t[]){ 1, 101, 1 }, 3, three, 3);
    n += ng_section(bytes + n, false, (const uint16_t[]){ 1 }, 1, three, 1);
    path = write_file("misnumbered", bytes, n);
    read_all(&path, 1, &r);
    ck_assert_uint_eq(r.n_pkts, 1);
    ck_assert_int_eq(r.ts[0], SEC(1));
    ck_assert_uint_eq(r.st.sections_skipped, 1);
    ck_assert_msg(strstr(r.said, "would number its later interfaces wrong"), "%s", r.said);
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

    tc = tcase("encapsulations");
    tcase_add_test(tc, test_encap_each);
    tcase_add_test(tc, test_encap_malformed);
    tcase_add_test(tc, test_mpls_no_bottom);
    tcase_add_test(tc, test_encap_depth);
    tcase_add_test(tc, test_ipv6_in_ipv4_and_fragments);
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
    tcase_add_test(tc, test_cap_times_classic);
    tcase_add_test(tc, test_cap_times_pcapng);
    tcase_add_test(tc, test_cap_short_fragments);
    tcase_add_test(tc, test_cap_encap_counts);
    tcase_add_test(tc, test_cap_compressed);
    tcase_add_test(tc, test_cap_compressed_cut);
    tcase_add_test(tc, test_cap_not_captures);
    tcase_add_test(tc, test_cap_progress);
    tcase_add_test(tc, test_cap_pcapng_sections);
    tcase_add_test(tc, test_cap_pcapng_interfaces);
    tcase_add_test(tc, test_cap_frame_files);
    tcase_add_test(tc, test_frame_files_bounds);
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
