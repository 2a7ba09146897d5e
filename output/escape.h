/* escape.h: the one pair of escapers every byte from the wire goes through
 * before it is printed. */
#ifndef KW_ESCAPE_H
#define KW_ESCAPE_H

#include <stddef.h>
#include <stdint.h>

#include "output/buf.h"
#include "rules/finding.h"

/* Wire bytes as the inside of a JSON string: quotes, backslashes and control
 * bytes escaped, bytes >= 0x80 that are not valid UTF-8 as \u00XX. */
void kw_buf_json_str(struct kw_buf *b, const uint8_t *p, size_t n);

/* Wire bytes for a terminal: printable ASCII kept, a backslash doubled, any
 * other byte as \xHH. */
void kw_buf_text(struct kw_buf *b, const uint8_t *p, size_t n);

/* A finding's message, each KW_MESSAGE_LINE replaced by `line` (with "..."
 * when it was cut), all of it through `escape`. */
void out_message(struct kw_buf *b, const char *message, const struct kw_line *line,
                 void (*escape)(struct kw_buf *b, const uint8_t *p, size_t n));

#endif
