//! The conformance suite on every adapter of the crate, directly and through
//! the forwarding handles (`&A`, `&mut A`, `Box<A>`, `Arc<A>`,
//! `LocalHandle`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::RefCell;
use std::ptr::NonNull;
use std::sync::Arc;

use object_alloc::{
    AllocError, GlobalUntyped, HookUntyped, LocalHandle, ObjectAlloc, SharedUntypedObjectAlloc,
    Typed, UntypedObjectAlloc,
};

/// A shared untyped allocator over the system heap built from two plain
/// functions.
fn system_hooks(layout: Layout) -> impl SharedUntypedObjectAlloc {
    fn take(layout: Layout) -> Option<NonNull<u8>> {
        // SAFETY: the suite's layouts have non-zero sizes.
        NonNull::new(unsafe { System.alloc(layout) })
    }
    fn give(block: NonNull<u8>, layout: Layout) {
        // SAFETY: every block came from `take` with this layout.
        unsafe { System.dealloc(block.as_ptr(), layout) }
    }
    // SAFETY: the hooks hand out and take back system-heap blocks of the
    // layout, from any thread.
    unsafe { HookUntyped::new(layout, take, give) }
}

/// A single-threaded untyped allocator from `FnMut` closures that share a
/// count of live blocks, and refuse to take back more than they gave.
fn counting_hooks(layout: Layout) -> impl UntypedObjectAlloc {
    let live = std::rc::Rc::new(std::cell::Cell::new(0usize));
    let given = live.clone();
    let take = move |l| {
        given.set(given.get() + 1);
        // SAFETY: the suite's layouts have non-zero sizes.
        NonNull::new(unsafe { System.alloc(l) })
    };
    let give = move |b: NonNull<u8>, l| {
        assert!(
            live.get() > 0,
            "a block was freed that the hooks never gave out"
        );
        live.set(live.get() - 1);
        // SAFETY: every block came from `take` with `l`.
        unsafe { System.dealloc(b.as_ptr(), l) }
    };
    // SAFETY: the closures forward to the system heap with the layout.
    unsafe { HookUntyped::new(layout, take, give) }
}

// Untyped adapters.
object_alloc_test::shared_untyped_suite!(global_untyped, |layout| GlobalUntyped::new(
    System, layout
));
object_alloc_test::shared_untyped_suite!(hook_untyped_shared, |layout| system_hooks(layout));
object_alloc_test::untyped_suite!(hook_untyped_local, |layout| counting_hooks(layout));
object_alloc_test::shared_untyped_suite!(arc_handle, |layout| Arc::new(GlobalUntyped::new(
    System, layout
)));
object_alloc_test::shared_untyped_suite!(box_handle, |layout| Box::new(system_hooks(layout)));
object_alloc_test::untyped_suite!(
    global_untyped_zero_size,
    |layout| GlobalUntyped::new(System, layout),
    layouts = [0, 1].map(|size| Layout::from_size_align(size, 16).unwrap())
);

/// Owns a shared allocator and calls it only through `&A`, the blanket impl
/// that makes a reference to a shared allocator an allocator by value.
struct ThroughRef<A>(A);

// SAFETY: every call goes to the `&A` impl of the allocator it owns.
unsafe impl<A: SharedUntypedObjectAlloc> UntypedObjectAlloc for ThroughRef<A> {
    fn layout(&self) -> Layout {
        UntypedObjectAlloc::layout(&&self.0)
    }

    fn alloc(&mut self) -> Result<NonNull<u8>, AllocError> {
        UntypedObjectAlloc::alloc(&mut &self.0)
    }

    unsafe fn dealloc(&mut self, ptr: NonNull<u8>) {
        // SAFETY: forwarded from the caller.
        unsafe { UntypedObjectAlloc::dealloc(&mut &self.0, ptr) }
    }
}

// SAFETY: every call goes to the `&A` impl of the allocator it owns.
unsafe impl<A: SharedUntypedObjectAlloc> SharedUntypedObjectAlloc for ThroughRef<A> {
    fn alloc(&self) -> Result<NonNull<u8>, AllocError> {
        SharedUntypedObjectAlloc::alloc(&&self.0)
    }

    unsafe fn dealloc(&self, ptr: NonNull<u8>) {
        // SAFETY: forwarded from the caller.
        unsafe { SharedUntypedObjectAlloc::dealloc(&&self.0, ptr) }
    }
}

object_alloc_test::shared_untyped_suite!(ref_handle, |layout| ThroughRef(GlobalUntyped::new(
    System, layout
)));

// Typed views.
object_alloc_test::shared_typed_suite!(typed_over_global, <T>(init) => {
    Typed::<T, _, _>::new(GlobalUntyped::system(Layout::new::<T>()), init).unwrap()
});
object_alloc_test::shared_typed_suite!(typed_over_hooks, <T>(init) => {
    Typed::<T, _, _>::new(system_hooks(Layout::new::<T>()), init).unwrap()
});
object_alloc_test::typed_suite!(typed_over_local_hooks, <T>(init) => {
    Typed::<T, _, _>::new(counting_hooks(Layout::new::<T>()), init).unwrap()
});
object_alloc_test::typed_suite!(typed_through_box, <T>(init) => {
    Box::new(Typed::<T, _, _>::new(GlobalUntyped::system(Layout::new::<T>()), init).unwrap())
});
object_alloc_test::shared_typed_suite!(typed_through_arc, <T>(init) => {
    Arc::new(Typed::<T, _, _>::new(GlobalUntyped::system(Layout::new::<T>()), init).unwrap())
});

/// Owns a single-threaded allocator in a `RefCell` and calls it only through
/// a fresh `LocalHandle` each time.
struct ThroughLocalHandle<A>(RefCell<A>);

// SAFETY: every call goes to the `LocalHandle` impl over the owned cell.
unsafe impl<T, A: ObjectAlloc<T>> ObjectAlloc<T> for ThroughLocalHandle<A> {
    fn alloc(&mut self) -> Result<NonNull<T>, AllocError> {
        LocalHandle::new(&self.0).alloc()
    }

    unsafe fn dealloc(&mut self, obj: NonNull<T>) {
        // SAFETY: forwarded from the caller.
        unsafe { LocalHandle::new(&self.0).dealloc(obj) }
    }
}

object_alloc_test::typed_suite!(local_handle_over_typed, <T>(init) => {
    ThroughLocalHandle(RefCell::new(Typed::<T, _, _>::new(counting_hooks(Layout::new::<T>()), init).unwrap()))
});
