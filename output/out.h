/* out.h: the report. An output writes the tracker's transactions and
 * connection ends, the rule engine's findings and server policies, and the
 * closing totals, in one format, to one stream. Several outputs can run at
 * once (text on standard output, JSON to a file). */
#ifndef KW_OUT_H
#define KW_OUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/frames.h"
#include "common/stats.h"
#include "common/time.h"
#include "http/txn.h"
#include "rules/finding.h"

struct kw_out;

/* The kinds of events, for choosing which a JSON output writes. */
#define KW_EVENT_TRANSACTION 0x01
#define KW_EVENT_CONNECTION 0x02
#define KW_EVENT_ALERT 0x04
#define KW_EVENT_SERVER 0x08
#define KW_EVENT_STATS 0x10
#define KW_EVENT_ALL 0x1f

/* How outputs write; zeroed means the defaults. */
struct kw_out_options {
    uint16_t community_id_seed; /* Community ID v1 seed (JSON `community_id`) */
    bool local_time;            /* text: times in the local time zone, not UTC */
    bool redact_uri_query;      /* URIs cut after their '?' in every output */
    unsigned events;            /* JSON: KW_EVENT_* written; 0: all */
    const char *sensor;         /* JSON `sensor` on every event; NULL: none */
    bool quiet;                 /* text: only findings, server paragraphs and totals */
    bool color;                 /* text: severities in colour (a terminal's escape codes) */
    unsigned width;             /* text: lines wrapped to this many columns; 0: never */
    int syslog_level;           /* syslog: the least severity sent (enum kw_severity) */
    bool stream;                /* each event written and flushed when it happens, as whole
                                 * lines (live capture, a pipe, -l); text: a line at a time,
                                 * each led by its connection's #id */
    const struct kw_frame_files *frames; /* the files the run's frames are in (several -r,
                                          * or -w live): findings name each frame's file
                                          * and its number there; NULL: none */
};

/* Writes to `f` from now on (the caller closes the old stream): SIGHUP after
 * a log rotation. */
void kw_out_redirect(struct kw_out *o, FILE *f);

/* "alert,server" to KW_EVENT_* bits; -1 naming no kind or an unknown one. */
int kw_out_events_parse(const char *list, unsigned *events);

/* An output in format `format` ("text", "json", "syslog", "html";
 * kw_out_formats() lists them) writing to `f` (NULL for syslog), which the
 * caller keeps open until kw_out_free().
 * `opts` is copied; NULL: the defaults. NULL for an unknown format or no
 * memory. */
struct kw_out *kw_out_new(const char *format, FILE *f, const struct kw_out_options *opts);

/* The format names, comma-separated, for messages. */
const char *kw_out_formats(void);

/* The output as a consumer of the tracker's events and of the engine's
 * findings; valid as long as the output. */
struct kw_txn_consumer *kw_out_txn_consumer(struct kw_out *o);
const struct kw_finding_consumer *kw_out_finding_consumer(struct kw_out *o);

/* The closing totals; `ts` is the time of the last packet. Flushes the stream. */
void kw_out_stats(struct kw_out *o, const struct kw_stats *st, kw_usec ts);

void kw_out_free(struct kw_out *o);

#endif
