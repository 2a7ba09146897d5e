/* options.c: the command line (getopt_long), every option's value checked
 * and turned into the configuration of the stage it belongs to. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "options.h"


static void usage_live(FILE *f)
{
    fputs("  -i INTERFACE          sniff INTERFACE (a name, 'any', or a number from -D) until\n"
          "                        SIGINT or SIGTERM; events are written as they happen\n"
          "  -D                    list the interfaces -i can sniff, and exit\n"
          "  -s SNAPLEN            live: bytes kept of each packet (default 262144)\n"
          "  -B KIB                live: the kernel's capture buffer in KiB (default 65536)\n"
          "  -p                    live: not in promiscuous mode\n"
          "  --immediate-mode      live: each packet handed over as it comes, not in blocks\n"
          "  -c COUNT              live: stop after COUNT packets\n"
          "  --time-stamp-precision micro|nano  live: of the -w file (default micro)\n"
          "  -w FILE               live: also write every packet read to FILE (pcap), which\n"
          "                        findings then name with their frame numbers in it\n"
          "  -C MB                 with -w: a new file (FILE1, FILE2...) past MB million bytes\n"
          "  -G S                  with -w: a new file every S seconds (FILE may hold\n"
          "                        strftime conversions, as tcpdump's)\n"
          "  -Z USER               live: run as USER once the capture and the outputs are open\n",
          f);
}

static void usage(FILE *f)
{
    fputs("usage: keepwatch [options] -r FILE [-r FILE ...] [filter expression]\n"
          "       keepwatch [options] -i INTERFACE [filter expression]\n"
          "\n"
          "Reads saved captures (pcap or pcapng; '-' is standard input) or sniffs an\n"
          "interface, reassembles every TCP connection, decodes its HTTP/1.x exchanges\n"
          "and reports, per connection, each request and response, the idle gaps and\n"
          "how it ended.\n"
          "\n"
          "  -r FILE               read packets from FILE; repeat for several files, in order\n",
          f);
    usage_live(f);
    fputs(
          "  --json[=FILE]         JSON lines: --json to standard output instead of the text\n"
          "                        report, --json=FILE to FILE beside it\n"
          "  --report=FILE         also write the HTML report to FILE: race plots,\n"
          "                        histograms, ladders of the connections with findings\n"
          "  --evidence=DIR        after the run, copy each connection with a finding at\n"
          "                        --evidence-level or above into a pcap of its own in DIR,\n"
          "                        listed in DIR/index.json\n"
          "  --evidence-level LEVEL  notice, warning or error (default warning)\n"
          "  --max-connections N   connections followed at once; past it the least recently\n"
          "                        active one ends (\"timeout\") and is counted (default\n"
          "                        49152 reading files, 1000000 live; 288 bytes each)\n"
          "  --flow-timeout S      a SYN reusing the ports of a connection at least S seconds\n"
          "                        old starts a new connection (default 1)\n"
          "  --flow-timeout-idle S end a connection with no data, FIN or RST for S seconds\n"
          "                        (close \"timeout\"; default 300, 0: never)\n"
          "  --no-midstream        do not pick up connections whose handshake was not\n"
          "                        captured: count their packets and skip them\n"
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
          "                        (default 0: at the end only; live, 60)\n"
          "  --color WHEN          text: severities in colour: auto (on a terminal, unless\n"
          "                        NO_COLOR is set), always or never\n"
          "  -h, --help            this help\n"
          "  --version             the version\n"
          "\n"
          "Every long option takes its value as --opt=VALUE or --opt VALUE, but --json,\n"
          "whose file is only ever --json=FILE. Trailing words are a BPF filter, as for\n"
          "tcpdump (e.g. tcp port 8080).\n"
          "A live capture ends on SIGINT or SIGTERM with every open connection ended, the\n"
          "server summaries and the stats; SIGHUP reopens the --json file, SIGUSR1 writes\n"
          "a stats event.\n"
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
    OPT_MAX_CONNECTIONS,
    OPT_IMMEDIATE_MODE,
    OPT_TSTAMP_PRECISION,
    OPT_FLOW_TIMEOUT,
    OPT_FLOW_TIMEOUT_IDLE,
    OPT_NO_MIDSTREAM,
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
    { "max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS },
    { "immediate-mode", no_argument, NULL, OPT_IMMEDIATE_MODE },
    { "time-stamp-precision", required_argument, NULL, OPT_TSTAMP_PRECISION },
    { "interface", required_argument, NULL, 'i' },
    { "list-interfaces", no_argument, NULL, 'D' },
    { "snapshot-length", required_argument, NULL, 's' },
    { "buffer-size", required_argument, NULL, 'B' },
    { "no-promiscuous-mode", no_argument, NULL, 'p' },
    { "count", required_argument, NULL, 'c' },
    { "relinquish-privileges", required_argument, NULL, 'Z' },
    { "flow-timeout", required_argument, NULL, OPT_FLOW_TIMEOUT },
    { "flow-timeout-idle", required_argument, NULL, OPT_FLOW_TIMEOUT_IDLE },
    { "no-midstream", no_argument, NULL, OPT_NO_MIDSTREAM },
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
        fprintf(stderr, "keepwatch: %s%s wants a number from %ld to %ld, not '%s'\n",
                opt < 256 ? "-" : "--", opt < 256 ? (char[2]){ (char)opt, 0 } : option_name(opt),
                min, max, s);
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
        { OPT_MAX_CONNECTIONS, KW_REASM_MAX_CONNECTIONS_MIN, KW_REASM_MAX_CONNECTIONS_MAX },
        { OPT_FLOW_TIMEOUT_IDLE, 0, 31 * 86400 }, { OPT_MAX_HEADER_BYTES, 256, 16 << 20 },
        { OPT_COMMUNITY_ID_SEED, 0, 65535 }, { OPT_SUMMARY_EVERY, 0, 31 * 86400 },
        { 's', 0, 262144 }, { 'B', 1, 4 << 20 }, { 'c', 1, LONG_MAX },
        { 'C', 1, 1 << 30 }, { 'G', 1, 31 * 86400 },
    };
    long v = 0;
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
        if (ranges[i].opt == opt && parse_number(opt, val, ranges[i].min, ranges[i].max, &v) < 0)
            return -1;
    switch (opt) {
    /* the hash size of earlier versions, of which 3/4 were followed at once */
    case OPT_MAX_STREAMS: o->reasm.max_connections = (uint32_t)(v * 3 / 4 + 1); break;
    case OPT_MAX_CONNECTIONS: o->reasm.max_connections = (uint32_t)v; break;
    case 's': o->live.snaplen = (int)v; break;
    case 'B': o->live.buffer_kib = (int)v; break;
    case 'c': o->live.count = (uint64_t)v; break;
    case 'C': o->live.rotate_bytes = (uint64_t)v * 1000000; break; /* tcpdump's unit */
    case 'G': o->live.rotate_seconds = (int)v; break;
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

/* The options of a live capture that are not numbers. */
static int set_live(struct options *o, int opt, const char *val)
{
    switch (opt) {
    case 'i': o->live.iface = val; break;
    case 'D': o->list_interfaces = true; break;
    case 'p': o->live.no_promisc = true; break;
    case 'w': o->live.write_path = val; break;
    case 'Z': o->drop_user = val; break;
    case OPT_IMMEDIATE_MODE: o->live.immediate = true; break;
    case OPT_TSTAMP_PRECISION:
        if (strcmp(val, "micro") && strcmp(val, "nano")) {
            fprintf(stderr, "keepwatch: --time-stamp-precision wants micro or nano, not '%s'\n",
                    val);
            return -1;
        }
        o->live.nano = !strcmp(val, "nano");
        break;
    }
    return 0;
}

/* How the report is written. */
static int set_output(struct options *o, int opt, const char *val)
{
    switch (opt) {
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
    }
    return 0;
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
    case 'i': case 'D': case 'p': case 'w': case 'Z':
    case OPT_IMMEDIATE_MODE: case OPT_TSTAMP_PRECISION:
        return set_live(o, opt, val);
    case OPT_NO_MIDSTREAM:
        o->reasm.midstream = false;
        return 0;
    case OPT_ALLOW_EMPTY:
        o->allow_empty = true;
        return 0;
    case OPT_LOCAL_TIME: case OPT_SENSOR: case OPT_EVENTS: case 'q': case 'l':
    case OPT_SYSLOG: case OPT_SYSLOG_LEVEL: case OPT_COLOR: case OPT_REDACT:
        return set_output(o, opt, val);
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

/* One input, files or an interface, and the options that go with it. A live
 * run writes each event as it happens, summarises servers every minute and
 * follows more connections (set here unless given). */
static int check_input(struct options *o)
{
    const struct kw_cap_live_config *l = &o->live;
    bool live_options = l->snaplen || l->buffer_kib || l->no_promisc || l->immediate ||
                        l->nano || l->count || l->write_path || o->drop_user;
    if (o->list_interfaces)
        return 0;
    if (o->n_files && l->iface) {
        fputs("keepwatch: -r and -i: read files or sniff an interface, not both\n", stderr);
        return -1;
    }
    if (!o->n_files && !l->iface) {
        fputs("keepwatch: no input: give -r FILE, or -i INTERFACE to sniff one (-D lists "
              "them)\n", stderr);
        return -1;
    }
    if (!l->iface && live_options) {
        fputs("keepwatch: -s, -B, -p, -c, -w, -Z, --immediate-mode and --time-stamp-precision "
              "are for a live capture (-i)\n", stderr);
        return -1;
    }
    if ((l->rotate_bytes || l->rotate_seconds) && !l->write_path) {
        fputs("keepwatch: -C and -G rotate the -w file: give -w FILE\n", stderr);
        return -1;
    }
    if (l->write_path && !strcmp(l->write_path, "-")) {
        fputs("keepwatch: -w -: standard output holds the report; write the packets to a "
              "file\n", stderr);
        return -1;
    }
    if (!l->iface)
        return 0;
    if (o->evidence_dir && !l->write_path) {
        fputs("keepwatch: --evidence live copies the packets out of the -w files after the "
              "run: give -w FILE\n", stderr);
        return -1;
    }
    o->out.stream = true;
    /* libpcap's 2 MiB (tcpdump's too) drops under a moderate load: on lo, a
     * packet can be 64 KiB (bench/live-load.sh, docs/live.md); with
     * --immediate-mode each packet takes a slot of the snapshot length */
    if (!l->buffer_kib)
        o->live.buffer_kib = 65536;
    if (o->summary_every < 0)
        o->summary_every = 60 * KW_USEC_PER_SEC;
    if (!o->reasm.max_connections)
        o->reasm.max_connections = KW_REASM_MAX_CONNECTIONS_LIVE;
    return 0;
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

int options_parse(int argc, char **argv, struct options *o)
{
    o->files = calloc((size_t)argc, sizeof(*o->files));
    o->rules = kw_rules_config_new();
    if (!o->files || !o->rules)
        return -1;
    o->reasm.flow_timeout_s = KW_REASM_FLOW_TIMEOUT_DEFAULT;
    o->reasm.idle_timeout_s = KW_REASM_IDLE_TIMEOUT_DEFAULT;
    o->reasm.midstream = KW_REASM_MIDSTREAM_DEFAULT;
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
    o->summary_every = -1; /* not given */
    while ((opt = getopt_long(argc, argv, "+:r:hqli:Ds:B:pc:w:C:G:Z:", long_options, NULL)) !=
           -1) {
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
    if (check_input(o) < 0)
        return -1;
    if (!o->live.iface) {
        o->summary_every = o->summary_every < 0 ? 0 : o->summary_every;
        o->reasm.max_connections = o->reasm.max_connections ? o->reasm.max_connections
                                                            : KW_REASM_MAX_CONNECTIONS_FILES;
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


void options_free(struct options *o)
{
    free(o->files);
    free(o->filter);
    kw_rules_config_free(o->rules);
}
