/* Eight threads churn blocks of mixed sizes; half of each thread's blocks
 * go to the next thread, which checks their pattern and frees them. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include "check.h"

#define THREADS 8
#define ROUNDS 200
#define BATCH 256

struct mailbox {
    pthread_mutex_t lock;
    pthread_cond_t ready;
    void *items[BATCH];
    size_t sizes[BATCH];
    int full;
};

static struct mailbox boxes[THREADS];

static void check_pattern(unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i += 61) CHECK(p[i] == (unsigned char)(n + i));
}

static void *worker(void *arg) {
    int t = (int)(intptr_t)arg;
    struct mailbox *out = &boxes[(t + 1) % THREADS], *in = &boxes[t];
    uint64_t rng = 0x9e3779b97f4a7c15ull * (uint64_t)(t + 1);
    for (int round = 0; round < ROUNDS; round++) {
        void *mine[BATCH];
        size_t my_sizes[BATCH];
        void *send[BATCH];
        size_t send_sizes[BATCH];
        for (int i = 0; i < BATCH; i++) {
            rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
            size_t n = (rng % 16 == 0) ? 4096 + rng % 100000 : 1 + rng % 600;
            unsigned char *p = malloc(n);
            CHECK(p);
            for (size_t j = 0; j < n; j += 61) p[j] = (unsigned char)(n + j);
            if (i % 2) { send[i] = p; send_sizes[i] = n; mine[i] = NULL; }
            else { mine[i] = p; my_sizes[i] = n; send[i] = NULL; }
        }
        pthread_mutex_lock(&out->lock);
        while (out->full) pthread_cond_wait(&out->ready, &out->lock);
        memcpy(out->items, send, sizeof send);
        memcpy(out->sizes, send_sizes, sizeof send_sizes);
        out->full = 1;
        pthread_cond_broadcast(&out->ready);
        pthread_mutex_unlock(&out->lock);
        for (int i = 0; i < BATCH; i++) if (mine[i]) { check_pattern(mine[i], my_sizes[i]); free(mine[i]); }
        pthread_mutex_lock(&in->lock);
        while (!in->full) pthread_cond_wait(&in->ready, &in->lock);
        for (int i = 0; i < BATCH; i++) if (in->items[i]) { check_pattern(in->items[i], in->sizes[i]); free(in->items[i]); }
        in->full = 0;
        pthread_cond_broadcast(&in->ready);
        pthread_mutex_unlock(&in->lock);
    }
    return NULL;
}

int main(void) {
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++) {
        pthread_mutex_init(&boxes[t].lock, NULL);
        pthread_cond_init(&boxes[t].ready, NULL);
    }
    for (int t = 0; t < THREADS; t++) CHECK(pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t) == 0);
    for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
    puts("threads: ok");
    return 0;
}
