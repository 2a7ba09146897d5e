/* bytes.h: locale-free byte classes for wire data (never <ctype.h> on wire bytes). */
#ifndef KW_BYTES_H
#define KW_BYTES_H

#include <stdint.h>

/* RFC 7230 3.2.6 tchar: the characters of a token (method, header name, Connection option). */
extern const uint8_t kw_tchar[256];

static inline uint8_t kw_lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c | 0x20) : c;
}

static inline int kw_is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* Value of a hexadecimal digit, or -1. */
static inline int kw_hex_val(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = kw_lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

#endif
