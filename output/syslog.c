/* syslog.c: findings to syslog (--syslog), for operators whose alerting reads
 * syslog or the journal: one message per finding at or above the chosen
 * severity, with its rule id first, as key=value pairs a log pipeline can
 * split, wire bytes escaped as the text report escapes them. */
#include <syslog.h>

#include "output/community_id.h"
#include "output/escape.h"
#include "output/out-impl.h"

static int priority_of(enum kw_severity s)
{
    return s == KW_SEV_ERROR ? LOG_ERR : s == KW_SEV_WARNING ? LOG_WARNING : LOG_NOTICE;
}

static void syslog_finding(struct kw_out *o, void *conn, struct kw_conn_info *c,
                           const struct kw_finding *f)
{
    (void)conn;
    if ((int)f->severity < o->opts.syslog_level)
        return;
    bool *opened = o->state;
    if (!*opened) {
        openlog("keepwatch", LOG_PID | LOG_NDELAY, LOG_DAEMON);
        *opened = true;
    }
    struct kw_buf *b = &o->buf;
    b->len = 0;
    kw_buf_printf(b, "rule=%s severity=%s side=%s server=", kw_rule_name(f->rule),
                  kw_severity_name(f->severity), out_side_name(f->side));
    out_endpoint(b, c ? &c->key.server : &f->server);
    if (c) {
        char id[KW_COMMUNITY_ID_LEN];
        kw_buf_puts(b, " client=");
        out_endpoint(b, &c->key.client);
        kw_community_id(&c->key, o->opts.community_id_seed, id);
        kw_buf_printf(b, " conn=%llu community_id=%s", (unsigned long long)c->id, id);
    }
    if (f->request)
        kw_buf_printf(b, " request=%u", f->request);
    kw_buf_puts(b, " message=\"");
    out_message(o, b, f->message, &f->request_line, kw_buf_text);
    kw_buf_puts(b, "\"");
    kw_buf_put(b, "", 1); /* the NUL syslog() reads to */
    syslog(priority_of(f->severity), "%s", b->p);
    b->len = 0;
}

static void syslog_state_release(void *state)
{
    if (*(bool *)state)
        closelog();
}

const struct out_format out_format_syslog = {
    .name = "syslog",
    .state_size = sizeof(bool),
    .state_release = syslog_state_release,
    .finding = syslog_finding,
};
