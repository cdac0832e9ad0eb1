/* Shared by the workload programs: a xorshift generator and a size
 * distribution with many small blocks and a tail of large ones. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline uint64_t next_rand(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* 16 to 128 bytes half the time, up to 1 KiB most of the rest, and one in
 * 64 up to 64 KiB. */
static inline size_t mixed_size(uint64_t *s) {
    uint64_t r = next_rand(s);
    switch (r % 64) {
    case 0:
        return 1024 + (r >> 8) % 65536;
    default:
        if ((r >> 6) & 1) return 16 + (r >> 8) % 113;
        return 16 + (r >> 8) % 1009;
    }
}

/* Writes the first and last byte of a block, as programs do. */
static inline void touch(char *p, size_t n) {
    p[0] = (char)n;
    p[n - 1] = (char)n;
}

static inline void check(char *p, size_t n) {
    if (p[0] != (char)n || p[n - 1] != (char)n) {
        fprintf(stderr, "block %p of %zu bytes was overwritten\n", (void *)p, n);
        abort();
    }
}
