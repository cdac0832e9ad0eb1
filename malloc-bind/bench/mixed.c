/* Mixed sizes and lifetimes on one thread: a pool of 200,000 slots where
 * each step frees a random slot and refills it with a block of mixed size,
 * one step in 16 grows a random block with realloc (as a string builder
 * does), and one in 4096 frees half of the pool at once (a phase change). */
#include "common.h"

#define SLOTS 200000
#define STEPS 6000000

int main(void) {
    uint64_t rng = 42;
    char **blocks = calloc(SLOTS, sizeof *blocks);
    size_t *sizes = calloc(SLOTS, sizeof *sizes);
    for (long s = 0; s < STEPS; s++) {
        size_t i = next_rand(&rng) % SLOTS;
        if (s % 16 == 0 && blocks[i] && sizes[i] < 100000) {
            size_t n = sizes[i] + sizes[i] / 2 + 8;
            check(blocks[i], sizes[i]);
            blocks[i] = realloc(blocks[i], n);
            sizes[i] = n;
            touch(blocks[i], n);
            continue;
        }
        if (blocks[i]) {
            check(blocks[i], sizes[i]);
            free(blocks[i]);
        }
        sizes[i] = mixed_size(&rng);
        blocks[i] = malloc(sizes[i]);
        touch(blocks[i], sizes[i]);
        if (s % 4096 == 4095) {
            for (size_t j = next_rand(&rng) % 2; j < SLOTS; j += 2) {
                free(blocks[j]);
                blocks[j] = NULL;
            }
        }
    }
    for (int i = 0; i < SLOTS; i++) free(blocks[i]);
    free(blocks);
    free(sizes);
    return 0;
}
