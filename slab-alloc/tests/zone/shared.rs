//! Shared object caches with thread magazines: the shared suites with
//! cross-thread frees, object caching across threads, every constructed
//! object dropped once (even from other threads' magazines when the cache
//! drops), and the checks on the magazine path.

use core::alloc::Layout;
use core::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use object_alloc::{SharedObjectAlloc, SharedUntypedObjectAlloc};
use slab_alloc::{ConfigError, FreeErrorKind, SlabBuilder};

use crate::{record, recorded};

object_alloc_test::shared_untyped_suite!(untyped_suite, |layout| {
    SlabBuilder::new("shared-suite")
        .layout(layout)
        .build_shared_untyped()
        .unwrap()
});

object_alloc_test::shared_typed_suite!(typed_suite, <T>(init) => {
    SlabBuilder::new("shared-typed-suite").build_shared::<T, _>(init).unwrap()
});

/// An object that counts its constructions and drops in the given
/// counters.
struct Counted {
    drops: &'static AtomicUsize,
    payload: [u64; 6],
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn objects_are_reused_across_threads_and_dropped_once() {
    static MADE: AtomicUsize = AtomicUsize::new(0);
    static DROPPED: AtomicUsize = AtomicUsize::new(0);
    let cache = SlabBuilder::new("counted")
        .build_shared::<Counted, _>(|| {
            MADE.fetch_add(1, Ordering::Relaxed);
            Counted {
                drops: &DROPPED,
                payload: [7; 6],
            }
        })
        .unwrap();
    std::thread::scope(|s| {
        let mut handles = Vec::new();
        for _ in 0..8 {
            handles.push(s.spawn(|| {
                for _ in 0..200 {
                    let objs: Vec<_> = (0..50).map(|_| cache.alloc().unwrap()).collect();
                    for o in objs {
                        // SAFETY: a constructed object we hold, freed once.
                        unsafe {
                            assert_eq!((*o.as_ptr()).payload[3], 7);
                            cache.dealloc(o);
                        }
                    }
                }
            }));
        }
        for h in handles {
            h.join().unwrap();
        }
    });
    let made = MADE.load(Ordering::Relaxed);
    // 80,000 allocations; each thread held at most 50 objects at once, plus
    // what its magazines and the depot hold.
    assert!(made < 8 * 50 + 8 * 2 * 61 + 16 * 61, "{made} constructions");
    assert_eq!(cache.stats().constructions as usize, made);
    drop(cache);
    assert_eq!(DROPPED.load(Ordering::Relaxed), made);
}

/// A cache handed to another thread by address, so that it can be dropped
/// while that thread lives on with objects of it in its magazines.
struct Shared(*const slab_alloc::SharedSlabAlloc<Counted, fn() -> Counted>);
// SAFETY: the test orders every use of the cache before its drop.
unsafe impl Send for Shared {}

#[test]
fn dropping_the_cache_takes_back_other_threads_magazines() {
    static DROPPED: AtomicUsize = AtomicUsize::new(0);
    fn make() -> Counted {
        Counted {
            drops: &DROPPED,
            payload: [1; 6],
        }
    }
    let cache = Box::new(
        SlabBuilder::new("dropped-early")
            .build_shared::<Counted, fn() -> Counted>(make)
            .unwrap(),
    );
    let shared = Shared(&raw const *cache);
    let barrier = Arc::new(Barrier::new(2));
    let b = Arc::clone(&barrier);
    let worker = std::thread::spawn(move || {
        let shared = shared;
        // SAFETY: the cache lives until the first barrier.
        let c = unsafe { &*shared.0 };
        let objs: Vec<_> = (0..100).map(|_| c.alloc().unwrap()).collect();
        for o in objs {
            // SAFETY: each object freed once.
            unsafe { c.dealloc(o) };
        }
        b.wait();
        // The cache is dropped here, with objects in our magazines.
        b.wait();
        // Another cache takes the binding slot; exiting flushes it.
        let other = SlabBuilder::new("after")
            .build_shared::<u64, _>(|| 5)
            .unwrap();
        let x = other.alloc().unwrap();
        // SAFETY: freed once.
        unsafe { other.dealloc(x) };
    });
    barrier.wait();
    let made = cache.stats().constructions as usize;
    drop(cache);
    assert_eq!(
        DROPPED.load(Ordering::Relaxed),
        made,
        "constructed objects dropped at the cache's drop"
    );
    barrier.wait();
    worker.join().unwrap();
}

#[test]
fn bad_frees_are_caught_on_the_magazine_path() {
    let cache = SlabBuilder::new("checked")
        .layout(Layout::from_size_align(96, 16).unwrap())
        .error_hook(record)
        .build_shared_untyped()
        .unwrap();
    let other = SlabBuilder::new("the other one")
        .layout(Layout::from_size_align(96, 16).unwrap())
        .build_shared_untyped()
        .unwrap();
    let p = cache.alloc().unwrap();
    let q = other.alloc().unwrap();
    let on_stack = 0u64;
    // SAFETY: every call below but the first free is a deliberate misuse;
    // the checked free frees nothing then.
    unsafe {
        cache.dealloc(p);
        cache.dealloc(p);
        cache.dealloc(NonNull::new_unchecked(p.as_ptr().add(16)));
        cache.dealloc(NonNull::new_unchecked(
            (&raw const on_stack).cast_mut().cast(),
        ));
        let base = (p.as_ptr() as usize) & !0xffff;
        cache.dealloc(NonNull::new_unchecked(base as *mut u8));
        assert_eq!(
            cache.try_dealloc(q).unwrap_err().kind,
            FreeErrorKind::OtherCache {
                other: "the other one"
            }
        );
    }
    let kinds: Vec<_> = recorded().into_iter().map(|e| (e.cache, e.kind)).collect();
    assert_eq!(
        kinds,
        [
            ("checked", FreeErrorKind::DoubleFree),
            (
                "checked",
                FreeErrorKind::Interior {
                    object: p.as_ptr() as usize
                }
            ),
            ("checked", FreeErrorKind::NotManaged),
            ("checked", FreeErrorKind::NotAnObject),
        ]
    );
    // The object freed once comes back once.
    let again = cache.alloc().unwrap();
    assert_eq!(again, p);
    assert_ne!(cache.alloc().unwrap(), p);
    // SAFETY: a block of `other`, freed once.
    unsafe { other.dealloc(q) };
}

#[test]
fn a_double_free_on_another_thread_is_caught() {
    let cache = SlabBuilder::new("two threads")
        .error_hook(record)
        .build_shared::<[u64; 4], _>(|| [0; 4])
        .unwrap();
    let p = cache.alloc().unwrap().as_ptr() as usize;
    // SAFETY: freed once here.
    unsafe { cache.dealloc(NonNull::new(p as *mut [u64; 4]).unwrap()) };
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: deliberately a second free, from another thread.
            let err = unsafe { cache.try_dealloc(NonNull::new(p as *mut [u64; 4]).unwrap()) };
            assert_eq!(err.unwrap_err().kind, FreeErrorKind::DoubleFree);
        });
    });
}

#[test]
fn objects_too_large_or_too_aligned_are_refused() {
    let big = SlabBuilder::new("big")
        .layout(Layout::from_size_align(300 << 10, 8).unwrap())
        .build_shared_untyped()
        .unwrap_err();
    assert_eq!(
        big,
        ConfigError::TooLargeForShared {
            size: 300 << 10,
            align: 8
        }
    );
    let aligned = SlabBuilder::new("aligned")
        .layout(Layout::from_size_align(64, 8192).unwrap())
        .build_shared_untyped()
        .unwrap_err();
    assert!(matches!(
        aligned,
        ConfigError::TooLargeForShared { align: 8192, .. }
    ));
    assert!(aligned.to_string().contains("at most 256 KiB"));
}

#[test]
fn trim_gives_the_depot_back_to_the_slabs() {
    let cache = SlabBuilder::new("trimmed")
        .layout(Layout::from_size_align(256, 8).unwrap())
        .build_shared_untyped()
        .unwrap();
    std::thread::scope(|s| {
        let h = s.spawn(|| {
            let blocks: Vec<_> = (0..5000).map(|_| cache.alloc().unwrap()).collect();
            for b in blocks {
                // SAFETY: each block freed once.
                unsafe { cache.dealloc(b) };
            }
        });
        // The thread's exit gives its magazines to the depot.
        h.join().unwrap();
    });
    assert!(cache.stats().objects_live > 0);
    cache.trim();
    assert_eq!(cache.stats().objects_live, 0);
    assert_eq!(cache.stats().slabs, 0);
}
