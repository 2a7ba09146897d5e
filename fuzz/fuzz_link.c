/* fuzz_link.c: libFuzzer target for the link-layer, encapsulation and IP
 * header decoder. The first two bytes pick the link type and whether the
 * snaplen cut the frame; every slice it returns must lie inside the frame and
 * agree with the header, and an encapsulation is blamed only for a malformed frame.
 *   make fuzz/fuzz_link CC=clang CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined" */
#include <stdlib.h>

#include "capture/link.h"
#include "common/stats.h"

static const int link_types[] = { 1, 113, 276, 0, 108, 12, 228, 229, 105, 239 };
#define LT_NFLOG 239 /* its payload may be cut by the log's copy range, whatever the snaplen */

static int inside(struct kw_slice s, struct kw_slice frame)
{
    return !s.len || (s.p >= frame.p && s.len <= frame.len &&
                      s.p - frame.p <= (ptrdiff_t)(frame.len - s.len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int lt = link_types[data[0] % (sizeof(link_types) / sizeof(link_types[0]))];
    uint32_t wire = (uint32_t)(size - 2) + (data[1] & 1 ? 100 : 0);
    struct kw_slice frame = kw_slice_make(data + 2, size - 2);
    struct kw_ip ip;
    enum kw_link_res r = kw_link_decode(lt, frame, wire, &ip);
    if (r != KW_LINK_IP) {
        if (ip.packet.len || ip.transport.len || ip.src_addr.len || ip.dst_addr.len)
            abort();
        /* an encapsulation is at fault only in a malformed frame */
        if (ip.bad_encap > KW_ENCAP_NONE || (r != KW_LINK_INVALID && ip.bad_encap != KW_ENCAP_NONE))
            abort();
        return 0;
    }
    if (ip.bad_encap != KW_ENCAP_NONE)
        abort();
    if (!inside(ip.packet, frame) || !inside(ip.transport, ip.packet) ||
        !inside(ip.src_addr, ip.packet) || !inside(ip.dst_addr, ip.packet))
        abort();
    size_t min_header = ip.family == 4 ? 20 : 40, addr_len = ip.family == 4 ? 4 : 16;
    if ((ip.family != 4 && ip.family != 6) || ip.packet.len < min_header ||
        (ip.packet.p[0] >> 4) != ip.family || ip.src_addr.len != addr_len ||
        ip.dst_addr.len != addr_len)
        abort();
    if (ip.is_cut && !(data[1] & 1) && lt != LT_NFLOG) /* only a frame the snaplen cut
                                                         * can hold a cut packet */
        abort();
    if (!ip.is_cut && ip.transport.len != ip.transport_wire_len)
        abort();
    if (ip.transport.len > ip.transport_wire_len)
        abort();
    return 0;
}
