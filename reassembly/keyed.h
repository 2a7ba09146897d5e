/* keyed.h: the hash of reassembly/'s tables (connections, the IPv6 map),
 * SipHash-1-3 under a key drawn at random for each run. Packet senders choose
 * addresses and ports: with a hash they could compute, chosen ports pile up
 * on one slot and every lookup walks the pile (hash flooding). Internal to
 * reassembly/. */
#ifndef KW_REASM_KEYED_H
#define KW_REASM_KEYED_H

#include <stddef.h>
#include <stdint.h>

struct reasm_key {
    uint64_t k0, k1;
};

/* A fresh key from the kernel's random source (getrandom); if that fails,
 * from the clock and addresses, which still differ from run to run. */
void reasm_key_init(struct reasm_key *k);

/* SipHash-1-3 (Aumasson and Bernstein; the variant Rust's HashMap and Python
 * 3.11 use for the same job) of `n` 64-bit words. */
uint64_t reasm_hash_words(const struct reasm_key *k, const uint64_t *w, size_t n);

#endif
