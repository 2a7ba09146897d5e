/* input.h: the bytes of one capture file as a stdio stream for libpcap, the
 * one reader of capture files: the file itself, or a stream of ours that
 * decompresses it (gzip, zstd, lz4, told by their magic bytes, not by the
 * name) or replays what was read of a pipe to tell its format. A file that is
 * no capture is described ("looks like text"). Internal to capture/. */
#ifndef KW_INPUT_H
#define KW_INPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "capture/cap.h"

enum cap_format {
    CAP_FORMAT_PCAP,    /* classic pcap, microseconds (or Kuznetzov's variant) */
    CAP_FORMAT_PCAP_NS, /* classic pcap, nanoseconds */
    CAP_FORMAT_PCAPNG,
};

struct cap_stream; /* input.c */
struct codec;      /* decompress.h */

struct cap_input {
    const char *path;          /* as given; "-" is standard input */
    const char *name;          /* for messages: the path, or "standard input" */
    FILE *fp;                  /* what libpcap reads; it closes it with its handle */
    FILE *raw;                 /* the file itself: fp, or what our stream reads */
    struct cap_stream *stream; /* NULL when fp is the file itself */
    const char *codec;         /* "gzip", "zstd", "lz4", or NULL */
    const struct codec *decoder; /* its decompressor */
    enum cap_format format;
    bool is_regular;           /* a regular file: its size is known, it can be read again */
    uint64_t size;             /* of a regular file, else 0 */
    char *buffer;              /* stdio buffer of a plain file */
};

/* Opens `path` and tells its format; on error, a sentence naming the file in
 * `err` and -1, with nothing left open. */
int cap_input_open(struct cap_input *in, const char *path, char err[KW_CAP_ERRBUF]);

/* A stream of the same content from its start, at content offset `offset`
 * (a pcapng section to read with a handle of its own), or NULL when the input
 * cannot be read again (standard input, a pipe). It replaces in->fp; the old
 * one stays with its libpcap handle, and in->buffer must have been taken from
 * the old one (reopen takes a new one). */
FILE *cap_input_reopen(struct cap_input *in, uint64_t offset);

/* For a pipe, which cannot be read again: the content offset of the last
 * pcapng section header starting in the bytes just before `before`, among
 * those still kept (libpcap failed on them). */
bool cap_input_recent_section(const struct cap_input *in, uint64_t before, uint64_t *at);

/* For a pipe: a new stream that hands out the kept bytes from content offset
 * `at` on, then reads on where the old one was (which then holds nothing), or
 * NULL. It replaces in->fp; offsets in it count from `at`. */
FILE *cap_input_take_over(struct cap_input *in, uint64_t at);

/* An independent stream of the same content at `offset`, for looking ahead
 * (the caller closes it), or NULL as cap_input_reopen(). */
FILE *cap_input_again(const struct cap_input *in, uint64_t offset);

/* Frees what decompressing holds (its window, up to megabytes) until the
 * stream is read again, when it starts over and skips to where it was: for the
 * files that wait their turn. Nothing for the other inputs. */
void cap_input_suspend(struct cap_input *in);

/* How far the file itself has been read: for a compressed one, its
 * compressed bytes. */
uint64_t cap_input_position(const struct cap_input *in);

/* When the compressed data ended before its last stream did, or was corrupt:
 * why, as a sentence; else "". */
const char *cap_input_cut(const struct cap_input *in);

/* For a stream that libpcap never took (its handle failed to open). */
void cap_input_close(struct cap_input *in);

#endif
