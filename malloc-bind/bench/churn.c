/* Thread-local churn: each of 2 threads keeps 50,000 live blocks of mixed
 * sizes and replaces a random one 5 million times. No block crosses
 * threads. */
#include <pthread.h>
#include "common.h"

#define LIVE 50000
#define STEPS 5000000

static void *worker(void *arg) {
    uint64_t rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)arg;
    char **blocks = calloc(LIVE, sizeof *blocks);
    size_t *sizes = calloc(LIVE, sizeof *sizes);
    for (int i = 0; i < LIVE; i++) {
        sizes[i] = mixed_size(&rng);
        blocks[i] = malloc(sizes[i]);
        touch(blocks[i], sizes[i]);
    }
    for (long s = 0; s < STEPS; s++) {
        size_t i = next_rand(&rng) % LIVE;
        check(blocks[i], sizes[i]);
        free(blocks[i]);
        sizes[i] = mixed_size(&rng);
        blocks[i] = malloc(sizes[i]);
        touch(blocks[i], sizes[i]);
    }
    for (int i = 0; i < LIVE; i++) free(blocks[i]);
    free(blocks);
    free(sizes);
    return NULL;
}

int main(void) {
    pthread_t t[2];
    for (intptr_t i = 0; i < 2; i++) pthread_create(&t[i], NULL, worker, (void *)(i + 1));
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    return 0;
}
