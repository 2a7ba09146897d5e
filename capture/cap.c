/* cap.c: saved captures, read in order with libpcap; pcap and pcapng, us and ns. */
#include "capture/cap.h"

#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <stdbool.h>

#define CAP_READ_BUFFER (1 << 16)
#define KW_SEC_MAX ((INT64_MAX - KW_USEC_PER_SEC) / KW_USEC_PER_SEC)

#include "capture/link.h"

struct cap_file {
    const char *path;
    pcap_t *pcap;
    int linktype;
    uint64_t frame;
    char *buffer; /* stdio buffer of the file */
};

struct kw_cap {
    uint64_t frame; /* across all inputs, as if merged in order */
    struct cap_file *files;
    size_t n_files, cur;
    struct kw_stats *stats;
    FILE *warn;
    kw_usec latest_ts;
    char error[KW_CAP_ERRBUF]; /* set once reading failed: sticky */
};

void kw_cap_close(struct kw_cap *cap)
{
    if (!cap)
        return;
    for (size_t i = 0; i < cap->n_files; i++)
        if (cap->files[i].pcap)
            pcap_close(cap->files[i].pcap);
    for (size_t i = 0; i < cap->n_files; i++)
        free(cap->files[i].buffer);
    free(cap->files);
    free(cap);
}

static const char *display_name(const struct cap_file *f)
{
    return strcmp(f->path, "-") ? f->path : "standard input";
}

static int open_one(struct cap_file *f, const char *bpf, char err[KW_CAP_ERRBUF])
{
    char pe[PCAP_ERRBUF_SIZE] = "";
    /* Microsecond precision: libpcap scales nanosecond files down to kw_usec. */
    bool is_stdin = !strcmp(f->path, "-");
    FILE *fp = is_stdin ? stdin : fopen(f->path, "rb");
    if (!fp) {
        snprintf(err, KW_CAP_ERRBUF, "%s: cannot read capture: %s", f->path, strerror(errno));
        return -1;
    }
    /* libpcap reads a record at a time through stdio: a large buffer saves
     * most of the read calls (measured: see docs/performance.md). */
    f->buffer = malloc(CAP_READ_BUFFER);
    if (f->buffer)
        setvbuf(fp, f->buffer, _IOFBF, CAP_READ_BUFFER);
    f->pcap = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, pe);
    if (!f->pcap) {
        if (!is_stdin)
            fclose(fp);
        snprintf(err, KW_CAP_ERRBUF, "%s: cannot read capture: %s", display_name(f), pe);
        return -1;
    }
    f->linktype = pcap_datalink(f->pcap);
    if (!kw_link_supported(f->linktype)) {
        const char *name = pcap_datalink_val_to_name(f->linktype);
        char supported[KW_CAP_ERRBUF / 2];
        kw_link_list_supported(supported, sizeof(supported));
        snprintf(err, KW_CAP_ERRBUF, "%s: unsupported link type %s (%d); keepwatch reads %s",
                 f->path, name ? name : "unknown", f->linktype, supported);
        return -1;
    }
    if (bpf) {
        struct bpf_program prog;
        if (pcap_compile(f->pcap, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN) < 0) {
            snprintf(err, KW_CAP_ERRBUF, "invalid filter '%s': %s", bpf, pcap_geterr(f->pcap));
            return -1;
        }
        int rc = pcap_setfilter(f->pcap, &prog);
        pcap_freecode(&prog);
        if (rc < 0) {
            snprintf(err, KW_CAP_ERRBUF, "%s: cannot set filter: %s", f->path,
                     pcap_geterr(f->pcap));
            return -1;
        }
    }
    return 0;
}

struct kw_cap *kw_cap_open_files(const char *const *paths, size_t n_paths, const char *bpf,
                                 struct kw_stats *stats, FILE *warn, char err[KW_CAP_ERRBUF])
{
    struct kw_cap *cap = calloc(1, sizeof(*cap));
    if (!cap || !(cap->files = calloc(n_paths ? n_paths : 1, sizeof(*cap->files)))) {
        snprintf(err, KW_CAP_ERRBUF, "out of memory");
        goto fail;
    }
    cap->n_files = n_paths;
    cap->stats = stats;
    cap->latest_ts = KW_TS_NONE;
    cap->warn = warn;
    size_t n_stdin = 0;
    for (size_t i = 0; i < n_paths; i++) {
        cap->files[i].path = paths[i];
        if (!strcmp(paths[i], "-") && ++n_stdin > 1) {
            snprintf(err, KW_CAP_ERRBUF, "standard input (-r -) can be read only once");
            goto fail;
        }
        if (open_one(&cap->files[i], bpf, err) < 0)
            goto fail;
    }
    return cap;
fail:
    kw_cap_close(cap);
    return NULL;
}

/* What capture/ drops, by kind: a malformed encapsulation by its kind. IPv6
 * is counted as IPv6 whatever its header holds, as it was before IPv6 headers were decoded: the reassembler does not
 * analyse IPv6 yet, and a cut or bad IPv6 header is no more use to it. */
static void count_skip(struct kw_stats *st, enum kw_link_res r, const struct kw_ip *ip)
{
    if (r == KW_LINK_INVALID && ip->bad_encap < KW_ENCAP_N) {
        st->encap_invalid[ip->bad_encap]++; /* a malformed tunnel, VLAN stack... */
        return;
    }
    if (ip->family == 6) {
        st->skip_ipv6++;
        return;
    }
    switch (r) {
    case KW_LINK_NOT_IP: st->skip_not_ip++; break;
    case KW_LINK_TRUNCATED: st->skip_truncated++; break;
    case KW_LINK_FRAGMENT: st->skip_fragment++; break;
    case KW_LINK_INVALID: st->skip_invalid++; break;
    case KW_LINK_IP: break;
    }
}

/* One record read: counts it and decodes it. True when it is for the reassembler. */
static bool take_record(struct kw_cap *cap, struct cap_file *f, const struct pcap_pkthdr *h,
                        const u_char *bytes, struct kw_pkt *pkt)
{
    f->frame++;
    cap->frame++;
    cap->stats->packets++;
    cap->stats->bytes += h->len;
    if (h->ts.tv_sec < 0 || h->ts.tv_sec > KW_SEC_MAX || h->ts.tv_usec < 0 ||
        h->ts.tv_usec >= KW_USEC_PER_SEC) {
        /* pcapng carries 64-bit times: one past year 292,000 cannot be kw_usec */
        cap->stats->skip_invalid++;
        return false;
    }
    pkt->ts = (kw_usec)h->ts.tv_sec * KW_USEC_PER_SEC + h->ts.tv_usec;
    if (pkt->ts > cap->latest_ts)
        cap->latest_ts = pkt->ts;
    pkt->linktype = f->linktype;
    pkt->wire_len = h->len;
    pkt->frame = cap->frame;
    pkt->bytes = kw_slice_make(bytes, h->caplen);
    enum kw_link_res r = kw_link_decode(f->linktype, pkt->bytes, h->len, &pkt->ip);
    if (r == KW_LINK_IP)
        return true;
    count_skip(cap->stats, r, &pkt->ip);
    return false;
}

/* pcap_next_ex() failed. A read error sets the stream's error flag; without it
 * the file ended inside a record ("truncated dump file"), which is counted and
 * passed over. True for a read error: reading stops. */
static bool read_failed(struct kw_cap *cap, struct cap_file *f)
{
    FILE *fp = pcap_file(f->pcap);
    if (fp && ferror(fp)) {
        snprintf(cap->error, sizeof(cap->error), "%s: %s after %llu packets; reading stopped",
                 display_name(f), pcap_geterr(f->pcap), (unsigned long long)f->frame);
        return true;
    }
    cap->stats->files_truncated++;
    if (cap->warn)
        fprintf(cap->warn, "keepwatch: %s: %s after %llu packets; going on\n", display_name(f),
                pcap_geterr(f->pcap), (unsigned long long)f->frame);
    return false;
}

enum kw_cap_res kw_cap_next(struct kw_cap *cap, struct kw_pkt *pkt)
{
    if (cap->error[0])
        return KW_CAP_ERROR;
    while (cap->cur < cap->n_files) {
        struct cap_file *f = &cap->files[cap->cur];
        struct pcap_pkthdr *h;
        const u_char *bytes;
        int rc = pcap_next_ex(f->pcap, &h, &bytes);
        if (rc == 1) {
            if (take_record(cap, f, h, bytes, pkt))
                return KW_CAP_PKT;
            continue;
        }
        if (rc == 0)
            return KW_CAP_TIMEOUT;
        if (rc == PCAP_ERROR && read_failed(cap, f))
            return KW_CAP_ERROR;
        pcap_close(f->pcap); /* end of this file: on to the next */
        f->pcap = NULL;
        free(f->buffer);
        f->buffer = NULL;
        cap->cur++;
    }
    return KW_CAP_END;
}

kw_usec kw_cap_latest_ts(const struct kw_cap *cap)
{
    return cap->latest_ts;
}

const char *kw_cap_error(const struct kw_cap *cap)
{
    return cap->error;
}
