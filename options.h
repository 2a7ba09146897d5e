/* options.h: keepwatch's command line, parsed into what each stage is
 * configured with. Part of the program, with keepwatch.c: the only files
 * that know every folder. */
#ifndef KW_OPTIONS_H
#define KW_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/cap.h"
#include "common/time.h"
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
    struct kw_cap_live_config live; /* live.iface set: a live capture (-i) */
    bool list_interfaces;  /* -D */
    const char *drop_user; /* -Z: the user to run as once the capture and outputs are open */
};

/* Parses argv into *o (zeroed by the caller). On a bad command line says why
 * on standard error and returns -1; --help and --version print and exit. */
int options_parse(int argc, char **argv, struct options *o);

/* What options_parse() allocated. */
void options_free(struct options *o);

#endif
