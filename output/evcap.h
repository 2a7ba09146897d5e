/* evcap.h: evidence captures (--evidence). A consumer of the tracker and of
 * the rule engine, like an output: it keeps the connections that had a
 * finding at or above a severity (at most KW_EVCAP_CONNS_MAX, worst first:
 * severity, then number of findings; the rest counted), hands them to
 * capture/ after the run as jobs to copy out of the inputs, then writes the
 * index of the files. It keeps no packet: only, per connection kept, its
 * addresses, start, end frame, rules and the findings' frames. */
#ifndef KW_EVCAP_H
#define KW_EVCAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/extract_job.h"
#include "output/out.h"

#define KW_EVCAP_CONNS_MAX 1000

struct kw_evcap;

/* Files go into `dir` (made by the caller; the pointer is kept); findings at
 * `level` or above count. `opts` as for outputs (the index uses the
 * Community ID's seed). NULL when out of memory. */
struct kw_evcap *kw_evcap_new(const char *dir, enum kw_severity level,
                              const struct kw_out_options *opts);

/* The consumers to subscribe (after the outputs, before the rule engine, as
 * an output is); valid as long as the object. */
struct kw_txn_consumer *kw_evcap_txn_consumer(struct kw_evcap *e);
const struct kw_finding_consumer *kw_evcap_finding_consumer(struct kw_evcap *e);

/* After the run: one job per connection kept, in the order of the
 * connections, each named after its connection and rules; for kw_extract().
 * Valid until kw_evcap_free(); NULL and *n 0 when there is none. Out of
 * memory exits with status 2, as the outputs do. */
struct kw_extract_job *kw_evcap_jobs(struct kw_evcap *e, size_t *n);

/* Connections with a finding at the level that were not kept (past the bound). */
uint64_t kw_evcap_not_kept(const struct kw_evcap *e);

/* After kw_extract(): the index, one JSON object per file, to `f`. */
void kw_evcap_index(struct kw_evcap *e, FILE *f);

void kw_evcap_free(struct kw_evcap *e);

#endif
