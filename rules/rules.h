/* rules.h: the rule engine. It sits between the tracker and the output: it
 * sees every transaction and connection end, says which persistence rule was
 * broken, by whom, with the evidence, and infers each server's keep-alive
 * policy. Time comes only from the events (capture time). */
#ifndef KW_RULES_H
#define KW_RULES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/flow.h"
#include "common/time.h"
#include "http/track.h"

struct kw_rules;

enum kw_severity { KW_SEV_NOTICE = 0, KW_SEV_WARNING, KW_SEV_ERROR };

/* Rule ids are a public contract: the names in kw_rule_name() never change. */
#define KW_RULES(X)                                                          \
    X(UNANNOUNCED_CLOSE, "unannounced-close", KW_SEV_WARNING)                \
    X(AMBIGUOUS_PERSISTENCE, "ambiguous-persistence", KW_SEV_NOTICE)         \
    X(LOST_REQUEST, "lost-request", KW_SEV_ERROR)                            \
    X(REQUEST_AFTER_CLOSE, "request-after-close", KW_SEV_WARNING)            \
    X(CLOSE_IGNORED, "close-ignored", KW_SEV_WARNING)                        \
    X(IDLE_TIMEOUT_EARLY, "idle-timeout-early", KW_SEV_WARNING)              \
    X(MAX_EXCEEDED, "max-exceeded", KW_SEV_NOTICE)                           \
    X(UNFRAMED_RESPONSE, "unframed-response", KW_SEV_WARNING)                \
    X(CHUNKED_TO_HTTP10, "chunked-to-http10", KW_SEV_ERROR)                  \
    X(CONFLICTING_FRAMING, "conflicting-framing", KW_SEV_ERROR)              \
    X(KEEPALIVE_HEADER_UNLISTED, "keepalive-header-unlisted", KW_SEV_NOTICE) \
    X(ABORTIVE_CLOSE, "abortive-close", KW_SEV_WARNING)                      \
    X(POLICY_MISMATCH, "policy-mismatch", KW_SEV_WARNING)                    \
    X(IDLE_RACE, "idle-race", KW_SEV_WARNING)

enum kw_rule {
#define KW_RULE_ENUM(id, name, sev) KW_RULE_##id,
    KW_RULES(KW_RULE_ENUM)
#undef KW_RULE_ENUM
    KW_RULE_COUNT
};

const char *kw_rule_name(enum kw_rule r);
const char *kw_rule_reference(enum kw_rule r);
enum kw_severity kw_rule_default_severity(enum kw_rule r);
const char *kw_severity_name(enum kw_severity s);
bool kw_rule_by_name(const char *name, size_t len, enum kw_rule *r);
bool kw_severity_by_name(const char *name, size_t len, enum kw_severity *s);

/* One piece of evidence: a name and a value, already formatted as JSON
 * (a number, true/false, null, or a quoted and escaped string). */
#define KW_EVIDENCE_MAX 16
struct kw_evidence {
    const char *name;
    char json[192];
};

struct kw_finding {
    enum kw_rule rule;
    enum kw_severity severity;
    enum kw_side side;       /* who broke the rule */
    uint32_t request;        /* the exchange it concerns; 0: none */
    kw_usec ts;              /* when it happened */
    struct kw_endpoint server; /* for findings about a server as a whole (no connection) */
    char message[384];       /* one sentence a person can act on; wire bytes already escaped */
    struct kw_evidence evidence[KW_EVIDENCE_MAX];
    int n_evidence;
};

/* What keepwatch concluded about one server (address and port). */
struct kw_server_policy {
    kw_usec ts;              /* when it was concluded: the end of the input */
    struct kw_endpoint server;
    const uint8_t *software; /* most frequent Server header (wire bytes), or NULL */
    uint16_t software_len;
    uint64_t connections, requests;
    int announces_close;          /* 1, 0, or -1: made no policy close */
    int honors_http10_keepalive;  /* 1, 0, or -1: never asked */
    int64_t advertised_timeout_s; /* -1: never advertised */
    int64_t advertised_max;       /* -1: never advertised */
    int64_t observed_max_requests;/* -1: no policy closes, or they disagree */
    int64_t close_announced_after;/* requests after which it sends close unasked; -1 */
    kw_usec observed_idle_timeout;/* KW_TS_NONE: no idle close seen */
    kw_usec longest_idle_reuse;   /* KW_TS_NONE: no reuse after an idle gap */
    uint64_t idle_closes, max_closes, lost_to_idle;
    bool racing;                  /* clients reuse connections close to its idle timeout */
    uint64_t findings[KW_RULE_COUNT];
};

/* Where findings and server policies go, beside the tracker's events, which
 * the engine passes on unchanged to `next`. */
struct kw_rules_sink {
    void *ctx;
    void (*on_finding)(void *ctx, struct kw_conn_info *c, const struct kw_finding *f); /* c: NULL
                                                                   for a server as a whole */
    void (*on_server)(void *ctx, const struct kw_server_policy *p);
};

/* --- configuration ---------------------------------------------------- */

#define KW_GRACE_DEFAULT_MS 1000

struct kw_rules_config;

struct kw_rules_config *kw_rules_config_new(void);
void kw_rules_config_free(struct kw_rules_config *cfg);

/* Reads a rules file (docs/rules.md says its format). On error returns -1
 * with "FILE:LINE: what is wrong" in err. */
int kw_rules_config_load(struct kw_rules_config *cfg, const char *path, char *err, size_t errlen);

/* The same settings as options: "grace 1.5", "disable RULE", "severity RULE LEVEL",
 * "suppress server|client ADDR[/BITS][:PORT]", "expect server ADDR:PORT KEY VALUE...".
 * On error returns -1 with a sentence in err. */
int kw_rules_config_line(struct kw_rules_config *cfg, const char *line, char *err, size_t errlen);

/* --- the engine ------------------------------------------------------- */

struct kw_rules *kw_rules_new(const struct kw_rules_config *cfg, const struct kw_track_sink *next,
                              const struct kw_rules_sink *sink);
void kw_rules_free(struct kw_rules *r);

/* The engine as the tracker's sink; valid as long as the engine. */
const struct kw_track_sink *kw_rules_track_sink(struct kw_rules *r);

/* End of input at `ts`: server policies, policy-mismatch findings. */
void kw_rules_finish(struct kw_rules *r, kw_usec ts);

/* The highest severity of any finding so far, or -1. */
int kw_rules_worst(const struct kw_rules *r);

/* Servers beyond the table's bound, not described. */
uint64_t kw_rules_servers_untracked(const struct kw_rules *r);

#endif
