/* Alignments from 8 bytes to 64 KiB through every aligned entry point. */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <string.h>
#include "check.h"

int main(void) {
    size_t sizes[] = {1, 8, 100, 4096, 5000, 70000};
    for (size_t align = 8; align <= 65536; align *= 2) {
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
            size_t n = sizes[s];
            void *p = NULL;
            CHECK(posix_memalign(&p, align, n) == 0);
            void *q = aligned_alloc(align, n);
            void *r = memalign(align, n);
            void *blocks[] = {p, q, r};
            for (int b = 0; b < 3; b++) {
                CHECK(blocks[b] && (uintptr_t)blocks[b] % align == 0);
                CHECK(malloc_usable_size(blocks[b]) >= n);
                memset(blocks[b], 0x5a, n);
            }
            for (int b = 0; b < 3; b++) free(blocks[b]);
        }
    }
    puts("align: ok");
    return 0;
}
