/* dump.c: the -w file of a live capture and its rotations (dump.h).
 *
 * Names as tcpdump gives them (tcpdump.c, MakeFilename): FILE for the first
 * file; with -C, FILE1, FILE2... after it; with -G, FILE's strftime(3)
 * conversions made in local time for the interval's start, the -C number
 * after them starting again at each interval. A name without a conversion
 * under -G is written anew at each interval, as tcpdump does: the frames the
 * old file held are then in no file (common/frames.h).
 *
 * Unlike tcpdump, -G turns on the clock (cap_dump_tick()), not only when a
 * packet comes: an interval with no traffic still gets its file, and a file
 * never holds more than its interval. Intervals start every -G seconds from
 * the first file's: a late tick does not shift the next ones. */
#include "capture/dump.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Each file's stdio buffer: one write(2) every 256 KiB at full rate. */
#define DUMP_BUFFER (1 << 18)
#define PCAP_FILE_HEADER 24 /* a pcap file's header; each record's is 16 */
#define PCAP_RECORD_HEADER 16
#define FLUSH_EVERY_US ((kw_usec)KW_USEC_PER_SEC)

/* The open file's name, from the pattern, the interval and the -C number. */
static int make_name(struct cap_dump *d, char err[KW_CAP_ERRBUF])
{
    char base[PATH_MAX];
    size_t n;
    if (d->rotate_us) {
        time_t t = (time_t)(d->interval_start / KW_USEC_PER_SEC);
        struct tm tm;
        n = localtime_r(&t, &tm) ? strftime(base, sizeof(base), d->pattern, &tm) : 0;
    } else {
        n = strlen(d->pattern);
        if (n < sizeof(base))
            memcpy(base, d->pattern, n + 1);
    }
    int len = -1;
    if (n && n < sizeof(base))
        len = d->n_sized ? snprintf(d->name, sizeof(d->name), "%s%u", base, d->n_sized)
                         : snprintf(d->name, sizeof(d->name), "%s", base);
    if (len < 0 || (size_t)len >= sizeof(d->name)) {
        snprintf(err, KW_CAP_ERRBUF, "%s: cannot name the capture file: the name is empty or "
                 "longer than %d bytes once made", d->pattern, PATH_MAX - 1);
        return -1;
    }
    return 0;
}

/* Creates the next file (emptying one of the same name) and says where its
 * frames start. */
static int start_file(struct cap_dump *d, uint64_t first_frame, char err[KW_CAP_ERRBUF])
{
    if (make_name(d, err) < 0)
        return -1;
    FILE *fp = fopen(d->name, "wb");
    if (!fp) {
        snprintf(err, KW_CAP_ERRBUF, "%.400s: cannot write capture: %s", d->name, strerror(errno));
        return -1;
    }
    setvbuf(fp, d->buffer, _IOFBF, DUMP_BUFFER);
    d->dumper = pcap_dump_fopen(d->pcap, fp); /* writes the file header */
    if (!d->dumper) {
        /* libpcap closed fp itself when it could not write the header */
        snprintf(err, KW_CAP_ERRBUF, "%.400s: cannot write capture: %s", d->name,
                 pcap_geterr(d->pcap));
        return -1;
    }
    d->file_bytes = PCAP_FILE_HEADER;
    /* a copy for the list; without one the file's frames are in no file */
    kw_frame_files_add(d->frames, strdup(d->name), first_frame, true, true);
    d->unflushed = true; /* its header: a file on disk is a capture from its start */
    return 0;
}

/* Writes what stdio holds of the open file; -1 with a sentence when it
 * cannot (or an earlier buffered write could not). */
static int flush(struct cap_dump *d, char err[KW_CAP_ERRBUF])
{
    errno = 0;
    if (pcap_dump_flush(d->dumper) < 0 || ferror(pcap_dump_file(d->dumper))) {
        snprintf(err, KW_CAP_ERRBUF, "%.400s: cannot write capture: %s", d->name,
                 strerror(errno ? errno : EIO));
        return -1;
    }
    d->unflushed = false;
    return 0;
}

/* A file could not be written or started: nothing more is written, and the
 * failure is said once. */
static int give_up(struct cap_dump *d)
{
    if (d->dumper)
        pcap_dump_close(d->dumper);
    d->dumper = NULL;
    return -1;
}

/* Closes the open file and starts the next. */
static int rotate(struct cap_dump *d, uint64_t first_frame, char err[KW_CAP_ERRBUF])
{
    if (flush(d, err) < 0)
        return give_up(d);
    pcap_dump_close(d->dumper);
    d->dumper = NULL;
    if (start_file(d, first_frame, err) < 0 || flush(d, err) < 0)
        return give_up(d);
    return 0;
}

/* -G: the interval `now` is in has begun after the open file's. */
static bool interval_over(struct cap_dump *d, kw_usec now)
{
    if (!d->rotate_us || now == KW_TS_NONE || now - d->interval_start < d->rotate_us)
        return false;
    d->interval_start += (now - d->interval_start) / d->rotate_us * d->rotate_us;
    d->n_sized = 0;
    return true;
}

/* -C: the open file is past its size (tcpdump checks before each packet, so
 * a file ends with the packet that took it past). Its size is counted as it
 * is written, buffered bytes and all: ftell could cost a system call. */
static bool size_over(const struct cap_dump *d)
{
    return d->rotate_bytes && d->file_bytes > d->rotate_bytes;
}

int cap_dump_packet(struct cap_dump *d, const struct pcap_pkthdr *h, const u_char *bytes,
                    kw_usec ts, uint64_t frame, char err[KW_CAP_ERRBUF])
{
    if (!d->dumper) /* given up: said when it happened */
        return 0;
    bool timed = interval_over(d, ts), sized = !timed && size_over(d);
    if (sized)
        d->n_sized++;
    if ((timed || sized) && rotate(d, frame, err) < 0)
        return -1;
    pcap_dump((u_char *)d->dumper, h, bytes);
    d->file_bytes += PCAP_RECORD_HEADER + (uint64_t)h->caplen;
    d->unflushed = true;
    return 0;
}

int cap_dump_tick(struct cap_dump *d, kw_usec now, uint64_t next_frame,
                  char err[KW_CAP_ERRBUF])
{
    if (!d->dumper)
        return 0;
    if (interval_over(d, now))
        return rotate(d, next_frame, err);
    /* at most once a second; at once if the clock was set back */
    if (d->unflushed && (now >= d->next_flush || now < d->next_flush - FLUSH_EVERY_US)) {
        d->next_flush = now + FLUSH_EVERY_US;
        if (flush(d, err) < 0)
            return give_up(d);
    }
    return 0;
}

int cap_dump_close(struct cap_dump *d, char err[KW_CAP_ERRBUF])
{
    int rc = 0;
    if (d->dumper && flush(d, err) < 0)
        rc = -1;
    give_up(d);
    free(d->buffer);
    d->buffer = NULL;
    return rc;
}

int cap_dump_open(struct cap_dump *d, pcap_t *pcap, const struct kw_cap_live_config *cfg,
                  struct kw_frame_files *frames, uint64_t next_frame, char err[KW_CAP_ERRBUF])
{
    memset(d, 0, sizeof(*d));
    d->pcap = pcap;
    d->pattern = cfg->write_path;
    d->rotate_bytes = cfg->rotate_bytes;
    d->rotate_us = (kw_usec)cfg->rotate_seconds * KW_USEC_PER_SEC;
    d->interval_start = cfg->now;
    d->next_flush = cfg->now;
    d->frames = frames;
    if (!(d->buffer = malloc(DUMP_BUFFER))) {
        snprintf(err, KW_CAP_ERRBUF, "%s: out of memory", cfg->write_path);
        return -1;
    }
    if (start_file(d, next_frame, err) < 0 || flush(d, err) < 0) {
        give_up(d);
        free(d->buffer);
        d->buffer = NULL;
        return -1;
    }
    return 0;
}
