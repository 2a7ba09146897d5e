/* live.h: what a live run asks of the system beyond the pipeline: signals
 * read as events (so none arrives inside a libnids callback or mid-line),
 * the wall clock, the wait on the capture, and giving up root. Part of the
 * program, with keepwatch.c and options.c. */
#ifndef KW_LIVE_H
#define KW_LIVE_H

#include <stdbool.h>

#include "common/time.h"

enum live_signal {
    LIVE_SIGNAL_NONE = 0,
    LIVE_SIGNAL_STOP,   /* SIGINT, SIGTERM: stop reading, report, exit 0 */
    LIVE_SIGNAL_REOPEN, /* SIGHUP: reopen the --json file (log rotation) */
    LIVE_SIGNAL_STATS,  /* SIGUSR1: write a stats event */
};

/* Blocks SIGINT, SIGTERM, SIGHUP and SIGUSR1 and returns a descriptor they
 * are read from (signalfd), or -1 with errno set. */
int live_signals_open(void);

/* The next signal pending, without waiting; LIVE_SIGNAL_NONE when none. */
enum live_signal live_signal_next(int signal_fd);

/* The wall clock, in microseconds since the epoch (the kernel stamps
 * packets with the same clock). */
kw_usec live_now(void);

/* Waits until the capture has packets, a signal is pending, or timeout_ms
 * have passed. */
void live_wait(int capture_fd, int signal_fd, int timeout_ms);

/* -Z: runs on as `user` (its groups, then its group and user id), as
 * tcpdump does once its capture is open, first giving it the folder `own`
 * (NULL: none), which it will write to (--evidence). 0, or -1 with a
 * sentence in err. */
int live_drop_privileges(const char *user, const char *own, char *err, size_t err_size);

#endif
