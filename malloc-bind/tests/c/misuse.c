/* One wrong call, chosen by the argument; the library must abort with a
 * message naming the address, which this program prints first. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <string.h>
#include "check.h"

int main(int argc, char **argv) {
    CHECK(argc == 2);
    char *p = malloc(64);
    char *big = malloc(1 << 20);
    if (strcmp(argv[1], "double") == 0) {
        fprintf(stderr, "address %p\n", (void *)p);
        free(p);
        free(p);
    } else if (strcmp(argv[1], "interior") == 0) {
        fprintf(stderr, "address %p\n", (void *)(p + 16));
        free(p + 16);
    } else if (strcmp(argv[1], "foreign") == 0) {
        int local = 5;
        fprintf(stderr, "address %p\n", (void *)&local);
        free(&local);
    } else if (strcmp(argv[1], "large-double") == 0) {
        fprintf(stderr, "address %p\n", (void *)big);
        free(big);
        free(big);
    } else if (strcmp(argv[1], "sized") == 0) {
        void (*free_sized)(void *, size_t) =
            (void (*)(void *, size_t))dlsym(RTLD_DEFAULT, "free_sized");
        CHECK(free_sized);
        fprintf(stderr, "address %p\n", (void *)p);
        free_sized(p, 4096);
    }
    puts("misuse: the library did not stop the program");
    return 0;
}
