/* Server-like: 2 threads receive requests and 2 threads handle them. A
 * receiver allocates a request (a header and a body of mixed size) and
 * queues it; a handler takes it, keeps it alive for a random number of
 * further requests (a random lifetime), and frees it: most frees are
 * cross-thread, and lifetimes overlap. */
#include <pthread.h>
#include "common.h"

#define REQUESTS 1500000
#define QUEUE 4096
#define KEEP 2048

struct request {
    size_t size;
    char *body;
};

static struct request *queue[QUEUE];
static size_t head, tail;
static int producers_left = 2;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER, not_full = PTHREAD_COND_INITIALIZER;

static void *receiver(void *arg) {
    uint64_t rng = 0x1234567ull ^ (uint64_t)(uintptr_t)arg;
    for (long i = 0; i < REQUESTS / 2; i++) {
        struct request *r = malloc(sizeof *r);
        r->size = mixed_size(&rng);
        r->body = malloc(r->size);
        touch(r->body, r->size);
        pthread_mutex_lock(&lock);
        while (tail - head == QUEUE) pthread_cond_wait(&not_full, &lock);
        queue[tail++ % QUEUE] = r;
        pthread_cond_signal(&not_empty);
        pthread_mutex_unlock(&lock);
    }
    pthread_mutex_lock(&lock);
    producers_left--;
    pthread_cond_broadcast(&not_empty);
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void *handler(void *arg) {
    uint64_t rng = 0x7654321ull ^ (uint64_t)(uintptr_t)arg;
    struct request **kept = calloc(KEEP, sizeof *kept);
    for (;;) {
        pthread_mutex_lock(&lock);
        while (tail == head && producers_left > 0) pthread_cond_wait(&not_empty, &lock);
        if (tail == head) {
            pthread_mutex_unlock(&lock);
            break;
        }
        struct request *r = queue[head++ % QUEUE];
        pthread_cond_signal(&not_full);
        pthread_mutex_unlock(&lock);
        /* Keep it in a random slot; whatever was there is done now. */
        size_t slot = next_rand(&rng) % KEEP;
        struct request *done = kept[slot];
        kept[slot] = r;
        if (done) {
            check(done->body, done->size);
            free(done->body);
            free(done);
        }
    }
    for (int i = 0; i < KEEP; i++)
        if (kept[i]) {
            free(kept[i]->body);
            free(kept[i]);
        }
    free(kept);
    return NULL;
}

int main(void) {
    pthread_t t[4];
    for (intptr_t i = 0; i < 2; i++) pthread_create(&t[i], NULL, receiver, (void *)(i + 1));
    for (intptr_t i = 0; i < 2; i++) pthread_create(&t[2 + i], NULL, handler, (void *)(i + 1));
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    return 0;
}
