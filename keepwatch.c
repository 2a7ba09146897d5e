/* keepwatch: a passive HTTP/1.x connection-persistence inspector.
 *
 * main: wiring of the stages, the packet loop, exit status; options.c parses
 * the command line. The two are the only files that include every folder.
 * Data flows one way:
 *   capture (packets) -> reassembly (bytes, FINs, closes) -> http (transactions,
 *   connection ends) -> rules (findings, server policy) -> outputs (text, JSON). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture/cap.h"
#include "capture/extract.h"
#include "common/stats.h"
#include "http/track.h"
#include "output/evcap.h"
#include "output/out.h"
#include "output/progress.h"
#include "reassembly/reasm.h"
#include "rules/rules.h"
#include "live.h"
#include "options.h"

/* --- the pipeline ----------------------------------------------------- */

#define OUTPUTS_MAX 4

struct pipeline {
    struct kw_stats stats;
    struct kw_cap *cap;
    FILE *json_file;
    FILE *report_file;
    struct kw_out *outs[OUTPUTS_MAX];
    size_t n_outs;
    struct kw_out *report; /* the HTML output, one of outs */
    struct kw_evcap *evcap;
    struct kw_rules *rules;
    struct kw_track *track;
    struct kw_reasm *reasm;
    struct kw_out *json;   /* the JSON output, one of outs: SIGHUP redirects it */
    int signal_fd;         /* live: SIGINT, SIGTERM, SIGHUP, SIGUSR1; -1 reading files */
};

/* --- the packet loop -------------------------------------------------- */

struct reading {
    struct kw_cap *cap;
    struct kw_reasm *reasm;
    struct kw_rules *rules;
    kw_usec summary_every, next_summary;
    const char *stopped_by; /* the sentence that stopped the reading, or NULL */
    struct kw_out *report;  /* --report: its page is written again at each summary */
    const struct kw_stats *stats;
    struct kw_progress *progress; /* a progress line on the terminal, or NULL */
    kw_usec clock;          /* the time the timers have been given */
    /* live */
    struct pipeline *p;
    const struct options *o;
};

#define LIVE_WAIT_MS 200        /* a quiet live capture's timers run this often */
#define LIVE_LAG_USEC 250000    /* packets come in blocks held up to 100 ms (capture/live.c):
                                 * the timers run behind the clock, so that no packet
                                 * comes from before the time they were given */
#define LIVE_LOOK_EVERY 256     /* packets between looks at the clock and the signals */

#define PROGRESS_EVERY 4096 /* packets between looks at the clock */

/* A live capture's kernel counts, into the stats about to be written. */
static void kernel_counts(struct pipeline *p)
{
    struct kw_cap_kernel_counts k;
    if (kw_cap_kernel_counts(p->cap, &k) < 0)
        return;
    p->stats.kernel_counted = true;
    p->stats.kernel_received = k.received;
    p->stats.kernel_dropped = k.dropped;
    p->stats.interface_dropped = k.if_dropped;
}

/* Time has reached `now`: idle connections end, then the rules that wait for
 * time look at the connections still open. */
static void advance_time(struct reading *rd, kw_usec now)
{
    if (rd->clock != KW_TS_NONE && now <= rd->clock)
        return; /* live, the clock less the lag can be behind the last packet */
    rd->clock = now;
    kw_reasm_tick(rd->reasm, now);
    kw_rules_tick(rd->rules, now);
    if (!rd->summary_every)
        return;
    if (rd->next_summary == KW_TS_NONE)
        rd->next_summary = now + rd->summary_every; /* the first packet starts the clock */
    else if (now >= rd->next_summary) {
        kw_rules_summary(rd->rules, now);
        if (rd->report) {
            kernel_counts(rd->p); /* live; nothing for files */
            kw_out_stats(rd->report, rd->stats, now);
        }
        rd->next_summary = now + rd->summary_every;
    }
}

/* SIGHUP: the --json file again under its name (logrotate moved it, with
 * `create`); every event before is in the old one, whole. */
static void reopen_json(struct pipeline *p, const struct options *o)
{
    if (!p->json_file)
        return;
    FILE *f = fopen(o->json_path, "a");
    if (!f) {
        fprintf(stderr, "keepwatch: SIGHUP: cannot reopen %s: %s; writing on to the old file\n",
                o->json_path, strerror(errno));
        return;
    }
    if (fclose(p->json_file) == EOF)
        fprintf(stderr, "keepwatch: %s: error writing: %s\n", o->json_path, strerror(errno));
    p->json_file = f;
    kw_out_redirect(p->json, f);
}

/* Live, between packets: signals, the capture's clock (rotation, flushing,
 * the kernel's counts) and the timers, on the wall clock. */
static bool live_between(struct reading *rd)
{
    kw_usec now = live_now();
    for (enum live_signal s; (s = live_signal_next(rd->p->signal_fd)) != LIVE_SIGNAL_NONE;) {
        if (s == LIVE_SIGNAL_STOP)
            return false;
        if (s == LIVE_SIGNAL_REOPEN)
            reopen_json(rd->p, rd->o);
        if (s == LIVE_SIGNAL_STATS) {
            kernel_counts(rd->p);
            for (size_t i = 0; i < rd->p->n_outs; i++)
                kw_out_stats(rd->p->outs[i], rd->stats, now);
        }
    }
    kw_cap_tick(rd->cap, now);
    advance_time(rd, now - LIVE_LAG_USEC);
    return true;
}

/* Feeds every packet to the reassembler, and time to it: idle connections
 * end before their late packets (at most one tick per second of capture
 * time), and while a live capture is quiet. Runs inside kw_reasm_run(). */
static void read_packets(void *ctx)
{
    struct reading *rd = ctx;
    struct kw_pkt pkt;
    kw_usec next_tick = KW_TS_NONE;
    for (uint32_t n = 1;; n++) {
        switch (kw_cap_next(rd->cap, &pkt)) {
        case KW_CAP_END:
            return;
        case KW_CAP_ERROR:
            rd->stopped_by = kw_cap_error(rd->cap);
            return;
        case KW_CAP_TIMEOUT: /* live, and nothing waiting */
            live_wait(kw_cap_fd(rd->cap), rd->p->signal_fd, LIVE_WAIT_MS);
            if (!live_between(rd))
                return;
            continue;
        case KW_CAP_PKT:
            break;
        }
        if (rd->p->signal_fd >= 0 && n % LIVE_LOOK_EVERY == 0 && !live_between(rd))
            return;
        if (pkt.ts >= next_tick) {
            advance_time(rd, pkt.ts);
            next_tick = pkt.ts < INT64_MAX - KW_USEC_PER_SEC ? pkt.ts + KW_USEC_PER_SEC
                                                             : INT64_MAX;
        }
        if (kw_reasm_feed(rd->reasm, &pkt) < 0)
            return;
        if (rd->progress && n % PROGRESS_EVERY == 0) {
            uint64_t read, total;
            kw_cap_progress(rd->cap, &read, &total);
            kw_progress_show(rd->progress, read);
        }
    }
}

/* Progress on standard error when it is a terminal and the report goes
 * elsewhere (a file, a pipe), so the two never share a screen; not with -q. */
static struct kw_progress *progress_line(const struct kw_cap *cap, const struct options *o)
{
    uint64_t read, total;
    kw_cap_progress(cap, &read, &total);
    if (o->out.quiet || isatty(STDOUT_FILENO))
        return NULL;
    return kw_progress_new(stderr, total);
}

/* --- the pipeline ----------------------------------------------------- */


/* A terminal gets colours (unless NO_COLOR, https://no-color.org, or
 * --color=never) and lines that fit its width; a file or a pipe neither. */
static void terminal_options(const struct options *o, struct kw_out_options *text)
{
    bool tty = isatty(STDOUT_FILENO);
    const char *no_color = getenv("NO_COLOR");
    text->color = o->color == COLOR_ALWAYS ||
                  (o->color == COLOR_AUTO && tty && !(no_color && no_color[0]));
    struct winsize ws;
    if (tty && !ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_col >= 40)
        text->width = ws.ws_col;
}

/* The outputs: the text report on standard output unless JSON goes there,
 * JSON where --json says, the HTML page where --report says. */
static int open_outputs(struct pipeline *p, const struct options *o)
{
    const char *path = o->json_path && strcmp(o->json_path, "-") ? o->json_path : NULL;
    if ((path && !(p->json_file = fopen(path, "w"))) ||
        (o->report_path && !(p->report_file = fopen(path = o->report_path, "w")))) {
        fprintf(stderr, "keepwatch: %s: cannot write: %s\n", path, strerror(errno));
        return -1;
    }
    /* Events are written in one burst per event: a large buffer saves write
     * calls (stdio picks 4 KiB for a pipe or /dev/null). */
    static char stdout_buffer[1 << 20], json_buffer[1 << 20];
    setvbuf(stdout, stdout_buffer, _IOFBF, sizeof(stdout_buffer));
    if (p->json_file)
        setvbuf(p->json_file, json_buffer, _IOFBF, sizeof(json_buffer));
    struct kw_out_options opts = o->out;
    opts.frames = kw_cap_frame_files(p->cap);
    if (!o->json_path || p->json_file) {
        struct kw_out_options text = opts;
        terminal_options(o, &text);
        p->outs[p->n_outs++] = kw_out_new("text", stdout, &text);
    }
    if (o->json_path)
        p->outs[p->n_outs++] = p->json =
            kw_out_new("json", p->json_file ? p->json_file : stdout, &opts);
    if (p->report_file)
        p->outs[p->n_outs++] = p->report = kw_out_new("html", p->report_file, &opts);
    if (o->syslog)
        p->outs[p->n_outs++] = kw_out_new("syslog", NULL, &opts);
    for (size_t i = 0; i < p->n_outs; i++)
        if (!p->outs[i])
            return -1;
    return 0;
}

/* --evidence's folder: made if it is not there, before any packet is read. */
static int make_evidence_dir(const char *dir)
{
    struct stat st;
    if (mkdir(dir, 0777) < 0 && (errno != EEXIST || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))) {
        fprintf(stderr, "keepwatch: --evidence: cannot make the folder %s: %s\n", dir,
                errno == EEXIST ? "a file has that name" : strerror(errno));
        return -1;
    }
    return 0;
}

/* Each stage subscribes to the one before it; the engine last, so that it
 * sees each connection's end before the outputs and its findings about it
 * reach them first (http/txn.h). */
static int open_pipeline(struct pipeline *p, const struct options *o)
{
    char err[KW_CAP_ERRBUF > KW_REASM_ERRBUF ? KW_CAP_ERRBUF : KW_REASM_ERRBUF];
    /* live: taken first, so that a signal while the tables are set up (a
     * second or so at --max-connections 1000000) waits for the loop */
    if (o->live.iface && (p->signal_fd = live_signals_open()) < 0) {
        fprintf(stderr, "keepwatch: cannot take signals: %s\n", strerror(errno));
        return -1;
    }
    if (o->live.iface) {
        struct kw_cap_live_config live = o->live;
        live.now = live_now();
        p->cap = kw_cap_open_live(&live, o->filter, &p->stats, stderr, err);
    } else {
        p->cap = kw_cap_open_files(o->files, o->n_files, o->filter, &p->stats, stderr, err);
    }
    if (!p->cap) {
        fprintf(stderr, "keepwatch: %s\n", err);
        return -1;
    }
    if (open_outputs(p, o) < 0 || (o->evidence_dir && make_evidence_dir(o->evidence_dir) < 0))
        return -1;
    p->rules = kw_rules_new(o->rules);
    p->track = p->rules ? kw_track_new(o->head_max, &p->stats) : NULL;
    if (!p->track)
        goto oom;
    for (size_t i = 0; i < p->n_outs; i++)
        if (kw_track_subscribe(p->track, kw_out_txn_consumer(p->outs[i])) < 0 ||
            kw_rules_add_consumer(p->rules, kw_out_finding_consumer(p->outs[i])) < 0)
            goto oom;
    if (o->evidence_dir &&
        (!(p->evcap = kw_evcap_new(o->evidence_dir, o->evidence_level, &o->out)) ||
         kw_track_subscribe(p->track, kw_evcap_txn_consumer(p->evcap)) < 0 ||
         kw_rules_add_consumer(p->rules, kw_evcap_finding_consumer(p->evcap)) < 0))
        goto oom;
    if (kw_track_subscribe(p->track, kw_rules_txn_consumer(p->rules)) < 0)
        goto oom;
    p->reasm = kw_reasm_new(&o->reasm, kw_track_reasm_sink(p->track), &p->stats, err);
    if (!p->reasm) {
        fprintf(stderr, "keepwatch: %s\n", err);
        return -1;
    }
    return 0;
oom:
    fputs("keepwatch: out of memory\n", stderr);
    return -1;
}

static void close_pipeline(struct pipeline *p)
{
    if (p->signal_fd >= 0)
        close(p->signal_fd);
    kw_evcap_free(p->evcap);
    kw_reasm_free(p->reasm);
    kw_track_free(p->track);
    kw_rules_free(p->rules);
    for (size_t i = 0; i < p->n_outs; i++)
        kw_out_free(p->outs[i]);
    kw_cap_close(p->cap);
    if (p->json_file)
        fclose(p->json_file);
    if (p->report_file)
        fclose(p->report_file);
}

/* The exit status for CI jobs: 1 when a finding reached --fail-on's level,
 * or when there was nothing to judge (no HTTP at all, unless --allow-empty). */
static int judge(const struct pipeline *p, const struct options *o)
{
    if (o->fail_on < 0)
        return 0;
    if (!p->stats.requests && !o->allow_empty) {
        fprintf(stderr, "keepwatch: --fail-on: no HTTP transaction was decoded, so nothing was "
                        "checked (the wrong capture, port or filter? --allow-empty accepts it)\n");
        return 1;
    }
    return kw_rules_worst(p->rules) >= o->fail_on;
}

/* After the run: each kept connection's packets copied out of the inputs,
 * then the index. Returns 0 or EXIT_USAGE. */
static int write_evidence(struct pipeline *p, const struct options *o)
{
    char err[KW_EXTRACT_ERRBUF], path[4096];
    size_t n;
    struct kw_extract_job *jobs = kw_evcap_jobs(p->evcap, &n);
    if (kw_extract(kw_cap_frame_files(p->cap), o->live.iface ? NULL : o->filter, jobs, n,
                   err) < 0) {
        fprintf(stderr, "keepwatch: --evidence: %s\n", err);
        return EXIT_USAGE;
    }
    snprintf(path, sizeof(path), "%s/index.json", o->evidence_dir);
    FILE *f = fopen(path, "w");
    if (f)
        kw_evcap_index(p->evcap, f);
    if (!f || ferror(f) | fclose(f)) {
        fprintf(stderr, "keepwatch: %s: cannot write: %s\n", path, strerror(errno));
        return EXIT_USAGE;
    }
    if (kw_evcap_not_kept(p->evcap))
        fprintf(stderr, "keepwatch: --evidence: %" PRIu64 " more connections with findings "
                        "have no capture (at most %d, the worst, are copied)\n",
                kw_evcap_not_kept(p->evcap), KW_EVCAP_CONNS_MAX);
    return 0;
}

/* Reads everything, then reports: stopped early or not, everything decoded
 * so far is in the report. Returns the exit status. */
static int run(struct pipeline *p, const struct options *o)
{
    struct reading rd = { p->cap, p->reasm, p->rules, o->summary_every, KW_TS_NONE, NULL,
                          p->report, &p->stats, NULL, KW_TS_NONE, p, o };
    if (!o->live.iface)
        rd.progress = progress_line(p->cap, o);
    const char *stopped_by = kw_reasm_run(p->reasm, read_packets, &rd) < 0
                                 ? kw_reasm_error(p->reasm) : rd.stopped_by;
    kw_progress_free(rd.progress);
    /* live, the connections still open end now: the clock's time, not the last packet's */
    kw_usec last_ts = o->live.iface ? live_now() : kw_cap_latest_ts(p->cap);
    if (o->live.iface) {
        kw_cap_tick(p->cap, last_ts);
        kernel_counts(p);
        kw_cap_stop(p->cap); /* the -w file whole on disk, for --evidence */
    }
    kw_reasm_finish(p->reasm, last_ts);
    kw_rules_finish(p->rules, last_ts);
    p->stats.servers_untracked = kw_rules_servers_untracked(p->rules);
    p->stats.servers_evicted = kw_rules_servers_evicted(p->rules);
    for (size_t i = 0; i < p->n_outs; i++)
        kw_out_stats(p->outs[i], &p->stats, last_ts);
    if (o->filter && !p->stats.packets)
        fprintf(stderr, "keepwatch: the filter '%s' matched no packet\n", o->filter);
    int status = judge(p, o);
    FILE *written[] = { stdout, p->json_file, p->report_file };
    for (size_t i = 0; i < sizeof(written) / sizeof(written[0]); i++)
        if (written[i] && (ferror(written[i]) || fflush(written[i]) == EOF)) {
            fprintf(stderr, "keepwatch: error writing the report: %s\n", strerror(errno));
            status = EXIT_USAGE;
        }
    if (p->evcap && write_evidence(p, o))
        status = EXIT_USAGE;
    if (stopped_by) { /* after the report, which holds what came before it */
        fprintf(stderr, "keepwatch: %s\n", stopped_by);
        status = EXIT_USAGE;
    }
    return status;
}

int main(int argc, char **argv)
{
    struct options o;
    memset(&o, 0, sizeof(o));
    int status = EXIT_USAGE;
    if (options_parse(argc, argv, &o) < 0) {
        fputs("usage: keepwatch [options] -r FILE | -i INTERFACE [filter expression]; see "
              "--help\n", stderr);
    } else {
        struct pipeline p;
        memset(&p, 0, sizeof(p));
        p.signal_fd = -1;
        char err[512];
        if (o.list_interfaces) {
            status = kw_cap_list_interfaces(stdout, err) < 0 ? EXIT_USAGE : 0;
            if (status)
                fprintf(stderr, "keepwatch: %s\n", err);
        } else if (open_pipeline(&p, &o) == 0) {
            /* as tcpdump: root only to open the capture and the outputs */
            if (o.drop_user &&
                live_drop_privileges(o.drop_user, o.evidence_dir, err, sizeof(err)) < 0)
                fprintf(stderr, "keepwatch: %s\n", err);
            else
                status = run(&p, &o);
        }
        close_pipeline(&p);
    }
    options_free(&o);
    return status;
}
