/* fork while other threads allocate and release objects of a class: every
 * child must be able to use the class (its lock was not left held by a
 * thread that does not exist in the child). */
#include "forking.h"
#include "malloc_bind.h"

static int cls;

static void *churn(void *arg) {
    (void)arg;
    void *held[32] = {0};
    unsigned i = 0;
    while (!stopping()) {
        unsigned k = i++ % 32;
        slab_class_free(cls, held[k]);
        held[k] = slab_class_alloc(cls);
        CHECK(held[k]);
    }
    for (int k = 0; k < 32; k++) slab_class_free(cls, held[k]);
    return NULL;
}

static int child(void) {
    for (int i = 0; i < 1000; i++) {
        void *p = slab_class_alloc(cls);
        if (!p) return 3;
        slab_class_free(cls, p);
    }
    return 0;
}

int main(void) {
    cls = slab_class_register("forked", 48, 16, 0);
    CHECK(cls >= 0);
    fork_while_working(2, churn, 100, child);
    puts("class_fork: ok");
    return 0;
}
