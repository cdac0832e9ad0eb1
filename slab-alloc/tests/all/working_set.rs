//! Empty slabs go back to the backing beyond the working set, and `reap`
//! returns all of them; statistics follow.

use core::alloc::Layout;
use std::rc::Rc;

use object_alloc::{GlobalUntyped, UntypedObjectAlloc};
use slab_alloc::{SlabBuilder, slab_layout_for};

use crate::backing::{Calls, Counting, pool};

const OBJECT: Layout = Layout::new::<[u64; 64]>();

#[test]
fn working_set_and_reap_return_slabs() {
    let calls = Rc::new(Calls::default());
    let backing = Counting {
        inner: pool(slab_layout_for(OBJECT)),
        calls: calls.clone(),
    };
    let mut cache = SlabBuilder::new("ws")
        .layout(OBJECT)
        .max_empty_slabs(2)
        .build_untyped(backing)
        .unwrap();
    let per = cache.objects_per_slab();
    let slabs = 6;
    let objs: Vec<_> = (0..per * slabs).map(|_| cache.alloc().unwrap()).collect();
    assert_eq!(calls.allocs.get(), slabs);
    let s = cache.stats();
    assert_eq!(
        (s.slabs, s.bytes_held, s.objects_live),
        (
            slabs,
            slabs * slab_layout_for(OBJECT).size(),
            (per * slabs) as u64
        )
    );
    for o in objs {
        // SAFETY: from `cache`, freed once.
        unsafe { cache.dealloc(o) };
    }
    // Two empty slabs stay; the other four went back.
    assert_eq!(calls.deallocs.get(), slabs - 2);
    assert_eq!((cache.stats().slabs, cache.stats().empty_slabs), (2, 2));
    // Reuse takes a kept slab, not a new one.
    let o = cache.alloc().unwrap();
    assert_eq!(calls.allocs.get(), slabs);
    // SAFETY: from `cache`, freed once.
    unsafe { cache.dealloc(o) };
    assert_eq!(cache.reap(), 2);
    assert_eq!(calls.deallocs.get(), slabs);
    let s = cache.stats();
    assert_eq!(
        (s.slabs, s.bytes_held, s.objects_allocated, s.objects_freed),
        (0, 0, (per * slabs + 1) as u64, (per * slabs + 1) as u64)
    );
    drop(cache);
    assert_eq!(calls.allocs.get(), calls.deallocs.get());
}

#[test]
fn drop_returns_every_slab() {
    let calls = Rc::new(Calls::default());
    let backing = Counting {
        inner: GlobalUntyped::system(slab_layout_for(OBJECT)),
        calls: calls.clone(),
    };
    let mut cache = SlabBuilder::new("drop")
        .layout(OBJECT)
        .build_untyped(backing)
        .unwrap();
    let n = cache.objects_per_slab() * 3 + 1;
    let objs: Vec<_> = (0..n).map(|_| cache.alloc().unwrap()).collect();
    for &o in objs.iter().step_by(2) {
        // SAFETY: from `cache`, freed once.
        unsafe { cache.dealloc(o) };
    }
    drop(cache);
    assert_eq!(calls.allocs.get(), 4);
    assert_eq!(calls.deallocs.get(), 4);
}

#[test]
fn colouring_shifts_successive_slabs() {
    let object = Layout::from_size_align(1000, 8).unwrap();
    let mut cache = SlabBuilder::new("colour")
        .layout(object)
        .build_untyped(GlobalUntyped::system(slab_layout_for(object)))
        .unwrap();
    let per = cache.objects_per_slab();
    let mask = slab_layout_for(object).size() - 1;
    let objs: Vec<_> = (0..per * 3).map(|_| cache.alloc().unwrap()).collect();
    let firsts: Vec<usize> = objs.chunks(per).map(|c| c[0].addr().get() & mask).collect();
    assert_eq!(firsts[1] - firsts[0], 64, "{firsts:?}");
    assert_eq!(firsts[2] - firsts[1], 64, "{firsts:?}");
    for o in objs {
        // SAFETY: from `cache`, freed once.
        unsafe { cache.dealloc(o) };
    }
}

/// The slab allocations come from stays put when it empties (it counts in
/// the working set), so alloc/free pairs on a quiet cache touch neither the
/// backing nor the lists; `reap` returns it, and a working set of 0 does
/// not keep it.
#[test]
fn an_emptied_allocation_slab_stays_until_reaped() {
    for max_empty in [0, 1, 2] {
        let calls = Rc::new(Calls::default());
        let backing = Counting {
            inner: GlobalUntyped::system(slab_layout_for(OBJECT)),
            calls: calls.clone(),
        };
        let mut cache = SlabBuilder::new("head")
            .layout(OBJECT)
            .max_empty_slabs(max_empty)
            .build_untyped(backing)
            .unwrap();
        for _ in 0..100 {
            let o = cache.alloc().unwrap();
            // SAFETY: from `cache`, freed once.
            unsafe { cache.dealloc(o) };
            cache.check_invariants();
        }
        let s = cache.stats();
        if max_empty == 0 {
            assert_eq!((calls.allocs.get(), calls.deallocs.get()), (100, 100));
            assert_eq!((s.slabs, s.empty_slabs), (0, 0));
        } else {
            assert_eq!((calls.allocs.get(), calls.deallocs.get()), (1, 0));
            assert_eq!((s.slabs, s.empty_slabs), (1, 1));
            // A slab emptied behind it joins the working set with it.
            let per = cache.objects_per_slab();
            let objs: Vec<_> = (0..per + 1).map(|_| cache.alloc().unwrap()).collect();
            for &o in objs.iter().rev() {
                // SAFETY: from `cache`, freed once.
                unsafe { cache.dealloc(o) };
                cache.check_invariants();
            }
            let s = cache.stats();
            assert_eq!(
                (s.slabs, s.empty_slabs),
                (2.min(max_empty), 2.min(max_empty))
            );
            assert_eq!(cache.reap(), 2.min(max_empty));
        }
        assert_eq!(cache.stats().slabs, 0);
    }
}
