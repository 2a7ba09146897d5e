/* dec.h: an incremental, zero-copy HTTP/1.x decoder for one direction of a
 * connection. It buffers nothing: bytes are consumed as they come, whatever
 * TCP cut them, and what the caller wants to keep arrives as pieces. */
#ifndef KW_HTTP_DEC_H
#define KW_HTTP_DEC_H

#include <stdbool.h>
#include <stdint.h>

#include "common/flow.h"
#include "common/slice.h"
#include "common/time.h"

struct kw_http_dec;

enum kw_http_method {
    KW_METHOD_OTHER = 0,
    KW_METHOD_GET,
    KW_METHOD_HEAD,
    KW_METHOD_POST,
    KW_METHOD_PUT,
    KW_METHOD_CONNECT,
};

/* Parts of a message delivered as text pieces, for bounded copies. */
enum kw_http_field {
    KW_FIELD_METHOD = 0,
    KW_FIELD_URI,
    KW_FIELD_HOST,
    KW_FIELD_USER_AGENT,
    KW_FIELD_SERVER,
    KW_FIELD_CONNECTION,
    KW_FIELD_KEEP_ALIVE,
    KW_FIELD_PROXY_CONNECTION,
    KW_FIELD_UPGRADE,
    KW_FIELD_COUNT
};

/* Connection (and Proxy-Connection) options, RFC 7230 6.1. */
#define KW_CONN_CLOSE 0x01
#define KW_CONN_KEEP_ALIVE 0x02
#define KW_CONN_UPGRADE 0x04
#define KW_CONN_OTHER 0x08

/* Framing anomalies, RFC 7230 3.3.3. */
#define KW_ANOM_CL_AND_TE 0x01      /* Content-Length together with Transfer-Encoding */
#define KW_ANOM_CL_DIFFERING 0x02   /* several Content-Length values that differ */
#define KW_ANOM_CL_INVALID 0x04     /* a Content-Length that is not a number */
#define KW_ANOM_CHUNKED_HTTP10 0x08 /* chunked on an HTTP/1.0 message */
#define KW_ANOM_TE_NOT_CHUNKED 0x10 /* Transfer-Encoding whose final coding is not chunked */

enum kw_framing {
    KW_FRAMING_NONE = 0,       /* no body */
    KW_FRAMING_CONTENT_LENGTH,
    KW_FRAMING_CHUNKED,
    KW_FRAMING_CLOSE,          /* the body ends when the server closes */
};

#define KW_KA_ABSENT (-1)
#define KW_KA_VALUE_MAX 999999999 /* Keep-Alive numbers are clamped to this */

/* A message's start line and the headers keepwatch reads, once the header
 * section has ended. */
struct kw_http_head {
    uint8_t version;            /* 10 for HTTP/1.0, 11 for HTTP/1.1 */
    uint16_t status;            /* responses */
    enum kw_http_method method; /* requests */
    uint8_t conn_tokens;        /* KW_CONN_* of every Connection header */
    uint8_t proxy_conn_tokens;  /* KW_CONN_* of every Proxy-Connection header */
    bool has_connection, has_keep_alive, has_content_length, has_transfer_encoding;
    bool chunked;               /* Transfer-Encoding's final coding is chunked */
    bool expect_continue;
    bool has_upgrade;
    uint8_t anomalies;          /* KW_ANOM_* */
    int64_t ka_timeout, ka_max; /* Keep-Alive parameters, or KW_KA_ABSENT */
    uint64_t content_length;
    uint32_t head_bytes;        /* start line and header section */
};

/* What the receiver of a head says about the body. */
enum kw_http_body {
    KW_BODY_FRAMED = 0, /* as the head frames it */
    KW_BODY_NONE,       /* none whatever the head says: a response to HEAD */
    KW_BODY_TUNNEL,     /* 101 or a successful CONNECT: the rest is not HTTP */
};

#define KW_TEXT_START 0x01 /* first piece of a new occurrence of the field */

/* Callbacks, called from inside kw_http_dec_feed(). Slices are valid only
 * until the callback returns. on_begin and on_end may stop the decoder
 * (kw_http_dec_stop); on_head stops it by answering KW_BODY_TUNNEL. */
struct kw_http_sink {
    void *ctx;
    void (*on_begin)(void *ctx, enum kw_dir dir, kw_usec ts);
    void (*on_text)(void *ctx, enum kw_dir dir, enum kw_http_field field, struct kw_slice piece,
                    unsigned flags);
    enum kw_http_body (*on_head)(void *ctx, enum kw_dir dir, kw_usec ts,
                                 const struct kw_http_head *head);
    void (*on_end)(void *ctx, enum kw_dir dir, kw_usec ts, enum kw_framing framing,
                   uint64_t body_len);
};

#define KW_HTTP_ERRORS(X)                                                    \
    X(NONE, "no error")                                                      \
    X(BAD_METHOD, "invalid request method")                                  \
    X(BAD_URI, "invalid request target")                                     \
    X(HTTP09, "HTTP/0.9 request")                                            \
    X(BAD_VERSION, "not HTTP/1.x")                                           \
    X(BAD_STATUS, "invalid status line")                                     \
    X(BAD_HEADER, "invalid header line")                                     \
    X(HEAD_TOO_BIG, "header section over the size cap")                      \
    X(BAD_CONTENT_LENGTH, "request with an invalid Content-Length")          \
    X(BAD_TRANSFER_ENCODING, "request with a Transfer-Encoding not chunked") \
    X(BAD_CHUNK, "invalid chunk framing")                                    \
    X(TOO_MANY_EMPTY_LINES, "too many empty lines between messages")

enum kw_http_error {
#define KW_HTTP_ERR_ENUM(name, text) KW_HTTP_E_##name,
    KW_HTTP_ERRORS(KW_HTTP_ERR_ENUM)
#undef KW_HTTP_ERR_ENUM
};

const char *kw_http_error_text(enum kw_http_error e);

#define KW_HTTP_HEAD_MAX_DEFAULT (64 * 1024)

/* `dir` says which grammar: requests (KW_TO_SERVER) or responses. `head_max`
 * caps the start line and header section, counted as bytes pass. */
void kw_http_dec_init(struct kw_http_dec *d, enum kw_dir dir, uint32_t head_max,
                      const struct kw_http_sink *sink);

/* Consumes all of `in`. Returns false once the bytes stopped being HTTP
 * (kw_http_dec_error() says why); it then consumes and ignores everything. */
bool kw_http_dec_feed(struct kw_http_dec *d, kw_usec ts, struct kw_slice in);

/* The sender closed: a body delimited by the close ends here. Returns true
 * when a message was cut short (the close came in the middle of it). */
bool kw_http_dec_close(struct kw_http_dec *d, kw_usec ts);

/* Stops decoding (the other direction tunnelled or failed). */
void kw_http_dec_stop(struct kw_http_dec *d);

enum kw_http_error kw_http_dec_error(const struct kw_http_dec *d);
uint64_t kw_http_dec_error_offset(const struct kw_http_dec *d);
bool kw_http_dec_idle(const struct kw_http_dec *d); /* between messages */
bool kw_http_dec_tunnel(const struct kw_http_dec *d);

#endif
