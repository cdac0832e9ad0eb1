/* fork while other threads allocate and free: every child must be able to
 * allocate (no lock left held by a thread that does not exist in it). */
#include <string.h>
#include "forking.h"

static void *churn(void *arg) {
    (void)arg;
    void *held[64] = {0};
    unsigned i = 0;
    while (!stopping()) {
        unsigned k = i++ % 64;
        free(held[k]);
        held[k] = malloc(1 + (i * 37) % 70000);
        CHECK(held[k]);
    }
    for (int k = 0; k < 64; k++) free(held[k]);
    return NULL;
}

static int child(void) {
    for (int i = 0; i < 2000; i++) {
        char *p = malloc(1 + (size_t)i * 13 % 5000);
        if (!p) return 3;
        memset(p, 1, 1 + (size_t)i * 13 % 5000);
        free(p);
    }
    char *big = malloc(1 << 20);
    if (!big) return 4;
    free(big);
    return 0;
}

int main(void) {
    fork_while_working(2, churn, 100, child);
    puts("fork: ok");
    return 0;
}
