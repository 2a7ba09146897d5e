/* cap-impl.h: the reader's state, shared by cap.c (files, records, times),
 * sections.c (pcapng sections libpcap will not read with one handle) and
 * live.c (an interface). No other folder includes it. */
#ifndef KW_CAP_IMPL_H
#define KW_CAP_IMPL_H

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>

#include "capture/cap.h"
#include "capture/input.h"
#include "common/frames.h"

/* The last second whose year ISO 8601 writes in four digits (RFC 3339 5.6),
 * 9999-12-31T23:59:59Z: a later time is no capture's, and every sum of times
 * and durations stays far from overflowing kw_usec. */
#define CAP_TS_SEC_MAX INT64_C(253402300799)

struct cap_file {
    struct cap_input in;
    pcap_t *pcap;            /* NULL once read to its end */
    int linktype;
    int snaplen;             /* of the handle: a pcapng section's first interface */
    uint64_t frame;          /* records read from this file */
    uint64_t section_start;  /* pcapng: content offset of the section libpcap reads */
    unsigned section;        /* pcapng: its number, from 1 */
    uint64_t unreadable;     /* pcapng packets libpcap refused, from this file */
};

struct cap_live; /* live.c */

struct kw_cap {
    uint64_t frame; /* across all inputs, as if merged in order */
    struct cap_live *live;   /* an interface, not files (then n_files is 0) */
    struct cap_file *files;
    size_t n_files, cur;
    const char *bpf;
    struct kw_stats *stats;
    FILE *warn;
    kw_usec latest_ts;
    uint64_t bytes_done;  /* of the files read to their end */
    uint64_t bytes_total; /* of every input, 0 when one's size is unknown */
    struct kw_frame_files frames; /* the files frames are in: -r, or -w live */
    char error[KW_CAP_ERRBUF]; /* set once reading failed: sticky */
};

/* cap.c: one packet read, from a file or an interface, whose time is `ts`
 * (ts_ok false: it cannot be one): counted, numbered and decoded into *pkt.
 * True when it is for the reassembler. */
bool cap_take(struct kw_cap *cap, int linktype, const struct pcap_pkthdr *h,
              const u_char *bytes, kw_usec ts, bool ts_ok, struct kw_pkt *pkt);

/* live.c: kw_cap_next() and kw_cap_close() for an interface. */
enum kw_cap_res cap_live_next(struct kw_cap *cap, struct kw_pkt *pkt);
void cap_live_close(struct kw_cap *cap);

/* cap.c: a libpcap handle on f->in.fp, its link type checked and the filter
 * applied; on error a sentence in err and -1, f->in.fp and its stream closed. */
int cap_open_handle(struct kw_cap *cap, struct cap_file *f, char err[KW_CAP_ERRBUF]);

/* sections.c: after libpcap failed on a pcapng file, what comes of it. */
enum section_res {
    SECTION_GO_ON,    /* the same handle reads on */
    SECTION_REOPENED, /* a new handle reads from a later section */
    SECTION_NOT_MINE, /* no section matter: a cut or corrupt file */
    SECTION_END_FILE, /* what is left cannot be read: said and counted */
};
enum section_res cap_section_error(struct kw_cap *cap, struct cap_file *f);

#endif
