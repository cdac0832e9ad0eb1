//! The object-alloc-test suites through `GlobalAlloc` and `Allocator`, with
//! cross-thread frees (`threads`), on fresh zones and on a zone in a
//! `static`.

use slab_alloc::SlabMalloc;

static ZONE: SlabMalloc = SlabMalloc::new();

object_alloc_test::global_alloc_suite!(global, SlabMalloc::new());
object_alloc_test::global_alloc_suite!(global_static, static ZONE);
object_alloc_test::shared_allocator_suite!(allocator, SlabMalloc::new());
object_alloc_test::shared_allocator_suite!(allocator_static, &ZONE);
