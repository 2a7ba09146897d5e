/* table.h: the one table of rules. Each row: the rule's enum id, the symbol of
 * its checks (rules/<file>.c defines `rule_<symbol>`), its public name, its
 * default severity, the side that breaks it (KW_SIDE_NONE: either, the
 * finding says which) and the RFC section it rests on.
 *
 * Rule names are a public contract: never renamed. New rules go at the end,
 * so that the order of every list keyed by rule (the JSON `findings` of a
 * server) stays the same. Adding a rule is one row here and one file in
 * rules/ defining its checks (docs/rules.md says how). */
#ifndef KW_RULES_TABLE_H
#define KW_RULES_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/flow.h"

enum kw_severity { KW_SEV_NOTICE = 0, KW_SEV_WARNING, KW_SEV_ERROR };

#define KW_RULES(X)                                                                        \
    X(UNANNOUNCED_CLOSE, unannounced_close, "unannounced-close", KW_SEV_WARNING,          \
      KW_SIDE_SERVER, "RFC 2616 8.1.2.1; RFC 7230 6.6")                                    \
    X(AMBIGUOUS_PERSISTENCE, ambiguous_persistence, "ambiguous-persistence",              \
      KW_SEV_NOTICE, KW_SIDE_SERVER, "RFC 2616 8.1.2.1, 19.6.2; RFC 2068 19.7.1")          \
    X(LOST_REQUEST, lost_request, "lost-request", KW_SEV_ERROR, KW_SIDE_NONE,             \
      "RFC 2616 8.1.4")                                                                    \
    X(REQUEST_AFTER_CLOSE, request_after_close, "request-after-close", KW_SEV_WARNING,    \
      KW_SIDE_CLIENT, "RFC 2616 8.1.2.1")                                                  \
    X(CLOSE_IGNORED, close_ignored, "close-ignored", KW_SEV_WARNING, KW_SIDE_SERVER,      \
      "RFC 2616 8.1.2.1")                                                                  \
    X(IDLE_TIMEOUT_EARLY, idle_timeout_early, "idle-timeout-early", KW_SEV_WARNING,       \
      KW_SIDE_SERVER, "draft-thomson-hybi-http-timeout section 2")                         \
    X(MAX_EXCEEDED, max_exceeded, "max-exceeded", KW_SEV_NOTICE, KW_SIDE_SERVER,          \
      "draft-thomson-hybi-http-timeout section 2")                                         \
    X(UNFRAMED_RESPONSE, unframed_response, "unframed-response", KW_SEV_WARNING,          \
      KW_SIDE_SERVER, "RFC 2616 4.4, 8.1.2")                                               \
    X(CHUNKED_TO_HTTP10, chunked_to_http10, "chunked-to-http10", KW_SEV_ERROR,            \
      KW_SIDE_SERVER, "RFC 2616 3.6; RFC 2068 19.7.1")                                     \
    X(CONFLICTING_FRAMING, conflicting_framing, "conflicting-framing", KW_SEV_ERROR,      \
      KW_SIDE_NONE, "RFC 7230 3.3.3; RFC 2616 4.4")                                        \
    X(KEEPALIVE_HEADER_UNLISTED, keepalive_header_unlisted, "keepalive-header-unlisted",  \
      KW_SEV_NOTICE, KW_SIDE_NONE, "RFC 2068 19.7.1.1")                                    \
    X(ABORTIVE_CLOSE, abortive_close, "abortive-close", KW_SEV_WARNING, KW_SIDE_SERVER,   \
      "RFC 7230 6.6")                                                                      \
    X(POLICY_MISMATCH, policy_mismatch, "policy-mismatch", KW_SEV_WARNING, KW_SIDE_SERVER, \
      "keepwatch")                                                                         \
    X(IDLE_RACE, idle_race, "idle-race", KW_SEV_WARNING, KW_SIDE_SERVER, "RFC 2616 8.1.4")    \
    X(EXPECTATION_UNMET, expectation_unmet, "expectation-unmet", KW_SEV_WARNING,          \
      KW_SIDE_SERVER, "keepwatch")

enum kw_rule {
#define KW_RULE_ENUM(id, symbol, name, severity, side, reference) KW_RULE_##id,
    KW_RULES(KW_RULE_ENUM)
#undef KW_RULE_ENUM
    KW_RULE_COUNT
};

const char *kw_rule_name(enum kw_rule r);
const char *kw_rule_reference(enum kw_rule r);
enum kw_severity kw_rule_default_severity(enum kw_rule r);
enum kw_side kw_rule_side(enum kw_rule r); /* KW_SIDE_NONE: either */
bool kw_rule_by_name(const char *name, size_t len, enum kw_rule *r);

const char *kw_severity_name(enum kw_severity s);
bool kw_severity_by_name(const char *name, size_t len, enum kw_severity *s);

#endif
