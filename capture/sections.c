/* sections.c: pcapng files that one libpcap handle reads only in part.
 *
 * libpcap 1.10 reads a pcapng file with the link type, snapshot length and
 * byte order of its first section's first interface: an interface described
 * with another link type or snapshot length makes pcap_next_ex() fail ("an
 * interface has a type 101 different from the type of the first interface"),
 * and so does a section in the other byte order. The pcapng format allows
 * both (draft-ietf-opsawg-pcapng 4.1, 4.2), and merged captures have them.
 *
 * keepwatch keeps libpcap the one reader of packets. When a new section is
 * what libpcap refused, the file is opened again at that section's header,
 * and a new handle reads it with its own link type and byte order: regular
 * files only, compressed or not (a pipe cannot be read again). When an
 * interface inside a section is refused, the handle reads on: libpcap refuses
 * each packet of that interface ("a packet arrived on interface 1, but there's
 * no Interface Description Block"), and those are counted as unreadable. One
 * thing would make that wrong: an interface libpcap accepts after one it
 * refused would be numbered one less than the file numbers it, so the rest of
 * such a section is skipped, said and counted. Finding the section headers
 * and interfaces takes reading the blocks' framing (type, length, and the
 * link type and snapshot length of interface blocks), never their packets. */
#include <stdlib.h>
#include <string.h>

#include "capture/cap-impl.h"
#include "common/cursor.h"

#define BLOCK_SHB 0x0a0d0d0au /* the same in either byte order */
#define BLOCK_IDB 1u
#define BLOCK_PB 2u           /* obsolete packet block */
#define BLOCK_SPB 3u
#define BLOCK_EPB 6u
#define BYTE_ORDER_MAGIC 0x1a2b3c4du
#define BLOCK_MIN 12u         /* type, length, trailing length */
#define SNAPLEN_MAX 262144    /* libpcap's for the link types keepwatch reads */

/* One block's framing, read where a walk is. */
struct block {
    uint64_t at;
    uint32_t type, len;
    uint16_t linktype; /* of an interface block */
    uint32_t snaplen;
};

struct walk {
    FILE *fp;
    uint64_t at; /* the next block */
    bool big;    /* the section is big-endian (its byte-order magic says) */
};

static bool read32(struct kw_cur *c, bool big, uint32_t *v)
{
    return big ? kw_cur_be32(c, v) : kw_cur_le32(c, v);
}

/* The next block; false at the end of the file or where the framing cannot
 * be right. A section header sets the byte order of what follows: its magic
 * 0x1a2b3c4d as written. */
static bool next_block(struct walk *w, struct block *b)
{
    uint8_t h[16];
    if (fseeko(w->fp, (off_t)w->at, SEEK_SET) < 0)
        return false;
    struct kw_cur c = kw_cur_make(kw_slice_make(h, fread(h, 1, sizeof(h), w->fp)));
    uint32_t bom;
    b->at = w->at;
    b->linktype = 0, b->snaplen = 0;
    if (kw_cur_left(&c) < BLOCK_MIN || !read32(&c, w->big, &b->type))
        return false;
    if (b->type == BLOCK_SHB) { /* type(4) length(4) byte-order magic(4) */
        struct kw_cur m = c;
        if (!kw_cur_skip(&m, 4) || !kw_cur_be32(&m, &bom))
            return false;
        if (bom != BYTE_ORDER_MAGIC && bom != __builtin_bswap32(BYTE_ORDER_MAGIC))
            return false;
        w->big = bom == BYTE_ORDER_MAGIC;
    }
    if (!read32(&c, w->big, &b->len) || b->len < BLOCK_MIN || b->len % 4)
        return false;
    uint16_t lt;
    struct kw_cur idb = c; /* link type(16) reserved(16) snapshot length(32) */
    if (b->type == BLOCK_IDB && (w->big ? kw_cur_be16(&idb, &lt) : kw_cur_le16(&idb, &lt)) &&
        kw_cur_skip(&idb, 2) && read32(&idb, w->big, &b->snaplen))
        b->linktype = lt;
    w->at += b->len;
    return true;
}

/* What the blocks from the section header at `from` up to offset `to` say. */
struct facts {
    uint64_t shb_at;     /* the last section header before `to` */
    unsigned n_sections; /* section headers after `from`, up to it */
    unsigned n_idbs;     /* interfaces of that section before `to` */
    struct block idb;    /* the last of them */
    bool big;            /* that section is big-endian */
};

static bool walk_to(FILE *fp, uint64_t from, uint64_t to, struct facts *s)
{
    struct walk w = { fp, from, false };
    struct block b;
    memset(s, 0, sizeof(*s));
    s->shb_at = from;
    while (w.at < to && next_block(&w, &b)) {
        if (b.type == BLOCK_SHB && b.at != from)
            s->shb_at = b.at, s->n_sections++, s->n_idbs = 0;
        else if (b.type == BLOCK_IDB)
            s->n_idbs++, s->idb = b;
    }
    s->big = w.big;
    return w.at >= to;
}

/* From the block at `at` of a section, big-endian or not: whether an
 * interface the handle would accept comes before the first packet, and where
 * the next section starts (0: none). */
static void look_ahead(FILE *fp, uint64_t at, bool big, const struct cap_file *f,
                       bool *misnumbered, uint64_t *next_shb)
{
    struct walk w = { fp, at, big };
    struct block b;
    bool packets = false;
    *misnumbered = false;
    *next_shb = 0;
    while (next_block(&w, &b)) {
        if (b.type == BLOCK_SHB && b.at != at) {
            *next_shb = b.at;
            return;
        }
        if (b.type == BLOCK_EPB || b.type == BLOCK_SPB || b.type == BLOCK_PB)
            packets = true;
        uint32_t snaplen = !b.snaplen || b.snaplen > SNAPLEN_MAX ? SNAPLEN_MAX : b.snaplen;
        if (b.type == BLOCK_IDB && !packets && b.linktype == f->linktype &&
            (int)snaplen == f->snaplen)
            *misnumbered = true;
    }
}

/* A pcapng link type's name. The file holds LINKTYPE_ values, which libpcap
 * names as DLT_ values: they differ for raw IP (101, DLT_RAW). */
static const char *linktype_name(int linktype)
{
    const char *name = pcap_datalink_val_to_name(linktype == 101 ? DLT_RAW : linktype);
    return name ? name : "unknown";
}

/* cap_open_handle()'s sentence without the file's name it starts with. */
static const char *after_name(const struct cap_file *f, const char *err)
{
    size_t n = strlen(f->in.name);
    return !strncmp(err, f->in.name, n) && !strncmp(err + n, ": ", 2) ? err + n + 2 : err;
}

/* A new handle on the section whose header is at `offset`; sections that
 * cannot be read are said and passed over, up to the end of the file. */
static enum section_res reopen_at(struct kw_cap *cap, struct cap_file *f, uint64_t offset,
                                  unsigned section)
{
    pcap_t *old = f->pcap; /* it keeps its stream until closed below */
    char *old_buffer = f->in.buffer;
    f->pcap = NULL;
    f->in.buffer = NULL;
    f->in.fp = f->in.raw = NULL;
    f->in.stream = NULL;
    for (;;) {
        char err[KW_CAP_ERRBUF] = "the file cannot be opened again";
        f->section_start = offset, f->section = section;
        if (cap_input_reopen(&f->in, offset) && cap_open_handle(cap, f, err) == 0)
            break;
        cap->stats->sections_skipped++;
        if (cap->warn)
            fprintf(cap->warn, "keepwatch: %s: pcapng section %u not read: %s\n", f->in.name,
                    section, after_name(f, err));
        uint64_t next = 0;
        bool misnumbered;
        FILE *fp = cap_input_again(&f->in, offset);
        if (fp) {
            look_ahead(fp, offset, false, f, &misnumbered, &next);
            fclose(fp);
        }
        if (!next)
            break;
        offset = next, section++;
    }
    if (old)
        pcap_close(old); /* and the stream it read */
    free(old_buffer);
    return f->pcap ? SECTION_REOPENED : SECTION_END_FILE;
}

/* Standard input or a pipe: nothing can be read again, but what was read
 * last is kept. A new section in the other byte order is read by a new
 * handle on a stream that starts with its header, taken from those bytes. */
static enum section_res unseekable(struct kw_cap *cap, struct cap_file *f, const char *msg,
                                   bool refused_idb)
{
    uint64_t shb;
    off_t at = ftello(f->in.fp); /* after what libpcap failed on */
    if (refused_idb) { /* read on; its packets will be refused one by one */
        if (cap->warn)
            fprintf(cap->warn, "keepwatch: %s: pcapng interface not read: %s (libpcap reads "
                    "one link type and snapshot length per section, %s and %d here); its "
                    "packets are skipped and counted\n", f->in.name, msg,
                    linktype_name(f->linktype), f->snaplen);
        return SECTION_GO_ON;
    }
    /* a header after the one this handle started at: every turn goes forward */
    if (at <= 0 || !cap_input_recent_section(&f->in, (uint64_t)at, &shb) ||
        shb <= f->section_start)
        return SECTION_NOT_MINE;
    pcap_t *old = f->pcap;
    char err[KW_CAP_ERRBUF] = "";
    f->pcap = NULL;
    if (cap_input_take_over(&f->in, shb)) {
        f->section++, f->section_start = 0;
        if (cap_open_handle(cap, f, err) == 0) {
            pcap_close(old);
            return SECTION_REOPENED;
        }
    }
    pcap_close(old);
    f->in.fp = f->in.raw = NULL;
    f->in.stream = NULL;
    cap->stats->sections_skipped++;
    if (cap->warn)
        fprintf(cap->warn, "keepwatch: %s: the rest not read after %llu packets: pcapng section "
                "%u cannot be read%s%s\n", f->in.name, (unsigned long long)f->frame,
                f->section, err[0] ? ": " : "", after_name(f, err));
    return SECTION_END_FILE;
}

/* An interface refused inside the section the handle reads (s->idb). */
static enum section_res refused_inside(struct kw_cap *cap, struct cap_file *f,
                                       const struct facts *s, uint64_t at)
{
    bool misnumbered = false;
    uint64_t next = 0;
    FILE *fp = cap_input_again(&f->in, at);
    if (fp) {
        look_ahead(fp, at, s->big, f, &misnumbered, &next);
        fclose(fp);
    }
    if (cap->warn)
        fprintf(cap->warn, "keepwatch: %s: pcapng section %u, interface %u (link type %s, "
                "snapshot length %u) not read: libpcap reads one link type and snapshot length "
                "per section, those of its interface 0 (%s, %d); its packets are skipped and "
                "counted\n", f->in.name, f->section, s->n_idbs - 1,
                linktype_name(s->idb.linktype), s->idb.snaplen, linktype_name(f->linktype),
                f->snaplen);
    if (!misnumbered)
        return SECTION_GO_ON;
    cap->stats->sections_skipped++;
    if (cap->warn)
        fprintf(cap->warn, "keepwatch: %s: the rest of pcapng section %u not read after %llu "
                "packets: libpcap would number its later interfaces wrong\n", f->in.name,
                f->section, (unsigned long long)f->frame);
    if (!next) {
        pcap_close(f->pcap);
        f->pcap = NULL;
        f->in.fp = f->in.raw = NULL;
        f->in.stream = NULL;
        return SECTION_END_FILE;
    }
    return reopen_at(cap, f, next, f->section + 1);
}

enum section_res cap_section_error(struct kw_cap *cap, struct cap_file *f)
{
    const char *msg = pcap_geterr(f->pcap);
    if (!strncmp(msg, "a packet arrived on interface ", 30)) {
        f->unreadable++;
        cap->stats->packets_unreadable++;
        return SECTION_GO_ON;
    }
    if (!strncmp(msg, "truncated pcapng dump file", 26))
        return SECTION_NOT_MINE; /* a file cut short, not a section matter */
    bool refused_idb = !strncmp(msg, "an interface has a ", 19);
    if (!f->in.is_regular)
        return unseekable(cap, f, msg, refused_idb);
    off_t at = ftello(f->in.fp); /* after the block libpcap failed on */
    struct facts s;
    FILE *fp = at > 0 ? cap_input_again(&f->in, f->section_start) : NULL;
    bool walked = fp && walk_to(fp, f->section_start, (uint64_t)at, &s);
    if (fp)
        fclose(fp);
    if (!walked)
        return SECTION_NOT_MINE;
    if (s.shb_at > f->section_start)
        return reopen_at(cap, f, s.shb_at, f->section + s.n_sections);
    if (refused_idb && s.n_idbs)
        return refused_inside(cap, f, &s, (uint64_t)at);
    return SECTION_NOT_MINE;
}
