/* rules.h: the rule engine. It consumes the tracker's transactions and
 * connection ends, says which persistence rule was broken, by whom, with the
 * evidence (rules/finding.h), and infers each server's keep-alive policy.
 * Time comes only from the events (capture time). */
#ifndef KW_RULES_H
#define KW_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/time.h"
#include "http/txn.h"
#include "rules/finding.h"

struct kw_rules;

/* --- configuration ---------------------------------------------------- */

#define KW_GRACE_DEFAULT_MS 1000

struct kw_rules_config;

struct kw_rules_config *kw_rules_config_new(void);
void kw_rules_config_free(struct kw_rules_config *cfg);

/* Reads a rules file (docs/rules.md says its format). On error returns -1
 * with "FILE:LINE: what is wrong" in err. */
int kw_rules_config_load(struct kw_rules_config *cfg, const char *path, char *err, size_t errlen);

/* One line of a rules file: "grace 1.5", "disable RULE", "enable RULE",
 * "severity RULE LEVEL", "suppress server|client ADDR[/BITS]|* [port PORT] [RULE]",
 * "expect server ADDR port PORT KEY VALUE...". On error returns -1 with a
 * sentence in err. */
int kw_rules_config_line(struct kw_rules_config *cfg, const char *line, char *err, size_t errlen);

/* --- the engine ------------------------------------------------------- */

/* `cfg` must outlive the engine. */
struct kw_rules *kw_rules_new(const struct kw_rules_config *cfg);
void kw_rules_free(struct kw_rules *r);

/* Hands every finding and server policy to `consumer` too (an output), in
 * the order they were added; the engine keeps the pointer. Returns -1 when
 * KW_CONSUMERS_MAX are added. */
int kw_rules_add_consumer(struct kw_rules *r, const struct kw_finding_consumer *consumer);

/* The engine as a consumer of the tracker's events; valid as long as the engine. */
struct kw_txn_consumer *kw_rules_txn_consumer(struct kw_rules *r);

/* Time has reached `now` (capture time offline, the clock live): the rules
 * that wait for time (close-ignored) fire for every open connection whose
 * deadline has passed. O(connections due). */
void kw_rules_tick(struct kw_rules *r, kw_usec now);

/* Every server's policy as it stands, for a periodic summary. */
void kw_rules_summary(struct kw_rules *r, kw_usec now);

/* End of input at `ts`: findings about servers as a whole, then each
 * server's policy. */
void kw_rules_finish(struct kw_rules *r, kw_usec ts);

/* The highest severity of any finding so far, or -1. */
int kw_rules_worst(const struct kw_rules *r);

/* The server table holds at most 65,536 servers (or `max`, set before the
 * first event). When it is full, the server idle the longest (no connection
 * open) is judged as at the end of input, its policy reported, and dropped
 * (evicted); when every server has a connection open, a new one is not
 * described (untracked). */
void kw_rules_set_max_servers(struct kw_rules *r, size_t max);
uint64_t kw_rules_servers_untracked(const struct kw_rules *r);
uint64_t kw_rules_servers_evicted(const struct kw_rules *r);

#endif
