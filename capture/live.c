/* live.c: capturing from an interface, opened the way tcpdump 4.99 opens one
 * (tcpdump.c, open_interface) with libpcap 1.10 on Linux:
 *
 * - the read timeout is never 0: with TPACKET_V3 (the ring libpcap uses
 *   unless in immediate mode) 0 makes the kernel hold a block until it is
 *   full, forever on a quiet link (pcap-linux.c);
 * - the handle is nonblocking: the caller polls kw_cap_fd() with its own
 *   timers, and kw_cap_next() says KW_CAP_TIMEOUT when nothing is there;
 * - packets are read with pcap_next_ex(), which copies each into a buffer
 *   libpcap allocated once (kw_cap_next() hands out a packet that must
 *   outlive the ring slot it came in: the kernel takes the slot back as soon
 *   as libpcap's callback returns); nothing is allocated per packet;
 * - the kernel's counts are libpcap's 32-bit sums, read at least once a
 *   second and kept in 64 bits, so that a run of weeks never sees them wrap.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "capture/cap-impl.h"
#include "capture/dump.h"
#include "capture/link.h"

#define LIVE_SNAPLEN_MAX 262144 /* tcpdump's -s 0, libpcap's MAXIMUM_SNAPLEN */
#define LIVE_BUFFER_DEFAULT (2u << 20) /* libpcap's on Linux */
#define LIVE_SLOT_ETHERNET_MAX (65535u + 18) /* an Ethernet frame, received offload and all */
#define LIVE_SLOTS_MIN 64
#define LIVE_TIMEOUT_MS 100
#define LIVE_SKIP_MAX 256       /* packets that are not IP read in one call at most */
#define LIVE_STATS_EVERY_US ((kw_usec)KW_USEC_PER_SEC)
#define LIVE_NAME_MAX 128

struct cap_live {
    pcap_t *pcap;
    char name[LIVE_NAME_MAX]; /* the interface, for messages */
    int linktype;
    bool nano;                /* time stamps in nanoseconds (tv_usec holds them) */
    uint64_t count;           /* -c; 0: no end */
    bool writing;             /* -w */
    struct cap_dump dump;
    struct pcap_stat last;    /* libpcap's counts when last read */
    struct kw_cap_kernel_counts totals;
    kw_usec next_stats;
};

/* --- opening ------------------------------------------------------------------------ */

static int check_config(const struct kw_cap_live_config *cfg, char err[KW_CAP_ERRBUF])
{
    if (!cfg->iface || !cfg->iface[0])
        snprintf(err, KW_CAP_ERRBUF, "no interface to capture on was named");
    else if (cfg->snaplen < 0 || cfg->snaplen > LIVE_SNAPLEN_MAX)
        snprintf(err, KW_CAP_ERRBUF, "snapshot length %d: it must be from 1 to %d (0: %d)",
                 cfg->snaplen, LIVE_SNAPLEN_MAX, LIVE_SNAPLEN_MAX);
    else if (cfg->buffer_kib < 0 || cfg->buffer_kib > INT32_MAX / 1024)
        snprintf(err, KW_CAP_ERRBUF, "buffer size %d KiB: it must be from 1 to %d KiB (0: "
                 "libpcap's default)", cfg->buffer_kib, INT32_MAX / 1024);
    else if (cfg->rotate_seconds < 0)
        snprintf(err, KW_CAP_ERRBUF, "rotation every %d seconds: it must be 1 or more",
                 cfg->rotate_seconds);
    else if (cfg->rotate_seconds && cfg->now <= 0)
        snprintf(err, KW_CAP_ERRBUF, "rotation every %d seconds: the clock at opening was not "
                 "given", cfg->rotate_seconds);
    else if ((cfg->rotate_bytes || cfg->rotate_seconds) && !cfg->write_path)
        snprintf(err, KW_CAP_ERRBUF, "rotating capture files (-C, -G) needs a file to write "
                 "(-w)");
    else if (cfg->write_path && !cfg->write_path[0])
        snprintf(err, KW_CAP_ERRBUF, "the capture file to write (-w) has an empty name");
    else if (cfg->write_path && !strcmp(cfg->write_path, "-"))
        snprintf(err, KW_CAP_ERRBUF, "-w -: keepwatch writes its report to standard output; "
                 "name a file to write the capture to");
    else
        return 0;
    return -1;
}

/* The interface `iface` names: itself, or, if it is a number, the one
 * kw_cap_list_interfaces() numbers so (tcpdump -i 2). */
static int resolve_name(struct cap_live *lv, const char *iface, char err[KW_CAP_ERRBUF])
{
    size_t digits = strspn(iface, "0123456789");
    if (iface[digits] || digits > 9) { /* a name (a 10-digit number is no interface's) */
        if (strlen(iface) >= sizeof(lv->name)) {
            snprintf(err, KW_CAP_ERRBUF, "%.64s...: interface name too long", iface);
            return -1;
        }
        strcpy(lv->name, iface);
        return 0;
    }
    char pe[PCAP_ERRBUF_SIZE] = "";
    pcap_if_t *devs, *d;
    if (pcap_findalldevs(&devs, pe) < 0) {
        snprintf(err, KW_CAP_ERRBUF, "interface number %s: cannot list interfaces: %s", iface,
                 pe);
        return -1;
    }
    long want = strtol(iface, NULL, 10), total = 0;
    pcap_if_t *pick = NULL;
    for (d = devs; d; d = d->next)
        if (++total == want)
            pick = d;
    int rc = 0;
    if (!pick || strlen(pick->name) >= sizeof(lv->name)) {
        snprintf(err, KW_CAP_ERRBUF, "interface number %s: there is none (they are numbered "
                 "from 1 to %ld)", iface, total);
        rc = -1;
    } else {
        strcpy(lv->name, pick->name);
    }
    pcap_freealldevs(devs);
    return rc;
}

/* pcap_create and the settings, in tcpdump's order; nothing fails but the
 * time stamp precision until pcap_activate(). */
static int create_handle(struct cap_live *lv, const struct kw_cap_live_config *cfg,
                         char err[KW_CAP_ERRBUF])
{
    char pe[PCAP_ERRBUF_SIZE] = "";
    if (!(lv->pcap = pcap_create(lv->name, pe))) {
        snprintf(err, KW_CAP_ERRBUF, "%s: cannot capture: %s", lv->name, pe);
        return -1;
    }
    lv->nano = cfg->nano;
    if (pcap_set_tstamp_precision(lv->pcap, cfg->nano ? PCAP_TSTAMP_PRECISION_NANO
                                                      : PCAP_TSTAMP_PRECISION_MICRO) != 0) {
        snprintf(err, KW_CAP_ERRBUF, "%s: the interface has no %s time stamps", lv->name,
                 cfg->nano ? "nanosecond" : "microsecond");
        return -1;
    }
    if (cfg->immediate)
        pcap_set_immediate_mode(lv->pcap, 1);
    pcap_set_snaplen(lv->pcap, cfg->snaplen ? cfg->snaplen : LIVE_SNAPLEN_MAX);
    /* "any" cannot be promiscuous: libpcap would only warn that it is not */
    pcap_set_promisc(lv->pcap, !cfg->no_promisc && strcmp(lv->name, "any") != 0);
    pcap_set_timeout(lv->pcap, cfg->timeout_ms > 0 ? cfg->timeout_ms : LIVE_TIMEOUT_MS);
    if (cfg->buffer_kib)
        pcap_set_buffer_size(lv->pcap, cfg->buffer_kib * 1024);
    return 0;
}

/* pcap_activate(): a warning said, an error in one sentence. As tcpdump,
 * libpcap's own text for its generic codes, our words for the others. */
static int activate(struct cap_live *lv, FILE *warn, char err[KW_CAP_ERRBUF])
{
    int rc = pcap_activate(lv->pcap);
    const char *text = rc == PCAP_WARNING || rc == PCAP_ERROR ? pcap_geterr(lv->pcap)
                                                              : pcap_statustostr(rc);
    if (rc > 0 && warn)
        fprintf(warn, "keepwatch: %s: warning: %s\n", lv->name, text);
    if (rc >= 0)
        return 0;
    switch (rc) {
    case PCAP_ERROR_NO_SUCH_DEVICE:
        snprintf(err, KW_CAP_ERRBUF, "%s: no such interface", lv->name);
        break;
    case PCAP_ERROR_PERM_DENIED:
        snprintf(err, KW_CAP_ERRBUF, "you need root (or CAP_NET_RAW) to capture on %s",
                 lv->name);
        break;
    case PCAP_ERROR_PROMISC_PERM_DENIED:
        snprintf(err, KW_CAP_ERRBUF, "you may not put %s in promiscuous mode (-p captures "
                 "without it)", lv->name);
        break;
    case PCAP_ERROR_IFACE_NOT_UP:
        snprintf(err, KW_CAP_ERRBUF, "%s: the interface is down", lv->name);
        break;
    default:
        snprintf(err, KW_CAP_ERRBUF, "%s: cannot capture: %s", lv->name, text);
        break;
    }
    return -1;
}

/* In immediate mode libpcap 1.10 uses TPACKET_V2, whose ring has a slot of
 * the snapshot length for each packet, at most a frame's length on Ethernet
 * (pcap-linux.c, create_ring): with the default buffer, 32 packets on an
 * Ethernet interface with receive offload, 8 on "any". A burst of more is
 * dropped; said once here, as the counts will show it. */
static void warn_small_ring(const struct cap_live *lv, const struct kw_cap_live_config *cfg,
                            FILE *warn)
{
    uint64_t slot = (uint64_t)pcap_snapshot(lv->pcap);
    if (pcap_datalink(lv->pcap) == DLT_EN10MB && slot > LIVE_SLOT_ETHERNET_MAX)
        slot = LIVE_SLOT_ETHERNET_MAX;
    uint64_t buffer = cfg->buffer_kib ? (uint64_t)cfg->buffer_kib * 1024 : LIVE_BUFFER_DEFAULT;
    if (!cfg->immediate || !warn || !slot || buffer / slot >= LIVE_SLOTS_MIN)
        return;
    fprintf(warn, "keepwatch: %s: warning: in immediate mode libpcap gives each packet a slot "
            "of up to %llu bytes, so the buffer of %llu KiB may hold as few as %llu packets, "
            "and more at once are dropped (a larger buffer, -B, holds more)\n", lv->name,
            (unsigned long long)slot, (unsigned long long)(buffer / 1024),
            (unsigned long long)(buffer / slot));
}

/* A link type keepwatch decodes: LINUX_SLL2 over LINUX_SLL when libpcap
 * offers both ("any": version 2 names the interface of each packet), else
 * the interface's own, else the first one offered that keepwatch reads. */
static int choose_linktype(struct cap_live *lv, char err[KW_CAP_ERRBUF])
{
    int *dlts, current = pcap_datalink(lv->pcap), want = -1;
    int n = pcap_list_datalinks(lv->pcap, &dlts);
    if (n < 0) {
        snprintf(err, KW_CAP_ERRBUF, "%s: cannot list its link types: %s", lv->name,
                 pcap_geterr(lv->pcap));
        return -1;
    }
    for (int i = 0; i < n; i++)
        if (current == DLT_LINUX_SLL && dlts[i] == DLT_LINUX_SLL2)
            want = DLT_LINUX_SLL2;
    if (want < 0 && kw_link_supported(current))
        want = current;
    for (int i = 0; i < n && want < 0; i++)
        if (kw_link_supported(dlts[i]))
            want = dlts[i];
    pcap_free_datalinks(dlts);
    if (want < 0) {
        const char *name = pcap_datalink_val_to_name(current);
        char supported[KW_CAP_ERRBUF / 2];
        kw_link_list_supported(supported, sizeof(supported));
        snprintf(err, KW_CAP_ERRBUF, "%s: unsupported link type %s (%d); keepwatch reads %s",
                 lv->name, name ? name : "unknown", current, supported);
        return -1;
    }
    if (want != current && pcap_set_datalink(lv->pcap, want) < 0) {
        snprintf(err, KW_CAP_ERRBUF, "%s: cannot set link type %s: %s", lv->name,
                 pcap_datalink_val_to_name(want), pcap_geterr(lv->pcap));
        return -1;
    }
    lv->linktype = want;
    return 0;
}

/* The filter, with the interface's netmask (for "broadcast", as tcpdump). */
static int set_filter(struct cap_live *lv, const char *bpf, char err[KW_CAP_ERRBUF])
{
    char pe[PCAP_ERRBUF_SIZE];
    bpf_u_int32 net, mask;
    struct bpf_program prog;
    if (pcap_lookupnet(lv->name, &net, &mask, pe) < 0)
        mask = PCAP_NETMASK_UNKNOWN;
    if (pcap_compile(lv->pcap, &prog, bpf, 1, mask) < 0) {
        snprintf(err, KW_CAP_ERRBUF, "invalid filter '%s': %s", bpf, pcap_geterr(lv->pcap));
        return -1;
    }
    int rc = pcap_setfilter(lv->pcap, &prog);
    pcap_freecode(&prog);
    if (rc < 0) {
        snprintf(err, KW_CAP_ERRBUF, "%s: cannot set filter '%s': %s", lv->name, bpf,
                 pcap_geterr(lv->pcap));
        return -1;
    }
    return 0;
}

/* libpcap's counts now, added to ours: each is a 32-bit sum that wraps. */
static int read_counts(struct cap_live *lv)
{
    struct pcap_stat st;
    if (pcap_stats(lv->pcap, &st) < 0)
        return -1;
    lv->totals.received += (u_int)(st.ps_recv - lv->last.ps_recv);
    lv->totals.dropped += (u_int)(st.ps_drop - lv->last.ps_drop);
    lv->totals.if_dropped += (u_int)(st.ps_ifdrop - lv->last.ps_ifdrop);
    lv->last = st;
    return 0;
}

/* Everything after pcap_activate(). */
static int set_up(struct kw_cap *cap, const struct kw_cap_live_config *cfg, const char *bpf,
                  char err[KW_CAP_ERRBUF])
{
    struct cap_live *lv = cap->live;
    char pe[PCAP_ERRBUF_SIZE] = "";
    warn_small_ring(lv, cfg, cap->warn);
    if (choose_linktype(lv, err) < 0 || set_filter(lv, bpf, err) < 0)
        return -1;
    /* counted from here: what came before the filter was set is no one's */
    if (read_counts(lv) < 0) {
        snprintf(err, KW_CAP_ERRBUF, "%s: cannot read the kernel's counts: %s", lv->name,
                 pcap_geterr(lv->pcap));
        return -1;
    }
    memset(&lv->totals, 0, sizeof(lv->totals));
    if (cfg->write_path) {
        if (cap_dump_open(&lv->dump, lv->pcap, cfg, &cap->frames, 1, err) < 0)
            return -1;
        lv->writing = true;
    }
    if (pcap_setnonblock(lv->pcap, 1, pe) < 0) {
        snprintf(err, KW_CAP_ERRBUF, "%s: cannot set nonblocking mode: %s", lv->name, pe);
        return -1;
    }
    return 0;
}

struct kw_cap *kw_cap_open_live(const struct kw_cap_live_config *cfg, const char *bpf,
                                struct kw_stats *stats, FILE *warn, char err[KW_CAP_ERRBUF])
{
    if (check_config(cfg, err) < 0)
        return NULL;
    struct kw_cap *cap = calloc(1, sizeof(*cap));
    if (!cap || !(cap->live = calloc(1, sizeof(*cap->live)))) {
        free(cap);
        snprintf(err, KW_CAP_ERRBUF, "%s: out of memory", cfg->iface);
        return NULL;
    }
    struct cap_live *lv = cap->live;
    cap->stats = stats;
    cap->warn = warn;
    cap->latest_ts = KW_TS_NONE;
    cap->bpf = bpf ? bpf : "tcp";
    lv->count = cfg->count;
    lv->next_stats = cfg->now;
    if (resolve_name(lv, cfg->iface, err) < 0 || create_handle(lv, cfg, err) < 0 ||
        activate(lv, warn, err) < 0 || set_up(cap, cfg, cap->bpf, err) < 0) {
        kw_cap_close(cap);
        return NULL;
    }
    return cap;
}

void cap_live_close(struct kw_cap *cap)
{
    struct cap_live *lv = cap->live;
    char err[KW_CAP_ERRBUF];
    if (lv->writing && cap_dump_close(&lv->dump, err) < 0 && cap->warn)
        fprintf(cap->warn, "keepwatch: %s\n", err);
    if (lv->pcap)
        pcap_close(lv->pcap);
    free(lv);
    cap->live = NULL;
}

/* --- reading ------------------------------------------------------------------------ */

/* A packet's time as kw_usec: the kernel's clock, so never out of range but
 * for a clock set past year 9999. */
static bool live_time(const struct cap_live *lv, const struct timeval *tv, kw_usec *ts)
{
    uint64_t frac = (uint64_t)tv->tv_usec / (lv->nano ? 1000u : 1u);
    if (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_sec > CAP_TS_SEC_MAX ||
        frac >= KW_USEC_PER_SEC)
        return false;
    *ts = (kw_usec)tv->tv_sec * KW_USEC_PER_SEC + (kw_usec)frac;
    return true;
}

enum kw_cap_res cap_live_next(struct kw_cap *cap, struct kw_pkt *pkt)
{
    struct cap_live *lv = cap->live;
    for (unsigned skipped = 0; skipped < LIVE_SKIP_MAX; skipped++) {
        if (cap->error[0])
            return KW_CAP_ERROR;
        if (lv->count && cap->frame >= lv->count)
            return KW_CAP_END;
        struct pcap_pkthdr *h;
        const u_char *bytes;
        int rc = pcap_next_ex(lv->pcap, &h, &bytes);
        if (rc == 0)
            return KW_CAP_TIMEOUT;
        if (rc == PCAP_ERROR_BREAK)
            return KW_CAP_END;
        if (rc < 0) {
            snprintf(cap->error, sizeof(cap->error), "%s: capture stopped after %llu packets: "
                     "%s", lv->name, (unsigned long long)cap->frame, pcap_geterr(lv->pcap));
            return KW_CAP_ERROR;
        }
        kw_usec ts = KW_TS_NONE;
        bool ts_ok = live_time(lv, &h->ts, &ts);
        /* a -w failure is kept in cap->error: this packet still goes on */
        if (lv->writing)
            cap_dump_packet(&lv->dump, h, bytes, ts_ok ? ts : KW_TS_NONE, cap->frame + 1,
                            cap->error);
        if (cap_take(cap, lv->linktype, h, bytes, ts, ts_ok, pkt))
            return KW_CAP_PKT;
    }
    return KW_CAP_TIMEOUT; /* the caller's timers run, and it calls again */
}

int kw_cap_fd(const struct kw_cap *cap)
{
    return cap->live ? pcap_get_selectable_fd(cap->live->pcap) : -1;
}

void kw_cap_tick(struct kw_cap *cap, kw_usec now)
{
    struct cap_live *lv = cap->live;
    if (!lv || cap->error[0])
        return;
    if (now >= lv->next_stats || now < lv->next_stats - LIVE_STATS_EVERY_US) {
        lv->next_stats = now + LIVE_STATS_EVERY_US;
        read_counts(lv); /* when it fails, kw_cap_kernel_counts() says the last ones */
    }
    if (lv->writing)
        cap_dump_tick(&lv->dump, now, cap->frame + 1, cap->error);
}

int kw_cap_kernel_counts(struct kw_cap *cap, struct kw_cap_kernel_counts *c)
{
    if (!cap->live)
        return -1;
    read_counts(cap->live);
    *c = cap->live->totals;
    return 0;
}

/* --- -D ------------------------------------------------------------------------------- */

/* An interface's flags as tcpdump -D writes them: "Up, Running, Connected". */
static void write_flags(FILE *out, bpf_u_int32 flags)
{
    static const struct {
        bpf_u_int32 bit;
        const char *name;
    } names[] = { { PCAP_IF_UP, "Up" }, { PCAP_IF_RUNNING, "Running" },
                  { PCAP_IF_LOOPBACK, "Loopback" }, { PCAP_IF_WIRELESS, "Wireless" } };
    bool any = false;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (flags & names[i].bit) {
            fprintf(out, "%s%s", any ? ", " : "", names[i].name);
            any = true;
        }
    if (!any)
        fputs("none", out);
    bool wireless = flags & PCAP_IF_WIRELESS;
    switch (flags & PCAP_IF_CONNECTION_STATUS) {
    case PCAP_IF_CONNECTION_STATUS_UNKNOWN:
        fputs(wireless ? ", Association status unknown" : ", Connection status unknown", out);
        break;
    case PCAP_IF_CONNECTION_STATUS_CONNECTED:
        fputs(wireless ? ", Associated" : ", Connected", out);
        break;
    case PCAP_IF_CONNECTION_STATUS_DISCONNECTED:
        fputs(wireless ? ", Not associated" : ", Disconnected", out);
        break;
    default: /* not applicable */
        break;
    }
}

int kw_cap_list_interfaces(FILE *out, char err[KW_CAP_ERRBUF])
{
    char pe[PCAP_ERRBUF_SIZE] = "";
    pcap_if_t *devs;
    if (pcap_findalldevs(&devs, pe) < 0) {
        snprintf(err, KW_CAP_ERRBUF, "cannot list interfaces: %s", pe);
        return -1;
    }
    if (!devs) {
        snprintf(err, KW_CAP_ERRBUF, "no interfaces available for capture");
        return -1;
    }
    unsigned n = 0;
    for (pcap_if_t *d = devs; d; d = d->next) {
        fprintf(out, "%u.%s", ++n, d->name);
        if (d->description)
            fprintf(out, " (%s)", d->description);
        if (d->flags) {
            fputs(" [", out);
            write_flags(out, d->flags);
            fputs("]", out);
        }
        fputs("\n", out);
    }
    pcap_freealldevs(devs);
    if (fflush(out) != 0 || ferror(out)) {
        snprintf(err, KW_CAP_ERRBUF, "cannot write the list of interfaces: %s",
                 strerror(errno));
        return -1;
    }
    return 0;
}
