/* nids.c: libnids, driven packet by packet from our loop. The one file that
 * includes <nids.h> and the one with file-scope mutable state: libnids'
 * callbacks carry no context, and its parameters are globals. What each
 * packet means for our own records is decided in feed.c. */
#include <netinet/in.h>
#include <nids.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "reassembly/reasm-impl.h"

/* Address space set aside at start and given back when libnids runs out of
 * memory, so that the report of what was decoded can still be written (the
 * output formats each connection's end into buffers it may have to grow).
 * Never touched: it costs no memory, only address space. */
#define NO_MEM_RESERVE_BYTES (4u << 20)

static struct kw_reasm *kw_nids_owner; /* libnids' callbacks have no context pointer */

/* --- streams and our records ------------------------------------------------------- */

static struct tcp_stream *stream_of(const struct reasm_conn *c)
{
    struct tuple4 t = { c->cli_port, c->srv_port, c->cli_addr, c->srv_addr };
    return nids_find_tcp_stream(&t);
}

bool reasm_nids_owns(const struct kw_reasm *r, const struct reasm_conn *c)
{
    if (!c->stream || r->failed)
        return false;
    struct tcp_stream *s = stream_of(c);
    return s && s == c->stream && s->user == c;
}

void reasm_end_conn(struct kw_reasm *r, struct reasm_conn *c, struct kw_reasm_end end)
{
    if (reasm_nids_owns(r, c))
        c->stream->user = NULL; /* libnids may still call back for it: nothing to do then */
    c->stream = NULL;
    int side;
    struct map6_entry *e = reasm_map6_of_addr(&r->map6, c->cli_addr, &side);
    if (e) { /* is the entry still needed? once libnids is done with the packet */
        e->has_conn = false;
        if (r->n_map6_recheck < sizeof(r->map6_recheck) / sizeof(r->map6_recheck[0]))
            r->map6_recheck[r->n_map6_recheck++] = (uint32_t)(e - r->map6.entries);
    }
    if (!r->ended)
        r->ended = c;
    if (end.how == KW_CLOSE_TIMEOUT && end.timeout == KW_TIMEOUT_IDLE)
        r->stats->idle_timeouts++;
    reasm_conn_end(&r->conns, c, &end);
}

/* An end caused by the packet being fed, at its time. */
static void end_now(struct kw_reasm *r, struct reasm_conn *c, enum kw_close how,
                    enum kw_timeout why, enum kw_dir rst_dir)
{
    reasm_end_conn(r, c, (struct kw_reasm_end){ .how = how, .timeout = why, .rst_dir = rst_dir,
                                                .ts = r->ts, .frame = r->frame });
}

void reasm_nids_release(struct kw_reasm *r, struct reasm_conn *c)
{
    if (reasm_nids_owns(r, c)) {
        c->stream->user = NULL;
        nids_free_tcp_stream(c->stream); /* no callback */
    }
    c->stream = NULL;
}

void reasm_nids_forget(uint32_t a1, uint16_t p1, uint32_t a2, uint16_t p2)
{
    struct tuple4 fwd = { p1, p2, a1, a2 };
    struct tuple4 back = { p2, p1, a2, a1 };
    struct tcp_stream *s = nids_find_tcp_stream(&fwd);
    if (!s)
        s = nids_find_tcp_stream(&back);
    if (s && !s->user)
        nids_free_tcp_stream(s);
}

bool reasm_nids_knows(uint32_t a1, uint16_t p1, uint32_t a2, uint16_t p2)
{
    struct tuple4 fwd = { p1, p2, a1, a2 };
    struct tuple4 back = { p2, p1, a2, a1 };
    return nids_find_tcp_stream(&fwd) || nids_find_tcp_stream(&back);
}

/* --- libnids callbacks ------------------------------------------------------- */

/* The connection's endpoints as the sink knows them: an IPv6 connection's
 * own, never the addresses libnids follows it under. */
static void key_of(struct kw_reasm *r, const struct tcp_stream *a, struct kw_conn_key *key)
{
    memset(key, 0, sizeof(*key));
    int side;
    struct map6_entry *e = reasm_map6_of_addr(&r->map6, a->addr.saddr, &side);
    if (e) {
        e->has_conn = true;
        key->client.family = key->server.family = 6;
        memcpy(key->client.addr, e->addr[side], 16);
        memcpy(key->server.addr, e->addr[!side], 16);
    } else {
        key->client.family = key->server.family = 4;
        memcpy(key->client.addr, &a->addr.saddr, 4);
        memcpy(key->server.addr, &a->addr.daddr, 4);
    }
    key->client.port = a->addr.source;
    key->server.port = a->addr.dest;
}

static void on_established(struct kw_reasm *r, struct tcp_stream *a)
{
    struct reasm_conn *old =
        reasm_conn_find(&r->conns, a->addr.saddr, a->addr.source, a->addr.daddr, a->addr.dest);
    if (old) {
        /* libnids replaced a stream on a reused 4-tuple without telling us
         * (tcp_flow_timeout): the stream `old` held is gone, or is `a` now. */
        old->stream = NULL;
        end_now(r, old, KW_CLOSE_TIMEOUT, KW_TIMEOUT_REUSED, KW_TO_SERVER);
    }
    struct reasm_conn *c = reasm_conn_open(&r->conns, a->addr.saddr, a->addr.source,
                                           a->addr.daddr, a->addr.dest, r->clock);
    if (!c) { /* not collected: libnids frees the stream on return */
        r->stats->streams_refused++;
        return;
    }
    c->stream = a;
    /* libnids: a->client holds the client's own sequence numbers, a->server the server's. */
    c->seq_base[KW_TO_SERVER] = a->client.first_data_seq;
    c->seq_base[KW_TO_CLIENT] = a->server.first_data_seq;

    struct kw_conn_key key;
    key_of(r, a, &key);
    if (!r->picking_up) /* a handshake seen: its packets were counted apart so far */
        reasm_wire_opened(r, c);
    c->user = r->conns.sink.on_open(r->conns.sink.ctx, &key, r->ts, r->picking_up);
    a->user = c;
    a->client.collect++;
    a->server.collect++;
    r->stats->connections++;
    if (r->picking_up)
        r->stats->connections_midstream++;
    r->opened = c;
}

/* libnids takes the byte at an urgent pointer out of the stream (tcp.c,
 * add_from_skb) and counts it in the receiving half's urg_count, an int: we
 * add what it counted since we last looked. */
static void sync_urgent(struct kw_reasm *r, struct reasm_conn *c, const struct half_stream *h,
                        enum kw_dir dir)
{
    uint32_t now = (uint32_t)h->urg_count, delta = now - c->urgent_seen[dir];
    if (delta) {
        c->urgent[dir] += delta;
        c->urgent_seen[dir] = now;
        r->stats->urgent_bytes += delta;
    }
}

/* c's stream, when it is still c's, without a lookup: from the moment of a
 * silent free (checked at every SYN) c->stream is NULL or its user another. */
static struct tcp_stream *live_stream(const struct kw_reasm *r, const struct reasm_conn *c)
{
    struct tcp_stream *a = c->stream;
    return a && a->user == c && !r->failed ? a : NULL;
}

/* The half libnids keeps the receiver's side of direction `dir` in: its last
 * ACK and window, the bytes it has received. The sender's is the other. */
static struct half_stream *receiver_of(struct tcp_stream *a, enum kw_dir dir)
{
    return dir == KW_TO_SERVER ? &a->server : &a->client;
}

bool reasm_nids_in_window(const struct kw_reasm *r, const struct reasm_conn *c, enum kw_dir dir,
                          uint32_t seq)
{
    struct tcp_stream *a = live_stream(r, c);
    if (!a)
        return false;
    const struct half_stream *rcv = receiver_of(a, dir);
    /* tcp.c, process_tcp: from its last ACK, for its window */
    uint32_t from_ack = seq - rcv->ack_seq;
    return from_ack == 0 ||
           ((int32_t)from_ack > 0 && (int64_t)from_ack < (int64_t)rcv->window * rcv->wscale);
}

bool reasm_nids_unstick_ack(struct kw_reasm *r, struct reasm_conn *c, enum kw_dir dir,
                            uint32_t seq, uint32_t len, uint32_t seen_end)
{
    struct tcp_stream *a = live_stream(r, c);
    if (!a)
        return false;
    struct half_stream *rcv = receiver_of(a, dir), *snd = dir == KW_TO_SERVER ? &a->client
                                                                              : &a->server;
    bool old = (int32_t)(seq + len - rcv->ack_seq) < 0; /* tcp.c drops it unseen */
    if (!old || (int32_t)(rcv->ack_seq - seen_end) <= 0)
        return false; /* libnids took it, or the ACK that made it old was real */
    rcv->ack_seq = snd->first_data_seq + (uint32_t)rcv->count + (uint32_t)rcv->urg_count;
    return true;
}

bool reasm_nids_acked(const struct kw_reasm *r, const struct reasm_conn *c, enum kw_dir dir,
                      uint32_t *ack)
{
    struct tcp_stream *a = live_stream(r, c);
    if (!a)
        return false;
    *ack = receiver_of(a, dir)->ack_seq;
    return true;
}

bool reasm_nids_fill(struct kw_reasm *r, struct reasm_conn *c, enum kw_dir dir, uint32_t n)
{
    struct tcp_stream *a = live_stream(r, c);
    if (!a)
        return true;
    struct half_stream *rcv = receiver_of(a, dir), *snd = dir == KW_TO_SERVER ? &a->client
                                                                              : &a->server;
    struct reasm_tcp_out seg = { .src = dir == KW_TO_SERVER ? c->cli_addr : c->srv_addr,
                                 .dst = dir == KW_TO_SERVER ? c->srv_addr : c->cli_addr,
                                 .sport = dir == KW_TO_SERVER ? c->cli_port : c->srv_port,
                                 .dport = dir == KW_TO_SERVER ? c->srv_port : c->cli_port };
    r->filling = c;
    r->fill_dir = dir;
    while (n && (a = live_stream(r, c))) {
        /* chunks under 2 KiB keep libnids' buffer at 4 KiB (tcp.c, add2buf) */
        uint32_t len = n < 2000 ? n : 2000, acked = rcv->ack_seq;
        u_short window = rcv->window;
        seg.seq = snd->first_data_seq + (uint32_t)rcv->count + (uint32_t)rcv->urg_count;
        seg.window = snd->window; /* libnids takes it as the sender's: unchanged */
        seg.payload = kw_slice_make(NULL, len); /* zeros: never shown, on_gap says what */
        /* libnids drops as old what its receiver acknowledged: the hole is just
         * that. For the chunk, its receiver is taken to expect it. */
        rcv->ack_seq = seg.seq;
        rcv->window = 65535;
        r->fill_left = len;
        r->opened = r->ended = r->delivered_to = NULL;
        bool fed = reasm_nids_feed(r, reasm_build_tcp(r->synth, &seg));
        if (!fed)
            return false;
        if ((a = live_stream(r, c))) {
            rcv = receiver_of(a, dir);
            rcv->ack_seq = acked;
            rcv->window = window;
        }
        n -= len;
    }
    r->fill_left = 0;
    r->filling = NULL;
    return true;
}

void reasm_nids_sync_urgent(struct kw_reasm *r, struct reasm_conn *c)
{
    const struct tcp_stream *a = live_stream(r, c);
    if (!a)
        return;
    sync_urgent(r, c, &a->server, KW_TO_SERVER);
    sync_urgent(r, c, &a->client, KW_TO_CLIENT);
}

static void deliver(struct kw_reasm *r, struct tcp_stream *a, struct reasm_conn *c)
{
    /* Exactly one half has new bytes. a->server collects what the client sent. */
    enum kw_dir dir = a->server.count_new ? KW_TO_SERVER : KW_TO_CLIENT;
    struct half_stream *h = dir == KW_TO_SERVER ? &a->server : &a->client;
    size_t n = (size_t)h->count_new;
    c->delivered[dir] += n;
    sync_urgent(r, c, h, dir);
    r->delivered_to = c;
    if (r->fill_left && r->filling == c && r->fill_dir == dir) { /* bytes of ours: a hole */
        size_t missing = n < r->fill_left ? n : r->fill_left;
        r->fill_left -= missing;
        c->missed[dir] += missing;
        reasm_wire_gap(c, dir);
        if (c->user && r->conns.sink.on_gap)
            r->conns.sink.on_gap(r->conns.sink.ctx, c->user, dir, r->ts, r->frame, missing);
        n -= missing;
        if (!n) {
            reasm_conn_stream_grew(&r->conns, c, dir);
            return;
        }
    }
    if (c->user)
        r->conns.sink.on_data(r->conns.sink.ctx, c->user, dir, r->ts, r->frame,
                              kw_slice_make(h->data + (size_t)h->count_new - n, n));
    reasm_conn_stream_grew(&r->conns, c, dir);
    /* libnids discards all of it: the decoder has consumed it */
}

static void kw_nids_on_tcp(struct tcp_stream *a, void **param)
{
    struct kw_reasm *r = kw_nids_owner;
    struct reasm_conn *c = a->user;
    *param = NULL; /* libnids keeps it as the listener's data: never leave it unset */

    switch (a->nids_state) {
    case NIDS_JUST_EST:
        on_established(r, a);
        return;
    case NIDS_DATA:
        if (c)
            deliver(r, a, c);
        return;
    case NIDS_CLOSE:
        if (c)
            end_now(r, c, KW_CLOSE_FIN, KW_TIMEOUT_NONE, KW_TO_SERVER);
        return;
    case NIDS_RESET:
        if (c)
            end_now(r, c, KW_CLOSE_RST, KW_TIMEOUT_NONE,
                    r->src_addr == c->cli_addr && r->src_port == c->cli_port ? KW_TO_SERVER
                                                                             : KW_TO_CLIENT);
        return;
    case NIDS_TIMED_OUT: /* evicted: the stream table was full */
        if (c) {
            r->stats->streams_evicted++;
            end_now(r, c, KW_CLOSE_TIMEOUT, KW_TIMEOUT_EVICTED, KW_TO_SERVER);
        }
        return;
    case NIDS_EXITING: /* kw_reasm_finish() has ended every connection already */
    default:
        if (c)
            end_now(r, c, KW_CLOSE_CAPTURE_END, KW_TIMEOUT_NONE, KW_TO_SERVER);
        return;
    }
}

#define IPOPT_LSRR 131
#define IPOPT_SSRR 137

/* libnids drops an IPv4 packet whose options ip_options_compile() refuses, a
 * source route among them, as a host does (Linux: accept_source_route is 0
 * by default; bad options are a parameter problem). Which was it? */
static bool has_source_route(const struct ip *ip)
{
    const uint8_t *o = (const uint8_t *)ip + 20, *end = (const uint8_t *)ip + ip->ip_hl * 4;
    while (o < end && *o != 0) { /* 0: end of options */
        if (*o == 1) { /* no-op */
            o++;
            continue;
        }
        if (*o == IPOPT_LSRR || *o == IPOPT_SSRR)
            return true;
        if (end - o < 2 || o[1] < 2 || o[1] > end - o)
            return false;
        o += o[1];
    }
    return false;
}

/* Replaces libnids' default, a syslog(LOG_ALERT) per event, with counters. */
static void kw_nids_on_warning(int type, int err, struct ip *ip, void *data)
{
    (void)data;
    struct kw_reasm *r = kw_nids_owner;
    if (!r)
        return;
    if (type == NIDS_WARN_IP) {
        if (err == NIDS_WARN_IP_SRR && has_source_route(ip))
            r->stats->ip_source_routed++;
        else if (err == NIDS_WARN_IP_SRR)
            r->stats->ip_bad_options++;
        else /* a header it refused; fragments never reach it */
            r->stats->ip_rejected++;
        return;
    }
    if (type != NIDS_WARN_TCP)
        return;
    if (err == NIDS_WARN_TCP_BIGQUEUE)
        r->stats->queue_dropped++;
    else if (err == NIDS_WARN_TCP_HDR)
        r->stats->tcp_invalid++;
}

/* libnids' hook for a failed allocation (its default calls exit()). libnids
 * goes on as if it had memory, so we must not return: jump back to where we
 * called it, and never call it again. */
static void kw_nids_no_mem(char *where)
{
    struct kw_reasm *r = kw_nids_owner;
    if (!r || !r->armed) { /* cannot happen: every call that allocates is guarded */
        fprintf(stderr, "keepwatch: out of memory in the TCP reassembler (%s)\n", where);
        abort();
    }
    if (r->frame)
        snprintf(r->error, sizeof(r->error),
                 "out of memory in the TCP reassembler (libnids, %s) at frame %llu; the "
                 "report covers the packets before it",
                 where, (unsigned long long)r->frame);
    else
        snprintf(r->error, sizeof(r->error),
                 "out of memory starting the TCP reassembler (libnids, %s)", where);
    if (r->no_mem_reserve) {
        munmap(r->no_mem_reserve, NO_MEM_RESERVE_BYTES);
        r->no_mem_reserve = NULL;
    }
    r->failed = true;
    r->armed = false;
    siglongjmp(r->no_mem_jump, 1);
}

/* --- start and stop ------------------------------------------------------------ */

/* nids_init() allocates its tables, so it is guarded like a feed. After the
 * jump nothing but r is used (locals may be lost: C11 7.13.2.1). */
static bool init_libnids(struct kw_reasm *r)
{
    kw_nids_owner = r;
    if (sigsetjmp(r->no_mem_jump, 0))
        return false;
    r->armed = true;
    bool started = nids_init() != 0;
    r->armed = false;
    if (!started)
        snprintf(r->error, sizeof(r->error), "cannot start the TCP reassembler: %s",
                 nids_errbuf);
    return started;
}

static void set_libnids_params(const struct kw_reasm_config *cfg, int n_tcp_streams,
                               pcap_t *raw_ip_handle)
{
    /* libnids keeps the pointer: static. IPv6 connections, rewritten into
     * 240.0.0.0/4, carry IPv6 checksums that no IPv4 check would pass; every
     * other address is not checked either, as loopback and offloaded captures
     * have bad sums: one entry for all (libnids walks the list per packet).
     * Were the rest ever checked, 240.0.0.0/4 must keep an entry of its own. */
    static struct nids_chksum_ctl checksums[1] = { { 0, 0, NIDS_DONT_CHKSUM, 0 } };
    nids_register_chksum_ctl(checksums, 1);
    nids_params.pcap_desc = raw_ip_handle;               /* bare IPv4, link offset 0 */
    nids_params.device = NULL;
    nids_params.filename = NULL;
    nids_params.syslog = kw_nids_on_warning;
    nids_params.no_mem = kw_nids_no_mem;
    nids_params.scan_num_hosts = 0;             /* no port-scan detector */
    nids_params.n_tcp_streams = n_tcp_streams;
    nids_params.tcp_workarounds = 0;
    nids_params.multiproc = 0;
    nids_params.tcp_flow_timeout = cfg->flow_timeout_s;
}

bool reasm_nids_start(struct kw_reasm *r, const struct kw_reasm_config *cfg, int n_tcp_streams)
{
    if (kw_nids_owner) {
        snprintf(r->error, sizeof(r->error), "only one reassembler per process");
        return false;
    }
    if (!(r->raw_ip_handle = pcap_open_dead(DLT_RAW, 262144))) {
        snprintf(r->error, sizeof(r->error), "out of memory for %u connections",
                 cfg->max_connections);
        return false;
    }
    void *reserve = mmap(NULL, NO_MEM_RESERVE_BYTES, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    r->no_mem_reserve = reserve == MAP_FAILED ? NULL : reserve; /* best effort */
    set_libnids_params(cfg, n_tcp_streams, r->raw_ip_handle);
    if (!init_libnids(r))
        return false;
    nids_register_tcp(kw_nids_on_tcp); /* after nids_init, which resets the list */
    return true;
}

void reasm_nids_stop(struct kw_reasm *r)
{
    if (kw_nids_owner == r) {
        if (!r->failed && !r->error[0]) /* started, and libnids' state is whole */
            nids_exit(); /* frees libnids' streams; each has user == NULL by now */
        kw_nids_owner = NULL;
    }
    if (r->raw_ip_handle)
        pcap_close(r->raw_ip_handle);
    r->raw_ip_handle = NULL;
    if (r->no_mem_reserve)
        munmap(r->no_mem_reserve, NO_MEM_RESERVE_BYTES);
    r->no_mem_reserve = NULL;
}

/* --- feeding ----------------------------------------------------------------- */

bool reasm_nids_feed(struct kw_reasm *r, struct kw_slice ipv4)
{
    r->hdr.ts.tv_sec = (time_t)(r->ts / KW_USEC_PER_SEC);
    r->hdr.ts.tv_usec = (suseconds_t)(r->ts % KW_USEC_PER_SEC);
    r->hdr.caplen = r->hdr.len = (bpf_u_int32)ipv4.len;
    if (r->armed) {
        nids_pcap_handler(NULL, &r->hdr, (u_char *)(uintptr_t)ipv4.p);
        return true;
    }
    if (sigsetjmp(r->no_mem_jump, 0))
        return false;
    r->armed = true;
    nids_pcap_handler(NULL, &r->hdr, (u_char *)(uintptr_t)ipv4.p);
    r->armed = false;
    return true;
}

/* One sigsetjmp for the whole run instead of one per packet (about 2% of the
 * instructions on the benchmark capture). */
int kw_reasm_run(struct kw_reasm *r, void (*feed)(void *ctx), void *ctx)
{
    if (r->failed)
        return -1;
    if (r->armed) { /* already inside a run: that one catches a failure */
        feed(ctx);
        return r->failed ? -1 : 0;
    }
    if (sigsetjmp(r->no_mem_jump, 0))
        return -1;
    r->armed = true;
    feed(ctx);
    r->armed = false;
    return 0;
}
