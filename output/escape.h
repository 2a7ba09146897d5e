/* escape.h: the escapers every byte from the wire goes through before it is
 * printed, one per format: text, JSON, HTML. */
#ifndef KW_ESCAPE_H
#define KW_ESCAPE_H

#include <stddef.h>
#include <stdint.h>

#include "output/buf.h"
#include "rules/finding.h"

/* Wire bytes as the inside of a JSON string: quotes, backslashes and control
 * characters escaped; C1 controls, bidirectional overrides and isolates and
 * line separators as \uXXXX escapes, never raw; each byte that is not part
 * of valid UTF-8 as U+FFFD (the replacement character). Returns how many
 * bytes were replaced: the caller then gives the bytes as hex too. */
size_t kw_buf_json_str(struct kw_buf *b, const uint8_t *p, size_t n);

/* Bytes as lower-case hex, two digits a byte. */
void kw_buf_hex(struct kw_buf *b, const uint8_t *p, size_t n);

/* Wire bytes for a terminal: printable ASCII kept, a backslash doubled, any
 * other byte as \xHH. Returns 0: nothing is lost. */
size_t kw_buf_text(struct kw_buf *b, const uint8_t *p, size_t n);

/* Wire bytes as HTML text or the inside of a quoted attribute: what the text
 * escaper writes (printable ASCII kept, a backslash doubled, any other byte
 * as \xHH), with & < > " ' as character references. The result is ASCII
 * and can end neither an element nor an attribute. Returns 0: nothing is lost. */
size_t kw_buf_html(struct kw_buf *b, const uint8_t *p, size_t n);

struct kw_out;

/* A finding's message, each KW_MESSAGE_LINE replaced by `line` (with "..."
 * when it was cut; its query dropped with --redact uri-query), all of it
 * through `escape`. */
void out_message(const struct kw_out *o, struct kw_buf *b, const char *message,
                 const struct kw_line *line,
                 size_t (*escape)(struct kw_buf *b, const uint8_t *p, size_t n));

#endif
