/* savefile.c: classic pcap files read in place. libpcap reads each record
 * with two fread() calls, the second copying the packet out of the stdio
 * buffer: about 530 instructions a packet, one sixth of keepwatch's work on
 * the benchmark capture. Here records are parsed in a large buffer filled
 * with pread() and handed out where they lie.
 *
 * The file format is that of draft-ietf-opsawg-pcap (the pcap file format):
 * a 24-byte file header, then records of a 16-byte header (seconds, fraction,
 * captured length, length on the wire) and the captured bytes. libpcap still
 * opens and checks the file, and compiles the filter; this file takes over
 * only the records, with libpcap's checks and messages, so that a file reads
 * the same whichever reader reads it. */
#include "capture/savefile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_HEADER_LEN 24
#define RECORD_HEADER_LEN 16
#define MAGIC_MICROSECONDS 0xa1b2c3d4u
#define MAGIC_NANOSECONDS 0xa1b23c4du
/* libpcap's MAXIMUM_SNAPLEN, its largest sane record for every link type in
 * our table (max_snaplen_for_dlt() is larger only for D-Bus, EBHSCR, USBPcap). */
#define RECORD_CAPLEN_MAX 262144u
/* Room for the largest record many times over: one pread() per MiB. */
#define SAVEFILE_BUFFER (1u << 20)

/* The file header as written on this host: magic(4) major(2) minor(2)
 * zone(4) sigfigs(4) snaplen(4) linktype(4). */
struct file_header {
    uint32_t magic;
    uint16_t version_major, version_minor;
    uint32_t zone, sigfigs, snaplen, linktype;
};

/* A record header; the times are signed, as libpcap reads them (struct pcap_timeval). */
struct record_header {
    int32_t ts_sec, ts_frac;
    uint32_t caplen, len;
};

bool savefile_open(struct savefile *s, pcap_t *opened)
{
    memset(s, 0, sizeof(*s));
    FILE *fp = pcap_file(opened);
    struct stat st;
    struct file_header h;
    /* A pipe cannot be read twice, nor can standard input: libpcap keeps those. */
    if (!fp || fstat(fileno(fp), &st) < 0 || !S_ISREG(st.st_mode) ||
        pread(fileno(fp), &h, sizeof(h), 0) != (ssize_t)sizeof(h))
        return false;
    /* Byte-swapped files (libpcap also swaps Linux cooked headers in them),
     * the 2.3 and older formats (lengths swapped) and modified formats stay
     * with libpcap: rare, and not worth a second copy of its rules. */
    if ((h.magic != MAGIC_MICROSECONDS && h.magic != MAGIC_NANOSECONDS) ||
        h.version_major != 2 || h.version_minor != 4 || pcap_snapshot(opened) <= 0)
        return false;
    s->fd = fileno(fp);
    s->is_nanosecond = h.magic == MAGIC_NANOSECONDS;
    s->snapshot = (uint32_t)pcap_snapshot(opened);
    s->offset = FILE_HEADER_LEN;
    return true;
}

void savefile_close(struct savefile *s)
{
    free(s->buffer);
    s->buffer = NULL;
}

/* Reads until `need` unused bytes are buffered or the file ends; false on a
 * read error. `need` is at most a record: the buffer holds it after moving the
 * unused bytes to its front. The buffer is taken at the first read, so that
 * the files waiting their turn hold none. Once a MiB: kept out of line, so
 * that the per-record path saves no registers for it. */
static __attribute__((noinline)) bool refill(struct savefile *s, size_t need)
{
    if (s->at_eof)
        return true;
    if (!s->buffer && !(s->buffer = malloc(SAVEFILE_BUFFER))) {
        snprintf(s->errbuf, sizeof(s->errbuf), "out of memory for a %u-byte read buffer",
                 SAVEFILE_BUFFER);
        s->read_error = true;
        return false;
    }
    memmove(s->buffer, s->buffer + s->start, s->end - s->start);
    s->end -= s->start;
    s->start = 0;
    while (s->end < need && !s->at_eof) {
        ssize_t n = pread(s->fd, s->buffer + s->end, SAVEFILE_BUFFER - s->end, (off_t)s->offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(s->errbuf, sizeof(s->errbuf), "error reading dump file: %s",
                     strerror(errno));
            s->read_error = true;
            return false;
        }
        s->at_eof = n == 0;
        s->end += (size_t)n;
        s->offset += (uint64_t)n;
    }
    return true;
}

/* `need` unused bytes buffered, or as many as the file has; false on a read error. */
static inline bool fill(struct savefile *s, size_t need)
{
    return s->end - s->start >= need || refill(s, need);
}

/* The record's captured length, checked as libpcap checks it: -1 with its
 * message when impossible. */
static int check_caplen(struct savefile *s, uint32_t caplen)
{
    if (caplen <= RECORD_CAPLEN_MAX)
        return 0;
    if (caplen > s->snapshot)
        snprintf(s->errbuf, sizeof(s->errbuf),
                 "invalid packet capture length %u, bigger than snaplen of %d", caplen,
                 (int)s->snapshot);
    else
        snprintf(s->errbuf, sizeof(s->errbuf),
                 "invalid packet capture length %u, bigger than maximum of %u", caplen,
                 RECORD_CAPLEN_MAX);
    return -1;
}

/* The file ends inside a record's data: libpcap's words for it. A record
 * longer than the snapshot is read up to the snapshot, then the rest is
 * skipped, so the words depend on where it ended. */
static int cut_short(struct savefile *s, uint32_t caplen, size_t got)
{
    if (caplen > s->snapshot && got < s->snapshot)
        snprintf(s->errbuf, sizeof(s->errbuf),
                 "truncated dump file; tried to read %d captured bytes, only got %zu",
                 (int)s->snapshot, got);
    else
        snprintf(s->errbuf, sizeof(s->errbuf),
                 "truncated dump file; tried to read %u captured bytes, only got %zu", caplen,
                 got);
    return -1;
}

int savefile_next(struct savefile *s, const struct pcap_pkthdr **hdr, const uint8_t **data)
{
    if (!fill(s, RECORD_HEADER_LEN))
        return -1;
    size_t avail = s->end - s->start;
    if (avail < RECORD_HEADER_LEN) {
        if (!avail)
            return 0;
        snprintf(s->errbuf, sizeof(s->errbuf),
                 "truncated dump file; tried to read %d header bytes, only got %zu",
                 RECORD_HEADER_LEN, avail);
        return -1;
    }
    struct record_header r;
    memcpy(&r, s->buffer + s->start, sizeof(r));
    if (check_caplen(s, r.caplen) < 0)
        return -1;
    if (!fill(s, RECORD_HEADER_LEN + (size_t)r.caplen))
        return -1;
    avail = s->end - s->start - RECORD_HEADER_LEN;
    if (avail < r.caplen)
        return cut_short(s, r.caplen, avail);
    s->hdr.ts.tv_sec = r.ts_sec;
    s->hdr.ts.tv_usec = s->is_nanosecond ? r.ts_frac / 1000 : r.ts_frac;
    /* A record longer than the snapshot is cut to it, the rest skipped (libpcap). */
    s->hdr.caplen = r.caplen > s->snapshot ? s->snapshot : r.caplen;
    s->hdr.len = r.len;
    *data = s->buffer + s->start + RECORD_HEADER_LEN;
    *hdr = &s->hdr;
    s->start += RECORD_HEADER_LEN + (size_t)r.caplen;
    return 1;
}
