/* slice.h: a (pointer, length) view of bytes someone else owns. */
#ifndef KW_SLICE_H
#define KW_SLICE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Never NUL-terminated. Whoever hands a slice out states how long it lives;
 * keep a count, an offset or a bounded copy, never the pointer. */
struct kw_slice {
    const uint8_t *p;
    size_t len;
};

static inline struct kw_slice kw_slice_make(const void *p, size_t len)
{
    struct kw_slice s = { (const uint8_t *)p, len };
    return s;
}

/* ASCII case-insensitive comparison of a wire slice with a lower-case literal. */
bool kw_slice_eq_ci(struct kw_slice s, const char *lower);

#endif
