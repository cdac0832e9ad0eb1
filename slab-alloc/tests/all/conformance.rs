//! The object-alloc-test suites over three backings: the heap through
//! `GlobalAlloc`, kernel pages through mmap-alloc, and a pool behind hooks.

use core::alloc::Layout;

use object_alloc::GlobalUntyped;
use slab_alloc::{SlabBuilder, slab_layout_for};

use crate::backing::pool;

object_alloc_test::untyped_suite!(untyped_heap, |layout| {
    SlabBuilder::new("suite-heap")
        .layout(layout)
        .build_untyped(GlobalUntyped::system(slab_layout_for(layout)))
        .unwrap()
});

object_alloc_test::untyped_suite!(untyped_pool, |layout| {
    SlabBuilder::new("suite-pool")
        .layout(layout)
        .build_untyped(pool(slab_layout_for(layout)))
        .unwrap()
});

object_alloc_test::typed_suite!(typed_heap, <T>(init) => {
    SlabBuilder::new("suite-typed-heap")
        .build::<T, _, _>(init, GlobalUntyped::system(slab_layout_for(Layout::new::<T>())))
        .unwrap()
});

object_alloc_test::typed_suite!(typed_pool, <T>(init) => {
    SlabBuilder::new("suite-typed-pool")
        .build::<T, _, _>(init, pool(slab_layout_for(Layout::new::<T>())))
        .unwrap()
});

/// mmap-alloc: real mappings, which Miri cannot make.
#[cfg(not(miri))]
mod mapped {
    use super::*;
    use mmap_alloc::{MapAlloc, MapUntyped};

    object_alloc_test::untyped_suite!(untyped_map, |layout| {
        SlabBuilder::new("suite-map")
            .layout(layout)
            .build_untyped(MapUntyped::new(MapAlloc::new(), slab_layout_for(layout)).unwrap())
            .unwrap()
    });

    object_alloc_test::typed_suite!(typed_map, <T>(init) => {
        SlabBuilder::new("suite-typed-map")
            .build::<T, _, _>(init, MapUntyped::new(MapAlloc::new(), slab_layout_for(Layout::new::<T>())).unwrap())
            .unwrap()
    });
}
