/* The class API: register, allocate (zeroed), release, count; with the
 * argument "wrong", release an object into another class, which must
 * abort naming both classes. */
#include <stdint.h>
#include <string.h>
#include "check.h"
#include "malloc_bind.h"

int main(int argc, char **argv) {
    int sessions = slab_class_register("sessions", 200, 8, 1);
    int buffers = slab_class_register("buffers", 4096, 4096, 0);
    CHECK(sessions >= 0 && buffers >= 0 && sessions != buffers);
    CHECK(slab_class_register("bad", 16, 3, 0) == -1);
    CHECK(slab_class_alloc(9999) == NULL);

    void *s[100], *b[10];
    for (int i = 0; i < 100; i++) {
        unsigned char *p = slab_class_alloc(sessions);
        CHECK(p && (uintptr_t)p % 8 == 0);
        for (int j = 0; j < 200; j++) CHECK(p[j] == 0);
        memset(p, 0xee, 200);
        s[i] = p;
    }
    for (int i = 0; i < 10; i++) {
        b[i] = slab_class_alloc(buffers);
        CHECK(b[i] && (uintptr_t)b[i] % 4096 == 0);
    }
    CHECK(slab_class_live(sessions) == 100 && slab_class_live(buffers) == 10);
    if (argc > 1 && strcmp(argv[1], "wrong") == 0) {
        fprintf(stderr, "address %p\n", s[0]);
        slab_class_free(buffers, s[0]);
        puts("classes: the wrong release was not stopped");
        return 0;
    }
    for (int i = 0; i < 100; i++) slab_class_free(sessions, s[i]);
    for (int i = 0; i < 10; i++) slab_class_free(buffers, b[i]);
    slab_class_free(sessions, NULL);
    CHECK(slab_class_live(sessions) == 0 && slab_class_live(buffers) == 0);
    /* A released object comes back zeroed. */
    unsigned char *again = slab_class_alloc(sessions);
    for (int j = 0; j < 200; j++) CHECK(again[j] == 0);
    slab_class_free(sessions, again);
    puts("classes: ok");
    return 0;
}
