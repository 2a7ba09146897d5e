/* input.c: one capture file's bytes for libpcap. A plain regular file is
 * handed over as it is (no copy, no stream of ours in between); a compressed
 * one, or a pipe, through a reading stream of ours (fopencookie, as Wireshark
 * reads gzip through its own reader) that decompresses it or replays the
 * first bytes read to tell its format. */
#define _GNU_SOURCE /* fopencookie */
#include "capture/input.h"

#include <errno.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capture/decompress.h"

#define INPUT_BUFFER (1 << 16) /* stdio buffer of a plain file; compressed bytes read at once */
#define HEAD_MAX 64            /* bytes looked at to tell a format */
#define HEAD_MIN 24            /* what a stream must give first: a pcap file header */
#define STREAM_BUFFER (1 << 16) /* stdio buffer of our streams */
#define RECENT_MAX (2 * STREAM_BUFFER) /* more than stdio can hold back from libpcap */
#define SECTION_LOOK_BACK 4096  /* how far before a failure a section header is looked for */

struct cap_stream {
    FILE *raw;
    bool raw_is_stdin, seekable;
    const struct codec *codec; /* NULL: the bytes as they are */
    void *state;               /* the codec's; NULL while suspended */
    uint8_t *in, *scratch;     /* compressed bytes read; where skipped bytes go */
    size_t in_off, in_len;
    uint8_t head_buf[HEAD_MAX];
    uint8_t *head;             /* bytes handed out first: the content's first, read to
                                * tell its format (head_buf), or those of a new pcapng
                                * section taken over from the stream before */
    size_t head_len;
    uint8_t *recent;           /* a pipe's last RECENT_MAX bytes handed out, a ring */
    uint64_t recent_end;       /* content offset of the byte after its last */
    uint64_t pos;              /* content bytes handed to the reader */
    uint64_t under;            /* content bytes produced: head_len while pos is in the head */
    uint64_t raw_read;         /* bytes read from the file */
    bool at_boundary, ended;   /* a compressed stream just ended; no more content */
    char cut[160];             /* why the compressed data ended early */
};

/* --- producing content --------------------------------------------------------- */

/* Up to `n` bytes of `f`, at least `min` unless the input ends first. A
 * regular file is read through stdio; a pipe, a socket or a terminal with
 * read(2), which returns what has arrived: fread() would wait for all `n`,
 * and `tcpdump -U -w - | keepwatch -r -` would show nothing until tcpdump
 * stopped. Returns the count, or -1 on a read error (errno set). */
static ssize_t read_arrived(FILE *f, bool regular, uint8_t *buf, size_t n, size_t min)
{
    if (regular || fileno(f) < 0) { /* a file, or a stream with no descriptor under it */
        size_t got = fread(buf, 1, n, f);
        return !got && ferror(f) ? -1 : (ssize_t)got;
    }
    size_t done = 0;
    while (done < n && (done < min || !done)) {
        ssize_t got = read(fileno(f), buf + done, n - done);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return done ? (ssize_t)done : -1;
        if (!got)
            break;
        done += (size_t)got;
    }
    return (ssize_t)done;
}

/* Up to `n` decompressed bytes into buf; -1 on a read error (errno set). */
static ssize_t decompress(struct cap_stream *st, uint8_t *buf, size_t n)
{
    size_t done = 0;
    while (done < n && !st->ended) {
        if (st->in_off == st->in_len) {
            ssize_t read_now = read_arrived(st->raw, st->seekable, st->in, INPUT_BUFFER, 1);
            size_t got = read_now > 0 ? (size_t)read_now : 0;
            if (!got) {
                if (read_now < 0)
                    return done ? (ssize_t)done : -1;
                if (!st->at_boundary)
                    snprintf(st->cut, sizeof(st->cut),
                             "the %s data ends in the middle of a stream", st->codec->name);
                st->ended = true;
                break;
            }
            st->raw_read += got, st->in_off = 0, st->in_len = got;
        }
        struct kw_slice s = kw_slice_make(st->in + st->in_off, st->in_len - st->in_off);
        size_t produced = 0, before = s.len;
        const char *why = "";
        enum codec_res r = st->codec->step(st->state, &s, buf + done, n - done, &produced, &why);
        st->in_off += before - s.len;
        done += produced;
        if (r == CODEC_OK && before == s.len && !produced)
            r = CODEC_BAD, why = "no progress"; /* cannot happen with room and input */
        if (r == CODEC_BAD && st->at_boundary) { /* after a whole stream: trailing bytes */
            snprintf(st->cut, sizeof(st->cut), "the %s data is followed by bytes that are not "
                     "%s (%s)", st->codec->name, st->codec->name, why);
            st->ended = true;
        } else if (r == CODEC_BAD) {
            snprintf(st->cut, sizeof(st->cut), "the %s data is corrupt (%s)", st->codec->name,
                     why);
            st->ended = true;
        } else if (r == CODEC_END) {
            st->at_boundary = true;
        } else if (before != s.len) {
            st->at_boundary = false;
        }
    }
    return (ssize_t)done;
}

static int restart(struct cap_stream *st);
static int skip_to(struct cap_stream *st, uint64_t at);

/* Up to `n` content bytes from where `under` is; -1 on a read error. */
static ssize_t pull(struct cap_stream *st, uint8_t *buf, size_t n)
{
    ssize_t got;
    if (st->codec && !st->state) { /* suspended: start over, back to where it was */
        uint64_t at = st->under;
        if (restart(st) < 0 || skip_to(st, at) < 0)
            return -1;
    }
    if (st->codec) {
        got = decompress(st, buf, n);
    } else {
        got = read_arrived(st->raw, st->seekable, buf, n, 1);
        if (got < 0)
            return -1;
        st->raw_read += (uint64_t)got;
    }
    if (got > 0)
        st->under += (uint64_t)got;
    return got;
}

/* Reads and drops content up to offset `at` (or its end). */
static int skip_to(struct cap_stream *st, uint64_t at)
{
    if (!st->scratch && !(st->scratch = malloc(INPUT_BUFFER))) {
        errno = ENOMEM;
        return -1;
    }
    while (st->under < at) {
        uint64_t left = at - st->under;
        ssize_t got = pull(st, st->scratch, left < INPUT_BUFFER ? (size_t)left : INPUT_BUFFER);
        if (got < 0)
            return -1;
        if (!got)
            break;
    }
    return 0;
}

/* Back to the start of the file, with a new codec state. */
static int restart(struct cap_stream *st)
{
    if (!st->seekable) {
        errno = ESPIPE;
        return -1;
    }
    if (st->state)
        st->codec->stop(st->state);
    st->state = NULL;
    if (fseeko(st->raw, 0, SEEK_SET) < 0)
        return -1;
    if (st->codec && !(st->state = st->codec->start())) {
        errno = ENOMEM;
        return -1;
    }
    st->in_off = st->in_len = 0;
    st->under = st->raw_read = 0;
    st->ended = st->at_boundary = false;
    st->cut[0] = '\0';
    return 0;
}

/* --- the stream libpcap reads -------------------------------------------------- */

/* Keeps the bytes just handed out (content offsets up to st->pos). */
static void remember(struct cap_stream *st, const uint8_t *buf, size_t n)
{
    if (n > RECENT_MAX)
        buf += n - RECENT_MAX, n = RECENT_MAX;
    size_t at = (size_t)((st->pos - n) % RECENT_MAX), first = RECENT_MAX - at;
    memcpy(st->recent + at, buf, n < first ? n : first);
    if (n > first)
        memcpy(st->recent, buf + first, n - first);
    st->recent_end = st->pos;
}

/* The kept byte at content offset `at` (which must be kept). */
static uint8_t recent_at(const struct cap_stream *st, uint64_t at)
{
    return st->recent[at % RECENT_MAX];
}

static bool is_kept(const struct cap_stream *st, uint64_t from, uint64_t to)
{
    uint64_t kept = st->recent_end < RECENT_MAX ? st->recent_end : RECENT_MAX;
    return st->recent && to <= st->recent_end && from >= st->recent_end - kept && from <= to;
}

static ssize_t stream_read(void *cookie, char *buf, size_t size)
{
    struct cap_stream *st = cookie;
    size_t done = 0;
    if (st->pos < st->head_len) { /* the bytes read to tell the format, again */
        size_t n = st->head_len - (size_t)st->pos;
        done = n < size ? n : size;
        memcpy(buf, st->head + st->pos, done);
        st->pos += done;
        if (done == size)
            return (ssize_t)done;
    }
    ssize_t got = pull(st, (uint8_t *)buf + done, size - done);
    if (got < 0 && !done)
        return -1;
    if (got < 0)
        got = 0;
    st->pos += (uint64_t)got;
    done += (size_t)got;
    if (st->recent)
        remember(st, (const uint8_t *)buf, done);
    return (ssize_t)done;
}

/* Moves to content offset `to`: forward by reading, back by starting over. */
static int move_to(struct cap_stream *st, uint64_t to)
{
    uint64_t below = to < st->head_len ? st->head_len : to; /* where `under` must be */
    if (below < st->under && restart(st) < 0)
        return -1;
    if (skip_to(st, below) < 0)
        return -1;
    st->pos = to < st->head_len ? to : st->under; /* the end, if it came first */
    return 0;
}

static int stream_seek(void *cookie, off64_t *offset, int whence)
{
    struct cap_stream *st = cookie;
    uint64_t to, by = *offset < 0 ? 0 - (uint64_t)*offset : (uint64_t)*offset;
    bool back = *offset < 0;
    if (whence == SEEK_SET && !back)
        to = by;
    else if (whence == SEEK_CUR && back && by <= st->pos)
        to = st->pos - by;
    else if (whence == SEEK_CUR && !back && by <= (uint64_t)INT64_MAX - st->pos)
        to = st->pos + by; /* in unsigned arithmetic, checked: no overflow */
    else {
        errno = EINVAL;
        return -1;
    }
    if (to != st->pos && move_to(st, to) < 0)
        return -1;
    *offset = (off64_t)st->pos;
    return 0;
}

static void stream_free(struct cap_stream *st)
{
    if (!st)
        return;
    if (st->state)
        st->codec->stop(st->state);
    if (st->raw && !st->raw_is_stdin)
        fclose(st->raw);
    if (st->head != st->head_buf)
        free(st->head);
    free(st->in);
    free(st->scratch);
    free(st->recent);
    free(st);
}

static int stream_close(void *cookie)
{
    stream_free(cookie);
    return 0;
}

/* A stream over `raw` (taken: closed with it), decompressed by `codec` if any. */
static struct cap_stream *stream_new(FILE *raw, bool is_stdin, bool seekable,
                                     const struct codec *codec)
{
    struct cap_stream *st = calloc(1, sizeof(*st));
    if (!st) {
        if (!is_stdin)
            fclose(raw);
        return NULL;
    }
    st->raw = raw, st->raw_is_stdin = is_stdin, st->seekable = seekable, st->codec = codec;
    st->head = st->head_buf;
    if ((codec && (!(st->in = malloc(INPUT_BUFFER)) || !(st->state = codec->start()))) ||
        (!seekable && !(st->recent = malloc(RECENT_MAX)))) {
        stream_free(st);
        return NULL;
    }
    return st;
}

static FILE *stream_file(struct cap_stream *st)
{
    cookie_io_functions_t io = { .read = stream_read, .seek = stream_seek,
                                 .close = stream_close };
    FILE *fp = fopencookie(st, "r", io);
    if (fp) /* a known size: what stdio holds back from libpcap stays in `recent` */
        setvbuf(fp, NULL, _IOFBF, STREAM_BUFFER);
    return fp;
}

/* The content's first bytes into st->head, to be read again. */
static int read_head(struct cap_stream *st)
{
    while (st->head_len < HEAD_MAX) {
        ssize_t got = pull(st, st->head + st->head_len, HEAD_MAX - st->head_len);
        if (got < 0)
            return -1;
        if (!got)
            break;
        st->head_len += (size_t)got;
    }
    return 0;
}

/* --- what a file holds ------------------------------------------------------------ */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* pcap (the magic in the writer's byte order: either) or pcapng (a palindrome). */
static bool format_of(const uint8_t *head, size_t len, enum cap_format *format)
{
    if (len < 4)
        return false;
    uint32_t m = le32(head), s = __builtin_bswap32(m);
    if (m == 0xa1b2c3d4 || s == 0xa1b2c3d4 || m == 0xa1b2cd34 || s == 0xa1b2cd34)
        *format = CAP_FORMAT_PCAP; /* the second: Kuznetzov's patched libpcap, microseconds */
    else if (m == 0xa1b23c4d || s == 0xa1b23c4d)
        *format = CAP_FORMAT_PCAP_NS;
    else if (m == 0x0a0d0d0a)
        *format = CAP_FORMAT_PCAPNG;
    else
        return false;
    return true;
}

/* Formats a capture may be mistaken for, by their first bytes, and what to
 * say of them. */
static const struct {
    uint8_t magic[8];
    size_t len;
    const char *what;
} known[] = {
    { { 0xfd, '7', 'z', 'X', 'Z', 0 }, 6, "an xz-compressed file; keepwatch reads captures "
                                          "compressed with gzip, zstd or lz4" },
    { { 'B', 'Z', 'h' }, 3, "a bzip2-compressed file; keepwatch reads captures compressed "
                            "with gzip, zstd or lz4" },
    { { 0x02, 0x21, 0x4c, 0x18 }, 4, "an lz4 file in the legacy format; keepwatch reads the "
                                     "lz4 frame format" },
    { { 'P', 'K', 3, 4 }, 4, "not a capture: a zip archive" },
    { { 0x7f, 'E', 'L', 'F' }, 4, "not a capture: an executable (ELF)" },
    { { 's', 'n', 'o', 'o', 'p', 0, 0, 0 }, 8, "a snoop capture; keepwatch reads pcap and pcapng" },
    { { 'G', 'M', 'B', 'U' }, 4, "a Network Monitor capture; keepwatch reads pcap and pcapng" },
};

static bool looks_like_text(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r') || p[i] == 0x7f)
            return false; /* bytes of 0x80 and more pass: UTF-8 text */
    return true;
}

/* What a file that is no capture is, or looks like, from its first bytes,
 * for a message: "not a capture: it looks like text (it starts "GET /")". */
static void describe(const uint8_t *head, size_t len, char *out, size_t out_len)
{
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (len >= known[i].len && !memcmp(head, known[i].magic, known[i].len)) {
            snprintf(out, out_len, "%s", known[i].what);
            return;
        }
    if (looks_like_text(head, len)) {
        char start[32];
        size_t n = 0;
        for (size_t i = 0; i < len && n + 1 < sizeof(start) && head[i] >= 0x20; i++)
            start[n++] = head[i] < 0x7f ? (char)head[i] : '?'; /* its first line, ASCII */
        start[n] = '\0';
        snprintf(out, out_len, "not a capture: it looks like text (it starts \"%s\")", start);
        return;
    }
    int n = snprintf(out, out_len, "not a capture: unknown format (its first bytes:");
    for (size_t i = 0; i < len && i < 8 && n > 0 && (size_t)n < out_len; i++)
        n += snprintf(out + n, out_len - (size_t)n, " %02x", head[i]);
    if (n > 0 && (size_t)n < out_len)
        snprintf(out + n, out_len - (size_t)n, ")");
}

/* --- opening ------------------------------------------------------------------------ */

/* The content of a compressed file: a stream decompressing it, whose first
 * bytes tell the format. `head` holds the file's first bytes when they were
 * read from a pipe (and cannot be read again). */
static int open_compressed(struct cap_input *in, const struct codec *codec, bool seekable,
                           const uint8_t *head, size_t head_len, char err[KW_CAP_ERRBUF])
{
    struct cap_stream *st = stream_new(in->raw, !strcmp(in->path, "-"), seekable, codec);
    in->raw = NULL; /* the stream has it */
    if (!st) {
        snprintf(err, KW_CAP_ERRBUF, "%s: out of memory", in->name);
        return -1;
    }
    in->stream = st;
    in->codec = codec->name;
    in->decoder = codec;
    if (!seekable) {
        memcpy(st->in, head, head_len);
        st->in_len = head_len, st->raw_read = head_len;
    }
    char what[160];
    if (read_head(st) < 0)
        snprintf(err, KW_CAP_ERRBUF, "%s: cannot read capture: %s", in->name, strerror(errno));
    else if (!st->head_len && st->cut[0])
        snprintf(err, KW_CAP_ERRBUF, "%s: %s file that cannot be read: %s", in->name,
                 codec->a_name, st->cut);
    else if (!st->head_len)
        snprintf(err, KW_CAP_ERRBUF, "%s: %s file whose content is empty, not a capture",
                 in->name, codec->a_name);
    else if (!format_of(st->head, st->head_len, &in->format)) {
        describe(st->head, st->head_len, what, sizeof(what));
        snprintf(err, KW_CAP_ERRBUF, "%s: %s file whose content is not a capture: %s",
                 in->name, codec->a_name,
                 strncmp(what, "not a capture: ", 15) ? what : what + 15);
    } else if (!(in->fp = stream_file(st)))
        snprintf(err, KW_CAP_ERRBUF, "%s: out of memory", in->name);
    else
        return 0;
    return -1;
}

/* A file in no compressed format: a capture, or said what it is. */
static int open_plain(struct cap_input *in, bool seekable, const uint8_t *head,
                      size_t head_len, char err[KW_CAP_ERRBUF])
{
    char what[160];
    if (!format_of(head, head_len, &in->format)) {
        describe(head, head_len, what, sizeof(what));
        if (head_len < 4)
            snprintf(err, KW_CAP_ERRBUF, "%s: %zu bytes, too short to be a capture", in->name,
                     head_len);
        else
            snprintf(err, KW_CAP_ERRBUF, "%s: %s", in->name, what);
        return -1;
    }
    if (seekable) {
        in->fp = in->raw;
        return 0;
    }
    struct cap_stream *st = stream_new(in->raw, !strcmp(in->path, "-"), false, NULL);
    in->raw = NULL;
    if (!st || !(in->fp = stream_file(st))) {
        stream_free(st);
        snprintf(err, KW_CAP_ERRBUF, "%s: out of memory", in->name);
        return -1;
    }
    in->stream = st;
    memcpy(st->head, head, head_len); /* replayed before the rest */
    st->head_len = head_len, st->under = head_len, st->raw_read = head_len;
    return 0;
}

int cap_input_open(struct cap_input *in, const char *path, char err[KW_CAP_ERRBUF])
{
    memset(in, 0, sizeof(*in));
    bool is_stdin = !strcmp(path, "-");
    in->path = path;
    in->name = is_stdin ? "standard input" : path;
    in->raw = is_stdin ? stdin : fopen(path, "rb");
    if (!in->raw) {
        snprintf(err, KW_CAP_ERRBUF, "%s: cannot read capture: %s", path, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fileno(in->raw) >= 0 && !fstat(fileno(in->raw), &sb)) {
        if (S_ISDIR(sb.st_mode)) {
            snprintf(err, KW_CAP_ERRBUF, "%s: a directory, not a capture", in->name);
            goto fail;
        }
        in->is_regular = S_ISREG(sb.st_mode) && !is_stdin;
        in->size = in->is_regular ? (uint64_t)sb.st_size : 0;
    }
    /* libpcap reads a record at a time through stdio: a large buffer saves
     * most of the read calls (measured: see docs/performance.md). */
    if (in->is_regular && (in->buffer = malloc(INPUT_BUFFER)))
        setvbuf(in->raw, in->buffer, _IOFBF, INPUT_BUFFER);
    /* A stream is read with read(2) from here on: no stdio buffer may hold
     * its bytes. Its head is what has arrived, enough to tell a format. */
    if (!in->is_regular)
        setvbuf(in->raw, NULL, _IONBF, 0);
    uint8_t head[HEAD_MAX];
    ssize_t head_read = read_arrived(in->raw, in->is_regular, head, sizeof(head), HEAD_MIN);
    size_t head_len = head_read > 0 ? (size_t)head_read : 0;
    if (head_read < 0 || (in->is_regular && fseeko(in->raw, 0, SEEK_SET) < 0)) {
        snprintf(err, KW_CAP_ERRBUF, "%s: cannot read capture: %s", in->name, strerror(errno));
        goto fail;
    }
    if (!head_len) {
        snprintf(err, KW_CAP_ERRBUF, "%s: empty%s (0 bytes), not a capture", in->name,
                 is_stdin ? "" : " file");
        goto fail;
    }
    const struct codec *codec = codec_of(kw_slice_make(head, head_len));
    if ((codec ? open_compressed(in, codec, in->is_regular, head, head_len, err)
               : open_plain(in, in->is_regular, head, head_len, err)) == 0)
        return 0;
fail:
    cap_input_close(in);
    return -1;
}

/* A new stream of the content at `offset`, and its state (NULL: the file
 * itself, with `buffer` of INPUT_BUFFER bytes as its stdio buffer if given). */
static FILE *open_at(const struct cap_input *in, uint64_t offset, struct cap_stream **stream,
                     char *buffer)
{
    *stream = NULL;
    if (!in->is_regular)
        return NULL;
    FILE *raw = fopen(in->path, "rb");
    if (!raw)
        return NULL;
    if (!in->decoder) {
        if (buffer)
            setvbuf(raw, buffer, _IOFBF, INPUT_BUFFER);
        if (fseeko(raw, (off_t)offset, SEEK_SET) < 0) {
            fclose(raw);
            return NULL;
        }
        return raw;
    }
    struct cap_stream *st = stream_new(raw, false, true, in->decoder);
    FILE *fp = NULL;
    if (!st || skip_to(st, offset) < 0 || !(fp = stream_file(st))) {
        stream_free(st);
        return NULL;
    }
    st->pos = st->under;
    *stream = st;
    return fp;
}

FILE *cap_input_again(const struct cap_input *in, uint64_t offset)
{
    struct cap_stream *st;
    return open_at(in, offset, &st, NULL);
}

FILE *cap_input_reopen(struct cap_input *in, uint64_t offset)
{
    struct cap_stream *st;
    if (!in->decoder && !in->buffer) /* the last one went with the handle that used it */
        in->buffer = malloc(INPUT_BUFFER);
    FILE *fp = open_at(in, offset, &st, in->decoder ? NULL : in->buffer);
    if (!fp)
        return NULL;
    in->stream = st;
    in->raw = st ? NULL : fp;
    return in->fp = fp;
}

bool cap_input_recent_section(const struct cap_input *in, uint64_t before, uint64_t *at)
{
    const struct cap_stream *st = in->stream;
    uint64_t from = before > SECTION_LOOK_BACK ? before - SECTION_LOOK_BACK : 0;
    if (!st || !st->recent)
        return false;
    for (uint64_t s = before; s-- > from;) {
        if (!is_kept(st, s, s + 12))
            return false;
        static const uint8_t shb[4] = { 0x0a, 0x0d, 0x0d, 0x0a };
        uint8_t bom[4];
        bool match = true;
        for (int i = 0; i < 4 && match; i++)
            match = recent_at(st, s + (uint64_t)i) == shb[i];
        for (int i = 0; i < 4; i++)
            bom[i] = recent_at(st, s + 8 + (uint64_t)i);
        if (match && (le32(bom) == 0x1a2b3c4d || le32(bom) == 0x4d3c2b1a)) {
            *at = s;
            return true;
        }
    }
    return false;
}

FILE *cap_input_take_over(struct cap_input *in, uint64_t at)
{
    struct cap_stream *old = in->stream, *st;
    if (!old || !old->recent || !is_kept(old, at, old->pos) || !(st = calloc(1, sizeof(*st))))
        return NULL;
    size_t n = (size_t)(old->pos - at);
    if (!(st->head = malloc(n ? n : 1)) || !(st->recent = malloc(RECENT_MAX))) {
        free(st->head);
        free(st);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        st->head[i] = recent_at(old, at + i);
    st->head_len = n, st->under = n;
    /* what reads the file goes to the new stream; the old one keeps nothing */
    st->raw = old->raw, st->raw_is_stdin = old->raw_is_stdin, st->codec = old->codec;
    st->state = old->state, st->in = old->in, st->in_off = old->in_off, st->in_len = old->in_len;
    st->raw_read = old->raw_read, st->at_boundary = old->at_boundary, st->ended = old->ended;
    memcpy(st->cut, old->cut, sizeof(st->cut));
    old->raw = NULL, old->state = NULL, old->in = NULL;
    FILE *fp = stream_file(st);
    if (!fp) { /* the old stream is left without its file: reading ends */
        stream_free(st);
        return NULL;
    }
    in->stream = st;
    return in->fp = fp;
}

void cap_input_suspend(struct cap_input *in)
{
    struct cap_stream *st = in->stream;
    if (st && st->codec && st->seekable && st->state) {
        st->codec->stop(st->state);
        st->state = NULL;
    }
}

uint64_t cap_input_position(const struct cap_input *in)
{
    if (in->stream)
        return in->stream->raw_read;
    off_t at = in->raw ? ftello(in->raw) : -1;
    return at < 0 ? 0 : (uint64_t)at;
}

const char *cap_input_cut(const struct cap_input *in)
{
    return in->stream ? in->stream->cut : "";
}

void cap_input_close(struct cap_input *in)
{
    if (in->fp)
        fclose(in->fp); /* our stream's close frees it and the file */
    else if (in->stream)
        stream_free(in->stream);
    else if (in->raw && in->raw != stdin)
        fclose(in->raw);
    free(in->buffer);
    in->fp = in->raw = NULL;
    in->stream = NULL;
    in->buffer = NULL;
}
