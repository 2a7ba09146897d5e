/* config.c: rule names, and the rules file (docs/rules.md has its format).
 *
 *   grace 1.5
 *   disable keepalive-header-unlisted
 *   severity ambiguous-persistence warning
 *   suppress server 10.0.0.0/8 port 8080 lost-request
 *   suppress client 192.0.2.7
 *   expect server 127.0.0.1 port 8080 max-requests 100 idle-timeout 5 announces-close yes
 */
#include "rules/rules-impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kw_rules_config *kw_rules_config_new(void)
{
    struct kw_rules_config *cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        return NULL;
    cfg->grace = (kw_usec)KW_GRACE_DEFAULT_MS * 1000;
    for (int i = 0; i < KW_RULE_COUNT; i++) {
        cfg->enabled[i] = true;
        cfg->severity[i] = kw_rule_default_severity((enum kw_rule)i);
    }
    return cfg;
}

void kw_rules_config_free(struct kw_rules_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->suppress);
    free(cfg->expect);
    free(cfg);
}

/* --- reading one line ------------------------------------------------- */

#define WORDS_MAX 16

static int split(char *line, char *words[WORDS_MAX])
{
    int n = 0;
    for (char *p = strtok(line, " \t\r\n"); p; p = strtok(NULL, " \t\r\n")) {
        if (*p == '#')
            break;
        if (n == WORDS_MAX)
            return -1;
        words[n++] = p;
    }
    return n;
}

static int bad(char *err, size_t errlen, const char *fmt, const char *word)
{
    snprintf(err, errlen, fmt, word ? word : "");
    return -1;
}

/* Seconds, as "1.5", to microseconds. */
static bool parse_seconds(const char *s, kw_usec *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0) || v > 86400.0 * 365)
        return false;
    *out = (kw_usec)llround(v * KW_USEC_PER_SEC);
    return true;
}

static bool parse_count(const char *s, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > max)
        return false;
    *out = v;
    return true;
}

/* "192.0.2.0/24", "2001:db8::1", or "*". */
static bool parse_addr(const char *s, struct kw_suppress *m)
{
    if (!strcmp(s, "*")) {
        m->any_addr = true;
        return true;
    }
    char buf[64];
    size_t n = strlen(s);
    if (n >= sizeof(buf))
        return false;
    memcpy(buf, s, n + 1);
    char *slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    if (inet_pton(AF_INET, buf, m->addr) == 1) {
        m->family = 4;
        m->bits = 32;
    } else if (inet_pton(AF_INET6, buf, m->addr) == 1) {
        m->family = 6;
        m->bits = 128;
    } else {
        return false;
    }
    if (slash) {
        long bits;
        if (!parse_count(slash + 1, m->bits, &bits))
            return false;
        m->bits = (int)bits;
    }
    return true;
}

static int line_suppress(struct kw_rules_config *cfg, char **w, int n, char *err, size_t errlen)
{
    struct kw_suppress m = { .port = -1, .rule = -1 };
    if (n < 3)
        return bad(err, errlen, "suppress wants 'server' or 'client' and an address", NULL);
    if (!strcmp(w[1], "server"))
        m.side = KW_SIDE_SERVER;
    else if (!strcmp(w[1], "client"))
        m.side = KW_SIDE_CLIENT;
    else
        return bad(err, errlen, "suppress wants 'server' or 'client', not '%s'", w[1]);
    if (!parse_addr(w[2], &m))
        return bad(err, errlen, "'%s' is not an address, an address/bits or *", w[2]);
    int i = 3;
    if (i < n && !strcmp(w[i], "port")) {
        long port;
        if (i + 1 >= n || !parse_count(w[i + 1], 65535, &port))
            return bad(err, errlen, "port wants a number from 0 to 65535", NULL);
        m.port = (int)port;
        i += 2;
    }
    if (i < n) {
        enum kw_rule r;
        if (!kw_rule_by_name(w[i], strlen(w[i]), &r))
            return bad(err, errlen, "unknown rule '%s'", w[i]);
        m.rule = (int)r;
        i++;
    }
    if (i < n)
        return bad(err, errlen, "unexpected '%s' at the end of suppress", w[i]);
    if (cfg->n_suppress == KW_SUPPRESS_MAX)
        return bad(err, errlen, "too many suppress lines", NULL);
    struct kw_suppress *s = realloc(cfg->suppress, (cfg->n_suppress + 1) * sizeof(*s));
    if (!s)
        return bad(err, errlen, "out of memory", NULL);
    cfg->suppress = s;
    cfg->suppress[cfg->n_suppress++] = m;
    return 0;
}

static int line_expect(struct kw_rules_config *cfg, char **w, int n, char *err, size_t errlen)
{
    struct kw_expect x = { .max_requests = -1, .idle_timeout = KW_TS_NONE, .announces_close = -1 };
    struct kw_suppress a = { 0 };
    long port;
    if (n < 5 || strcmp(w[1], "server") || strcmp(w[3], "port"))
        return bad(err, errlen, "expect wants: expect server ADDRESS port PORT KEY VALUE...", NULL);
    if (!parse_addr(w[2], &a) || a.any_addr || a.bits != (a.family == 4 ? 32 : 128))
        return bad(err, errlen, "'%s' is not one address", w[2]);
    if (!parse_count(w[4], 65535, &port))
        return bad(err, errlen, "port wants a number from 0 to 65535, not '%s'", w[4]);
    x.server.family = a.family;
    memcpy(x.server.addr, a.addr, sizeof(a.addr));
    x.server.port = (uint16_t)port;
    if (n == 5)
        return bad(err, errlen, "expect says nothing: give max-requests, idle-timeout or "
                                "announces-close", NULL);
    for (int i = 5; i < n; i += 2) {
        if (i + 1 >= n)
            return bad(err, errlen, "'%s' wants a value", w[i]);
        long v;
        if (!strcmp(w[i], "max-requests")) {
            if (!parse_count(w[i + 1], 1000000000, &v))
                return bad(err, errlen, "max-requests wants a count, not '%s'", w[i + 1]);
            x.max_requests = v;
        } else if (!strcmp(w[i], "idle-timeout")) {
            if (!parse_seconds(w[i + 1], &x.idle_timeout))
                return bad(err, errlen, "idle-timeout wants seconds, not '%s'", w[i + 1]);
        } else if (!strcmp(w[i], "announces-close")) {
            if (!strcmp(w[i + 1], "yes"))
                x.announces_close = 1;
            else if (!strcmp(w[i + 1], "no"))
                x.announces_close = 0;
            else
                return bad(err, errlen, "announces-close wants yes or no, not '%s'", w[i + 1]);
        } else {
            return bad(err, errlen, "unknown expectation '%s' (max-requests, idle-timeout, "
                                    "announces-close)", w[i]);
        }
    }
    if (cfg->n_expect == KW_EXPECT_MAX)
        return bad(err, errlen, "too many expect lines", NULL);
    struct kw_expect *e = realloc(cfg->expect, (cfg->n_expect + 1) * sizeof(*e));
    if (!e)
        return bad(err, errlen, "out of memory", NULL);
    cfg->expect = e;
    cfg->expect[cfg->n_expect++] = x;
    return 0;
}

int kw_rules_config_line(struct kw_rules_config *cfg, const char *text, char *err, size_t errlen)
{
    char line[1024];
    size_t n = strlen(text);
    if (n >= sizeof(line))
        return bad(err, errlen, "line longer than 1023 characters", NULL);
    memcpy(line, text, n + 1);
    char *w[WORDS_MAX];
    int nw = split(line, w);
    if (nw < 0)
        return bad(err, errlen, "more than 16 words", NULL);
    if (nw == 0)
        return 0;
    enum kw_rule r;
    if (!strcmp(w[0], "grace")) {
        if (nw != 2 || !parse_seconds(w[1], &cfg->grace))
            return bad(err, errlen, "grace wants seconds, as in 'grace 1.5'", NULL);
    } else if (!strcmp(w[0], "disable") || !strcmp(w[0], "enable")) {
        if (nw != 2)
            return bad(err, errlen, "%s wants one rule id (see docs/rules.md)", w[0]);
        if (!kw_rule_by_name(w[1], strlen(w[1]), &r))
            return bad(err, errlen, "unknown rule '%s' (see docs/rules.md)", w[1]);
        cfg->enabled[r] = !strcmp(w[0], "enable");
    } else if (!strcmp(w[0], "severity")) {
        enum kw_severity s;
        if (nw != 3)
            return bad(err, errlen, "severity wants a rule id and notice, warning or error", NULL);
        if (!kw_rule_by_name(w[1], strlen(w[1]), &r))
            return bad(err, errlen, "unknown rule '%s' (see docs/rules.md)", w[1]);
        if (!kw_severity_by_name(w[2], strlen(w[2]), &s))
            return bad(err, errlen, "'%s' is not notice, warning or error", w[2]);
        cfg->severity[r] = s;
    } else if (!strcmp(w[0], "suppress")) {
        return line_suppress(cfg, w, nw, err, errlen);
    } else if (!strcmp(w[0], "expect")) {
        return line_expect(cfg, w, nw, err, errlen);
    } else {
        return bad(err, errlen, "unknown setting '%s' (grace, disable, enable, severity, "
                                "suppress, expect)", w[0]);
    }
    return 0;
}

int kw_rules_config_load(struct kw_rules_config *cfg, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return -1;
    }
    char line[1024], why[512];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(err, errlen, "%s:%d: line longer than 1022 characters", path, lineno);
            rc = -1;
            break;
        }
        if (kw_rules_config_line(cfg, line, why, sizeof(why)) < 0) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
            rc = -1;
            break;
        }
    }
    if (!rc && ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        rc = -1;
    }
    fclose(f);
    return rc;
}

static bool endpoint_matches(const struct kw_suppress *m, const struct kw_endpoint *e)
{
    if (m->port >= 0 && m->port != e->port)
        return false;
    if (m->any_addr)
        return true;
    if (m->family != e->family)
        return false;
    int full = m->bits / 8, rest = m->bits % 8;
    if (memcmp(m->addr, e->addr, (size_t)full))
        return false;
    if (rest) {
        uint8_t mask = (uint8_t)(0xff << (8 - rest));
        if ((m->addr[full] & mask) != (e->addr[full] & mask))
            return false;
    }
    return true;
}

bool config_suppresses(const struct kw_rules_config *cfg, enum kw_rule rule,
                       const struct kw_endpoint *client, const struct kw_endpoint *server)
{
    for (size_t i = 0; i < cfg->n_suppress; i++) {
        const struct kw_suppress *m = &cfg->suppress[i];
        if (m->rule >= 0 && m->rule != (int)rule)
            continue;
        const struct kw_endpoint *e = m->side == KW_SIDE_SERVER ? server : client;
        if (e && endpoint_matches(m, e))
            return true;
    }
    return false;
}
