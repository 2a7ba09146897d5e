/* cap.h: packets in, from saved capture files read with libpcap (pcap or
 * pcapng, plain or compressed with gzip, zstd or lz4), each decoded down to
 * its innermost IP header; what is not IP is counted here and not handed on. */
#ifndef KW_CAP_H
#define KW_CAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "capture/pkt.h"
#include "common/stats.h"
#include "common/time.h"

struct kw_cap;

enum kw_cap_res {
    KW_CAP_END = 0,     /* every input was read to its end */
    KW_CAP_PKT = 1,     /* *pkt is an IP packet, its headers decoded (pkt->ip) */
    KW_CAP_TIMEOUT = 2, /* a live handle's read timeout passed with no packet (libpcap's
                         * pcap_next_ex() 0); saved files never give it */
    KW_CAP_ERROR = 3,   /* reading failed (EIO...), not a cut file: kw_cap_error() says
                         * what; every later call gives KW_CAP_ERROR again */
};

#define KW_CAP_ERRBUF 512

/* Opens every file now (so a bad name fails before any output), "-" being
 * standard input, and applies the BPF filter `bpf` (NULL: none) to each. A
 * file is told by its first bytes, whatever its name: pcap, pcapng, or one of
 * them compressed. Counts in `stats`, warns on `warn` (NULL: silent). On error
 * returns NULL with a sentence naming the file in `err`, saying what the file
 * looks like when it is no capture. `bpf` must outlive the reader. */
struct kw_cap *kw_cap_open_files(const char *const *paths, size_t n_paths, const char *bpf,
                                 struct kw_stats *stats, FILE *warn, char err[KW_CAP_ERRBUF]);

/* The next IP packet of the inputs, in order. Every packet read is counted in
 * stats->packets; one that is no IP, or whose IP header is invalid or cut
 * short, is counted by kind (skip_*, encap_invalid) and not returned. A file
 * that ends in the middle of a packet record, or whose compressed data ends
 * early or is corrupt, is counted in stats->files_truncated, reported on
 * `warn`, and reading goes on with the next file. A pcapng section in another
 * byte order or link type is read with a handle of its own; what libpcap
 * cannot read of one (an interface of another link type in the same section)
 * is reported and counted (packets_unreadable, sections_skipped). pkt's
 * slices are valid until the next call. */
enum kw_cap_res kw_cap_next(struct kw_cap *cap, struct kw_pkt *pkt);

/* The latest capture time of any packet read so far, IP or not (KW_TS_NONE
 * before the first): when the input ends, it is the end of the capture. */
kw_usec kw_cap_latest_ts(const struct kw_cap *cap);

/* How far reading has gone, for a progress display: the bytes of the inputs
 * read so far (of a compressed file, its compressed bytes) in *bytes_read, and
 * the size of them all in *bytes_total, or 0 when one's size is unknown
 * (standard input, a pipe). */
void kw_cap_progress(const struct kw_cap *cap, uint64_t *bytes_read, uint64_t *bytes_total);

/* After KW_CAP_ERROR, one line naming the input and the error; else "". */
const char *kw_cap_error(const struct kw_cap *cap);

void kw_cap_close(struct kw_cap *cap);

#endif
