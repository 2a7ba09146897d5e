/* keepwatch: a passive HTTP/1.x connection-persistence inspector.
 *
 * main: options, wiring of the stages, exit status. The only file that
 * includes every folder. Data flows one way:
 *   capture (packets) -> reassembly (bytes, FINs, closes) -> http (transactions,
 *   connection ends) -> rules (findings, server policy) -> outputs (text, JSON). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <getopt.h>
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
#include "reassembly/reasm.h"
#include "rules/rules.h"

#define EXIT_USAGE 2

enum color_choice { COLOR_AUTO = 0, COLOR_NEVER, COLOR_ALWAYS };

struct options {
    enum color_choice color;
    const char **files;
    size_t n_files;
    const char *json_path; /* NULL: no JSON; "-": JSON to standard output, instead of text */
    const char *report_path; /* --report: the HTML page; NULL: none */
    const char *evidence_dir;  /* --evidence: a capture per connection with a finding */
    enum kw_severity evidence_level;
    char *filter;
    struct kw_reasm_config reasm;
    uint32_t head_max;
    struct kw_rules_config *rules;
    struct kw_out_options out;
    int fail_on; /* a severity, or -1 */
    bool allow_empty;
    bool syslog;           /* findings to syslog too */
    kw_usec summary_every; /* server policies this often as well as at the end; 0: only then */
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
          "  --json[=FILE]         JSON lines: --json to standard output instead of the text\n"
          "                        report, --json=FILE to FILE beside it\n"
          "  --report=FILE         also write the HTML report to FILE: race plots,\n"
          "                        histograms, ladders of the connections with findings\n"
          "  --evidence=DIR        after the run, copy each connection with a finding at\n"
          "                        --evidence-level or above into a pcap of its own in DIR,\n"
          "                        listed in DIR/index.json\n"
          "  --evidence-level LEVEL  notice, warning or error (default warning)\n"
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
          "  --fail-on LEVEL       exit 1 when a finding reaches notice, warning or error,\n"
          "                        or when no HTTP transaction was decoded at all\n"
          "  --allow-empty         with --fail-on: no HTTP at all is not a failure\n"
          "  --community-id-seed N seed of the JSON community_id (default 0)\n"
          "  --local-time          times in the text report in the local time zone (default UTC)\n"
          "  --sensor NAME         JSON: \"sensor\" on every event (default: the host name)\n"
          "  --events LIST         JSON: the kinds of events to write, comma-separated, from\n"
          "                        transaction,connection,alert,server,stats (default all)\n"
          "  --redact uri-query    drop the query of every URI (after its '?') in every output\n"
          "  -q, --quiet           text: only findings, server paragraphs and the totals\n"
          "  -l, --line-buffered   write and flush each event when it happens (the text a\n"
          "                        line at a time, led by its connection's #id); on by\n"
          "                        default when reading a pipe (-r -)\n"
          "  --syslog              each finding at or above --syslog-level to syslog too\n"
          "  --syslog-level LEVEL  notice, warning (the default) or error\n"
          "  --summary-every S     every server's policy every S seconds as well as at the end\n"
          "                        (default 0: at the end only)\n"
          "  --color WHEN          text: severities in colour: auto (on a terminal, unless\n"
          "                        NO_COLOR is set), always or never\n"
          "  -h, --help            this help\n"
          "  --version             the version\n"
          "\n"
          "Every long option takes its value as --opt=VALUE or --opt VALUE, but --json,\n"
          "whose file is only ever --json=FILE. Trailing words are a BPF filter, as for\n"
          "tcpdump (e.g. tcp port 8080).\n"
          "Exit status: 0 when the input was read (1 with --fail-on and a finding at that\n"
          "level or above, or no HTTP), 2 for bad usage, unreadable input, a bad rules\n"
          "file, a read error or the reassembler running out of memory.\n",
          f);
}

/* --- options ---------------------------------------------------------- */

enum long_only {
    OPT_JSON = 256,
    OPT_REPORT,
    OPT_EVIDENCE,
    OPT_EVIDENCE_LEVEL,
    OPT_MAX_STREAMS,
    OPT_FLOW_TIMEOUT,
    OPT_FLOW_TIMEOUT_IDLE,
    OPT_MAX_HEADER_BYTES,
    OPT_RULES,
    OPT_GRACE,
    OPT_DISABLE,
    OPT_FAIL_ON,
    OPT_ALLOW_EMPTY,
    OPT_COMMUNITY_ID_SEED,
    OPT_LOCAL_TIME,
    OPT_SENSOR,
    OPT_EVENTS,
    OPT_REDACT,
    OPT_COLOR,
    OPT_SUMMARY_EVERY,
    OPT_SYSLOG,
    OPT_SYSLOG_LEVEL,
    OPT_VERSION,
};

static const struct option long_options[] = {
    { "json", optional_argument, NULL, OPT_JSON },
    { "report", required_argument, NULL, OPT_REPORT },
    { "evidence", required_argument, NULL, OPT_EVIDENCE },
    { "evidence-level", required_argument, NULL, OPT_EVIDENCE_LEVEL },
    { "max-streams", required_argument, NULL, OPT_MAX_STREAMS },
    { "flow-timeout", required_argument, NULL, OPT_FLOW_TIMEOUT },
    { "flow-timeout-idle", required_argument, NULL, OPT_FLOW_TIMEOUT_IDLE },
    { "max-header-bytes", required_argument, NULL, OPT_MAX_HEADER_BYTES },
    { "rules", required_argument, NULL, OPT_RULES },
    { "grace", required_argument, NULL, OPT_GRACE },
    { "disable", required_argument, NULL, OPT_DISABLE },
    { "fail-on", required_argument, NULL, OPT_FAIL_ON },
    { "allow-empty", no_argument, NULL, OPT_ALLOW_EMPTY },
    { "community-id-seed", required_argument, NULL, OPT_COMMUNITY_ID_SEED },
    { "local-time", no_argument, NULL, OPT_LOCAL_TIME },
    { "sensor", required_argument, NULL, OPT_SENSOR },
    { "events", required_argument, NULL, OPT_EVENTS },
    { "redact", required_argument, NULL, OPT_REDACT },
    { "color", required_argument, NULL, OPT_COLOR },
    { "summary-every", required_argument, NULL, OPT_SUMMARY_EVERY },
    { "syslog", no_argument, NULL, OPT_SYSLOG },
    { "syslog-level", required_argument, NULL, OPT_SYSLOG_LEVEL },
    { "quiet", no_argument, NULL, 'q' },
    { "line-buffered", no_argument, NULL, 'l' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, OPT_VERSION },
    { NULL, 0, NULL, 0 },
};

/* The option's name as the user wrote it, for messages. */
static const char *option_name(int opt)
{
    for (const struct option *l = long_options; l->name; l++)
        if (l->val == opt)
            return l->name;
    return "?";
}

static int parse_number(int opt, const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        fprintf(stderr, "keepwatch: --%s wants a number from %ld to %ld, not '%s'\n",
                option_name(opt), min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* The options that take a number. */
static int set_number(struct options *o, int opt, const char *val)
{
    static const struct { int opt; long min, max; } ranges[] = {
        { OPT_MAX_STREAMS, 16, 1 << 24 },     { OPT_FLOW_TIMEOUT, 0, 86400 },
        { OPT_FLOW_TIMEOUT_IDLE, 0, 31 * 86400 }, { OPT_MAX_HEADER_BYTES, 256, 16 << 20 },
        { OPT_COMMUNITY_ID_SEED, 0, 65535 }, { OPT_SUMMARY_EVERY, 0, 31 * 86400 },
    };
    long v = 0;
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
        if (ranges[i].opt == opt && parse_number(opt, val, ranges[i].min, ranges[i].max, &v) < 0)
            return -1;
    switch (opt) {
    case OPT_MAX_STREAMS: o->reasm.n_tcp_streams = (int)v; break;
    case OPT_FLOW_TIMEOUT: o->reasm.flow_timeout_s = (int)v; break;
    case OPT_FLOW_TIMEOUT_IDLE: o->reasm.idle_timeout_s = (int)v; break;
    case OPT_MAX_HEADER_BYTES: o->head_max = (uint32_t)v; break;
    case OPT_COMMUNITY_ID_SEED: o->out.community_id_seed = (uint16_t)v; break;
    case OPT_SUMMARY_EVERY: o->summary_every = (kw_usec)v * KW_USEC_PER_SEC; break;
    }
    return 0;
}

/* The options of the rule engine: the same words as a rules file's lines. */
static int set_rule(struct options *o, int opt, const char *val)
{
    char why[512], line[256];
    int rc = 0;
    if (opt == OPT_RULES) {
        rc = kw_rules_config_load(o->rules, val, why, sizeof(why));
    } else if (opt == OPT_FAIL_ON) {
        enum kw_severity sev;
        if (!kw_severity_by_name(val, strlen(val), &sev)) {
            snprintf(why, sizeof(why), "--fail-on wants notice, warning or error, not '%s'", val);
            rc = -1;
        }
        o->fail_on = (int)sev;
    } else {
        snprintf(line, sizeof(line), "%s %s", option_name(opt), val);
        rc = kw_rules_config_line(o->rules, line, why, sizeof(why));
    }
    if (rc < 0)
        fprintf(stderr, "keepwatch: %s\n", why);
    return rc;
}

/* The HTML report and the evidence captures. */
static int set_picture(struct options *o, int opt, const char *val)
{
    if (opt == OPT_EVIDENCE) {
        o->evidence_dir = val;
        return 0;
    }
    if (opt == OPT_REPORT && strcmp(val, "-") && val[0]) {
        o->report_path = val;
        return 0;
    }
    if (opt == OPT_EVIDENCE_LEVEL && kw_severity_by_name(val, strlen(val), &o->evidence_level))
        return 0;
    if (opt == OPT_REPORT)
        fputs("keepwatch: --report wants a file name: the page is rewritten whole\n", stderr);
    else
        fprintf(stderr, "keepwatch: --evidence-level wants notice, warning or error, not '%s'\n",
                val);
    return -1;
}

static int set_option(struct options *o, int opt, const char *val)
{
    switch (opt) {
    case 'r':
        o->files[o->n_files++] = val;
        return 0;
    case 'h':
        usage(stdout);
        exit(0);
    case OPT_VERSION:
        printf("keepwatch %s\n", PACKAGE_VERSION);
        exit(0);
    case OPT_JSON:
        o->json_path = val ? val : "-";
        return 0;
    case OPT_REPORT: case OPT_EVIDENCE: case OPT_EVIDENCE_LEVEL:
        return set_picture(o, opt, val);
    case OPT_ALLOW_EMPTY:
        o->allow_empty = true;
        return 0;
    case OPT_LOCAL_TIME:
        o->out.local_time = true;
        return 0;
    case OPT_SENSOR:
        o->out.sensor = val;
        return 0;
    case OPT_EVENTS:
        if (kw_out_events_parse(val, &o->out.events) == 0)
            return 0;
        fprintf(stderr, "keepwatch: --events wants a list of transaction, connection, alert, "
                        "server, stats, not '%s'\n", val);
        return -1;
    case 'q':
        o->out.quiet = true;
        return 0;
    case 'l':
        o->out.stream = true;
        return 0;
    case OPT_SYSLOG:
        o->syslog = true;
        return 0;
    case OPT_SYSLOG_LEVEL: {
        enum kw_severity sev;
        if (kw_severity_by_name(val, strlen(val), &sev)) {
            o->out.syslog_level = (int)sev;
            return 0;
        }
        fprintf(stderr, "keepwatch: --syslog-level wants notice, warning or error, not '%s'\n",
                val);
        return -1;
    }
    case OPT_COLOR:
        o->color = !strcmp(val, "never")    ? COLOR_NEVER
                   : !strcmp(val, "always") ? COLOR_ALWAYS
                   : !strcmp(val, "auto")   ? COLOR_AUTO : (enum color_choice)-1;
        if ((int)o->color >= 0)
            return 0;
        fprintf(stderr, "keepwatch: --color wants never, always or auto, not '%s'\n", val);
        return -1;
    case OPT_REDACT:
        if (!strcmp(val, "uri-query")) {
            o->out.redact_uri_query = true;
            return 0;
        }
        fprintf(stderr, "keepwatch: --redact knows uri-query, not '%s'\n", val);
        return -1;
    case OPT_RULES: case OPT_GRACE: case OPT_DISABLE: case OPT_FAIL_ON:
        return set_rule(o, opt, val);
    case '?':
    case ':':
        return -1; /* parse_args says what was wrong */
    default:
        return set_number(o, opt, val);
    }
}

/* The trailing words, joined as one BPF expression; NULL when there are none.
 * A word that names an existing file is a capture given without its -r; an
 * option among them was given after the expression began (after a --json
 * that was meant to take a file, say). */
static int take_filter(int argc, char **argv, int first, struct options *o)
{
    size_t len = 0;
    for (int i = first; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1] && i > first) {
            if (!strcmp(argv[first - 1], "--json"))
                fprintf(stderr, "keepwatch: --json writes to standard output and '%s' began a "
                                "filter expression: write JSON to a file with --json=%s\n",
                        argv[first], argv[first]);
            else
                fprintf(stderr, "keepwatch: '%s' after the filter expression began at '%s': "
                                "options go before the filter\n", argv[i], argv[first]);
            return -1;
        }
        struct stat st;
        if (!stat(argv[i], &st) && S_ISREG(st.st_mode)) {
            fprintf(stderr, "keepwatch: '%s' is a file, not a filter word: give each capture "
                            "file its own -r (-r FILE1 -r FILE2)\n", argv[i]);
            return -1;
        }
        len += strlen(argv[i]) + 1;
    }
    if (!len)
        return 0;
    if (!(o->filter = calloc(1, len)))
        return -1;
    for (int i = first; i < argc; i++) {
        if (i > first)
            strcat(o->filter, " ");
        strcat(o->filter, argv[i]);
    }
    return 0;
}

/* A pipe, a socket or a terminal: what is read arrives over time. */
static bool reads_a_stream(int fd)
{
    struct stat st;
    return !fstat(fd, &st) && !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode);
}

/* getopt_long's '?' (unknown) or ':' (no value) in our words. A short
 * option is in optopt; a long one is the word before optind. */
static void say_getopt_error(int opt, char **argv)
{
    char name[64];
    if (optopt > 0 && optopt < 256)
        snprintf(name, sizeof(name), "-%c", optopt);
    else
        snprintf(name, sizeof(name), "%.63s", argv[optind - 1]);
    if (opt == ':')
        fprintf(stderr, "keepwatch: %s wants a value\n", name);
    else
        fprintf(stderr, "keepwatch: unknown option '%s' (see keepwatch --help)\n", name);
}

static int parse_args(int argc, char **argv, struct options *o)
{
    o->files = calloc((size_t)argc, sizeof(*o->files));
    o->rules = kw_rules_config_new();
    if (!o->files || !o->rules)
        return -1;
    o->reasm.n_tcp_streams = KW_REASM_STREAMS_DEFAULT;
    o->reasm.flow_timeout_s = KW_REASM_FLOW_TIMEOUT_DEFAULT;
    o->reasm.idle_timeout_s = KW_REASM_IDLE_TIMEOUT_DEFAULT;
    o->head_max = KW_HTTP_HEAD_MAX_DEFAULT;
    o->fail_on = -1;
    o->evidence_level = KW_SEV_WARNING;
    o->out.syslog_level = KW_SEV_WARNING;
    static char host[256];
    if (!gethostname(host, sizeof(host) - 1))
        o->out.sensor = host;
    opterr = 0;
    /* "+": options end at the first filter word, as for tcpdump, so that a
     * BPF expression is never taken apart. ":": a missing value is told
     * apart from an unknown option. */
    int opt;
    while ((opt = getopt_long(argc, argv, "+:r:hql", long_options, NULL)) != -1) {
        if (opt == '?' || opt == ':')
            say_getopt_error(opt, argv);
        if (set_option(o, opt, optarg) < 0)
            return -1;
    }
    if (take_filter(argc, argv, optind, o) < 0)
        return -1;
    for (size_t i = 0; i < o->n_files; i++)
        if (!strcmp(o->files[i], "-") && reads_a_stream(STDIN_FILENO))
            o->out.stream = true; /* tcpdump -U -w - | keepwatch -r -: events as they happen */
    if (!o->n_files) {
        fputs("keepwatch: no input: give -r FILE (live capture is not supported yet)\n", stderr);
        return -1;
    }
    for (size_t i = 0; o->evidence_dir && i < o->n_files; i++)
        if (!strcmp(o->files[i], "-")) {
            fputs("keepwatch: --evidence reads the capture files again after the run, and "
                  "standard input (-r -) cannot be read twice: save it to a file first\n",
                  stderr);
            return -1;
        }
    return 0;
}

/* --- the packet loop -------------------------------------------------- */

struct reading {
    struct kw_cap *cap;
    struct kw_reasm *reasm;
    struct kw_rules *rules;
    kw_usec summary_every, next_summary;
    const char *stopped_by; /* the sentence that stopped the reading, or NULL */
    struct kw_out *report;  /* --report: its page is written again at each summary */
    const struct kw_stats *stats;
};

/* Time has reached `now`: idle connections end, then the rules that wait for
 * time look at the connections still open. */
static void advance_time(struct reading *rd, kw_usec now)
{
    kw_reasm_tick(rd->reasm, now);
    kw_rules_tick(rd->rules, now);
    if (!rd->summary_every)
        return;
    if (rd->next_summary == KW_TS_NONE)
        rd->next_summary = now + rd->summary_every; /* the first packet starts the clock */
    else if (now >= rd->next_summary) {
        kw_rules_summary(rd->rules, now);
        if (rd->report)
            kw_out_stats(rd->report, rd->stats, now);
        rd->next_summary = now + rd->summary_every;
    }
}

/* Feeds every packet to the reassembler, and time to it: idle connections
 * end before their late packets (at most one tick per second of capture
 * time), and while a live capture is quiet. Runs inside kw_reasm_run(). */
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
            advance_time(rd, (kw_usec)now.tv_sec * KW_USEC_PER_SEC + now.tv_nsec / 1000);
            continue;
        }
        case KW_CAP_PKT:
            break;
        }
        if (pkt.ts >= next_tick) {
            advance_time(rd, pkt.ts);
            next_tick = pkt.ts < INT64_MAX - KW_USEC_PER_SEC ? pkt.ts + KW_USEC_PER_SEC
                                                             : INT64_MAX;
        }
        if (kw_reasm_feed(rd->reasm, &pkt) < 0)
            return;
    }
}

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
};

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
    if (!o->json_path || p->json_file) {
        struct kw_out_options text = o->out;
        terminal_options(o, &text);
        p->outs[p->n_outs++] = kw_out_new("text", stdout, &text);
    }
    if (o->json_path)
        p->outs[p->n_outs++] = kw_out_new("json", p->json_file ? p->json_file : stdout, &o->out);
    if (p->report_file)
        p->outs[p->n_outs++] = p->report = kw_out_new("html", p->report_file, &o->out);
    if (o->syslog)
        p->outs[p->n_outs++] = kw_out_new("syslog", NULL, &o->out);
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
    p->cap = kw_cap_open_files(o->files, o->n_files, o->filter, &p->stats, stderr, err);
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
    if (kw_extract(o->files, o->n_files, o->filter, jobs, n, err) < 0) {
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
                          p->report, &p->stats };
    const char *stopped_by = kw_reasm_run(p->reasm, read_packets, &rd) < 0
                                 ? kw_reasm_error(p->reasm) : rd.stopped_by;
    kw_usec last_ts = kw_cap_latest_ts(p->cap);
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
    if (parse_args(argc, argv, &o) < 0) {
        fputs("usage: keepwatch [options] -r FILE [filter expression]; see --help\n", stderr);
    } else {
        struct pipeline p;
        memset(&p, 0, sizeof(p));
        if (open_pipeline(&p, &o) == 0)
            status = run(&p, &o);
        close_pipeline(&p);
    }
    free(o.files);
    free(o.filter);
    kw_rules_config_free(o.rules);
    return status;
}
