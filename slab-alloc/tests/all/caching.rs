//! Object caching: reuse skips the constructor, and every constructed object
//! is dropped exactly once.

use core::alloc::Layout;
use std::cell::Cell;
use std::rc::Rc;

use object_alloc::{GlobalUntyped, ObjectAlloc};
use slab_alloc::{SlabBuilder, slab_layout_for};

use crate::backing::pool;

/// Counts its constructions and drops in shared cells.
struct Counted {
    drops: Rc<Cell<usize>>,
    value: u64,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.set(self.drops.get() + 1);
    }
}

const N: usize = if cfg!(miri) { 40 } else { 2_000 };

#[test]
fn reuse_elides_constructor_calls() {
    let made = Rc::new(Cell::new(0));
    let drops = Rc::new(Cell::new(0));
    let (m, d) = (made.clone(), drops.clone());
    let mut cache = SlabBuilder::new("counted")
        .build::<Counted, _, _>(
            move || {
                m.set(m.get() + 1);
                Counted {
                    drops: d.clone(),
                    value: 7,
                }
            },
            GlobalUntyped::system(slab_layout_for(Layout::new::<Counted>())),
        )
        .unwrap();
    for round in 0..3 {
        let objs: Vec<_> = (0..N).map(|_| cache.alloc().unwrap()).collect();
        for &o in &objs {
            // SAFETY: a constructed `Counted` we own. Reused objects keep
            // the value their last owner left.
            let v = unsafe { &mut (*o.as_ptr()).value };
            assert_eq!(*v, if round == 0 { 7 } else { 8 });
            *v = 8;
        }
        for o in objs {
            // SAFETY: from `cache`, freed once, a valid `Counted`.
            unsafe { cache.dealloc(o) };
        }
        // Only the first round constructs.
        assert_eq!(made.get(), N, "round {round}");
        assert_eq!(cache.stats().constructions as usize, N);
    }
    // Slabs beyond the working set were released, dropping their objects.
    let dropped_early = drops.get();
    drop(cache);
    assert_eq!(
        drops.get(),
        N,
        "every constructed object dropped once ({dropped_early} early)"
    );
}

#[test]
fn drop_skips_objects_still_held_and_drops_the_rest() {
    let drops = Rc::new(Cell::new(0));
    let d = drops.clone();
    let mut cache = SlabBuilder::new("held")
        .build::<Counted, _, _>(
            move || Counted {
                drops: d.clone(),
                value: 0,
            },
            pool(slab_layout_for(Layout::new::<Counted>())),
        )
        .unwrap();
    let objs: Vec<_> = (0..10).map(|_| cache.alloc().unwrap()).collect();
    for &o in &objs[..6] {
        // SAFETY: from `cache`, freed once, a valid `Counted`.
        unsafe { cache.dealloc(o) };
    }
    // The 4 held objects belong to their holder; we read them out before
    // the cache (and their memory) goes.
    let held: Vec<Counted> = objs[6..]
        .iter()
        // SAFETY: each is a constructed `Counted` we own and never free.
        .map(|o| unsafe { o.read() })
        .collect();
    drop(cache);
    assert_eq!(drops.get(), 6);
    drop(held);
    assert_eq!(drops.get(), 10);
}

#[test]
fn constructor_panic_leaves_the_cache_usable() {
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let mut cache = SlabBuilder::new("panicky")
        .build::<String, _, _>(
            move || {
                c.set(c.get() + 1);
                assert!(c.get() % 3 != 0, "every third construction fails");
                String::from("ok")
            },
            GlobalUntyped::system(slab_layout_for(Layout::new::<String>())),
        )
        .unwrap();
    let mut objs = Vec::new();
    let mut panics = 0;
    for _ in 0..30 {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cache.alloc().unwrap())) {
            Ok(o) => objs.push(o),
            Err(_) => panics += 1,
        }
        cache.check_invariants();
    }
    assert_eq!(panics, 10);
    assert_eq!(cache.stats().objects_live, 20);
    assert_eq!(cache.stats().constructions, 20);
    let mut seen = std::collections::HashSet::new();
    for o in objs {
        assert!(seen.insert(o), "handed out twice");
        // SAFETY: a constructed `String`.
        assert_eq!(unsafe { o.as_ref() }, "ok");
        // SAFETY: from `cache`, freed once.
        unsafe { cache.dealloc(o) };
    }
}
