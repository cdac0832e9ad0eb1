/*
 * malloc-bind: the class API of the slab-alloc workspace.
 *
 * A class is a slab cache of equal objects: register it once, then
 * allocate and release objects by class. Releasing an object into the
 * wrong class (or an address that is not a live object of the class)
 * stops the process with a message naming the classes and the address.
 *
 * Provided by libslabmalloc.so (with the zone as malloc) and by
 * libslabclass.a (the class API alone).
 */
#ifndef MALLOC_BIND_H
#define MALLOC_BIND_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Registers a class of objects of `size` bytes aligned to `align` (a power
 * of two), zeroed on every allocation when `zeroed` is non-zero. Returns
 * the class id (>= 0), or -1 with errno EINVAL (bad size, alignment or
 * name) or ENOMEM (256 classes exist already, or no memory). `name` is
 * copied. */
int slab_class_register(const char *name, size_t size, size_t align, int zeroed);

/* An object of class `cls`, or NULL with errno ENOMEM (no memory) or
 * EINVAL (no such class). */
void *slab_class_alloc(int cls);

/* Releases `ptr` (an object of class `cls`) into its class; NULL does
 * nothing. Anything else aborts with a message. */
void slab_class_free(int cls, void *ptr);

/* Objects of class `cls` allocated now. */
size_t slab_class_live(int cls);

#ifdef __cplusplus
}
#endif

#endif /* MALLOC_BIND_H */
