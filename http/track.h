/* track.h: the connection tracker. It receives reassembled bytes (it is a
 * kw_reasm_sink), runs a request and a response decoder per connection,
 * pairs requests with responses in order, and hands each transaction and
 * each connection's end to its consumers (http/txn.h). */
#ifndef KW_TRACK_H
#define KW_TRACK_H

#include <stdint.h>

#include "common/stats.h"
#include "http/txn.h"
#include "reassembly/reasm.h"

struct kw_track;

#define KW_PIPELINE_MAX 32 /* outstanding requests kept per connection */

struct kw_track *kw_track_new(uint32_t head_max, struct kw_stats *stats);
void kw_track_free(struct kw_track *t);

/* Adds a consumer of the tracker's events, before the first packet. The
 * tracker keeps the pointer (the consumer lives as long as the tracker) and
 * sets consumer->slot. Returns -1 when KW_CONSUMERS_MAX are subscribed. */
int kw_track_subscribe(struct kw_track *t, struct kw_txn_consumer *consumer);

/* The tracker as the reassembler's sink; valid as long as the tracker. */
const struct kw_reasm_sink *kw_track_reasm_sink(struct kw_track *t);

#endif
