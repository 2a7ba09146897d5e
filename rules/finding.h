/* finding.h: what the rule engine says, the value types of output/: findings
 * with typed evidence, and each server's policy. Nothing here is formatted
 * or escaped: wire bytes are carried raw, and output/ alone turns them into
 * text or JSON. */
#ifndef KW_RULES_FINDING_H
#define KW_RULES_FINDING_H

#include <stdbool.h>
#include <stdint.h>

#include "common/flow.h"
#include "common/time.h"
#include "http/txn.h"
#include "rules/table.h"

/* "GET /path" as it came off the wire: a bounded copy, never escaped. */
#define KW_LINE_MAX 96
struct kw_line {
    uint8_t bytes[KW_LINE_MAX];
    uint8_t len;
    bool cut; /* longer on the wire than kept */
};

enum kw_evidence_kind {
    KW_EV_COUNT,       /* .count */
    KW_EV_SECONDS,     /* .seconds: a duration */
    KW_EV_FLAG,        /* .flag */
    KW_EV_FRAMES,      /* .frames: frame numbers, ascending, no repeats */
    KW_EV_TEXT,        /* .text: bytes, from the wire or our own words */
    KW_EV_CONN_FILTER, /* no value: a display filter for the finding's connection */
};

#define KW_EVIDENCE_MAX 16
#define KW_EVIDENCE_FRAMES_MAX 8
#define KW_EVIDENCE_TEXT_MAX 128

/* One piece of evidence: a name (the JSON key; a literal) and a typed value.
 * `known` false: the value depended on something the capture lacks (null). */
struct kw_evidence {
    const char *name;
    enum kw_evidence_kind kind;
    bool known;
    union {
        int64_t count;
        kw_usec seconds;
        bool flag;
        struct {
            uint64_t number[KW_EVIDENCE_FRAMES_MAX];
            uint8_t n;
        } frames;
        struct {
            uint8_t bytes[KW_EVIDENCE_TEXT_MAX];
            uint8_t len;
            bool cut;      /* longer than kept */
            bool has_uri;  /* a request line or URI: its query may be redacted */
        } text;
    } v;
};

/* Where a message quotes the request line: output/ puts request_line there,
 * escaped as its format needs. */
#define KW_MESSAGE_LINE "{line}"

struct kw_finding {
    enum kw_rule rule;
    enum kw_severity severity;
    enum kw_side side;       /* who broke the rule */
    uint32_t request;        /* the exchange it concerns; 0: none */
    kw_usec ts;              /* when it happened */
    struct kw_endpoint server; /* for findings about a server as a whole (no connection) */
    char message[384];       /* one sentence a person can act on, in our own words (ASCII) */
    struct kw_line request_line; /* what KW_MESSAGE_LINE stands for */
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

/* A consumer of findings and server policies (each output). Called from
 * inside the engine; pointers are valid only until the call returns. */
struct kw_finding_consumer {
    void *ctx;
    void (*on_finding)(void *ctx, struct kw_conn_info *c, const struct kw_finding *f); /* c: NULL
                                                                   for a server as a whole */
    void (*on_server)(void *ctx, const struct kw_server_policy *p);
};

#endif
