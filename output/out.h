/* out.h: the report, as readable text or JSON lines. */
#ifndef KW_OUT_H
#define KW_OUT_H

#include <stdio.h>

#include "common/stats.h"
#include "common/time.h"
#include "http/track.h"
#include "rules/rules.h"

struct kw_out;

enum kw_out_format { KW_OUT_TEXT, KW_OUT_JSON };

/* Writes to `f`, which the caller keeps open until kw_out_free(). */
struct kw_out *kw_out_new(enum kw_out_format format, FILE *f);

/* The output as the tracker's sink; valid as long as the output. */
const struct kw_track_sink *kw_out_sink(struct kw_out *o);

/* The output as the rule engine's sink for findings and server policies. */
const struct kw_rules_sink *kw_out_rules_sink(struct kw_out *o);

/* The closing totals; `ts` is the time of the last packet. */
void kw_out_stats(struct kw_out *o, const struct kw_stats *st, kw_usec ts);

void kw_out_free(struct kw_out *o);

#endif
