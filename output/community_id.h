/* community_id.h: the Community ID flow hash, version 1 (the spec at
 * github.com/corelight/community-id-spec), as Zeek, Suricata, Arkime and
 * Wireshark print it, so that keepwatch's events join theirs. */
#ifndef KW_COMMUNITY_ID_H
#define KW_COMMUNITY_ID_H

#include <stddef.h>
#include <stdint.h>

#include "common/flow.h"

/* "1:" + base64 of a SHA-1 digest (28 characters) + NUL */
#define KW_COMMUNITY_ID_LEN 31

/* The Community ID of a TCP connection, with `seed` (0 by default). Writes
 * the NUL-terminated string to `out` and returns its length. */
size_t kw_community_id(const struct kw_conn_key *key, uint16_t seed,
                       char out[KW_COMMUNITY_ID_LEN]);

#endif
