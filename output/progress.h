/* progress.h: how far the reading of capture files has gone, on a terminal:
 * one line rewritten in place on standard error (bytes of the total, rate,
 * time left), as tcpdump users know from pv. Only when that is a terminal:
 * never in a pipe, a log file or with -q. */
#ifndef KW_PROGRESS_H
#define KW_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct kw_progress;

/* A progress line on `tty`, or NULL (nothing to do) when `tty` is not a
 * terminal or `total` (the inputs' size in bytes) is unknown (0). */
struct kw_progress *kw_progress_new(FILE *tty, uint64_t total);

/* `read` bytes of the total are read: the line is drawn at the first call,
 * then rewritten when half a second has passed since the last time. Cheap enough to call every few
 * thousand packets. */
void kw_progress_show(struct kw_progress *p, uint64_t read);

/* The line erased, and freed. NULL is fine. */
void kw_progress_free(struct kw_progress *p);

#endif
