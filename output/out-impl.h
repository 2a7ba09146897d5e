/* out-impl.h: what the writers share: the output object, the table of
 * formats, the escapers. Nothing outside output/ includes it. A new format
 * is one file defining a `struct out_format` and one row in out.c's table. */
#ifndef KW_OUT_IMPL_H
#define KW_OUT_IMPL_H

#include "output/buf.h"
#include "output/out.h"

struct kw_out;

/* One format's writer. Each hook formats one event into o->buf and writes
 * it (or keeps it in its record of the connection). `conn` is the format's
 * record of the connection: conn_size bytes, zeroed at the connection's
 * first event, released with conn_release after `end`. o->state is the
 * format's own record of the whole output: state_size bytes, zeroed, released
 * with state_release when the output is freed. */
struct out_format {
    const char *name;
    size_t state_size;
    void (*state_release)(void *state);
    size_t conn_size;
    void (*txn)(struct kw_out *o, void *conn, struct kw_conn_info *c, const struct kw_txn *t);
    void (*fin)(struct kw_out *o, void *conn, struct kw_conn_info *c, enum kw_side who,
                kw_usec ts);
    void (*end)(struct kw_out *o, void *conn, struct kw_conn_info *c, const struct kw_conn_end *e);
    void (*conn_release)(void *conn); /* what the record holds, not the record */
    /* conn and c are NULL for a finding about a server as a whole */
    void (*finding)(struct kw_out *o, void *conn, struct kw_conn_info *c,
                    const struct kw_finding *f);
    void (*server)(struct kw_out *o, const struct kw_server_policy *p);
    void (*stats)(struct kw_out *o, const struct kw_stats *st, kw_usec ts);
};

extern const struct out_format out_format_text, out_format_json, out_format_syslog,
    out_format_html;

struct kw_out {
    const struct out_format *format;
    struct kw_out_options opts;
    FILE *f;
    struct kw_buf buf; /* one event is formatted here, then written */
    struct kw_txn_consumer txn_consumer;
    struct kw_finding_consumer finding_consumer;
    void *state;                /* the format's record of the output */
    int64_t iso_sec;            /* the second whose date and time iso_prefix holds */
    char iso_prefix[KW_ISO8601_LEN];
};

/* kw_time_iso8601, with the date and time of the last second cached: events
 * come in time order, so most share it. */
size_t out_iso8601(struct kw_out *o, kw_usec ts, char out[KW_ISO8601_LEN]);

/* A time for people: UTC as out_iso8601(), or local with its offset
 * (opts.local_time). */
size_t out_time(struct kw_out *o, kw_usec ts, char out[KW_ISO8601_LEN]);

bool out_endpoint_eq(const struct kw_endpoint *a, const struct kw_endpoint *b);

/* A count of what was not analysed, was dropped or was out of the ordinary,
 * with its JSON name ("skipped.x" inside "skipped", "skipped.encapsulation.x"
 * inside its "encapsulation") and the words the reports give it (empty: a
 * JSON-only alias of another count). */
struct out_count {
    char key[48];
    char label[112];
    uint64_t n;
};
#define OUT_COUNTS_MAX 64

/* Every such count of the stats, in the order the reports list them;
 * returns how many. The one list the JSON stats event, the text report and
 * the HTML page share. */
size_t out_skipped_counts(const struct kw_stats *st, struct out_count out[OUT_COUNTS_MAX]);

/* How much of a URI (or a request line) to print: all of it, or with
 * --redact uri-query up to and with its '?'. */
size_t out_uri_len(const struct kw_out *o, const uint8_t *p, size_t n);

void out_endpoint_ip(struct kw_buf *b, const struct kw_endpoint *e);
/* An address and its port as "192.0.2.1:80" or, IPv6, "[2001:db8::1]:80"
 * (RFC 3986's form, as curl and Zeek's logs print them). */
void out_endpoint(struct kw_buf *b, const struct kw_endpoint *e);
/* "ip.addr==A && ip.addr==B && tcp.port==P && tcp.port==Q" for the connection */
void out_wireshark_filter(struct kw_buf *b, const struct kw_conn_key *key);
const char *out_close_name(enum kw_close c);

/* The file the first of `frames` is in (NULL when none is known: live
 * without -w, a file forgotten or written anew) and, in in_file[i], each
 * frame's number in that file, or 0 for one in another file (after a -C or
 * -G rotation). */
const char *out_frames_in_file(const struct kw_out *o, const uint64_t *frames, int n,
                               uint64_t *in_file);
const char *out_timeout_name(enum kw_timeout t); /* NULL for KW_TIMEOUT_NONE */
const char *out_side_name(enum kw_side s);
const char *out_framing_name(enum kw_framing f);

#endif
