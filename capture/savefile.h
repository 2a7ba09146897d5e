/* savefile.h: classic pcap files read in place, without libpcap's per-record
 * fread() copies. Internal to capture/: cap.c picks this reader for the files
 * it can take, libpcap reads every other input (pcapng, pipes, old formats). */
#ifndef KW_SAVEFILE_H
#define KW_SAVEFILE_H

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct savefile {
    int fd;                  /* libpcap's file: read with pread(), its offset untouched */
    bool is_nanosecond;      /* the file's times have nanoseconds: scaled down to us */
    bool at_eof;
    bool read_error;         /* errbuf holds a read error, not a file cut short */
    uint32_t snapshot;       /* the file's snapshot length, as libpcap adjusted it */
    uint64_t offset;         /* file offset of buffer[end] */
    uint8_t *buffer;         /* 1 MiB from the first read on; records are handed out in place */
    size_t start, end;       /* the bytes read and not yet used: buffer[start, end) */
    struct pcap_pkthdr hdr;  /* the record handed out last */
    char errbuf[PCAP_ERRBUF_SIZE];
};

/* Takes over reading from `opened`, which libpcap opened and checked, when it
 * is a regular file in classic pcap format, version 2.4, in this host's byte
 * order (what tcpdump and libpcap write): then returns true. Otherwise returns
 * false and libpcap goes on reading it. Allocates nothing yet. */
bool savefile_open(struct savefile *s, pcap_t *opened);

/* The next record: 1 (*hdr and *data valid until the next call), 0 at the end
 * of the file, -1 on error with a sentence in s->errbuf (s->read_error for a
 * read error or no memory for the buffer, else a record cut short or impossible). Checks, results and
 * messages are those of libpcap 1.10's sf-pcap.c pcap_next_packet(). */
int savefile_next(struct savefile *s, const struct pcap_pkthdr **hdr, const uint8_t **data);

void savefile_close(struct savefile *s);

#endif
