/* stats.h: run-wide counters. Each stage increments its own fields (the heading
 * above a group names the folder, a comment says where another one counts too);
 * main hands them to the output.
 * Every packet or stream keepwatch does not analyse is counted here, never dropped silently. */
#ifndef KW_STATS_H
#define KW_STATS_H

#include <stdbool.h>
#include <stdint.h>

/* The encapsulations capture/ walks through to the IP packet inside, with the
 * names the outputs give them. A frame whose header of one of them cannot be
 * right is counted in kw_stats.encap_invalid[] under its kind (and nowhere
 * else); one nesting more encapsulations than capture/ follows (16, as
 * Suricata's decoder.max-layers) under TOO_DEEP. A header the snaplen cut is
 * counted in skip_truncated, as every cut header is. */
#define KW_ENCAPS(X)                                                              \
    X(MPLS, "mpls")         /* a label stack without its bottom (RFC 3032) */    \
    X(PPPOE, "pppoe")       /* session header: version, type, code, length */     \
    X(GRE, "gre")           /* reserved bits or version (RFC 2784, 2890) */       \
    X(ERSPAN, "erspan")     /* ERSPAN II or III header version */                 \
    X(VXLAN, "vxlan")       /* UDP length, or the I flag clear (RFC 7348) */      \
    X(GENEVE, "geneve")     /* UDP length, version, options (RFC 8926) */         \
    X(NFLOG, "nflog")       /* NFLOG version or TLVs */                           \
    X(TOO_DEEP, "too_deep") /* more than 16 encapsulation headers */

enum kw_encap {
#define KW_ENCAP_ENUM(sym, name) KW_ENCAP_##sym,
    KW_ENCAPS(KW_ENCAP_ENUM)
#undef KW_ENCAP_ENUM
    KW_ENCAP_N,
    KW_ENCAP_NONE = KW_ENCAP_N /* no encapsulation at fault */
};

struct kw_stats {
    /* capture/ */
    uint64_t packets;          /* packets read from the input */
    uint64_t bytes;            /* their length on the wire */
    uint64_t files_truncated;  /* inputs that ended in the middle of a packet record */
    uint64_t skip_ipv6;        /* IPv6 packets that cannot be analysed: capture/ counts those
                                * whose header it cannot decode, reassembly/ TCP segments too
                                * long for an IPv4 packet (over 65,515 bytes: jumbograms) */
    uint64_t skip_reserved;    /* IPv4 packets from or to 240.0.0.0/4 (reserved; 255.255.255.255),
                                * where reassembly/ maps IPv6 connections for libnids */
    uint64_t skip_not_ip;      /* ARP, LLDP...: not IP at all */
    uint64_t skip_truncated;   /* cut short by the snaplen: data missing. capture/ counts those
                                * cut inside their IP header, reassembly/ the others */
    uint64_t skip_invalid;     /* malformed link or IP header, or a time out of range */
    uint64_t skip_not_tcp;     /* UDP, ICMP... (counted by reassembly/) */
    uint64_t skip_fragment;    /* IPv4 first fragments with fewer than 8 bytes of data: too
                                * short for the ports (RFC 1858 3.1's tiny fragment) */
    uint64_t encap_invalid[KW_ENCAP_N]; /* frames with a malformed encapsulation header, by
                                * kind (KW_ENCAPS above); not counted in skip_invalid */
    uint64_t packets_unreadable; /* pcapng packets libpcap refused: their interface has
                                * another link type or snapshot length than the first of
                                * its section */
    uint64_t sections_skipped; /* pcapng sections (or the rest of one) that could not be
                                * read at all: standard input cannot be read again from a
                                * new section, or libpcap would number its interfaces wrong */
    /* reassembly/ */
    uint64_t skip_mid_stream;  /* data, FIN or RST segments of connections whose handshake
                                * was not captured (bare ACKs are not looked up) */
    uint64_t streams_evicted;  /* connections dropped because the stream table was full */
    uint64_t queue_dropped;    /* out-of-order queues dropped by the reassembler (too much data) */
    uint64_t tcp_invalid;      /* TCP headers the reassembler rejected */
    uint64_t connections_gap;  /* connections where a missing segment stopped reassembly */
    uint64_t connections;      /* TCP connections followed, with those picked up */
    uint64_t connections_midstream; /* of those, connections picked up on data, their
                                * handshake not captured (kw_reasm_config.midstream) */
    uint64_t idle_timeouts;    /* connections ended by the idle limit (--flow-timeout-idle):
                                * no data, FIN or RST for longer */
    uint64_t frag_datagrams;   /* IP datagrams put together from fragments (IPv4 and IPv6) */
    uint64_t frag_invalid;     /* datagrams dropped: fragments that overlap with other bytes,
                                * disagree on the length, or pass 64 KiB */
    uint64_t frag_expired;     /* datagrams whose fragments did not all come in time (30 s
                                * IPv4, 60 s IPv6, capture time) or before the end */
    uint64_t frag_evicted;     /* datagrams dropped for room: more in progress than the bound */
    uint64_t rst_held;         /* RSTs in the receiver's window but not at the sequence number
                                * it expects: held back, an end only if nothing followed */
    uint64_t rst_ignored;      /* of those, RSTs the connection went on past (data or a FIN
                                * within 1 s): not an end */
    uint64_t rst_out_of_window;/* RSTs outside the receiver's window: ignored, as it does */
    uint64_t ack_unseen;       /* segments libnids dropped after an ACK for data never seen
                                * sent (it moved its window): fed again */
    uint64_t capture_holes;    /* holes in a direction that the other side's ACKs prove were
                                * delivered: bytes the capture missed, stepped over */
    uint64_t capture_missed_bytes; /* their bytes (each connection's are in its end) */
    uint64_t capture_holes_too_large; /* such holes over 256 KiB: left as gaps */
    uint64_t syn_data;         /* SYNs that carried data (TCP Fast Open): it reaches the stream
                                * once the server acknowledged it */
    uint64_t syn_data_unkept;  /* of those, SYNs with more data than kept (4 KiB): the
                                * connection starts with a gap */
    uint64_t ip_source_routed; /* IPv4 packets with a source route: dropped, as hosts do */
    uint64_t ip_bad_options;   /* IPv4 packets with malformed options: dropped, as hosts do */
    uint64_t ip_rejected;      /* IPv4 headers the reassembler refused otherwise */
    uint64_t urgent_bytes;     /* bytes at TCP urgent pointers, taken out of the stream as a
                                * receiver without SO_OOBINLINE does (not a drop) */
    uint64_t streams_refused;  /* connections not followed: their flow table slot would have
                                * been past the probe bound (someone chose colliding ports) */
    /* http/ */
    uint64_t http_connections; /* connections with at least one HTTP message */
    uint64_t requests;
    uint64_t responses;
    uint64_t not_http;         /* connections whose bytes stopped being HTTP */
    uint64_t lost_requests;    /* requests that got no response because the server closed */
    /* rules/ */
    uint64_t servers_untracked;/* servers seen while the policy table was full of servers
                                * with connections open: not described */
    uint64_t servers_evicted;  /* idle servers reported and dropped to make room */
    /* main, from a live capture's kernel (pcap_stats) */
    bool kernel_counted;       /* a live capture: the three below are set */
    uint64_t kernel_received;  /* packets that passed the kernel's filter (on lo, each
                                * packet twice: once going out, once coming in) */
    uint64_t kernel_dropped;   /* packets the kernel dropped for lack of buffer space */
    uint64_t interface_dropped;/* packets the interface dropped (promiscuous mode only) */
};

#endif
