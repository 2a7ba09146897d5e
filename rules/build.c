/* build.c: the finding builders every rule shares. A finding is built in the
 * engine's one buffer, typed and raw (rules/finding.h); output/ formats it. */
#include "rules/rules-impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct kw_finding *finding_begin(struct kw_rules *r, enum kw_rule rule, uint32_t request,
                                 kw_usec ts)
{
    if (!r->cfg->enabled[rule])
        return NULL;
    struct kw_finding *f = &r->finding;
    memset(f, 0, sizeof(*f));
    f->rule = rule;
    f->severity = r->cfg->severity[rule];
    f->side = kw_rule_side(rule);
    f->request = request;
    f->ts = ts;
    return f;
}

void finding_message(struct kw_finding *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof(f->message), fmt, ap);
    va_end(ap);
}

void finding_quote(struct kw_finding *f, const struct kw_line *line)
{
    f->request_line = *line;
}

/* The next evidence slot, named; NULL when all are taken. */
static struct kw_evidence *evidence_add(struct kw_finding *f, const char *name,
                                        enum kw_evidence_kind kind, bool known)
{
    if (f->n_evidence == KW_EVIDENCE_MAX)
        return NULL;
    struct kw_evidence *e = &f->evidence[f->n_evidence++];
    e->name = name;
    e->kind = kind;
    e->known = known;
    return e;
}

void evidence_count(struct kw_finding *f, const char *name, int64_t v)
{
    struct kw_evidence *e = evidence_add(f, name, KW_EV_COUNT, v >= 0);
    if (e)
        e->v.count = v;
}

void evidence_seconds(struct kw_finding *f, const char *name, kw_usec d)
{
    struct kw_evidence *e = evidence_add(f, name, KW_EV_SECONDS, d != KW_TS_NONE);
    if (e)
        e->v.seconds = d;
}

void evidence_flag(struct kw_finding *f, const char *name, bool v)
{
    struct kw_evidence *e = evidence_add(f, name, KW_EV_FLAG, true);
    if (e)
        e->v.flag = v;
}

/* Bytes, cut to KW_EVIDENCE_TEXT_MAX; the evidence, or NULL when none is left. */
static struct kw_evidence *evidence_bytes(struct kw_finding *f, const char *name,
                                          const uint8_t *p, size_t n, bool cut)
{
    struct kw_evidence *e = evidence_add(f, name, KW_EV_TEXT, p != NULL);
    if (!e || !p)
        return e;
    size_t k = n < KW_EVIDENCE_TEXT_MAX ? n : KW_EVIDENCE_TEXT_MAX;
    memcpy(e->v.text.bytes, p, k);
    e->v.text.len = (uint8_t)k;
    e->v.text.cut = cut || k < n;
    return e;
}

void evidence_word(struct kw_finding *f, const char *name, const char *w)
{
    evidence_bytes(f, name, (const uint8_t *)w, w ? strlen(w) : 0, false);
}

void evidence_line(struct kw_finding *f, const char *name, const struct kw_line *line)
{
    struct kw_evidence *e = evidence_bytes(f, name, line->bytes, line->len, line->cut);
    if (e)
        e->v.text.has_uri = true;
}

void evidence_frames(struct kw_finding *f, const uint64_t *frames, int n)
{
    struct kw_evidence *e = evidence_add(f, "frames", KW_EV_FRAMES, true);
    if (!e)
        return;
    uint64_t *sorted = e->v.frames.number;
    int k = 0;
    for (int i = 0; i < n && k < KW_EVIDENCE_FRAMES_MAX; i++) {
        if (!frames[i])
            continue;
        int j = k;
        while (j > 0 && sorted[j - 1] > frames[i])
            j--;
        if (j > 0 && sorted[j - 1] == frames[i])
            continue; /* a repeat */
        memmove(sorted + j + 1, sorted + j, (size_t)(k - j) * sizeof(*sorted));
        sorted[j] = frames[i];
        k++;
    }
    e->v.frames.n = (uint8_t)k;
}

void finding_emit(struct kw_rules *r, struct kw_conn_info *c, struct server *srv,
                  struct kw_finding *f)
{
    if (!f)
        return;
    if (c ? config_suppresses(r->cfg, f->rule, &c->key.client, &c->key.server)
          : config_suppresses(r->cfg, f->rule, NULL, &f->server))
        return;
    if (c)
        evidence_add(f, "wireshark_filter", KW_EV_CONN_FILTER, true);
    evidence_seconds(f, "grace_s", r->cfg->grace);
    if (srv)
        server_count_finding(srv, f->rule);
    if ((int)f->severity > r->worst)
        r->worst = (int)f->severity;
    for (unsigned i = 0; i < r->n_consumers; i++)
        if (r->consumers[i]->on_finding)
            r->consumers[i]->on_finding(r->consumers[i]->ctx, c, f);
}

void line_of_txn(struct kw_line *l, const struct kw_txn *t)
{
    size_t m = t->method.len < KW_LINE_MAX - 1 ? t->method.len : KW_LINE_MAX - 1;
    memcpy(l->bytes, t->method.p, m);
    l->bytes[m] = ' ';
    size_t room = KW_LINE_MAX - m - 1, u = t->uri.len < room ? t->uri.len : room;
    memcpy(l->bytes + m + 1, t->uri.p, u);
    l->len = (uint8_t)(m + 1 + u);
    l->cut = t->uri.truncated || u < t->uri.len;
}

void duration_words(char out[KW_DURATION_LEN], kw_usec d)
{
    if (d == KW_TS_NONE)
        snprintf(out, KW_DURATION_LEN, "an unknown time");
    else
        kw_time_human(d, out);
}
