/* fuzz_link.c: libFuzzer target for the link-layer decoder. The first two
 * bytes pick the link type and whether the snaplen cut the frame; the slice it
 * returns must lie inside the frame.
 *   make fuzz/fuzz_link CC=clang CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined" */
#include <stdlib.h>

#include "capture/link.h"

static const int link_types[] = { 1, 113, 276, 0, 108, 12, 228, 229, 105 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int lt = link_types[data[0] % (sizeof(link_types) / sizeof(link_types[0]))];
    uint32_t wire = (uint32_t)(size - 2) + (data[1] & 1 ? 100 : 0);
    struct kw_slice frame = kw_slice_make(data + 2, size - 2), ip;
    enum kw_link_res r = kw_link_ip(lt, frame, wire, &ip);
    if (ip.len && (ip.p < frame.p || ip.p + ip.len > frame.p + frame.len))
        abort();
    if (r == KW_LINK_IPV4 && (ip.len < 20 || (ip.p[0] >> 4) != 4))
        abort();
    return 0;
}
