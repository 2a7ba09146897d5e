/* evcap.c: which connections get an evidence capture, their file names, and
 * the index (evcap.h). */
#include "output/evcap.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "output/community_id.h"
#include "output/escape.h"
#include "output/out-impl.h"

_Static_assert(KW_RULE_COUNT <= 64, "a connection's rules are a 64-bit set");

#define NAME_RULES_MAX 160 /* bytes of rule names in a file name, then "+more" */

/* What a connection's findings at the level said so far: its record, made
 * at the first of them. */
struct ev_conn {
    uint64_t rules; /* bit per enum kw_rule */
    uint32_t n_findings;
    uint8_t worst;
    uint8_t n_marks;
    uint64_t marks[KW_EXTRACT_MARKS_MAX]; /* the findings' frames, ascending */
};

struct ev_kept {
    uint64_t id;
    struct kw_conn_key key;
    kw_usec start;
    uint64_t end_frame;
    struct ev_conn f;
};

struct kw_evcap {
    const char *dir;
    enum kw_severity level;
    struct kw_out_options opts;
    struct kw_txn_consumer txn;
    struct kw_finding_consumer findings;
    struct ev_kept *heap; /* the least bad on top, replaced by a worse one when full */
    size_t n;
    uint64_t not_kept;
    struct kw_extract_job *jobs;
    char **names;
};

static void *ev_alloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fputs("keepwatch: out of memory for the evidence captures\n", stderr);
        exit(2);
    }
    return p;
}

/* --- which connections ---------------------------------------------------- */

/* a ranks before b: worse severity, then more findings, then the earlier. */
static bool ranks_before(const struct ev_kept *a, const struct ev_kept *b)
{
    if (a->f.worst != b->f.worst)
        return a->f.worst > b->f.worst;
    if (a->f.n_findings != b->f.n_findings)
        return a->f.n_findings > b->f.n_findings;
    return a->id < b->id;
}

static void sift_down(struct ev_kept *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, last = i;
        if (l < n && ranks_before(&h[last], &h[l]))
            last = l;
        if (r < n && ranks_before(&h[last], &h[r]))
            last = r;
        if (last == i)
            return;
        struct ev_kept t = h[i];
        h[i] = h[last];
        h[last] = t;
        i = last;
    }
}

static void sift_up(struct ev_kept *h, size_t i)
{
    while (i) {
        size_t parent = (i - 1) / 2;
        if (!ranks_before(&h[parent], &h[i]))
            return;
        struct ev_kept t = h[i];
        h[i] = h[parent];
        h[parent] = t;
        i = parent;
    }
}

/* Keeps the connection among the KW_EVCAP_CONNS_MAX worst: O(log n). */
static void keep(struct kw_evcap *e, const struct ev_kept *k)
{
    if (e->n < KW_EVCAP_CONNS_MAX) {
        e->heap[e->n] = *k;
        sift_up(e->heap, e->n++);
        return;
    }
    e->not_kept++;
    if (!ranks_before(k, &e->heap[0]))
        return;
    e->heap[0] = *k;
    sift_down(e->heap, e->n, 0);
}

static void on_end(void *ctx, struct kw_conn_info *c, const struct kw_conn_end *end)
{
    struct kw_evcap *e = ctx;
    struct ev_conn *r = c->state[e->txn.slot];
    if (!r)
        return;
    struct ev_kept k = { c->id, c->key, c->start, end->end_frame, *r };
    keep(e, &k);
    free(r);
    c->state[e->txn.slot] = NULL;
}

static void add_mark(struct ev_conn *r, uint64_t frame)
{
    uint8_t j = 0;
    while (j < r->n_marks && r->marks[j] < frame)
        j++;
    if ((j < r->n_marks && r->marks[j] == frame) || r->n_marks == KW_EXTRACT_MARKS_MAX)
        return;
    memmove(r->marks + j + 1, r->marks + j, (r->n_marks - j) * sizeof(frame));
    r->marks[j] = frame;
    r->n_marks++;
}

static void on_finding(void *ctx, struct kw_conn_info *c, const struct kw_finding *f)
{
    struct kw_evcap *e = ctx;
    if (!c || f->severity < e->level)
        return; /* a server as a whole has no packets of its own */
    struct ev_conn *r = c->state[e->txn.slot];
    if (!r)
        r = c->state[e->txn.slot] = ev_alloc(1, sizeof(*r));
    r->rules |= 1ull << f->rule;
    if (!r->n_findings++ || f->severity > r->worst)
        r->worst = (uint8_t)f->severity;
    for (int i = 0; i < f->n_evidence; i++)
        if (f->evidence[i].kind == KW_EV_FRAMES && f->evidence[i].known)
            for (int k = 0; k < f->evidence[i].v.frames.n; k++)
                add_mark(r, f->evidence[i].v.frames.number[k]);
}

struct kw_evcap *kw_evcap_new(const char *dir, enum kw_severity level,
                              const struct kw_out_options *opts)
{
    struct kw_evcap *e = calloc(1, sizeof(*e));
    if (!e || !(e->heap = calloc(KW_EVCAP_CONNS_MAX, sizeof(*e->heap)))) {
        free(e);
        return NULL;
    }
    e->dir = dir;
    e->level = level;
    if (opts)
        e->opts = *opts;
    e->txn = (struct kw_txn_consumer){ .ctx = e, .on_end = on_end };
    e->findings = (struct kw_finding_consumer){ .ctx = e, .on_finding = on_finding };
    return e;
}

struct kw_txn_consumer *kw_evcap_txn_consumer(struct kw_evcap *e)
{
    return &e->txn;
}

const struct kw_finding_consumer *kw_evcap_finding_consumer(struct kw_evcap *e)
{
    return &e->findings;
}

uint64_t kw_evcap_not_kept(const struct kw_evcap *e)
{
    return e->not_kept;
}

/* --- the files ------------------------------------------------------------ */

static int by_conn(const void *a, const void *b)
{
    uint64_t x = ((const struct ev_kept *)a)->id, y = ((const struct ev_kept *)b)->id;
    return x < y ? -1 : x > y;
}

/* An address in a file name: IPv6's colons as dots. */
static void name_ip(struct kw_buf *b, const struct kw_endpoint *ep)
{
    size_t from = b->len;
    out_endpoint_ip(b, ep);
    for (size_t i = from; i < b->len; i++)
        if (b->p[i] == ':')
            b->p[i] = '.';
}

/* "conn-12_10.0.0.1_51234-10.0.0.2_8080_lost-request+idle-race.pcap" */
static char *file_name(const struct ev_kept *k)
{
    struct kw_buf b = { 0 };
    kw_buf_printf(&b, "conn-%" PRIu64 "_", k->id);
    name_ip(&b, &k->key.client);
    kw_buf_printf(&b, "_%u-", k->key.client.port);
    name_ip(&b, &k->key.server);
    kw_buf_printf(&b, "_%u", k->key.server.port);
    size_t rules_from = b.len;
    for (int r = 0; r < KW_RULE_COUNT; r++) {
        if (!(k->f.rules & (1ull << r)))
            continue;
        if (b.len - rules_from > NAME_RULES_MAX) {
            kw_buf_puts(&b, "+more");
            break;
        }
        kw_buf_printf(&b, "%s%s", b.len == rules_from ? "_" : "+", kw_rule_name((enum kw_rule)r));
    }
    kw_buf_puts(&b, ".pcap");
    kw_buf_put(&b, "", 1);
    return b.p;
}

struct kw_extract_job *kw_evcap_jobs(struct kw_evcap *e, size_t *n)
{
    *n = e->n;
    if (!e->n)
        return NULL;
    if (e->jobs)
        return e->jobs;
    qsort(e->heap, e->n, sizeof(e->heap[0]), by_conn);
    e->jobs = ev_alloc(e->n, sizeof(*e->jobs));
    e->names = ev_alloc(e->n, sizeof(*e->names));
    for (size_t i = 0; i < e->n; i++) {
        const struct ev_kept *k = &e->heap[i];
        struct kw_extract_job *j = &e->jobs[i];
        e->names[i] = file_name(k);
        size_t len = strlen(e->dir) + 1 + strlen(e->names[i]) + 1;
        char *path = ev_alloc(len, 1);
        snprintf(path, len, "%s/%s", e->dir, e->names[i]);
        j->path = path;
        j->key = k->key;
        j->start = k->start;
        j->end_frame = k->end_frame;
        j->n_marks = k->f.n_marks;
        memcpy(j->marks, k->f.marks, sizeof(j->marks));
    }
    return e->jobs;
}

/* "[3,5,7]"; with `zero_null`, a mark not in the file (0) as null. */
static void frame_list(struct kw_buf *b, const uint64_t *frames, uint8_t n, bool zero_null)
{
    kw_buf_put(b, "[", 1);
    for (uint8_t i = 0; i < n; i++) {
        if (i)
            kw_buf_put(b, ",", 1);
        if (zero_null && !frames[i])
            kw_buf_puts(b, "null");
        else
            kw_buf_u64(b, frames[i]);
    }
    kw_buf_put(b, "]", 1);
}

static void index_line(struct kw_evcap *e, struct kw_buf *b, size_t i)
{
    const struct ev_kept *k = &e->heap[i];
    const struct kw_extract_job *j = &e->jobs[i];
    char id[KW_COMMUNITY_ID_LEN];
    kw_community_id(&k->key, e->opts.community_id_seed, id);
    kw_buf_puts(b, "{\"file\":\"");
    kw_buf_json_str(b, (const uint8_t *)e->names[i], strlen(e->names[i]));
    kw_buf_printf(b, "\",\"conn\":%" PRIu64 ",\"community_id\":\"%s\",\"client_ip\":\"", k->id, id);
    out_endpoint_ip(b, &k->key.client);
    kw_buf_printf(b, "\",\"client_port\":%u,\"server_ip\":\"", k->key.client.port);
    out_endpoint_ip(b, &k->key.server);
    kw_buf_printf(b, "\",\"server_port\":%u,\"severity\":\"%s\",\"findings\":%u,\"rules\":[",
                  k->key.server.port, kw_severity_name((enum kw_severity)k->f.worst),
                  k->f.n_findings);
    for (int r = 0, any = 0; r < KW_RULE_COUNT; r++)
        if (k->f.rules & (1ull << r))
            kw_buf_printf(b, "%s\"%s\"", any++ ? "," : "", kw_rule_name((enum kw_rule)r));
    kw_buf_puts(b, "],\"frames\":");
    frame_list(b, k->f.marks, k->f.n_marks, false);
    kw_buf_puts(b, ",\"file_frames\":");
    frame_list(b, j->marks_at, j->n_marks, true);
    kw_buf_printf(b, ",\"packets\":%" PRIu64 ",\"first_frame\":%" PRIu64 ",\"last_frame\":%"
                     PRIu64 ",\"wireshark_filter\":\"",
                  j->packets, j->first_frame, j->last_frame);
    out_wireshark_filter(b, &k->key);
    kw_buf_puts(b, "\",\"file_filter\":\"frame.number in {");
    for (uint8_t m = 0, any = 0; m < j->n_marks; m++)
        if (j->marks_at[m])
            kw_buf_printf(b, "%s%" PRIu64, any++ ? ", " : "", j->marks_at[m]);
    kw_buf_printf(b, "}\",\"other_link_type_packets\":%" PRIu64 "}\n", j->other_linktype);
}

void kw_evcap_index(struct kw_evcap *e, FILE *f)
{
    struct kw_buf b = { 0 };
    size_t n;
    kw_evcap_jobs(e, &n);
    for (size_t i = 0; i < n; i++) {
        index_line(e, &b, i);
        kw_buf_write(&b, f);
    }
    kw_buf_free(&b);
}

void kw_evcap_free(struct kw_evcap *e)
{
    if (!e)
        return;
    for (size_t i = 0; e->jobs && i < e->n; i++) {
        free((char *)e->jobs[i].path);
        free(e->names[i]);
    }
    free(e->jobs);
    free(e->names);
    free(e->heap);
    free(e);
}
