/* buf.h: one reusable, growable text buffer per output. */
#ifndef KW_BUF_H
#define KW_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct kw_buf {
    char *p;
    size_t len, cap;
};

void kw_buf_free(struct kw_buf *b);
void kw_buf_reserve(struct kw_buf *b, size_t need); /* room for `need` more bytes */

static inline void kw_buf_put(struct kw_buf *b, const char *s, size_t n)
{
    if (b->len + n > b->cap)
        kw_buf_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
}
void kw_buf_puts(struct kw_buf *b, const char *s);
void kw_buf_printf(struct kw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kw_buf_write(struct kw_buf *b, FILE *f); /* writes and empties it */
void kw_buf_u64(struct kw_buf *b, uint64_t v);  /* decimal, without printf's cost */
void kw_buf_i64(struct kw_buf *b, int64_t v);

#endif
