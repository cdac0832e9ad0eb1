use std::alloc::Layout;
use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use object_alloc::{
    DefaultInit, GlobalUntyped, LocalHandle, ObjectAlloc, ObjectBox, SharedObjectAlloc, Typed,
};

/// Counts drops of the objects a test boxes.
struct Counted<'a>(&'a AtomicUsize);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn dropping_a_box_gives_the_object_back() {
    let drops = AtomicUsize::new(0);
    let cache = Typed::new(GlobalUntyped::system(Layout::new::<Counted>()), || {
        Counted(&drops)
    })
    .unwrap();
    let boxes: Vec<_> = (0..10)
        .map(|_| ObjectBox::new_in(&cache).unwrap())
        .collect();
    assert_eq!(drops.load(Ordering::Relaxed), 0);
    drop(boxes);
    // `Typed` drops an object when it is given back.
    assert_eq!(drops.load(Ordering::Relaxed), 10);
}

#[test]
fn boxes_of_a_shared_allocator_are_dropped_on_other_threads() {
    let drops = AtomicUsize::new(0);
    let cache = Typed::new(GlobalUntyped::system(Layout::new::<Counted>()), || {
        Counted(&drops)
    })
    .unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            let boxes: Vec<_> = (0..100)
                .map(|_| ObjectBox::new_in(&cache).unwrap())
                .collect();
            s.spawn(move || drop(boxes));
        }
    });
    assert_eq!(drops.load(Ordering::Relaxed), 400);
}

#[test]
fn boxes_through_an_arc_outlive_the_creating_scope() {
    let cache = Arc::new(
        Typed::<u64, _, _>::new(GlobalUntyped::system(Layout::new::<u64>()), DefaultInit).unwrap(),
    );
    let mut boxed = ObjectBox::new_in(Arc::clone(&cache)).unwrap();
    *boxed = 99;
    let handle = std::thread::spawn(move || *boxed);
    assert_eq!(handle.join().unwrap(), 99);
    assert_eq!(Arc::strong_count(&cache), 1);
}

#[test]
fn new_with_replaces_the_constructed_value() {
    let drops = AtomicUsize::new(0);
    let cache = Typed::new(
        GlobalUntyped::system(Layout::new::<(Counted, u32)>()),
        || (Counted(&drops), 1),
    )
    .unwrap();
    let boxed = ObjectBox::new_with(&cache, (Counted(&drops), 2)).unwrap();
    // The constructed value was dropped when it was replaced.
    assert_eq!(drops.load(Ordering::Relaxed), 1);
    assert_eq!(boxed.1, 2);
    drop(boxed);
    assert_eq!(drops.load(Ordering::Relaxed), 2);
}

#[test]
fn into_raw_and_from_raw_round_trip() {
    let cache =
        Typed::<String, _, _>::new(GlobalUntyped::system(Layout::new::<String>()), DefaultInit)
            .unwrap();
    let mut boxed = ObjectBox::new_in(&cache).unwrap();
    boxed.push_str("kept");
    let (obj, handle) = ObjectBox::into_raw(boxed);
    // SAFETY: `obj` is the live object the box owned, from `cache`.
    let boxed = unsafe { ObjectBox::from_raw(obj, handle) };
    assert_eq!(*boxed, "kept");
    assert_eq!(format!("{boxed} {boxed:?}"), "kept \"kept\"");
}

#[test]
fn local_handles_share_one_single_threaded_allocator() {
    let made = Cell::new(0);
    let cache = RefCell::new(
        Typed::new(GlobalUntyped::system(Layout::new::<u32>()), || {
            made.set(made.get() + 1);
            made.get()
        })
        .unwrap(),
    );
    let a = ObjectBox::new_in(LocalHandle::new(&cache)).unwrap();
    let b = ObjectBox::new_in(LocalHandle::new(&cache)).unwrap();
    assert_eq!((*a, *b), (1, 2));
    drop((a, b));
    // The allocator is free again once the boxes are gone.
    assert!(cache.try_borrow_mut().is_ok());
}

/// A node whose children are boxes from the same single-threaded cache.
struct Node {
    children: Vec<ObjectBox<Node, LocalHandle<'static, Cache>>>,
}

type Cache = Typed<Node, GlobalUntyped<std::alloc::System>, fn() -> Node>;

#[test]
#[should_panic(expected = "already borrowed")]
#[cfg_attr(
    miri,
    ignore = "the panic leaves the child object and the cache allocated, which Miri reports as leaks"
)]
fn a_local_handle_reentered_from_a_destructor_panics() {
    let leaf: fn() -> Node = || Node {
        children: Vec::new(),
    };
    let cache: &'static RefCell<Cache> = Box::leak(Box::new(RefCell::new(
        Typed::new(GlobalUntyped::system(Layout::new::<Node>()), leaf).unwrap(),
    )));
    let handle = LocalHandle::new(cache);
    let mut parent = ObjectBox::new_in(handle).unwrap();
    parent.children.push(ObjectBox::new_in(handle).unwrap());
    // `Typed` drops the parent inside `dealloc`, and the parent's child box
    // returns to the same, still borrowed, cache: the documented panic.
    drop(parent);
}

#[test]
fn shared_calls_work_through_every_handle() {
    let cache =
        Typed::<u8, _, _>::new(GlobalUntyped::system(Layout::new::<u8>()), DefaultInit).unwrap();
    let mut by_ref = &cache;
    let a = ObjectAlloc::alloc(&mut by_ref).unwrap();
    let b = SharedObjectAlloc::alloc(&by_ref).unwrap();
    let mut boxed = Box::new(&cache);
    let c = ObjectAlloc::alloc(&mut boxed).unwrap();
    assert!(a != b && b != c && a != c);
    for obj in [a, b, c] {
        // SAFETY: each came from `cache` through a handle and is freed once.
        unsafe { SharedObjectAlloc::dealloc(&cache, obj) };
    }
}
