/* buf.c: the output buffer and the escapers. */
#include "output/buf.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void grow(struct kw_buf *b, size_t need)
{
    if (b->len + need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + need)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        fputs("keepwatch: out of memory for output\n", stderr);
        exit(2);
    }
    b->p = p;
    b->cap = cap;
}

void kw_buf_free(struct kw_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

void kw_buf_reserve(struct kw_buf *b, size_t need)
{
    grow(b, need);
}

void kw_buf_puts(struct kw_buf *b, const char *s)
{
    kw_buf_put(b, s, strlen(s));
}

void kw_buf_printf(struct kw_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (!b->p || (size_t)n >= b->cap - b->len) {
        grow(b, (size_t)n + 1);
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

void kw_buf_write(struct kw_buf *b, FILE *f)
{
    if (b->len)
        fwrite(b->p, 1, b->len, f);
    b->len = 0;
}

void kw_buf_u64(struct kw_buf *b, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    grow(b, n);
    while (n)
        b->p[b->len++] = tmp[--n];
}

void kw_buf_i64(struct kw_buf *b, int64_t v)
{
    if (v < 0) {
        kw_buf_put(b, "-", 1);
        kw_buf_u64(b, (uint64_t)0 - (uint64_t)v);
    } else {
        kw_buf_u64(b, (uint64_t)v);
    }
}
