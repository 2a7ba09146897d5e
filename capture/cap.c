/* cap.c: saved captures, read in order with libpcap; pcap and pcapng, us and
 * ns, plain or compressed (input.c); pcapng sections a handle cannot read are
 * sections.c's. */
#include "capture/cap.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "capture/cap-impl.h"
#include "capture/link.h"

#define NSEC_PER_SEC 1000000000u
#define NSEC_PER_USEC 1000u

static void close_file(struct kw_cap *cap, struct cap_file *f)
{
    if (f->pcap) {
        cap->bytes_done += cap_input_position(&f->in);
        pcap_close(f->pcap); /* and with it the stream it reads */
        f->pcap = NULL;
        f->in.fp = f->in.raw = NULL;
        f->in.stream = NULL;
    }
    cap_input_close(&f->in);
}

void kw_cap_close(struct kw_cap *cap)
{
    if (!cap)
        return;
    if (cap->live)
        cap_live_close(cap);
    for (size_t i = 0; i < cap->n_files; i++)
        close_file(cap, &cap->files[i]);
    free(cap->files);
    kw_frame_files_clear(&cap->frames);
    free(cap);
}

void kw_cap_stop(struct kw_cap *cap)
{
    if (cap->live)
        cap_live_close(cap);
}

int cap_open_handle(struct kw_cap *cap, struct cap_file *f, char err[KW_CAP_ERRBUF])
{
    char pe[PCAP_ERRBUF_SIZE] = "";
    /* A nanosecond pcap is read as it is written (its fraction is scaled to
     * microseconds here, whatever its value: record_time()); anything else in
     * microseconds, which libpcap scales pcapng's times to. */
    u_int precision = f->in.format == CAP_FORMAT_PCAP_NS ? PCAP_TSTAMP_PRECISION_NANO
                                                         : PCAP_TSTAMP_PRECISION_MICRO;
    f->pcap = pcap_fopen_offline_with_tstamp_precision(f->in.fp, precision, pe);
    if (!f->pcap) {
        snprintf(err, KW_CAP_ERRBUF, "%s: cannot read capture: %s", f->in.name, pe);
        fclose(f->in.fp); /* libpcap did not take it: ours to close, stream and all */
        f->in.fp = f->in.raw = NULL;
        f->in.stream = NULL;
        return -1;
    }
    f->linktype = pcap_datalink(f->pcap);
    f->snaplen = pcap_snapshot(f->pcap);
    if (!kw_link_supported(f->linktype)) {
        const char *name = pcap_datalink_val_to_name(f->linktype);
        char supported[KW_CAP_ERRBUF / 2];
        kw_link_list_supported(supported, sizeof(supported));
        snprintf(err, KW_CAP_ERRBUF, "%s: unsupported link type %s (%d); keepwatch reads %s",
                 f->in.name, name ? name : "unknown", f->linktype, supported);
        goto fail;
    }
    if (cap->bpf) {
        struct bpf_program prog;
        if (pcap_compile(f->pcap, &prog, cap->bpf, 1, PCAP_NETMASK_UNKNOWN) < 0) {
            snprintf(err, KW_CAP_ERRBUF, "invalid filter '%s': %s", cap->bpf,
                     pcap_geterr(f->pcap));
            goto fail;
        }
        int rc = pcap_setfilter(f->pcap, &prog);
        pcap_freecode(&prog);
        if (rc < 0) {
            snprintf(err, KW_CAP_ERRBUF, "%s: cannot set filter: %s", f->in.name,
                     pcap_geterr(f->pcap));
            goto fail;
        }
    }
    return 0;
fail:
    pcap_close(f->pcap); /* closes f->in.fp */
    f->pcap = NULL;
    f->in.fp = f->in.raw = NULL;
    f->in.stream = NULL;
    return -1;
}

static int open_one(struct kw_cap *cap, struct cap_file *f, const char *path,
                    char err[KW_CAP_ERRBUF])
{
    if (cap_input_open(&f->in, path, err) < 0)
        return -1;
    f->section = 1;
    if (cap_open_handle(cap, f, err) < 0) {
        cap_input_close(&f->in); /* what the handle did not take */
        return -1;
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
    cap->stats = stats;
    cap->latest_ts = KW_TS_NONE;
    cap->warn = warn;
    cap->bpf = bpf;
    size_t n_stdin = 0;
    bool sizes_known = true;
    for (size_t i = 0; i < n_paths; i++) {
        if (!strcmp(paths[i], "-") && ++n_stdin > 1) {
            snprintf(err, KW_CAP_ERRBUF, "standard input (-r -) can be read only once");
            goto fail;
        }
        cap->n_files = i + 1;
        if (open_one(cap, &cap->files[i], paths[i], err) < 0)
            goto fail;
        sizes_known = sizes_known && cap->files[i].in.is_regular;
        cap->bytes_total += cap->files[i].in.size;
        if (i) /* waits its turn: a decompressor's window is not held meanwhile */
            cap_input_suspend(&cap->files[i].in);
    }
    if (!sizes_known)
        cap->bytes_total = 0;
    if (n_paths)
        kw_frame_files_add(&cap->frames, paths[0], 1, false, false);
    return cap;
fail:
    kw_cap_close(cap);
    return NULL;
}

/* What capture/ drops, by kind: a malformed encapsulation by its kind. IPv6
 * is counted as IPv6 whatever its header holds, as it was before IPv6 headers
 * were decoded: the reassembler does not analyse IPv6 yet, and a cut or bad
 * IPv6 header is no more use to it. */
static void count_skip(struct kw_stats *st, enum kw_link_res r, const struct kw_ip *ip)
{
    if (r == KW_LINK_INVALID && ip->bad_encap < KW_ENCAP_N) {
        st->encap_invalid[ip->bad_encap]++;
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

/* The record's time as kw_usec; false when it cannot be one. Classic pcap
 * holds unsigned 32-bit seconds and fraction, which libpcap reads as signed
 * (so 2038 on comes back negative): they are read unsigned, and a fraction of
 * a second or more is carried into the seconds, as Wireshark reads them.
 * pcapng holds 64-bit times, whose seconds may be past any calendar. */
static bool record_time(const struct cap_file *f, const struct timeval *tv, kw_usec *ts)
{
    uint64_t sec, usec;
    if (f->in.format == CAP_FORMAT_PCAP) {
        sec = (uint32_t)tv->tv_sec;
        usec = (uint32_t)tv->tv_usec;
        if (usec >= KW_USEC_PER_SEC)
            sec += usec / KW_USEC_PER_SEC, usec %= KW_USEC_PER_SEC;
    } else if (f->in.format == CAP_FORMAT_PCAP_NS) {
        uint64_t nsec = (uint32_t)tv->tv_usec; /* opened at nanosecond precision */
        sec = (uint32_t)tv->tv_sec + nsec / NSEC_PER_SEC;
        usec = nsec % NSEC_PER_SEC / NSEC_PER_USEC;
    } else {
        if (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_sec > CAP_TS_SEC_MAX)
            return false;
        sec = (uint64_t)tv->tv_sec + (uint64_t)tv->tv_usec / KW_USEC_PER_SEC;
        usec = (uint64_t)tv->tv_usec % KW_USEC_PER_SEC;
        if (sec > (uint64_t)CAP_TS_SEC_MAX)
            return false;
    }
    *ts = (kw_usec)(sec * KW_USEC_PER_SEC + usec); /* at most 2.6e17: no overflow */
    return true;
}

bool cap_take(struct kw_cap *cap, int linktype, const struct pcap_pkthdr *h,
              const u_char *bytes, kw_usec ts, bool ts_ok, struct kw_pkt *pkt)
{
    cap->frame++;
    cap->frames.last_frame = cap->frame;
    cap->stats->packets++;
    cap->stats->bytes += h->len;
    if (!ts_ok) {
        cap->stats->skip_invalid++;
        return false;
    }
    pkt->ts = ts;
    if (ts > cap->latest_ts)
        cap->latest_ts = ts;
    pkt->linktype = linktype;
    pkt->wire_len = h->len;
    pkt->frame = cap->frame;
    pkt->bytes = kw_slice_make(bytes, h->caplen);
    enum kw_link_res r = kw_link_decode(linktype, pkt->bytes, h->len, &pkt->ip);
    if (r == KW_LINK_IP)
        return true;
    count_skip(cap->stats, r, &pkt->ip);
    return false;
}

/* One record of a file read: counts it and decodes it. True when it is for
 * the reassembler. */
static bool take_record(struct kw_cap *cap, struct cap_file *f, const struct pcap_pkthdr *h,
                        const u_char *bytes, struct kw_pkt *pkt)
{
    kw_usec ts = 0;
    bool ts_ok = record_time(f, &h->ts, &ts);
    f->frame++;
    return cap_take(cap, f->linktype, h, bytes, ts, ts_ok, pkt);
}

/* The file ended inside a record ("truncated dump file"), or its compressed
 * data did, or was corrupt: counted and said; reading goes on with the next. */
static void file_cut(struct kw_cap *cap, struct cap_file *f, const char *why)
{
    const char *cut = cap_input_cut(&f->in);
    cap->stats->files_truncated++;
    if (!cap->warn)
        return;
    if (cut[0] && why[0])
        fprintf(cap->warn, "keepwatch: %s: %s (%s) after %llu packets; going on\n", f->in.name,
                cut, why, (unsigned long long)f->frame);
    else
        fprintf(cap->warn, "keepwatch: %s: %s after %llu packets; going on\n", f->in.name,
                cut[0] ? cut : why, (unsigned long long)f->frame);
}

/* pcap_next_ex() failed. A read error sets the stream's error flag: reading
 * stops (true). Anything else ends this file, unless it was a pcapng section
 * matter (sections.c). */
static bool read_failed(struct kw_cap *cap, struct cap_file *f, bool *go_on)
{
    FILE *fp = pcap_file(f->pcap);
    *go_on = false;
    if (fp && ferror(fp)) {
        snprintf(cap->error, sizeof(cap->error), "%s: %s after %llu packets; reading stopped",
                 f->in.name, pcap_geterr(f->pcap), (unsigned long long)f->frame);
        return true;
    }
    switch (f->in.format == CAP_FORMAT_PCAPNG ? cap_section_error(cap, f) : SECTION_NOT_MINE) {
    case SECTION_GO_ON:
    case SECTION_REOPENED:
        *go_on = true;
        return false;
    case SECTION_END_FILE:
        return false;
    case SECTION_NOT_MINE:
        break;
    }
    file_cut(cap, f, pcap_geterr(f->pcap));
    return false;
}

/* The end of this file: a compressed one may have ended early all the same. */
static void file_done(struct kw_cap *cap, struct cap_file *f, bool ended_cleanly)
{
    if (ended_cleanly && cap_input_cut(&f->in)[0])
        file_cut(cap, f, "");
    if (f->unreadable && cap->warn)
        fprintf(cap->warn, "keepwatch: %s: %llu packets of interfaces libpcap cannot read "
                "skipped\n", f->in.name, (unsigned long long)f->unreadable);
    close_file(cap, f);
    if (++cap->cur < cap->n_files) /* its frames follow this one's */
        kw_frame_files_add(&cap->frames, cap->files[cap->cur].in.path, cap->frame + 1, false,
                           false);
}

enum kw_cap_res kw_cap_next(struct kw_cap *cap, struct kw_pkt *pkt)
{
    if (cap->error[0])
        return KW_CAP_ERROR;
    if (cap->live)
        return cap_live_next(cap, pkt);
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
        bool go_on = false;
        if (rc == PCAP_ERROR && read_failed(cap, f, &go_on))
            return KW_CAP_ERROR;
        if (!go_on)
            file_done(cap, f, rc != PCAP_ERROR);
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

const struct kw_frame_files *kw_cap_frame_files(const struct kw_cap *cap)
{
    return &cap->frames;
}

void kw_cap_progress(const struct kw_cap *cap, uint64_t *bytes_read, uint64_t *bytes_total)
{
    uint64_t read = cap->bytes_done;
    if (cap->cur < cap->n_files && cap->files[cap->cur].pcap)
        read += cap_input_position(&cap->files[cap->cur].in);
    *bytes_read = read;
    *bytes_total = cap->bytes_total;
}
