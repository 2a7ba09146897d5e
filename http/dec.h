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
    KW_FIELD_CONTENT_TYPE,
    KW_FIELD_X_FORWARDED_FOR,
    KW_FIELD_VIA,
    KW_FIELD_REASON,          /* a status line's reason phrase (RFC 9112 4) */
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

/* How a message departs from RFC 7230 while still read as HTTP/1.x: each is
 * decoded as servers and clients in the field do, and recorded. */
#define KW_MSG_NO_VERSION 0x001      /* a request line without version: HTTP/0.9 (RFC 1945 4.1) */
#define KW_MSG_SPACE_IN_TARGET 0x002 /* SP inside the request target (3.1.1 allows none) */
#define KW_MSG_EXTRA_SPACE 0x004     /* more than one SP after the method, or SP after the version */
#define KW_MSG_BARE_LF 0x008         /* a line ended by LF alone, not CRLF (3.5) */
#define KW_MSG_JUNK_BEFORE_STATUS 0x010 /* lines that are not a status line before it */
#define KW_MSG_OBS_FOLD 0x020        /* a header value folded onto another line (3.2.4) */
#define KW_MSG_STATUS_OUT_OF_RANGE 0x040 /* a status code outside 100-599 (RFC 7231 6) */
#define KW_MSG_NO_STATUS_LINE 0x080  /* an HTTP/0.9 response: the body alone (RFC 1945 6) */

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
    uint8_t version;            /* 10 for HTTP/1.0, 11 for HTTP/1.1, 9 for HTTP/0.9 */
    bool has_status;            /* a status code was read (false: a request, an HTTP/0.9 reply) */
    uint16_t status;            /* responses, as read: 0 for "000" */
    uint16_t msg_anomalies;     /* KW_MSG_* */
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

/* How a message ended. */
enum kw_http_end_how {
    KW_END_SEEN = 0,    /* its last byte was read */
    KW_END_CLOSED,      /* the sender closed in the middle of it */
    KW_END_IN_HOLE,     /* its framing says it ended inside a hole in the capture */
    KW_END_HOLE_CUT,    /* a hole in the capture cut it: where it ends is not known */
};

/* A message's end as on_end reports it. */
struct kw_http_end {
    enum kw_http_end_how how;
    enum kw_framing framing;   /* as its head declared it; none when the head was not read */
    uint64_t body_len;         /* body bytes up to its end or the cut, a hole's included */
    uint16_t msg_anomalies;    /* KW_MSG_* of the whole message, its body's lines included */
    bool head_seen;            /* on_head was called for it */
};

/* Callbacks, called from inside the decoder's entry points. Slices are valid
 * only until the callback returns. on_begin and on_end may stop the decoder
 * (kw_http_dec_stop); on_head stops it by answering KW_BODY_TUNNEL. on_begin
 * may also say that the message answers an HTTP/0.9 request
 * (kw_http_dec_answers_http09). on_discard withdraws the request begun last:
 * after a pick-up or a hole the decoder begins a request on a line that looks
 * like a request line, and withdraws it when the line does not end as one
 * (kw_http_dec_tentative() is true in between). */
struct kw_http_sink {
    void *ctx;
    void (*on_begin)(void *ctx, enum kw_dir dir, kw_usec ts);
    void (*on_text)(void *ctx, enum kw_dir dir, enum kw_http_field field, struct kw_slice piece,
                    unsigned flags);
    enum kw_http_body (*on_head)(void *ctx, enum kw_dir dir, kw_usec ts,
                                 const struct kw_http_head *head);
    void (*on_end)(void *ctx, enum kw_dir dir, kw_usec ts, const struct kw_http_end *end);
    void (*on_discard)(void *ctx, enum kw_dir dir);
};

/* Why a stream is not HTTP/1.x. The first five name what the bytes are
 * instead; the others are HTTP that keepwatch cannot follow. */
#define KW_HTTP_ERRORS(X)                                                    \
    X(NONE, "no error")                                                      \
    X(NOT_REQUEST_LINE, "not a request line")                                \
    X(BINARY, "binary data")                                                 \
    X(TLS, "tls")                                                            \
    X(SSH, "SSH")                                                            \
    X(HTTP2_PREFACE, "HTTP/2 preface")                                       \
    X(BAD_URI, "invalid request target")                                     \
    X(BAD_VERSION, "not HTTP/1.x")                                           \
    X(BAD_STATUS, "invalid status line")                                     \
    X(NO_STATUS_LINE, "no status line within the size cap")                  \
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
 * when a message was cut short (the close came in the middle of it); on_end
 * then says so (KW_END_CLOSED), with the framing its head declared and the
 * body bytes it had. A request still tentative is withdrawn (on_discard). */
bool kw_http_dec_close(struct kw_http_dec *d, kw_usec ts);

/* Stops decoding (the other direction tunnelled or failed). */
void kw_http_dec_stop(struct kw_http_dec *d);

/* Before the first byte of a stream picked up after it began: bytes are
 * skipped, and counted, up to the first message boundary. For requests that
 * is a line starting with an upper-case method, SP and a target, which must
 * end in " HTTP/1.x" (the request is tentative until then); for responses a
 * line starting with "HTTP/1.x " and three digits. */
void kw_http_dec_seek(struct kw_http_dec *d);

/* What a hole in the capture did to the stream. */
enum kw_http_gap {
    KW_GAP_IGNORED = 0,     /* the decoder had stopped: nothing to do */
    KW_GAP_IN_STEP,         /* inside a body of known length: skipped, still in step */
    KW_GAP_RESYNC,          /* it lost its place and seeks the next message boundary */
    KW_GAP_MESSAGE_IN_HOLE, /* likewise, and a message began inside the hole */
};

/* `missing` bytes of the stream, after those fed so far, are not in the
 * capture. Inside a body of known length (Content-Length, the data of a chunk
 * of known size) they are counted as body and the decoder stays in step, as
 * in a body delimited by the close; elsewhere the message in progress ends
 * as cut (on_end, KW_END_HOLE_CUT, or on_discard for a tentative request)
 * and the decoder seeks as after a pick-up. A message whose framing ends
 * inside the hole ends there (KW_END_IN_HOLE). */
enum kw_http_gap kw_http_dec_gap(struct kw_http_dec *d, kw_usec ts, uint64_t missing);

/* From on_begin of a response: the request it answers was HTTP/0.9, so a
 * response that does not start with "HTTP/" is an HTTP/0.9 one: its bytes
 * are the body, up to the close (RFC 1945 6). */
void kw_http_dec_answers_http09(struct kw_http_dec *d);

enum kw_http_error kw_http_dec_error(const struct kw_http_dec *d);
uint64_t kw_http_dec_error_offset(const struct kw_http_dec *d);
bool kw_http_dec_idle(const struct kw_http_dec *d); /* between messages */
bool kw_http_dec_tunnel(const struct kw_http_dec *d);
bool kw_http_dec_tentative(const struct kw_http_dec *d); /* a request begun may be withdrawn */

/* Stream bytes read but not decoded as part of a message: skipped while
 * seeking a boundary, or junk before a status line. Holes are not counted. */
uint64_t kw_http_dec_skipped(const struct kw_http_dec *d);

#endif
