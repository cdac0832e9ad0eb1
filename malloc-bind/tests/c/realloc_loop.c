/* 300,000 reallocs, each growing the buffer by 8 bytes, checking the
 * bytes written so far survive; prints how many times the buffer moved
 * and how long it took. */
#include <stdint.h>
#include <time.h>
#include "check.h"

int main(void) {
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned char *buf = NULL;
    size_t moves = 0;
    for (size_t step = 1; step <= 300000; step++) {
        unsigned char *next = realloc(buf, step * 8);
        CHECK(next);
        if (next != buf) moves++;
        buf = next;
        for (size_t i = (step - 1) * 8; i < step * 8; i++) buf[i] = (unsigned char)(i * 7);
        size_t probe = (step * 2654435761u) % (step * 8);
        CHECK(buf[probe] == (unsigned char)(probe * 7));
    }
    for (size_t i = 0; i < 300000 * 8; i += 4093) CHECK(buf[i] == (unsigned char)(i * 7));
    free(buf);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("realloc_loop: moves %zu seconds %.3f\n", moves, secs);
    return 0;
}
