use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;

use object_alloc::{
    DefaultInit, GlobalUntyped, HookUntyped, LayoutMismatch, ObjectAlloc, Typed, UntypedObjectAlloc,
};

/// An untyped allocator over the system heap that counts live blocks.
fn counted(layout: Layout, live: &Cell<isize>) -> impl UntypedObjectAlloc + '_ {
    let take = move |l: Layout| {
        assert_ne!(l.size(), 0, "the system heap needs a non-zero layout");
        live.set(live.get() + 1);
        // SAFETY: the layout is not zero-sized (checked above).
        NonNull::new(unsafe { System.alloc(l) })
    };
    let give = move |b: NonNull<u8>, l| {
        live.set(live.get() - 1);
        // SAFETY: every block came from `take` with `l`.
        unsafe { System.dealloc(b.as_ptr(), l) }
    };
    // SAFETY: forwards to the system heap with the layout.
    unsafe { HookUntyped::new(layout, take, give) }
}

#[test]
fn a_backing_too_small_or_too_loosely_aligned_is_refused() {
    let err = Typed::<u64, _, _>::new(GlobalUntyped::system(Layout::new::<u32>()), DefaultInit)
        .unwrap_err();
    assert_eq!(err.object(), Layout::new::<u64>());
    assert_eq!(err.backing(), Layout::new::<u32>());
    let loose = Layout::from_size_align(8, 1).unwrap();
    let err: LayoutMismatch =
        Typed::<u64, _, _>::new(GlobalUntyped::system(loose), DefaultInit).unwrap_err();
    assert!(
        err.to_string()
            .contains("aligned to 1 cannot hold an object of 8 bytes aligned to 8"),
        "{err}"
    );
}

#[test]
fn a_panicking_initialiser_gives_its_block_back() {
    let live = Cell::new(0);
    let mut n = 0;
    let fallible = Cell::new(true);
    let mut cache = Typed::new(counted(Layout::new::<u64>(), &live), || {
        if fallible.get() {
            panic!("constructor failed");
        }
        7u64
    })
    .unwrap();
    let result = catch_unwind(AssertUnwindSafe(|| cache.alloc()));
    assert!(result.is_err());
    assert_eq!(live.get(), 0, "the block of the failed construction leaked");
    fallible.set(false);
    let obj = cache.alloc().unwrap();
    // SAFETY: a constructed object we own.
    n += unsafe { *obj.as_ptr() };
    // SAFETY: from `cache`, freed once.
    unsafe { cache.dealloc(obj) };
    assert_eq!((n, live.get()), (7, 0));
}

/// Not zero-sized, so its blocks come from the system heap.
struct PanicOnDrop(#[allow(dead_code)] u64);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("destructor failed");
    }
}

#[test]
fn a_panicking_destructor_still_gives_the_block_back() {
    let live = Cell::new(0);
    let mut cache = Typed::new(counted(Layout::new::<PanicOnDrop>(), &live), || {
        PanicOnDrop(1)
    })
    .unwrap();
    let obj = cache.alloc().unwrap();
    assert_eq!(live.get(), 1);
    // SAFETY: from `cache`, freed once, a valid object.
    let result = catch_unwind(AssertUnwindSafe(|| unsafe { cache.dealloc(obj) }));
    assert!(result.is_err());
    assert_eq!(live.get(), 0);
}

#[test]
fn zero_sized_objects_are_served() {
    let mut units =
        Typed::<(), _, _>::new(GlobalUntyped::system(Layout::new::<()>()), DefaultInit).unwrap();
    let a = units.alloc().unwrap();
    // SAFETY: from `units`, freed once.
    unsafe { units.dealloc(a) };
}
