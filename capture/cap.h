/* cap.h: packets in, from saved capture files read with libpcap (pcap or
 * pcapng, plain or compressed with gzip, zstd or lz4), or live from an
 * interface, each decoded down to its innermost IP header; what is not IP is
 * counted here and not handed on. */
#ifndef KW_CAP_H
#define KW_CAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "capture/pkt.h"
#include "common/frames.h"
#include "common/stats.h"
#include "common/time.h"

struct kw_cap;

enum kw_cap_res {
    KW_CAP_END = 0,     /* every input was read to its end; live, -c packets were read */
    KW_CAP_PKT = 1,     /* *pkt is an IP packet, its headers decoded (pkt->ip) */
    KW_CAP_TIMEOUT = 2, /* live: no packet is waiting right now; poll kw_cap_fd() (or
                         * wait) and call again. Saved files never give it */
    KW_CAP_ERROR = 3,   /* reading failed (EIO, the interface went away, a -w file that
                         * cannot be written), not a cut file: kw_cap_error() says what;
                         * every later call gives KW_CAP_ERROR again */
};

#define KW_CAP_ERRBUF 512

/* Opens every file now (so a bad name fails before any output), "-" being
 * standard input, and applies the BPF filter `bpf` (NULL: none) to each. A
 * file is told by its first bytes, whatever its name: pcap, pcapng, or one of
 * them compressed. Counts in `stats`, warns on `warn` (NULL: silent). On error
 * returns NULL with a sentence naming the file in `err`, saying what the file
 * looks like when it is no capture. `paths` (their strings) and `bpf` must
 * outlive the reader. */
struct kw_cap *kw_cap_open_files(const char *const *paths, size_t n_paths, const char *bpf,
                                 struct kw_stats *stats, FILE *warn, char err[KW_CAP_ERRBUF]);

/* A live capture, as tcpdump's options set it. */
struct kw_cap_live_config {
    const char *iface;       /* an interface name, "any", or a number as -D numbers them */
    int snaplen;             /* -s, bytes kept of each packet; 0: 262144 */
    int buffer_kib;          /* -B, the kernel's ring, KiB; 0: libpcap's default (2 MiB) */
    bool no_promisc;         /* -p: not in promiscuous mode ("any" never is) */
    bool immediate;          /* --immediate-mode: each packet as it comes, not by blocks;
                              * each then takes a slot of the snapshot length in the
                              * buffer (at most 65553 bytes on Ethernet): 2 MiB holds
                              * as few as 32 (8 on "any"), which is said on `warn` */
    bool nano;               /* --time-stamp-precision=nano: -w files keep nanoseconds;
                              * kw_pkt.ts is in microseconds all the same */
    int timeout_ms;          /* how long the kernel holds packets to hand them over
                              * together; 0 or less: 100 (never libpcap's 0, which is
                              * "forever" with TPACKET_V3) */
    uint64_t count;          /* -c: END after this many packets read; 0: never */
    const char *write_path;  /* -w FILE: every packet read is written there as captured
                              * (pcap); NULL: none. "-" is refused: the report is there */
    uint64_t rotate_bytes;   /* -C: once the file is past this many bytes, the next packet
                              * starts a new one, FILE1, FILE2... (tcpdump's names); 0: never */
    int rotate_seconds;      /* -G: a new file every this many seconds of the clock
                              * (kw_cap_tick(), or a packet's time), FILE holding strftime
                              * conversions as tcpdump's (local time); 0: never */
    kw_usec now;             /* the clock at opening (capture/ reads no clock): with -G,
                              * which needs it, the first file is named for it and the
                              * intervals count from it */
};

/* Opens an interface the way tcpdump does: pcap_create, time stamp
 * precision, immediate mode, snapshot length, promiscuous mode, timeout,
 * buffer size, pcap_activate (a warning is said on `warn`, NULL: silent);
 * picks a link type keepwatch decodes (for "any", LINUX_SLL2 when libpcap
 * offers it); compiles and sets the BPF filter `bpf` (NULL: "tcp"); creates
 * the -w file; sets nonblocking mode. Needs root or CAP_NET_RAW for this call
 * only: privileges can be dropped after it, but -C and -G create their later
 * files as whoever the process is then. Counts in `stats`. On error returns
 * NULL with one sentence in `err` naming the interface (or the file, or the
 * filter). `cfg`'s strings and `bpf` must outlive the reader. */
struct kw_cap *kw_cap_open_live(const struct kw_cap_live_config *cfg, const char *bpf,
                                struct kw_stats *stats, FILE *warn, char err[KW_CAP_ERRBUF]);

/* -D: the interfaces libpcap can capture on, one a line, numbered from 1 as
 * tcpdump -D prints them ("1.eth0 [Up, Running, Connected]"). 0, or -1 with a
 * sentence in `err`. */
int kw_cap_list_interfaces(FILE *out, char err[KW_CAP_ERRBUF]);

/* The descriptor to poll for POLLIN (readable: call kw_cap_next()) and
 * POLLERR (the interface went away: kw_cap_next() says so); -1 for files. */
int kw_cap_fd(const struct kw_cap *cap);

/* The clock, live: -G rotation happens here when its time has come, packet
 * or none; the -w file is flushed at most once a second; the kernel's counts
 * are read once a second (their 32 bits never wrap unseen). A failure is
 * kept for the next kw_cap_next() (KW_CAP_ERROR). Nothing for files. */
void kw_cap_tick(struct kw_cap *cap, kw_usec now);

/* The kernel's counts since opening (pcap_stats): packets that passed the
 * filter, those dropped for lack of room in the ring, and those the
 * interface dropped (promiscuous mode only; interface-wide, not this
 * capture's). On lo each packet is counted twice in `received` (once going
 * out, once coming in; libpcap hands on one), so is each of lo's under "any".
 * 0, or -1 for files. When libpcap cannot read them any more (the interface
 * went away), the last ones read. */
struct kw_cap_kernel_counts {
    uint64_t received, dropped, if_dropped;
};
int kw_cap_kernel_counts(struct kw_cap *cap, struct kw_cap_kernel_counts *c);

/* The files the run's frames are in (common/frames.h), as they are read (-r)
 * or written (-w, with every rotation); live without -w, none. Valid for the
 * reader's life, updated as it reads. */
const struct kw_frame_files *kw_cap_frame_files(const struct kw_cap *cap);

/* The next IP packet of the inputs, in order, or of the interface. Live, it
 * never waits: KW_CAP_TIMEOUT when nothing is there; each packet is written
 * to -w first, as captured; -c packets read give KW_CAP_END; a run of 256
 * packets that are not IP gives KW_CAP_TIMEOUT, so that the caller's timers
 * run in a flood of them. Every packet read is counted in
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

/* Live: stops sniffing, and writes out and closes the -w file, whole on disk
 * for kw_extract(); kw_cap_frame_files() stays valid. Read the kernel's
 * counts before. Then kw_cap_next() says KW_CAP_END. Nothing for files. */
void kw_cap_stop(struct kw_cap *cap);

/* The latest capture time of any packet read so far, IP or not (KW_TS_NONE
 * before the first): when the input ends, it is the end of the capture. */
kw_usec kw_cap_latest_ts(const struct kw_cap *cap);

/* How far reading has gone, for a progress display: the bytes of the inputs
 * read so far (of a compressed file, its compressed bytes) in *bytes_read, and
 * the size of them all in *bytes_total, or 0 when one's size is unknown
 * (standard input, a pipe). Live: 0 and 0. */
void kw_cap_progress(const struct kw_cap *cap, uint64_t *bytes_read, uint64_t *bytes_total);

/* After KW_CAP_ERROR, one line naming the input and the error; else "". */
const char *kw_cap_error(const struct kw_cap *cap);

/* Closes the inputs, or the interface and the -w file (a failure to write
 * its last bytes is said on `warn`). */
void kw_cap_close(struct kw_cap *cap);

#endif
