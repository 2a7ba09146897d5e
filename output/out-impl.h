/* out-impl.h: what the text and JSON writers share. Only output/ includes it. */
#ifndef KW_OUT_IMPL_H
#define KW_OUT_IMPL_H

#include "output/buf.h"
#include "output/out.h"

struct kw_out {
    enum kw_out_format format;
    FILE *f;
    struct kw_buf buf; /* one event is formatted here, then written */
    struct kw_track_sink sink;
    struct kw_rules_sink rules_sink;
    int64_t iso_sec;            /* the second whose date and time iso_prefix holds */
    char iso_prefix[KW_ISO8601_LEN];
};

/* kw_time_iso8601, with the date and time of the last second cached: events
 * come in time order, so most share it. */
size_t kw_out_iso8601(struct kw_out *o, kw_usec ts, char out[KW_ISO8601_LEN]);

void kw_buf_endpoint_ip(struct kw_buf *b, const struct kw_endpoint *e);
const char *kw_close_name(enum kw_close c);
const char *kw_side_name(enum kw_side s);
const char *kw_framing_name(enum kw_framing f);

void kw_json_txn(void *ctx, struct kw_conn_info *c, const struct kw_txn *t);
void kw_json_end(void *ctx, struct kw_conn_info *c, const struct kw_conn_end *e);
void kw_json_stats(struct kw_out *o, const struct kw_stats *st, kw_usec ts);

void kw_text_txn(void *ctx, struct kw_conn_info *c, const struct kw_txn *t);
void kw_text_fin(void *ctx, struct kw_conn_info *c, enum kw_side who, kw_usec ts);
void kw_text_end(void *ctx, struct kw_conn_info *c, const struct kw_conn_end *e);
void kw_json_finding(void *ctx, struct kw_conn_info *c, const struct kw_finding *f);
void kw_json_server(void *ctx, const struct kw_server_policy *p);
void kw_text_finding(void *ctx, struct kw_conn_info *c, const struct kw_finding *f);
void kw_text_server(void *ctx, const struct kw_server_policy *p);

void kw_text_stats(struct kw_out *o, const struct kw_stats *st, kw_usec ts);

#endif
