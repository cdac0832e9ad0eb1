//! `Locked`: the shared-allocator suites over a slab cache behind a spin
//! lock, a many-threaded stress whose statistics must add up, a lock
//! released by a panic, a shared cache as another cache's backing, and
//! `NoLock` on one thread.

use core::alloc::Layout;
use core::ptr::NonNull;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use object_alloc::{
    GlobalUntyped, ObjectAlloc, ObjectBox, SharedObjectAlloc, SharedUntypedObjectAlloc,
    UntypedObjectAlloc,
};
use slab_alloc::{Locked, NoLock, SlabBuilder, SpinLock, slab_layout_for};

object_alloc_test::shared_untyped_suite!(locked_untyped, |layout| {
    Locked::<_, SpinLock>::new(
        SlabBuilder::new("locked-untyped")
            .layout(layout)
            .build_untyped(GlobalUntyped::system(slab_layout_for(layout)))
            .unwrap(),
    )
});

object_alloc_test::shared_typed_suite!(locked_typed, <T>(init) => {
    Locked::<_, SpinLock>::new(
        SlabBuilder::new("locked-typed")
            .build::<T, _, _>(init, GlobalUntyped::system(slab_layout_for(Layout::new::<T>())))
            .unwrap(),
    )
});

const THREADS: usize = 8;
/// Allocate-and-free rounds per thread.
const ROUNDS: usize = if cfg!(miri) { 20 } else { 20_000 };
/// Objects each thread holds at the peak of a round.
const BATCH: usize = if cfg!(miri) { 4 } else { 64 };

/// A 64-byte object that remembers who wrote it.
type Object = [u64; 8];

fn stamp(thread: usize, round: usize, slot: usize) -> u64 {
    ((thread as u64) << 48) | ((round as u64) << 16) | slot as u64
}

/// A pointer handed to another thread to free.
struct Sent(NonNull<u8>);
// SAFETY: the block is plain memory owned by whoever holds the `Sent`.
unsafe impl Send for Sent {}

/// Eight threads allocate batches through an `Arc`ed cache, stamp every
/// block, check the stamps, and free half of their blocks themselves and
/// half on the next thread; the counters must add up to the operations.
#[test]
fn untyped_stress_counts_add_up() {
    let object = Layout::new::<Object>();
    let shared = Arc::new(Locked::<_, SpinLock>::new(
        SlabBuilder::new("stress")
            .layout(object)
            .build_untyped(GlobalUntyped::system(slab_layout_for(object)))
            .unwrap(),
    ));
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..THREADS)
        .map(|_| std::sync::mpsc::channel::<Vec<Sent>>())
        .unzip();
    let handles: Vec<_> = receivers
        .into_iter()
        .enumerate()
        .map(|(me, inbox)| {
            let shared = Arc::clone(&shared);
            let next = senders[(me + 1) % THREADS].clone();
            std::thread::spawn(move || {
                let mut freed = 0;
                for round in 0..ROUNDS {
                    let mut mine = Vec::with_capacity(BATCH);
                    for slot in 0..BATCH {
                        let block = SharedUntypedObjectAlloc::alloc(&*shared).unwrap();
                        // SAFETY: a fresh 64-byte block aligned to 8, ours.
                        unsafe { block.cast::<Object>().write([stamp(me, round, slot); 8]) };
                        mine.push(block);
                    }
                    let mut away = Vec::with_capacity(BATCH / 2);
                    for (slot, block) in mine.into_iter().enumerate() {
                        // SAFETY: ours, written above.
                        let seen = unsafe { block.cast::<Object>().read() };
                        assert_eq!(seen, [stamp(me, round, slot); 8], "block overwritten");
                        if slot % 2 == 0 {
                            // SAFETY: from `shared`, freed once.
                            unsafe { SharedUntypedObjectAlloc::dealloc(&*shared, block) };
                            freed += 1;
                        } else {
                            away.push(Sent(block));
                        }
                    }
                    next.send(away).unwrap();
                    for Sent(block) in inbox.recv().unwrap() {
                        // SAFETY: from `shared`, handed to us, freed once.
                        unsafe { SharedUntypedObjectAlloc::dealloc(&*shared, block) };
                        freed += 1;
                    }
                }
                freed
            })
        })
        .collect();
    drop(senders);
    let freed: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();

    let total = (THREADS * ROUNDS * BATCH) as u64;
    assert_eq!(freed as u64, total);
    let stats = shared.with(|cache| {
        cache.check_invariants();
        cache.stats()
    });
    assert_eq!(stats.objects_allocated, total);
    assert_eq!(stats.objects_freed, total);
    assert_eq!(stats.objects_live, 0);
    assert_eq!(stats.slabs, stats.empty_slabs);
    assert_eq!(stats.constructions, 0);
}

/// A typed cache under eight threads: every object handed out is one the
/// constructor built, and the constructor ran exactly as often as the cache
/// counted.
#[test]
fn typed_stress_constructions_add_up() {
    static BUILT: AtomicU64 = AtomicU64::new(0);
    let cache = SlabBuilder::new("typed-stress")
        .build::<Object, _, _>(
            || {
                BUILT.fetch_add(1, Ordering::Relaxed);
                [7; 8]
            },
            GlobalUntyped::system(slab_layout_for(Layout::new::<Object>())),
        )
        .unwrap();
    let shared = Locked::<_, SpinLock>::new(cache);
    std::thread::scope(|s| {
        for me in 0..THREADS {
            let shared = &shared;
            s.spawn(move || {
                let mut held = Vec::with_capacity(BATCH);
                for round in 0..ROUNDS / 4 {
                    for _ in 0..BATCH {
                        let obj = SharedObjectAlloc::alloc(shared).unwrap();
                        // SAFETY: a constructed object, ours until freed.
                        let first = unsafe { obj.as_ref() }[0];
                        assert!(first == 7 || first >> 48 < THREADS as u64);
                        // SAFETY: as above; it stays a valid `Object`.
                        unsafe { obj.as_ptr().write([stamp(me, round, 0); 8]) };
                        held.push(obj);
                    }
                    for obj in held.drain(..) {
                        // SAFETY: from `shared`, a valid `Object`, freed once.
                        unsafe { SharedObjectAlloc::dealloc(shared, obj) };
                    }
                }
            });
        }
    });
    let stats = shared.with(|cache| cache.stats());
    let total = (THREADS * (ROUNDS / 4) * BATCH) as u64;
    assert_eq!(stats.objects_allocated, total);
    assert_eq!(stats.objects_live, 0);
    assert_eq!(stats.constructions, BUILT.load(Ordering::Relaxed));
    assert!(stats.constructions <= total);
}

/// A panic inside `with` releases the lock, and the cache stays usable.
#[test]
fn panic_in_with_releases_the_lock() {
    let object = Layout::new::<u64>();
    let shared = Locked::<_, SpinLock>::new(
        SlabBuilder::new("panics")
            .layout(object)
            .build_untyped(GlobalUntyped::system(slab_layout_for(object)))
            .unwrap(),
    );
    let caught = catch_unwind(AssertUnwindSafe(|| {
        shared.with(|_| panic!("inside the lock"));
    }));
    assert!(caught.is_err());
    let block = SharedUntypedObjectAlloc::alloc(&shared).unwrap();
    // SAFETY: from `shared`, freed once.
    unsafe { SharedUntypedObjectAlloc::dealloc(&shared, block) };
    assert_eq!(shared.with(|cache| cache.stats().objects_freed), 1);
}

/// A shared cache of 64 KiB blocks is the backing of per-thread caches of
/// small objects: `&Locked` is an allocator by value.
#[test]
fn shared_cache_backs_thread_caches() {
    let slab = Layout::from_size_align(64 << 10, 64 << 10).unwrap();
    let pages = Locked::<_, SpinLock>::new(
        SlabBuilder::new("pages")
            .layout(slab)
            .build_untyped(GlobalUntyped::system(slab_layout_for(slab)))
            .unwrap(),
    );
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let mut local = SlabBuilder::new("local")
                    .build_default::<u64, _>(&pages)
                    .unwrap();
                let objs: Vec<_> = (0..BATCH * 4).map(|_| local.alloc().unwrap()).collect();
                for obj in objs {
                    // SAFETY: from `local`, a valid `u64`, freed once.
                    unsafe { local.dealloc(obj) };
                }
                assert_eq!(local.stats().objects_live, 0);
            });
        }
    });
    // Every thread cache dropped, returning its slabs.
    let stats = pages.into_inner().stats();
    assert_eq!(stats.objects_live, 0);
    assert_eq!(stats.objects_allocated, 4);
}

/// `NoLock`: one thread, the shared traits and `ObjectBox` through `&shared`,
/// `&mut` access without a lock, and the cache back out.
#[test]
fn no_lock_on_one_thread() {
    let cache = SlabBuilder::new("single")
        .build::<Vec<u8>, _, _>(
            || Vec::with_capacity(16),
            GlobalUntyped::system(slab_layout_for(Layout::new::<Vec<u8>>())),
        )
        .unwrap();
    // SAFETY: this test uses `shared` from its own thread only, and never
    // calls into it from inside `with` or the constructor.
    let mut shared = unsafe { Locked::<_, NoLock>::new_unchecked(cache) };
    {
        let mut boxed = ObjectBox::new_in(&shared).unwrap();
        boxed.push(1);
        let obj = SharedObjectAlloc::alloc(&shared).unwrap();
        // SAFETY: from `shared`, a valid `Vec`, freed once.
        unsafe { SharedObjectAlloc::dealloc(&shared, obj) };
    }
    let obj = ObjectAlloc::alloc(&mut shared).unwrap();
    // SAFETY: as above, through `&mut`.
    unsafe { ObjectAlloc::dealloc(&mut shared, obj) };
    assert_eq!(shared.get_mut().stats().objects_allocated, 3);
    let cache = shared.into_inner();
    let stats = cache.stats();
    assert_eq!((stats.objects_live, stats.constructions), (0, 2));
}

/// The untyped trait through `&mut Locked` takes no lock and reaches the
/// same cache as the shared one.
#[test]
fn mut_access_matches_shared_access() {
    let object = Layout::new::<[u8; 24]>();
    let mut shared = Locked::<_, SpinLock>::new(
        SlabBuilder::new("both")
            .layout(object)
            .build_untyped(GlobalUntyped::system(slab_layout_for(object)))
            .unwrap(),
    );
    assert_eq!(UntypedObjectAlloc::layout(&shared), object);
    let a = UntypedObjectAlloc::alloc(&mut shared).unwrap();
    // SAFETY: from `shared`'s cache; any handle takes it back.
    unsafe { SharedUntypedObjectAlloc::dealloc(&shared, a) };
    let b = SharedUntypedObjectAlloc::alloc(&shared).unwrap();
    // SAFETY: as above.
    unsafe { UntypedObjectAlloc::dealloc(&mut shared, b) };
    assert_eq!(shared.get_mut().stats().objects_freed, 2);
}
