/* time.h: the one time type. Capture time travels with every event; nothing
 * below main reads the system clock. */
#ifndef KW_TIME_H
#define KW_TIME_H

#include <stdint.h>
#include <stddef.h>

/* Microseconds since the Unix epoch, UTC. */
typedef int64_t kw_usec;

/* "Not seen": a time that has not happened (no response yet, no FIN). */
#define KW_TS_NONE INT64_MIN

#define KW_USEC_PER_SEC 1000000

/* ISO 8601 UTC with microseconds: "2026-11-21T22:41:56.123456Z".
 * Writes at most KW_ISO8601_LEN bytes including the NUL; returns the length. */
#define KW_ISO8601_LEN 40
size_t kw_time_iso8601(kw_usec t, char out[KW_ISO8601_LEN]);

/* The same in the local time zone, with its offset: "2026-11-21T23:41:56.123456+01:00". */
size_t kw_time_iso8601_local(kw_usec t, char out[KW_ISO8601_LEN]);

#define KW_DURATION_LEN 32

/* A duration in seconds with its microseconds, exactly: "3.004217", "-0.000100".
 * Without printf: JSON writes a few per transaction. Returns the length. */
size_t kw_time_secs(kw_usec d, char out[KW_DURATION_LEN]);

/* A duration for people: "0.2 ms" under a second, "3.004 s" from one. */
size_t kw_time_human(kw_usec d, char out[KW_DURATION_LEN]);

#endif
