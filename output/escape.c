/* escape.c: the one text escaper, the one JSON escaper and the one HTML
 * escaper. Every byte that came off the wire goes through one of them before
 * it is printed; nothing outside output/ escapes. */
#include "output/escape.h"
#include "output/out-impl.h"

#include <stdbool.h>
#include <string.h>

/* Length of a valid UTF-8 sequence at p (RFC 3629), or 0; its code point in *cp. */
static size_t utf8_len(const uint8_t *p, size_t n, uint32_t *cp)
{
    uint8_t c = p[0];
    size_t len;
    uint32_t min;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    uint32_t v = c & (0xff >> (len + 1));
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (p[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

/* Code points that change what an analyst sees of the text around them: C1
 * controls, bidirectional overrides and isolates (Trojan Source, CVE-2021-42574),
 * line and paragraph separators. Written as \uXXXX, never raw. */
static bool json_hidden(uint32_t cp)
{
    return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029 || cp == 0x200e ||
           cp == 0x200f || cp == 0x061c;
}

/* Bytes that go into a JSON string as they are: printable ASCII but " and \. */
static const uint8_t json_plain[256] = {
    [0x20] = 1, [0x21] = 1, [0x23] = 1, [0x24] = 1, [0x25] = 1, [0x26] = 1, [0x27] = 1,
    [0x28] = 1, [0x29] = 1, [0x2a] = 1, [0x2b] = 1, [0x2c] = 1, [0x2d] = 1, [0x2e] = 1,
    [0x2f] = 1, [0x30] = 1, [0x31] = 1, [0x32] = 1, [0x33] = 1, [0x34] = 1, [0x35] = 1,
    [0x36] = 1, [0x37] = 1, [0x38] = 1, [0x39] = 1, [0x3a] = 1, [0x3b] = 1, [0x3c] = 1,
    [0x3d] = 1, [0x3e] = 1, [0x3f] = 1, [0x40] = 1, [0x41] = 1, [0x42] = 1, [0x43] = 1,
    [0x44] = 1, [0x45] = 1, [0x46] = 1, [0x47] = 1, [0x48] = 1, [0x49] = 1, [0x4a] = 1,
    [0x4b] = 1, [0x4c] = 1, [0x4d] = 1, [0x4e] = 1, [0x4f] = 1, [0x50] = 1, [0x51] = 1,
    [0x52] = 1, [0x53] = 1, [0x54] = 1, [0x55] = 1, [0x56] = 1, [0x57] = 1, [0x58] = 1,
    [0x59] = 1, [0x5a] = 1, [0x5b] = 1, [0x5d] = 1, [0x5e] = 1, [0x5f] = 1, [0x60] = 1,
    [0x61] = 1, [0x62] = 1, [0x63] = 1, [0x64] = 1, [0x65] = 1, [0x66] = 1, [0x67] = 1,
    [0x68] = 1, [0x69] = 1, [0x6a] = 1, [0x6b] = 1, [0x6c] = 1, [0x6d] = 1, [0x6e] = 1,
    [0x6f] = 1, [0x70] = 1, [0x71] = 1, [0x72] = 1, [0x73] = 1, [0x74] = 1, [0x75] = 1,
    [0x76] = 1, [0x77] = 1, [0x78] = 1, [0x79] = 1, [0x7a] = 1, [0x7b] = 1, [0x7c] = 1,
    [0x7d] = 1, [0x7e] = 1,
};

static void json_u_escape(struct kw_buf *b, uint32_t cp)
{
    static const char hex[] = "0123456789abcdef";
    char e[6] = { '\\', 'u', hex[cp >> 12 & 15], hex[cp >> 8 & 15], hex[cp >> 4 & 15],
                  hex[cp & 15] };
    kw_buf_put(b, e, 6);
}

size_t kw_buf_json_str(struct kw_buf *b, const uint8_t *p, size_t n)
{
    size_t invalid = 0;
    kw_buf_reserve(b, n + 2);
    for (size_t i = 0; i < n;) {
        uint8_t c = p[i];
        if (json_plain[c]) {
            size_t j = i + 1;
            while (j < n && json_plain[p[j]])
                j++;
            kw_buf_put(b, (const char *)p + i, j - i);
            i = j;
            continue;
        }
        if (c == '"' || c == '\\') {
            char e[2] = { '\\', (char)c };
            kw_buf_put(b, e, 2);
            i++;
            continue;
        }
        uint32_t cp = c;
        size_t u = c >= 0x80 ? utf8_len(p + i, n - i, &cp) : 1;
        if (c >= 0x80 && !u) { /* not UTF-8: the replacement character, U+FFFD */
            json_u_escape(b, 0xfffd);
            invalid++;
            i++;
        } else if (c < 0x80 || json_hidden(cp)) {
            json_u_escape(b, cp);
            i += u;
        } else {
            kw_buf_put(b, (const char *)p + i, u);
            i += u;
        }
    }
    return invalid;
}

void kw_buf_hex(struct kw_buf *b, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    kw_buf_reserve(b, 2 * n);
    for (size_t i = 0; i < n; i++) {
        char e[2] = { hex[p[i] >> 4], hex[p[i] & 15] };
        kw_buf_put(b, e, 2);
    }
}

size_t kw_buf_text(struct kw_buf *b, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    kw_buf_reserve(b, n);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && p[j] >= 0x20 && p[j] < 0x7f && p[j] != '\\')
            j++;
        kw_buf_put(b, (const char *)p + i, j - i);
        if (j == n)
            break;
        if (p[j] == '\\') {
            kw_buf_put(b, "\\\\", 2);
        } else {
            char e[4] = { '\\', 'x', hex[p[j] >> 4], hex[p[j] & 15] };
            kw_buf_put(b, e, 4);
        }
        i = j + 1;
    }
    return 0;
}

/* The bytes HTML gives a meaning to in text and in quoted attributes, and the
 * backslash the text escaper doubles. */
static bool html_special(uint8_t c)
{
    return c == '&' || c == '<' || c == '>' || c == '"' || c == '\'' || c == '\\';
}

size_t kw_buf_html(struct kw_buf *b, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    kw_buf_reserve(b, n);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && p[j] >= 0x20 && p[j] < 0x7f && !html_special(p[j]))
            j++;
        kw_buf_put(b, (const char *)p + i, j - i);
        if (j == n)
            break;
        switch (p[j]) {
        case '&': kw_buf_put(b, "&amp;", 5); break;
        case '<': kw_buf_put(b, "&lt;", 4); break;
        case '>': kw_buf_put(b, "&gt;", 4); break;
        case '"': kw_buf_put(b, "&quot;", 6); break;
        case '\'': kw_buf_put(b, "&#39;", 5); break;
        case '\\': kw_buf_put(b, "\\\\", 2); break;
        default: {
            char e[4] = { '\\', 'x', hex[p[j] >> 4], hex[p[j] & 15] };
            kw_buf_put(b, e, 4);
        }
        }
        i = j + 1;
    }
    return 0;
}

void out_message(const struct kw_out *o, struct kw_buf *b, const char *message,
                 const struct kw_line *line,
                 size_t (*escape)(struct kw_buf *b, const uint8_t *p, size_t n))
{
    static const char mark[] = KW_MESSAGE_LINE;
    const size_t mark_len = sizeof(mark) - 1;
    for (const char *p = message; *p;) {
        const char *at = strstr(p, mark);
        size_t n = at ? (size_t)(at - p) : strlen(p);
        escape(b, (const uint8_t *)p, n);
        if (!at)
            break;
        size_t shown = out_uri_len(o, line->bytes, line->len);
        escape(b, line->bytes, shown);
        if (line->cut && shown == line->len)
            escape(b, (const uint8_t *)"...", 3);
        p = at + mark_len;
    }
}
