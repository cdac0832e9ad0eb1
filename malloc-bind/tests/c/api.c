/* Every function of the C allocation API and every rule of it, under the
 * preloaded library. With the argument "zone", also checks that the zone
 * (not glibc) serves the calls: its classes give a 100-byte request 112
 * usable bytes. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include "check.h"

/* The C23 sized frees: the library's, found at run time (the C library
 * this is linked against may not have them). */
static void (*free_sized)(void *, size_t);
static void (*free_aligned_sized)(void *, size_t, size_t);
/* glibc's old `cfree`, no longer in its headers or link-time symbols. */
static void (*cfree)(void *);

static int aligned(void *p, size_t a) { return ((uintptr_t)p % a) == 0; }

int main(int argc, char **argv) {
    int zone = argc > 1 && strcmp(argv[1], "zone") == 0;
    free_sized = (void (*)(void *, size_t))dlsym(RTLD_DEFAULT, "free_sized");
    free_aligned_sized = (void (*)(void *, size_t, size_t))dlsym(RTLD_DEFAULT, "free_aligned_sized");
    cfree = (void (*)(void *))dlsym(RTLD_DEFAULT, "cfree");
    CHECK(free_sized && free_aligned_sized && cfree);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    /* malloc(0): unique, freeable pointers. */
    void *z1 = malloc(0), *z2 = malloc(0);
    CHECK(z1 && z2 && z1 != z2);
    free(z1);
    free(z2);
    free(NULL);
    cfree(NULL);

    /* malloc's alignment, and the usable size. */
    for (size_t n = 1; n < 5000; n += 37) {
        char *p = malloc(n);
        CHECK(p && aligned(p, 16));
        CHECK(malloc_usable_size(p) >= n);
        memset(p, 0xab, malloc_usable_size(p));
        free(p);
    }
    CHECK(malloc_usable_size(NULL) == 0);
    if (zone) {
        void *p = malloc(100);
        CHECK(malloc_usable_size(p) == 112);
        free(p);
    }

    /* Impossible sizes: NULL and ENOMEM. */
    errno = 0;
    CHECK(malloc(SIZE_MAX) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(malloc((size_t)PTRDIFF_MAX + 1) == NULL && errno == ENOMEM);

    /* calloc: zeroed (even reusing a dirty block), overflow is ENOMEM. */
    for (int i = 0; i < 100; i++) {
        char *d = malloc(200);
        memset(d, 0xff, 200);
        free(d);
        unsigned char *c = calloc(25, 8);
        CHECK(c);
        for (int j = 0; j < 200; j++) CHECK(c[j] == 0);
        free(c);
    }
    unsigned char *bigc = calloc(1, 1 << 20);
    CHECK(bigc && bigc[12345] == 0 && bigc[(1 << 20) - 1] == 0);
    free(bigc);
    errno = 0;
    CHECK(calloc(SIZE_MAX / 2, 3) == NULL && errno == ENOMEM);

    /* realloc keeps the prefix, growing and shrinking, small and large. */
    char *r = realloc(NULL, 10);
    CHECK(r);
    for (int i = 0; i < 10; i++) r[i] = (char)i;
    size_t sizes[] = {20, 5000, 300000, 40, 2000000, 7};
    size_t kept = 10;
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        r = realloc(r, sizes[s]);
        CHECK(r);
        size_t check = kept < sizes[s] ? kept : sizes[s];
        for (size_t i = 0; i < check && i < 10; i++) CHECK(r[i] == (char)i);
        kept = check;
    }
    /* realloc(p, 0) frees p and returns NULL, as glibc's does. */
    CHECK(realloc(r, 0) == NULL);
    /* A failing realloc leaves the block alone. */
    char *keep = malloc(64);
    strcpy(keep, "still here");
    errno = 0;
    CHECK(realloc(keep, SIZE_MAX) == NULL && errno == ENOMEM);
    CHECK(strcmp(keep, "still here") == 0);

    /* reallocarray: overflow is ENOMEM and the block stays. */
    errno = 0;
    CHECK(reallocarray(keep, SIZE_MAX / 2, 4) == NULL && errno == ENOMEM);
    CHECK(strcmp(keep, "still here") == 0);
    keep = reallocarray(keep, 100, 8);
    CHECK(keep && strcmp(keep, "still here") == 0);
    free(keep);

    /* posix_memalign: EINVAL for bad alignments, errno never touched. */
    void *m = NULL;
    errno = 1234;
    CHECK(posix_memalign(&m, 3, 8) == EINVAL);
    CHECK(posix_memalign(&m, 4, 8) == EINVAL);
    CHECK(posix_memalign(&m, 24, 8) == EINVAL);
    CHECK(errno == 1234);
    CHECK(posix_memalign(&m, 64, 100) == 0 && aligned(m, 64));
    free(m);
    CHECK(posix_memalign(&m, 8, 0) == 0 && m);
    free(m);
    CHECK(posix_memalign(&m, 64, SIZE_MAX) == ENOMEM);
    CHECK(errno == 1234);

    /* aligned_alloc: a bad alignment is NULL with EINVAL. */
    errno = 0;
    CHECK(aligned_alloc(24, 48) == NULL && errno == EINVAL);
    void *a = aligned_alloc(256, 512);
    CHECK(a && aligned(a, 256));
    free(a);

    /* memalign rounds the alignment up to a power of two. */
    void *ma = memalign(24, 10);
    CHECK(ma && aligned(ma, 32));
    free(ma);

    /* valloc and pvalloc: page-aligned; pvalloc rounds up to pages. */
    void *v = valloc(10);
    CHECK(v && aligned(v, page));
    free(v);
    void *pv = pvalloc(1);
    CHECK(pv && aligned(pv, page) && malloc_usable_size(pv) >= page);
    free(pv);

    /* C23 sized frees, with the right sizes. */
    void *fs = malloc(300);
    free_sized(fs, 300);
    void *fa = aligned_alloc(128, 1000);
    free_aligned_sized(fa, 128, 1000);
    free_sized(NULL, 10);

    /* glibc extras. */
    void *t = malloc(50);
    cfree(t);
    int trimmed = malloc_trim(0);
    CHECK(trimmed == 0 || trimmed == 1);
    malloc_stats();

    puts("api: ok");
    return 0;
}
