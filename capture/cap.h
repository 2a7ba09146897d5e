/* cap.h: packets in, from saved capture files read with libpcap. */
#ifndef KW_CAP_H
#define KW_CAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/slice.h"
#include "common/stats.h"
#include "common/time.h"

struct kw_cap;

struct kw_pkt {
    kw_usec ts;
    int linktype;          /* DLT_* of the file it came from */
    uint32_t wire_len;     /* length on the wire; bytes.len is less when the snaplen cut it */
    uint64_t frame;        /* 1-based frame number, as Wireshark counts; across several
                            * inputs, as if they were merged in order */
    struct kw_slice bytes; /* valid until the next kw_cap_next() */
};

enum kw_cap_res {
    KW_CAP_END = 0,
    KW_CAP_PKT = 1,
};

#define KW_CAP_ERRBUF 512

/* Opens every file now (so a bad name fails before any output), "-" being
 * standard input, and applies the BPF filter `bpf` (NULL: none) to each.
 * On error returns NULL with a sentence naming the file in `err`. */
struct kw_cap *kw_cap_open_files(const char *const *paths, size_t n_paths, const char *bpf,
                                 struct kw_stats *stats, FILE *warn, char err[KW_CAP_ERRBUF]);

/* The next packet of the inputs, in order. A file that ends in the middle of a
 * packet is counted in stats->files_truncated, reported on `warn`, and reading
 * goes on with the next file. */
enum kw_cap_res kw_cap_next(struct kw_cap *cap, struct kw_pkt *pkt);

void kw_cap_close(struct kw_cap *cap);

#endif
