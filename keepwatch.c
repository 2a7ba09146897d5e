/* keepwatch: a passive HTTP/1.x connection-persistence inspector.
 *
 * main: options, wiring of the stages, exit status. The only file that
 * includes every folder. Data flows one way:
 *   capture (packets) -> reassembly (bytes, FINs, closes) -> http (transactions,
 *   connection ends) -> rules (findings, server policy) -> output (text or JSON). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture/cap.h"
#include "common/stats.h"
#include "http/track.h"
#include "output/out.h"
#include "reassembly/reasm.h"
#include "rules/rules.h"

#define EXIT_USAGE 2

struct options {
    const char **files;
    size_t n_files;
    const char *json_path; /* NULL: text; "-": JSON to standard output */
    char *filter;
    struct kw_reasm_config reasm;
    uint32_t head_max;
    struct kw_rules_config *rules;
    int fail_on; /* a severity, or -1 */
};

static void usage(FILE *f)
{
    fputs("usage: keepwatch [options] -r FILE [-r FILE ...] [filter expression]\n"
          "\n"
          "Reads saved captures (pcap or pcapng; '-' is standard input), reassembles\n"
          "every TCP connection, decodes its HTTP/1.x exchanges and reports, per\n"
          "connection, each request and response, the idle gaps and how it ended.\n"
          "\n"
          "  -r FILE               read packets from FILE; repeat for several files, in order\n"
          "  --json [FILE]         JSON lines instead of text, to FILE or standard output\n"
          "                        (the next word is taken as FILE unless it starts with '-')\n"
          "  --max-streams N       reassembler hash size; 3/4 of it are followed at once\n"
          "                        (default 65536)\n"
          "  --flow-timeout S      a SYN reusing the ports of a connection at least S seconds\n"
          "                        old starts a new connection (default 1)\n"
          "  --flow-timeout-idle S end a connection with no data, FIN or RST for S seconds\n"
          "                        (close \"timeout\"; default 300, 0: never)\n"
          "  --max-header-bytes N  cap on a message's start line and headers (default 65536)\n"
          "  --rules FILE          rule settings: disable, severity, grace, suppress, expect\n"
          "                        (docs/rules.md)\n"
          "  --grace S             close grace in seconds (default 1): a close this soon after\n"
          "                        a response is a policy close, a later one an idle close\n"
          "  --disable RULE        do not report RULE (repeatable)\n"
          "  --fail-on LEVEL       exit 1 when a finding reaches notice, warning or error\n"
          "  -h, --help            this help\n"
          "  --version             the version\n"
          "\n"
          "Trailing words are a BPF filter, as for tcpdump (e.g. tcp port 8080).\n"
          "Exit status: 0 when the input was read (1 with --fail-on and a finding at that\n"
          "level or above), 2 for bad usage, unreadable input or a bad rules file.\n",
          f);
}

static int parse_number(const char *opt, const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        fprintf(stderr, "keepwatch: %s wants a number from %ld to %ld, not '%s'\n", opt, min, max,
                s);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
    o->files = calloc((size_t)argc, sizeof(*o->files));
    if (!o->files)
        return -1;
    o->reasm.n_tcp_streams = KW_REASM_STREAMS_DEFAULT;
    o->reasm.flow_timeout_s = KW_REASM_FLOW_TIMEOUT_DEFAULT;
    o->reasm.idle_timeout_s = KW_REASM_IDLE_TIMEOUT_DEFAULT;
    o->head_max = KW_HTTP_HEAD_MAX_DEFAULT;
    o->fail_on = -1;
    o->rules = kw_rules_config_new();
    if (!o->rules)
        return -1;
    char why[512];
    size_t filter_len = 0;
    int first_filter = argc;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long v;
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--version")) {
            printf("keepwatch %s\n", PACKAGE_VERSION);
            exit(0);
        } else if (!strcmp(a, "-r")) {
            if (!val) {
                fputs("keepwatch: -r wants a file name\n", stderr);
                return -1;
            }
            o->files[o->n_files++] = val;
            i++;
        } else if (!strncmp(a, "-r", 2) && a[2]) {
            o->files[o->n_files++] = a + 2;
        } else if (!strcmp(a, "--json")) {
            o->json_path = "-";
            if (val && val[0] != '-') {
                o->json_path = val;
                i++;
            } else if (val && !strcmp(val, "-")) {
                i++;
            }
        } else if (!strncmp(a, "--json=", 7)) {
            o->json_path = a + 7;
        } else if (!strcmp(a, "--max-streams") || !strcmp(a, "--flow-timeout") ||
                   !strcmp(a, "--flow-timeout-idle") || !strcmp(a, "--max-header-bytes")) {
            if (!val) {
                fprintf(stderr, "keepwatch: %s wants a number\n", a);
                return -1;
            }
            if (!strcmp(a, "--max-streams")) {
                if (parse_number(a, val, 16, 1 << 24, &v) < 0)
                    return -1;
                o->reasm.n_tcp_streams = (int)v;
            } else if (!strcmp(a, "--flow-timeout")) {
                if (parse_number(a, val, 0, 86400, &v) < 0)
                    return -1;
                o->reasm.flow_timeout_s = (int)v;
            } else if (!strcmp(a, "--flow-timeout-idle")) {
                if (parse_number(a, val, 0, 31 * 86400, &v) < 0)
                    return -1;
                o->reasm.idle_timeout_s = (int)v;
            } else {
                if (parse_number(a, val, 256, 16 << 20, &v) < 0)
                    return -1;
                o->head_max = (uint32_t)v;
            }
            i++;
        } else if (!strcmp(a, "--rules") || !strcmp(a, "--grace") || !strcmp(a, "--disable") ||
                   !strcmp(a, "--fail-on")) {
            if (!val) {
                fprintf(stderr, "keepwatch: %s wants a value\n", a);
                return -1;
            }
            char line[256];
            enum kw_severity sev;
            int rc = 0;
            if (!strcmp(a, "--rules")) {
                rc = kw_rules_config_load(o->rules, val, why, sizeof(why));
            } else if (!strcmp(a, "--fail-on")) {
                if (!kw_severity_by_name(val, strlen(val), &sev)) {
                    snprintf(why, sizeof(why), "--fail-on wants notice, warning or error, not '%s'",
                             val);
                    rc = -1;
                }
                o->fail_on = (int)sev;
            } else {
                snprintf(line, sizeof(line), "%s %s", a + 2, val);
                rc = kw_rules_config_line(o->rules, line, why, sizeof(why));
            }
            if (rc < 0) {
                fprintf(stderr, "keepwatch: %s\n", why);
                return -1;
            }
            i++;
        } else if (!strcmp(a, "--")) {
            first_filter = i + 1;
            break;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "keepwatch: unknown option '%s' (see keepwatch --help)\n", a);
            return -1;
        } else {
            first_filter = i;
            break;
        }
    }
    for (int i = first_filter; i < argc; i++)
        filter_len += strlen(argv[i]) + 1;
    if (filter_len) {
        o->filter = calloc(1, filter_len);
        if (!o->filter)
            return -1;
        for (int i = first_filter; i < argc; i++) {
            if (i > first_filter)
                strcat(o->filter, " ");
            strcat(o->filter, argv[i]);
        }
    }
    if (!o->n_files) {
        fputs("keepwatch: no input: give -r FILE (live capture is not supported yet)\n", stderr);
        return -1;
    }
    return 0;
}

/* Feeds every packet to the reassembler, and time to it: idle connections
 * end before their late packets (at most one tick per second of capture
 * time), and while a live capture is quiet. NULL when the input was read to
 * its end, else the sentence that stopped reading: a read error, or the
 * reassembler's failure. */
/* The packet loop: from capture to reassembly, with the reassembler's idle
 * timer driven by capture time. */
struct reading {
    struct kw_cap *cap;
    struct kw_reasm *reasm;
    const char *stopped_by; /* the sentence that stopped the reading, or NULL */
};

static void read_packets(void *ctx)
{
    struct reading *rd = ctx;
    struct kw_pkt pkt;
    kw_usec next_tick = KW_TS_NONE;
    for (;;) {
        switch (kw_cap_next(rd->cap, &pkt)) {
        case KW_CAP_END:
            return;
        case KW_CAP_ERROR:
            rd->stopped_by = kw_cap_error(rd->cap);
            return;
        case KW_CAP_TIMEOUT: { /* a live capture's packet times are the clock's */
            struct timespec now;
            clock_gettime(CLOCK_REALTIME, &now);
            kw_reasm_tick(rd->reasm, (kw_usec)now.tv_sec * KW_USEC_PER_SEC + now.tv_nsec / 1000);
            continue;
        }
        case KW_CAP_PKT:
            break;
        }
        if (pkt.ts >= next_tick) {
            kw_reasm_tick(rd->reasm, pkt.ts);
            next_tick = pkt.ts < INT64_MAX - KW_USEC_PER_SEC ? pkt.ts + KW_USEC_PER_SEC
                                                             : INT64_MAX;
        }
        if (kw_reasm_feed(rd->reasm, &pkt) < 0)
            return;
    }
}

int main(int argc, char **argv)
{
    struct options o;
    memset(&o, 0, sizeof(o));
    if (parse_args(argc, argv, &o) < 0) {
        fputs("usage: keepwatch [options] -r FILE [filter expression]; see --help\n", stderr);
        free(o.files);
        free(o.filter);
        kw_rules_config_free(o.rules);
        return EXIT_USAGE;
    }

    int status = EXIT_USAGE;
    struct kw_stats stats;
    memset(&stats, 0, sizeof(stats));
    char err[KW_CAP_ERRBUF];
    FILE *json_file = NULL;
    struct kw_cap *cap = NULL;
    struct kw_out *outs[2] = { NULL, NULL };
    size_t n_outs = 0;
    struct kw_track *track = NULL;
    struct kw_rules *rules = NULL;
    struct kw_reasm *reasm = NULL;

    cap = kw_cap_open_files(o.files, o.n_files, o.filter, &stats, stderr, err);
    if (!cap) {
        fprintf(stderr, "keepwatch: %s\n", err);
        goto done;
    }
    if (o.json_path && strcmp(o.json_path, "-")) {
        json_file = fopen(o.json_path, "w");
        if (!json_file) {
            fprintf(stderr, "keepwatch: %s: cannot write: %s\n", o.json_path, strerror(errno));
            goto done;
        }
    }
    /* Events are written in one burst per event: a large buffer saves write
     * calls (stdio picks 4 KiB for a pipe or /dev/null). */
    static char stdout_buffer[1 << 20], json_buffer[1 << 20];
    setvbuf(stdout, stdout_buffer, _IOFBF, sizeof(stdout_buffer));
    if (json_file)
        setvbuf(json_file, json_buffer, _IOFBF, sizeof(json_buffer));
    /* The text report goes to standard output unless JSON does. */
    if (!o.json_path || json_file)
        outs[n_outs++] = kw_out_new("text", stdout, NULL);
    if (o.json_path)
        outs[n_outs++] = kw_out_new("json", json_file ? json_file : stdout, NULL);
    rules = kw_rules_new(o.rules);
    track = rules ? kw_track_new(o.head_max, &stats) : NULL;
    for (size_t i = 0; track && i < n_outs; i++)
        if (!outs[i] || kw_track_subscribe(track, kw_out_txn_consumer(outs[i])) < 0 ||
            kw_rules_add_consumer(rules, kw_out_finding_consumer(outs[i])) < 0) {
            kw_track_free(track);
            track = NULL;
        }
    /* The engine subscribes last: it sees each connection's end before the
     * outputs, so its findings about it reach them first (http/txn.h). */
    if (!track || kw_track_subscribe(track, kw_rules_txn_consumer(rules)) < 0) {
        fputs("keepwatch: out of memory\n", stderr);
        goto done;
    }
    reasm = kw_reasm_new(&o.reasm, kw_track_reasm_sink(track), &stats, err);
    if (!reasm) {
        fprintf(stderr, "keepwatch: %s\n", err);
        goto done;
    }

    struct reading rd = { cap, reasm, NULL };
    const char *stopped_by = kw_reasm_run(reasm, read_packets, &rd) < 0 ? kw_reasm_error(reasm)
                                                                      : rd.stopped_by;
    /* Stopped or not, everything decoded so far is reported. */
    kw_usec last_ts = kw_cap_latest_ts(cap);
    kw_reasm_finish(reasm, last_ts);
    kw_rules_finish(rules, last_ts);
    stats.servers_untracked = kw_rules_servers_untracked(rules);
    for (size_t i = 0; i < n_outs; i++)
        kw_out_stats(outs[i], &stats, last_ts);
    status = o.fail_on >= 0 && kw_rules_worst(rules) >= o.fail_on ? 1 : 0;
    FILE *written[] = { stdout, json_file };
    for (size_t i = 0; i < 2; i++)
        if (written[i] && (ferror(written[i]) || fflush(written[i]) == EOF)) {
            fprintf(stderr, "keepwatch: error writing the report: %s\n", strerror(errno));
            status = EXIT_USAGE;
        }
    if (stopped_by) { /* after the report, which holds what came before it */
        fprintf(stderr, "keepwatch: %s\n", stopped_by);
        status = EXIT_USAGE;
    }

done:
    kw_reasm_free(reasm);
    kw_track_free(track);
    kw_rules_free(rules);
    for (size_t i = 0; i < n_outs; i++)
        kw_out_free(outs[i]);
    kw_cap_close(cap);
    if (json_file)
        fclose(json_file);
    free(o.files);
    free(o.filter);
    kw_rules_config_free(o.rules);
    return status;
}
