/* 3,000 short-lived threads, each allocating and freeing; the resident
 * set after them must be about what it was after the first 300 (each
 * thread's caches go back when it exits). Prints both. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include "check.h"

static void *brief(void *arg) {
    void *p[100];
    for (int i = 0; i < 100; i++) {
        p[i] = malloc(16 + (size_t)((intptr_t)arg + i) * 7 % 2000);
        CHECK(p[i]);
        memset(p[i], 1, 16);
    }
    for (int i = 0; i < 100; i++) free(p[i]);
    return NULL;
}

static long rss_pages(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, rss = 0;
    CHECK(f && fscanf(f, "%ld %ld", &size, &rss) == 2);
    fclose(f);
    return rss;
}

int main(void) {
    long after_300 = 0;
    for (int i = 0; i < 3000; i++) {
        pthread_t t;
        CHECK(pthread_create(&t, NULL, brief, (void *)(intptr_t)i) == 0);
        CHECK(pthread_join(t, NULL) == 0);
        if (i == 299) after_300 = rss_pages();
    }
    long after_3000 = rss_pages();
    printf("short_threads: rss pages after 300 %ld after 3000 %ld\n", after_300, after_3000);
    CHECK(after_3000 < after_300 + 256);
    return 0;
}
