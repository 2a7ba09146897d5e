/* config-impl.h: the rule configuration's body, shared by config.c (which
 * reads it) and engine.c (which applies it). Nothing outside rules/ includes it. */
#ifndef KW_RULES_CONFIG_IMPL_H
#define KW_RULES_CONFIG_IMPL_H

#include "rules/rules.h"

/* Findings for endpoints that match are dropped. */
struct kw_suppress {
    enum kw_side side;      /* which endpoint to match: client or server */
    bool any_addr;
    uint8_t family;
    uint8_t addr[16];
    int bits;               /* prefix length */
    int port;               /* -1: any */
    int rule;               /* -1: every rule */
};

/* What the user says a server does, for policy-mismatch. */
struct kw_expect {
    struct kw_endpoint server;
    int64_t max_requests;   /* -1: not said */
    kw_usec idle_timeout;   /* KW_TS_NONE: not said */
    int announces_close;    /* -1: not said */
};

#define KW_SUPPRESS_MAX 1024
#define KW_EXPECT_MAX 1024

struct kw_rules_config {
    kw_usec grace;
    bool enabled[KW_RULE_COUNT];
    enum kw_severity severity[KW_RULE_COUNT];
    struct kw_suppress *suppress;
    size_t n_suppress;
    struct kw_expect *expect;
    size_t n_expect;
};

bool kw_suppressed(const struct kw_rules_config *cfg, enum kw_rule rule,
                   const struct kw_endpoint *client, const struct kw_endpoint *server);

#endif
