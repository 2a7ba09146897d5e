/* extract.c: the inputs read again, each packet of a connection with a
 * finding copied to that connection's own pcap file (--evidence). */
#include "capture/extract.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "capture/link.h"
#include "common/cursor.h"

#define TCP_SYN 0x02
#define TCP_ACK 0x10
#define SNAPLEN_MAX 262144 /* libpcap's MAXIMUM_SNAPLEN: no capture holds longer packets */

enum phase { WAITING, WRITING, DONE };

struct job_state {
    pcap_dumper_t *dumper; /* NULL while closed */
    int linktype;          /* of its file; -1 before its first packet */
    enum phase phase;
    bool created;          /* its file holds a header: reopen to append */
    uint32_t next_mark;
    uint64_t used;         /* when it was last written: the least recent is closed first */
    uint32_t next1;        /* the next job in its bucket, + 1; 0: none */
};

struct extract {
    struct kw_extract_job *jobs;
    struct job_state *st;
    size_t n_jobs;
    uint32_t *buckets; /* first job of each bucket, + 1 */
    size_t mask;
    uint32_t open[KW_EXTRACT_OPEN_MAX]; /* jobs whose files are open */
    unsigned n_open;
    uint64_t clock;
    char *err;
};

/* A packet's TCP addresses, ports and flags. */
struct tcp_view {
    struct kw_endpoint src, dst;
    uint8_t flags;
};

static uint64_t endpoint_hash(const struct kw_endpoint *e)
{
    uint64_t h = 1469598103934665603ull ^ e->port ^ ((uint64_t)e->family << 16);
    for (int i = 0; i < 16; i++)
        h = (h ^ e->addr[i]) * 1099511628211ull;
    return h;
}

/* The same for both directions of a connection. */
static size_t tuple_bucket(const struct extract *x, const struct kw_endpoint *a,
                           const struct kw_endpoint *b)
{
    return (size_t)(endpoint_hash(a) ^ endpoint_hash(b)) & x->mask;
}

static bool endpoint_eq(const struct kw_endpoint *a, const struct kw_endpoint *b)
{
    return a->family == b->family && a->port == b->port && !memcmp(a->addr, b->addr, 16);
}

static bool tuple_is(const struct kw_conn_key *k, const struct tcp_view *t)
{
    return (endpoint_eq(&k->client, &t->src) && endpoint_eq(&k->server, &t->dst)) ||
           (endpoint_eq(&k->client, &t->dst) && endpoint_eq(&k->server, &t->src));
}

/* A decoded IP packet's TCP header, through the cursor. False for anything
 * else, a fragment, or a header cut short. */
static bool tcp_view_of(const struct kw_ip *ip, struct tcp_view *t)
{
    if (ip->protocol != 6 || ip->is_fragment || (ip->family != 4 && ip->family != 6))
        return false;
    size_t alen = ip->family == 4 ? 4 : 16;
    if (ip->src_addr.len != alen || ip->dst_addr.len != alen)
        return false;
    memset(t, 0, sizeof(*t));
    t->src.family = t->dst.family = ip->family;
    memcpy(t->src.addr, ip->src_addr.p, alen);
    memcpy(t->dst.addr, ip->dst_addr.p, alen);
    struct kw_cur c = kw_cur_make(ip->transport);
    return kw_cur_be16(&c, &t->src.port) && kw_cur_be16(&c, &t->dst.port) &&
           kw_cur_skip(&c, 9) && kw_cur_u8(&c, &t->flags); /* seq, ack, data offset */
}

/* --- the files ------------------------------------------------------------ */

static int close_file(struct extract *x, uint32_t j)
{
    struct job_state *s = &x->st[j];
    if (!s->dumper)
        return 0;
    int rc = pcap_dump_flush(s->dumper);
    pcap_dump_close(s->dumper);
    s->dumper = NULL;
    for (unsigned i = 0; i < x->n_open; i++)
        if (x->open[i] == j) {
            x->open[i] = x->open[--x->n_open];
            break;
        }
    if (rc < 0)
        snprintf(x->err, KW_EXTRACT_ERRBUF, "%s: cannot write: %s", x->jobs[j].path,
                 strerror(errno));
    return rc < 0 ? -1 : 0;
}

/* Opens the job's file: created at its first packet, appended to after it
 * was closed to make room. The least recently written file is closed when
 * KW_EXTRACT_OPEN_MAX are open. */
static int open_file(struct extract *x, uint32_t j)
{
    struct job_state *s = &x->st[j];
    if (x->n_open == KW_EXTRACT_OPEN_MAX) {
        unsigned lru = 0;
        for (unsigned i = 1; i < x->n_open; i++)
            if (x->st[x->open[i]].used < x->st[x->open[lru]].used)
                lru = i;
        if (close_file(x, x->open[lru]) < 0)
            return -1;
    }
    pcap_t *dead = pcap_open_dead_with_tstamp_precision(s->linktype, SNAPLEN_MAX,
                                                        PCAP_TSTAMP_PRECISION_NANO);
    if (!dead) {
        snprintf(x->err, KW_EXTRACT_ERRBUF, "%s: out of memory", x->jobs[j].path);
        return -1;
    }
    s->dumper = s->created ? pcap_dump_open_append(dead, x->jobs[j].path)
                           : pcap_dump_open(dead, x->jobs[j].path);
    if (!s->dumper)
        snprintf(x->err, KW_EXTRACT_ERRBUF, "%s: cannot write: %s", x->jobs[j].path,
                 pcap_geterr(dead));
    pcap_close(dead);
    if (!s->dumper)
        return -1;
    s->created = true;
    x->open[x->n_open++] = j;
    return 0;
}

/* A pure SYN at or before the start: the connection (again) begins here,
 * and what was written before it was an earlier attempt. */
static int restart(struct extract *x, uint32_t j)
{
    struct job_state *s = &x->st[j];
    struct kw_extract_job *job = &x->jobs[j];
    if (close_file(x, j) < 0)
        return -1;
    s->created = false; /* the next open empties the file */
    s->linktype = -1;
    s->next_mark = 0;
    s->phase = WRITING;
    job->packets = job->first_frame = job->last_frame = job->other_linktype = 0;
    memset(job->marks_at, 0, sizeof(job->marks_at));
    return 0;
}

static int write_packet(struct extract *x, uint32_t j, int linktype, const struct pcap_pkthdr *h,
                        const u_char *bytes, uint64_t frame)
{
    struct job_state *s = &x->st[j];
    struct kw_extract_job *job = &x->jobs[j];
    if (s->linktype < 0)
        s->linktype = linktype;
    if (linktype != s->linktype) { /* one link type per pcap file */
        job->other_linktype++;
        return 0;
    }
    if (!s->dumper && open_file(x, j) < 0)
        return -1;
    pcap_dump((u_char *)s->dumper, h, bytes);
    s->used = ++x->clock;
    job->packets++;
    if (!job->first_frame)
        job->first_frame = frame;
    job->last_frame = frame;
    while (s->next_mark < job->n_marks && job->marks[s->next_mark] < frame)
        s->next_mark++;
    if (s->next_mark < job->n_marks && job->marks[s->next_mark] == frame)
        job->marks_at[s->next_mark++] = job->packets;
    return 0;
}

/* --- the packets ---------------------------------------------------------- */

/* One packet of job j's addresses and ports. */
static int job_packet(struct extract *x, uint32_t j, const struct tcp_view *t, kw_usec ts,
                      int linktype, const struct pcap_pkthdr *h, const u_char *bytes,
                      uint64_t frame)
{
    struct job_state *s = &x->st[j];
    const struct kw_extract_job *job = &x->jobs[j];
    bool pure_syn = (t->flags & TCP_SYN) && !(t->flags & TCP_ACK);
    if (s->phase == DONE)
        return 0;
    if (job->end_frame && frame > job->end_frame) {
        s->phase = DONE;
        return close_file(x, j);
    }
    if (pure_syn && ts <= job->start) {
        if (restart(x, j) < 0)
            return -1;
    } else if (s->phase == WAITING) {
        if (ts < job->start)
            return 0;
        s->phase = WRITING;
    } else if (pure_syn) { /* after the start: a new connection on the same ports */
        s->phase = DONE;
        return close_file(x, j);
    }
    if (write_packet(x, j, linktype, h, bytes, frame) < 0)
        return -1;
    if (job->end_frame && frame == job->end_frame) {
        s->phase = DONE;
        return close_file(x, j);
    }
    return 0;
}

static int one_packet(struct extract *x, int linktype, const struct pcap_pkthdr *h,
                      const u_char *bytes, uint64_t frame)
{
    struct kw_ip ip;
    struct tcp_view t;
    if (kw_link_decode(linktype, kw_slice_make(bytes, h->caplen), h->len, &ip) != KW_LINK_IP ||
        !tcp_view_of(&ip, &t))
        return 0;
    if (h->ts.tv_sec < 0 || h->ts.tv_sec > (INT64_MAX / KW_USEC_PER_SEC) - 1)
        return 0; /* the run skipped it too */
    kw_usec ts = (kw_usec)h->ts.tv_sec * KW_USEC_PER_SEC + h->ts.tv_usec / 1000; /* ns */
    for (uint32_t j1 = x->buckets[tuple_bucket(x, &t.src, &t.dst)]; j1; j1 = x->st[j1 - 1].next1)
        if (tuple_is(&x->jobs[j1 - 1].key, &t) &&
            job_packet(x, j1 - 1, &t, ts, linktype, h, bytes, frame) < 0)
            return -1;
    return 0;
}

/* --- the inputs ----------------------------------------------------------- */

static pcap_t *open_input(const char *path, const char *bpf, char *err)
{
    char pe[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, pe);
    if (!p) {
        snprintf(err, KW_EXTRACT_ERRBUF, "%s: cannot read capture again: %s", path, pe);
        return NULL;
    }
    if (bpf) {
        struct bpf_program prog;
        if (pcap_compile(p, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN) < 0 ||
            pcap_setfilter(p, &prog) < 0) {
            snprintf(err, KW_EXTRACT_ERRBUF, "%s: cannot set filter: %s", path, pcap_geterr(p));
            pcap_close(p);
            return NULL;
        }
        pcap_freecode(&prog);
    }
    return p;
}

/* Every record of one input, frames counted on from *frame as the run did.
 * A file cut in a record ends there, as it did in the run. */
static int read_input(struct extract *x, const char *path, const char *bpf, uint64_t *frame)
{
    pcap_t *p = open_input(path, bpf, x->err);
    if (!p)
        return -1;
    int linktype = pcap_datalink(p), rc;
    struct pcap_pkthdr *h;
    const u_char *bytes;
    while ((rc = pcap_next_ex(p, &h, &bytes)) == 1)
        if (one_packet(x, linktype, h, bytes, ++*frame) < 0) {
            pcap_close(p);
            return -1;
        }
    FILE *fp = pcap_file(p);
    if (rc == PCAP_ERROR && fp && ferror(fp)) {
        snprintf(x->err, KW_EXTRACT_ERRBUF, "%s: %s", path, pcap_geterr(p));
        pcap_close(p);
        return -1;
    }
    pcap_close(p);
    return 0;
}

static int index_jobs(struct extract *x)
{
    size_t n = 16;
    while (n < 2 * x->n_jobs)
        n *= 2;
    x->mask = n - 1;
    x->buckets = calloc(n, sizeof(*x->buckets));
    x->st = calloc(x->n_jobs ? x->n_jobs : 1, sizeof(*x->st));
    if (!x->buckets || !x->st)
        return -1;
    for (size_t j = x->n_jobs; j-- > 0;) { /* chained in order */
        struct kw_extract_job *job = &x->jobs[j];
        size_t bkt = tuple_bucket(x, &job->key.client, &job->key.server);
        x->st[j].linktype = -1;
        x->st[j].next1 = x->buckets[bkt];
        x->buckets[bkt] = (uint32_t)j + 1;
        job->packets = job->first_frame = job->last_frame = job->other_linktype = 0;
        memset(job->marks_at, 0, sizeof(job->marks_at));
    }
    return 0;
}

int kw_extract(const struct kw_frame_files *files, const char *bpf,
               struct kw_extract_job *jobs, size_t n_jobs, char err[KW_EXTRACT_ERRBUF])
{
    struct extract x = { .jobs = jobs, .n_jobs = n_jobs, .err = err };
    int rc = 0;
    err[0] = '\0';
    if (index_jobs(&x) < 0) {
        snprintf(err, KW_EXTRACT_ERRBUF, "out of memory");
        rc = -1;
    }
    for (size_t i = 0; !rc && n_jobs && i < kw_frame_files_count(files); i++) {
        const struct kw_frame_file *f = kw_frame_files_at(files, i);
        uint64_t frame = f->first_frame - 1;
        if (f->name) /* none: written anew under the same name (-G), its frames gone */
            rc = read_input(&x, f->name, bpf, &frame);
    }
    while (x.n_open)
        if (close_file(&x, x.open[0]) < 0 && !rc)
            rc = -1;
    for (size_t j = 0; !rc && j < n_jobs; j++)
        if (!x.st[j].created) { /* no packet found: an empty file says so */
            x.st[j].linktype = DLT_EN10MB;
            if (open_file(&x, (uint32_t)j) < 0 || close_file(&x, (uint32_t)j) < 0)
                rc = -1;
        }
    free(x.buckets);
    free(x.st);
    return rc;
}
