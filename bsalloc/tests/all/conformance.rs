//! The object-alloc-test suite through `GlobalAlloc` and `Allocator`, on
//! fresh heaps and on a heap in a `static`.

use bsalloc::BsAlloc;

static HEAP: BsAlloc = BsAlloc::new();

object_alloc_test::global_alloc_suite!(global, BsAlloc::new());
object_alloc_test::global_alloc_suite!(global_static, static HEAP);
object_alloc_test::shared_allocator_suite!(allocator, BsAlloc::new());
object_alloc_test::shared_allocator_suite!(allocator_static, &HEAP);
