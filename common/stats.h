/* stats.h: run-wide counters. Each stage increments its own fields (the heading
 * above a group names the folder, a comment says where another one counts too);
 * main hands them to the output.
 * Every packet or stream keepwatch does not analyse is counted here, never dropped silently. */
#ifndef KW_STATS_H
#define KW_STATS_H

#include <stdint.h>

struct kw_stats {
    /* capture/ */
    uint64_t packets;          /* packets read from the input */
    uint64_t bytes;            /* their length on the wire */
    uint64_t files_truncated;  /* inputs that ended in the middle of a packet record */
    uint64_t skip_ipv6;        /* IPv6 packets (not analysed yet): capture/ counts those whose
                                * header it cannot decode, reassembly/ the others */
    uint64_t skip_not_ip;      /* ARP, LLDP...: not IP at all */
    uint64_t skip_truncated;   /* cut short by the snaplen: data missing. capture/ counts those
                                * cut inside their IP header, reassembly/ the others */
    uint64_t skip_invalid;     /* malformed link or IP header, or a time out of range */
    uint64_t skip_not_tcp;     /* UDP, ICMP... (counted by reassembly/) */
    uint64_t skip_fragment;    /* IPv4 fragments too short to reassemble safely */
    /* reassembly/ */
    uint64_t skip_mid_stream;  /* data, FIN or RST segments of connections whose handshake
                                * was not captured (bare ACKs are not looked up) */
    uint64_t streams_evicted;  /* connections dropped because the stream table was full */
    uint64_t queue_dropped;    /* out-of-order queues dropped by the reassembler (too much data) */
    uint64_t tcp_invalid;      /* TCP headers the reassembler rejected */
    uint64_t connections_gap;  /* connections where a missing segment stopped reassembly */
    uint64_t connections;      /* TCP connections seen from their handshake */
    uint64_t idle_timeouts;    /* connections ended by the idle limit (--flow-timeout-idle):
                                * no data, FIN or RST for longer */
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
};

#endif
