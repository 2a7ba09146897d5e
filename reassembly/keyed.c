/* keyed.c: SipHash-1-3 and its per-run key. */
#include "reassembly/keyed.h"

#include <sys/random.h>
#include <time.h>
#include <unistd.h>

void reasm_key_init(struct reasm_key *k)
{
    uint64_t words[2];
    if (getrandom(words, sizeof(words), 0) == (ssize_t)sizeof(words)) {
        k->k0 = words[0];
        k->k1 = words[1];
        return;
    }
    /* no random source (an old kernel, a seccomp filter): weaker, still per run */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    k->k0 = (uint64_t)now.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)now.tv_sec;
    k->k1 = (uint64_t)(uintptr_t)k * 0xbf58476d1ce4e5b9ull ^ (uint64_t)getpid();
}

static inline uint64_t rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = rotl(v1, 13);                                                                         \
        v1 ^= v0;                                                                                  \
        v0 = rotl(v0, 32);                                                                         \
        v2 += v3;                                                                                  \
        v3 = rotl(v3, 16);                                                                         \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = rotl(v3, 21);                                                                         \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = rotl(v1, 17);                                                                         \
        v1 ^= v2;                                                                                  \
        v2 = rotl(v2, 32);                                                                         \
    } while (0)

uint64_t reasm_hash_words(const struct reasm_key *k, const uint64_t *w, size_t n)
{
    uint64_t v0 = k->k0 ^ 0x736f6d6570736575ull, v1 = k->k1 ^ 0x646f72616e646f6dull;
    uint64_t v2 = k->k0 ^ 0x6c7967656e657261ull, v3 = k->k1 ^ 0x7465646279746573ull;
    for (size_t i = 0; i < n; i++) { /* one compression round per word */
        v3 ^= w[i];
        SIPROUND;
        v0 ^= w[i];
    }
    uint64_t last = (uint64_t)(n * 8 & 0xff) << 56; /* the length; no bytes left over */
    v3 ^= last;
    SIPROUND;
    v0 ^= last;
    v2 ^= 0xff; /* three finalisation rounds */
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}
