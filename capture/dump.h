/* dump.h: the -w file of a live capture, every packet read written to it as
 * captured, and its rotations: -C by size, -G by time, named as tcpdump
 * names them. Internal to capture/ (live.c). */
#ifndef KW_DUMP_H
#define KW_DUMP_H

#include <limits.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "capture/cap.h"
#include "common/frames.h"

struct cap_dump {
    pcap_t *pcap;             /* the live handle: link type, snapshot length, precision */
    const char *pattern;      /* -w as given */
    uint64_t rotate_bytes;    /* -C; 0: never */
    kw_usec rotate_us;        /* -G; 0: never */
    struct kw_frame_files *frames; /* told of every file started */
    pcap_dumper_t *dumper;    /* NULL: none open (after a failure) */
    char *buffer;             /* the stdio buffer of each file in turn */
    unsigned n_sized;         /* -C files started in this -G interval before the open one:
                               * the number its name ends with (none for 0) */
    uint64_t file_bytes;      /* the open file's size, with what stdio holds */
    kw_usec interval_start;   /* -G: when the open file's interval began */
    kw_usec next_flush;
    bool unflushed;           /* packets written since the last flush */
    char name[PATH_MAX];      /* of the open file */
};

/* Creates the first file (tcpdump's -w FILE, or with -G FILE's strftime
 * conversions made at `now`) and tells `frames` its frames start at
 * `next_frame`. 0, or -1 with a sentence naming the file in err. */
int cap_dump_open(struct cap_dump *d, pcap_t *pcap, const struct kw_cap_live_config *cfg,
                  struct kw_frame_files *frames, uint64_t next_frame, char err[KW_CAP_ERRBUF]);

/* Writes one packet as captured, `ts` its time (KW_TS_NONE: not one), which
 * will be frame `frame` of the run; first starts a new file if -G's interval
 * has passed at `ts`, or the file is past -C's size. On a failure to start a
 * file, -1 with a sentence in err, and nothing more is written. */
int cap_dump_packet(struct cap_dump *d, const struct pcap_pkthdr *h, const u_char *bytes,
                    kw_usec ts, uint64_t frame, char err[KW_CAP_ERRBUF]);

/* The clock: -G's rotation when its time has come (the next file's frames
 * start at `next_frame`), and a flush at most once a second. 0, or -1 with a
 * sentence in err (a write failed: the disk is full...). */
int cap_dump_tick(struct cap_dump *d, kw_usec now, uint64_t next_frame,
                  char err[KW_CAP_ERRBUF]);

/* Writes what is buffered and closes the file; -1 with a sentence in err
 * when that failed. Frees the buffer. */
int cap_dump_close(struct cap_dump *d, char err[KW_CAP_ERRBUF]);

#endif
