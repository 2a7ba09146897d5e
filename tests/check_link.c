/* check_link.c: kw_link_ip() and kw_link_supported() on frames of every link
 * type we decode, whole, cut at every byte, and malformed.
 *
 * Every input is copied flush against a PROT_NONE page (picohttpparser's
 * test.c), so a read one byte past the slice crashes even without ASan. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture/link.h"

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

static size_t put_ipv6(uint8_t *b)
{
    memset(b, 0, 40);
    b[0] = 0x60;
    b[5] = 0;  /* payload length 0 */
    b[6] = 59; /* no next header */
    b[7] = 64;
    b[23] = 1, b[39] = 1;
    return 40;
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

/* A frame and what kw_link_ip() should make of it. */
struct frame {
    const char *name;
    int linktype;
    uint8_t bytes[FRAME_MAX];
    size_t len;
    enum kw_link_res res;
    size_t ip_off, ip_len; /* for KW_LINK_IPV4 */
    size_t need;           /* shortest prefix that decides `res` */
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

/* Builds frame `id`. */
static struct frame make(enum frame_id id)
{
    struct frame f;
    memset(&f, 0, sizeof(f));
    uint8_t *b = f.bytes;
    size_t n = 0;
    uint16_t ip_total = IP_TOTAL;

    switch (id) {
    case F_ETH_IPV4:
        f.name = "ethernet ipv4", f.linktype = LT_EN10MB;
        n = put_eth(b, (const uint16_t[]){ 0x0800 }, 1);
        f.ip_off = n;
        n += put_ipv4(b + n, ip_total, 0);
        f.len = eth_pad(b, n); /* 54 -> 60 */
        break;
    case F_ETH_VLAN_IPV4:
        f.name = "ethernet 802.1Q ipv4", f.linktype = LT_EN10MB;
        n = put_eth(b, (const uint16_t[]){ 0x8100, 0x0064, 0x0800 }, 3);
        f.ip_off = n;
        ip_total = 100;
        n += put_ipv4(b + n, ip_total, 0);
        f.len = eth_pad(b, n);
        break;
    case F_ETH_QINQ_IPV4:
        f.name = "ethernet QinQ ipv4", f.linktype = LT_EN10MB;
        n = put_eth(b, (const uint16_t[]){ 0x88a8, 0x00c8, 0x8100, 0x0064, 0x0800 }, 5);
        f.ip_off = n;
        n += put_ipv4(b + n, ip_total, 0);
        f.len = eth_pad(b, n);
        break;
    case F_ETH_QINQ_OLD_IPV4:
        f.name = "ethernet 0x9100 QinQ ipv4", f.linktype = LT_EN10MB;
        n = put_eth(b, (const uint16_t[]){ 0x9100, 0x00c8, 0x8100, 0x0064, 0x0800 }, 5);
        f.ip_off = n;
        n += put_ipv4(b + n, ip_total, 0);
        f.len = eth_pad(b, n);
        break;
    case F_ETH_IPV6:
        f.name = "ethernet ipv6", f.linktype = LT_EN10MB, f.res = KW_LINK_IPV6;
        n = put_eth(b, (const uint16_t[]){ 0x86dd }, 1);
        f.need = n;
        f.len = n + put_ipv6(b + n);
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
        f.name = "ethernet 802.1Q ipv6", f.linktype = LT_EN10MB, f.res = KW_LINK_IPV6;
        n = put_eth(b, (const uint16_t[]){ 0x8100, 0x0064, 0x86dd }, 3);
        f.need = n;
        f.len = n + put_ipv6(b + n);
        break;
    case F_ETH_IPV4_OPTIONS:
        f.name = "ethernet ipv4 with options", f.linktype = LT_EN10MB;
        n = put_eth(b, (const uint16_t[]){ 0x0800 }, 1);
        f.ip_off = n;
        ip_total = 48;
        put_ipv4(b + n, ip_total, 0);
        b[n] = 0x46; /* ihl 6: one word of options */
        b[n + 20] = 0x01, b[n + 21] = 0x01, b[n + 22] = 0x01, b[n + 23] = 0x00; /* NOPs, EOL */
        f.len = eth_pad(b, n + ip_total);
        break;
    case F_SLL_IPV4:
        f.name = "linux sll ipv4", f.linktype = LT_LINUX_SLL;
        n += put_be16(b + n, 0);  /* to us */
        n += put_be16(b + n, 772); /* ARPHRD_LOOPBACK */
        n += put_be16(b + n, 6);
        n += 8; /* address, zero */
        n += put_be16(b + n, 0x0800);
        f.ip_off = n;
        f.len = n + put_ipv4(b + n, ip_total, 0);
        break;
    case F_SLL_IPV6:
        f.name = "linux sll ipv6", f.linktype = LT_LINUX_SLL, f.res = KW_LINK_IPV6;
        n += put_be16(b + n, 4);
        n += put_be16(b + n, 1);
        n += put_be16(b + n, 6);
        n += 8;
        n += put_be16(b + n, 0x86dd);
        f.need = n;
        f.len = n + put_ipv6(b + n);
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
        f.ip_off = n;                 /* 20 */
        f.len = n + put_ipv4(b + n, ip_total, 0);
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
        f.ip_off = 4;
        f.len = 4 + put_ipv4(b + 4, ip_total, 0);
        break;
    case F_NULL_LE_IPV6_24:
    case F_NULL_LE_IPV6_28:
    case F_NULL_LE_IPV6_30:
        f.name = id == F_NULL_LE_IPV6_24   ? "bsd null le AF_INET6 24"
                 : id == F_NULL_LE_IPV6_28 ? "bsd null le AF_INET6 28"
                                           : "bsd null le AF_INET6 30";
        f.linktype = LT_NULL, f.res = KW_LINK_IPV6, f.need = 4;
        b[0] = id == F_NULL_LE_IPV6_24 ? 24 : id == F_NULL_LE_IPV6_28 ? 28 : 30;
        f.len = 4 + put_ipv6(b + 4);
        break;
    case F_NULL_BE_IPV6_30:
        f.name = "bsd null be AF_INET6 30", f.linktype = LT_NULL, f.res = KW_LINK_IPV6;
        f.need = 4;
        b[3] = 30;
        f.len = 4 + put_ipv6(b + 4);
        break;
    case F_LOOP_IPV4:
        f.name = "bsd loop ipv4", f.linktype = LT_LOOP;
        b[3] = 2;
        f.ip_off = 4;
        f.len = 4 + put_ipv4(b + 4, ip_total, 0);
        break;
    case F_LOOP_IPV6_24:
        f.name = "bsd loop AF_INET6 24", f.linktype = LT_LOOP, f.res = KW_LINK_IPV6;
        f.need = 4;
        b[3] = 24;
        f.len = 4 + put_ipv6(b + 4);
        break;
    case F_RAW_IPV4:
    case F_IPV4_IPV4:
        f.name = id == F_RAW_IPV4 ? "DLT_RAW ipv4" : "DLT_IPV4 ipv4";
        f.linktype = id == F_RAW_IPV4 ? LT_RAW : LT_IPV4;
        f.ip_off = 0;
        f.len = put_ipv4(b, ip_total, 0);
        break;
    case F_RAW_IPV6:
    case F_IPV6_IPV6:
        f.name = id == F_RAW_IPV6 ? "DLT_RAW ipv6" : "DLT_IPV6 ipv6";
        f.linktype = id == F_RAW_IPV6 ? LT_RAW : LT_IPV6;
        f.res = KW_LINK_IPV6, f.need = 1;
        f.len = put_ipv6(b);
        break;
    case F_N:
        ck_abort_msg("no such frame");
    }
    if (f.res == KW_LINK_IPV4) {
        f.ip_len = ip_total;
        f.need = f.ip_off + ip_total;
    }
    ck_assert_uint_le(f.len, FRAME_MAX);
    return f;
}

/* ---- assertions ---------------------------------------------------------- */

static const char *res_name(enum kw_link_res r)
{
    switch (r) {
    case KW_LINK_IPV4: return "IPV4";
    case KW_LINK_IPV6: return "IPV6";
    case KW_LINK_NOT_IP: return "NOT_IP";
    case KW_LINK_TRUNCATED: return "TRUNCATED";
    case KW_LINK_INVALID: return "INVALID";
    case KW_LINK_FRAGMENT: return "FRAGMENT";
    }
    return "?";
}

static const uint8_t sentinel_byte;

/* Runs kw_link_ip() on the first `caplen` bytes of `bytes`, flush against the
 * guard page, and checks the result and *ip (link.h): for KW_LINK_IPV4 the
 * whole packet, for KW_LINK_TRUNCATED the captured part of an IPv4 packet
 * whose header was captured, bytes[ip_off, ip_off + ip_len) of the copy; an
 * `ip_len` of 0 wants an empty slice, as every other result does. */
static void expect(const char *what, int linktype, const uint8_t *bytes, size_t caplen,
                   uint32_t wire_len, enum kw_link_res want, size_t ip_off, size_t ip_len)
{
    struct kw_slice frame = flush(bytes, caplen);
    struct kw_slice ip = { &sentinel_byte, 12345 };
    enum kw_link_res got = kw_link_ip(linktype, frame, wire_len, &ip);
    ck_assert_msg(got == want, "%s (caplen %zu, wire %u): got %s, want %s", what, caplen,
                  (unsigned)wire_len, res_name(got), res_name(want));
    if (want != KW_LINK_IPV4 && want != KW_LINK_TRUNCATED)
        ip_len = 0;
    if (ip_len) {
        ck_assert_msg(ip.p == frame.p + ip_off,
                      "%s (caplen %zu, wire %u) %s: ip starts at offset %td, want %zu", what,
                      caplen, (unsigned)wire_len, res_name(got), ip.p - frame.p, ip_off);
        ck_assert_msg(ip.len == ip_len, "%s (caplen %zu, wire %u) %s: ip is %zu bytes, want %zu",
                      what, caplen, (unsigned)wire_len, res_name(got), ip.len, ip_len);
        ck_assert_msg(ip.p[0] >> 4 == 4, "%s: ip does not start at an IPv4 header", what);
    } else {
        ck_assert_msg(ip.len == 0, "%s (caplen %zu, wire %u): *ip not empty (%zu bytes) on %s",
                      what, caplen, (unsigned)wire_len, ip.len, res_name(got));
    }
}

/* What *ip holds when `f` is cut to `caplen` bytes: the captured part of its
 * IPv4 packet once the 20-byte header is in, else nothing. */
static size_t cut_ip_len(const struct frame *f, size_t caplen)
{
    if (f->res != KW_LINK_IPV4 || caplen < f->ip_off + 20)
        return 0;
    return caplen - f->ip_off;
}

static void expect_frame(const struct frame *f)
{
    expect(f->name, f->linktype, f->bytes, f->len, (uint32_t)f->len, f->res, f->ip_off,
           f->ip_len);
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
    expect_frame(&f);
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
           KW_LINK_NOT_IP, 0, 0);
}
END_TEST

/* Nine 802.1Q tags, all captured: more than VLAN_TAGS_MAX, and no real
 * network stacks that many. Not IPv4 in any case, and no over-read. */
START_TEST(test_eth_too_many_tags)
{
    uint16_t words[2 * 9 + 1];
    for (int i = 0; i < 9; i++)
        words[2 * i] = 0x8100, words[2 * i + 1] = (uint16_t)(i + 1);
    words[18] = 0x0800;
    uint8_t b[FRAME_MAX];
    size_t n = put_eth(b, words, 19);
    n += put_ipv4(b + n, IP_TOTAL, 0);
    expect("ethernet, 9 tags", LT_EN10MB, b, n, (uint32_t)n, KW_LINK_INVALID, 0, 0);
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
    expect("bsd null af 7", f.linktype, f.bytes, f.len, (uint32_t)f.len, KW_LINK_NOT_IP, 0, 0);
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
    expect("bsd loop, le AF_INET", f.linktype, f.bytes, f.len, (uint32_t)f.len, KW_LINK_NOT_IP,
           0, 0);
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
    expect("DLT_RAW version 5", LT_RAW, f.bytes, f.len, (uint32_t)f.len, KW_LINK_INVALID, 0, 0);
}
END_TEST

START_TEST(test_supported)
{
    static const int yes[] = { LT_NULL, LT_EN10MB, LT_RAW, LT_LOOP,
                               LT_LINUX_SLL, LT_IPV4, LT_IPV6, LT_LINUX_SLL2 };
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        ck_assert_msg(kw_link_supported(yes[i]), "link type %d should be supported", yes[i]);
    static const int no[] = { LT_IEEE802_11, 127 /* radiotap */, 9 /* PPP */, -1, 1000 };
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        ck_assert_msg(!kw_link_supported(no[i]), "link type %d should not be supported", no[i]);
}
END_TEST

/* kw_link_ip() on a link type it does not decode gives no IPv4 and reads nothing past the frame. */
START_TEST(test_unsupported_ip)
{
    struct frame f = make(F_ETH_IPV4);
    struct kw_slice frame = flush(f.bytes, f.len);
    struct kw_slice ip = { &sentinel_byte, 12345 };
    ck_assert_int_ne(kw_link_ip(LT_IEEE802_11, frame, (uint32_t)f.len, &ip), KW_LINK_IPV4);
    ck_assert_uint_eq(ip.len, 0);
}
END_TEST

/* ---- truncation ---------------------------------------------------------- */

/* Cut `f` to `caplen`: TRUNCATED when the wire had more, INVALID when it did not. */
static void expect_cut(const struct frame *f, size_t caplen, const char *what)
{
    expect(what, f->linktype, f->bytes, caplen, (uint32_t)f->len, KW_LINK_TRUNCATED, f->ip_off,
           cut_ip_len(f, caplen));
    expect(what, f->linktype, f->bytes, caplen, (uint32_t)caplen, KW_LINK_INVALID, 0, 0);
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

START_TEST(test_cut_ipv4_header)
{
    struct frame f = make(F_ETH_IPV4);
    expect_cut(&f, 14, "ethernet cut before the IPv4 header");
    expect_cut(&f, 14 + 10, "ethernet cut in the IPv4 header");
    expect_cut(&f, 14 + 19, "ethernet cut one byte short of the IPv4 header");
    f = make(F_RAW_IPV4);
    expect_cut(&f, 1, "raw ip cut after the version byte");
}
END_TEST

START_TEST(test_cut_ipv4_payload)
{
    struct frame f = make(F_ETH_IPV4);
    expect_cut(&f, 14 + 30, "ethernet cut in the IPv4 payload");
    expect_cut(&f, 14 + IP_TOTAL - 1, "ethernet one byte short of the IPv4 total length");
    f = make(F_ETH_VLAN_IPV4); /* total 100: a typical snaplen cut */
    expect_cut(&f, 18 + 60, "802.1Q ipv4 cut by the snaplen");
}
END_TEST

/* The IPv4 total length says more than the frame holds, though every byte
 * of the frame was captured: the header lies. */
START_TEST(test_total_length_past_frame)
{
    struct frame f = make(F_RAW_IPV4);
    f.bytes[2] = 0x03, f.bytes[3] = 0xe8; /* 1000 */
    expect("raw ip, total 1000 in 40", LT_RAW, f.bytes, f.len, (uint32_t)f.len,
           KW_LINK_INVALID, 0, 0);
    expect("raw ip, total 1000, 40 of 1000 captured", LT_RAW, f.bytes, f.len, 1000,
           KW_LINK_TRUNCATED, 0, f.len);
}
END_TEST

/* Every prefix of every frame, with the wire length of the whole frame: too
 * short to decide is TRUNCATED, long enough gives the whole frame's answer
 * (for IPv4: once the IPv4 total length is in, padding or not). With the
 * wire length equal to the prefix, too short is INVALID instead. */
START_TEST(test_every_prefix)
{
    for (int id = 0; id < F_N; id++) {
        struct frame f = make((enum frame_id)id);
        for (size_t n = 0; n <= f.len; n++) {
            if (n < f.need) {
                expect(f.name, f.linktype, f.bytes, n, (uint32_t)f.len, KW_LINK_TRUNCATED,
                       f.ip_off, cut_ip_len(&f, n));
                expect(f.name, f.linktype, f.bytes, n, (uint32_t)n, KW_LINK_INVALID, 0, 0);
            } else {
                expect(f.name, f.linktype, f.bytes, n, (uint32_t)f.len, f.res, f.ip_off,
                       f.ip_len);
                expect(f.name, f.linktype, f.bytes, n, (uint32_t)n, f.res, f.ip_off, f.ip_len);
            }
        }
    }
}
END_TEST

/* ---- IPv4 headers that cannot be right ----------------------------------- */

START_TEST(test_bad_ipv4)
{
    struct frame f = make(F_ETH_IPV4);
    uint8_t *h = f.bytes + 14;
    h[0] = 0x55; /* version 5 */
    expect("ipv4 version 5", f.linktype, f.bytes, f.len, (uint32_t)f.len, KW_LINK_INVALID, 0, 0);
    expect("ipv4 version 5, snaplen cut", f.linktype, f.bytes, f.len, 1500, KW_LINK_INVALID, 0,
           0);
    for (uint8_t ihl = 0; ihl < 5; ihl++) {
        h[0] = (uint8_t)(0x40 | ihl);
        expect("ipv4 ihl < 5", f.linktype, f.bytes, f.len, (uint32_t)f.len, KW_LINK_INVALID, 0,
               0);
    }
    h[0] = 0x46; /* 24-byte header */
    h[2] = 0, h[3] = 23;
    expect("ipv4 total 23 < ihl 24", f.linktype, f.bytes, f.len, (uint32_t)f.len,
           KW_LINK_INVALID, 0, 0);
    h[0] = 0x45;
    h[3] = 19;
    expect("ipv4 total 19 < 20", f.linktype, f.bytes, f.len, (uint32_t)f.len, KW_LINK_INVALID,
           0, 0);
    h[3] = 0;
    expect("ipv4 total 0", f.linktype, f.bytes, f.len, (uint32_t)f.len, KW_LINK_INVALID, 0, 0);
    h[0] = 0x4f; /* 60-byte header, in a 40-byte packet */
    h[3] = IP_TOTAL;
    expect("ipv4 ihl 15, total 40", f.linktype, f.bytes, f.len, (uint32_t)f.len,
           KW_LINK_INVALID, 0, 0);
    /* total == ihl * 4: a bare header is a valid packet */
    h[0] = 0x45;
    h[3] = 20;
    expect("ipv4 total == 20", f.linktype, f.bytes, f.len, (uint32_t)f.len, KW_LINK_IPV4, 14,
           20);
}
END_TEST

/* ---- fragments ----------------------------------------------------------- */

static void expect_frag(uint16_t total, uint16_t frag, enum kw_link_res want, const char *what)
{
    uint8_t b[FRAME_MAX];
    size_t n = put_eth(b, (const uint16_t[]){ 0x0800 }, 1);
    n += put_ipv4(b + n, total, frag);
    n = eth_pad(b, n);
    expect(what, LT_EN10MB, b, n, (uint32_t)n, want, 14, total);
}

START_TEST(test_fragment)
{
    expect_frag(20, 0x2000, KW_LINK_FRAGMENT, "MF, no payload");
    expect_frag(27, 0x2000, KW_LINK_FRAGMENT, "MF, 7 bytes of payload");
    expect_frag(24, 0x0010, KW_LINK_FRAGMENT, "last fragment at offset 128, 4 bytes");
    expect_frag(28, 0x2000, KW_LINK_IPV4, "MF, 8 bytes of payload");
    expect_frag(IP_TOTAL, 0x2000, KW_LINK_IPV4, "MF, 20 bytes of payload");
    expect_frag(20, 0x4000, KW_LINK_IPV4, "DF is not a fragment");
    expect_frag(20, 0x8000, KW_LINK_IPV4, "the reserved bit is not a fragment");
}
END_TEST

START_TEST(test_fragment_with_options)
{
    uint8_t b[FRAME_MAX];
    size_t n = put_eth(b, (const uint16_t[]){ 0x0800 }, 1);
    put_ipv4(b + n, 30, 0x2000);
    b[n] = 0x46; /* 24-byte header: 30 < 24 + 8 */
    n = eth_pad(b, n + 30);
    expect("MF, ihl 6, 6 bytes of payload", LT_EN10MB, b, n, (uint32_t)n, KW_LINK_FRAGMENT, 0,
           0);
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
    Suite *s = suite_create("link");

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
    tcase_add_test(tc, test_loop);
    suite_add_tcase(s, tc);

    tc = tcase("raw");
    tcase_add_test(tc, test_raw);
    tcase_add_test(tc, test_raw_bad_version);
    suite_add_tcase(s, tc);

    tc = tcase("supported");
    tcase_add_test(tc, test_supported);
    tcase_add_test(tc, test_unsupported_ip);
    suite_add_tcase(s, tc);

    tc = tcase("truncated");
    tcase_add_test(tc, test_cut_link_header);
    tcase_add_test(tc, test_cut_vlan_tag);
    tcase_add_test(tc, test_cut_ipv4_header);
    tcase_add_test(tc, test_cut_ipv4_payload);
    tcase_add_test(tc, test_total_length_past_frame);
    tcase_add_test(tc, test_every_prefix);
    suite_add_tcase(s, tc);

    tc = tcase("invalid");
    tcase_add_test(tc, test_bad_ipv4);
    suite_add_tcase(s, tc);

    tc = tcase("fragment");
    tcase_add_test(tc, test_fragment);
    tcase_add_test(tc, test_fragment_with_options);
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
