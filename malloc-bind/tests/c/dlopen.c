/* The library loaded with dlopen after start-up: its malloc, used from
 * several threads (whose thread-local state the library makes on first
 * use), is the zone's. */
#include <dlfcn.h>
#include <pthread.h>
#include <string.h>
#include "check.h"

typedef void *(*malloc_fn)(size_t);
typedef void (*free_fn)(void *);
typedef size_t (*usable_fn)(void *);
static malloc_fn zmalloc;
static free_fn zfree;
static usable_fn zusable;

static void *work(void *arg) {
    (void)arg;
    for (int i = 0; i < 10000; i++) {
        char *p = zmalloc(100);
        CHECK(p && zusable(p) == 112);
        memset(p, 3, 100);
        zfree(p);
    }
    return NULL;
}

int main(int argc, char **argv) {
    CHECK(argc == 2);
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    CHECK(lib);
    zmalloc = (malloc_fn)dlsym(lib, "malloc");
    zfree = (free_fn)dlsym(lib, "free");
    zusable = (usable_fn)dlsym(lib, "malloc_usable_size");
    CHECK(zmalloc && zfree && zusable);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) CHECK(pthread_create(&t[i], NULL, work, NULL) == 0);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    work(NULL);
    puts("dlopen: ok");
    return 0;
}
