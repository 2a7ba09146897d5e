/* table.c: the rule table's columns, by rule, and lookups by name. */
#include "rules/rules-impl.h"

#include <string.h>

static const struct {
    const char *name;
    enum kw_severity severity;
    enum kw_side side;
    const char *reference;
} rows[KW_RULE_COUNT] = {
#define KW_RULE_ROW(id, symbol, name, severity, side, reference) \
    [KW_RULE_##id] = { name, severity, side, reference },
    KW_RULES(KW_RULE_ROW)
#undef KW_RULE_ROW
};

const struct rule_checks *const kw_rule_checks[KW_RULE_COUNT] = {
#define KW_RULE_CHECKS(id, symbol, name, severity, side, reference) \
    [KW_RULE_##id] = &rule_##symbol,
    KW_RULES(KW_RULE_CHECKS)
#undef KW_RULE_CHECKS
};

static const char *const severity_names[] = { "notice", "warning", "error" };
#define N_SEVERITIES (sizeof(severity_names) / sizeof(severity_names[0]))

const char *kw_rule_name(enum kw_rule r)
{
    return (unsigned)r < KW_RULE_COUNT ? rows[r].name : "unknown";
}

const char *kw_rule_reference(enum kw_rule r)
{
    return (unsigned)r < KW_RULE_COUNT ? rows[r].reference : "";
}

enum kw_severity kw_rule_default_severity(enum kw_rule r)
{
    return (unsigned)r < KW_RULE_COUNT ? rows[r].severity : KW_SEV_NOTICE;
}

enum kw_side kw_rule_side(enum kw_rule r)
{
    return (unsigned)r < KW_RULE_COUNT ? rows[r].side : KW_SIDE_NONE;
}

/* `name` of `len` bytes equals the NUL-terminated `known`. */
static bool same_name(const char *name, size_t len, const char *known)
{
    return strlen(known) == len && !memcmp(known, name, len);
}

bool kw_rule_by_name(const char *name, size_t len, enum kw_rule *r)
{
    for (int i = 0; i < KW_RULE_COUNT; i++)
        if (same_name(name, len, rows[i].name)) {
            *r = (enum kw_rule)i;
            return true;
        }
    return false;
}

const char *kw_severity_name(enum kw_severity s)
{
    return (unsigned)s < N_SEVERITIES ? severity_names[s] : "unknown";
}

bool kw_severity_by_name(const char *name, size_t len, enum kw_severity *s)
{
    for (size_t i = 0; i < N_SEVERITIES; i++)
        if (same_name(name, len, severity_names[i])) {
            *s = (enum kw_severity)i;
            return true;
        }
    return false;
}
