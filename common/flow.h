/* flow.h: direction and endpoints, the value types every stage shares. */
#ifndef KW_FLOW_H
#define KW_FLOW_H

#include <stdint.h>

/* Direction of bytes on a connection. The client is the side that sent the SYN. */
enum kw_dir {
    KW_TO_SERVER = 0, /* bytes the client sent: requests */
    KW_TO_CLIENT = 1, /* bytes the server sent: responses */
};

/* Which side did something (closed first, sent a RST). */
enum kw_side {
    KW_SIDE_NONE = 0,
    KW_SIDE_CLIENT,
    KW_SIDE_SERVER,
};

static inline enum kw_side kw_side_of_sender(enum kw_dir d)
{
    return d == KW_TO_SERVER ? KW_SIDE_CLIENT : KW_SIDE_SERVER;
}

/* An IP endpoint. Addresses are kept in network byte order; family is 4 or 6. */
struct kw_endpoint {
    uint8_t family;
    uint8_t addr[16];
    uint16_t port;
};

struct kw_conn_key {
    struct kw_endpoint client, server;
};

#endif
