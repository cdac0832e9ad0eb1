//! Backings for the tests: a pool of slabs carved from owned chunks (behind
//! `HookUntyped`), and a wrapper that counts backing calls.

use std::alloc::Layout;
use std::cell::{Cell, RefCell};
use std::ptr::NonNull;
use std::rc::Rc;

use object_alloc::{AllocError, HookUntyped, UntypedObjectAlloc};

/// Slabs of one layout cut from chunks of a few slabs each; freed slabs are
/// kept on a list (outside the slabs) and handed out again.
pub(crate) struct Pool {
    layout: Layout,
    chunks: Vec<Vec<u8>>,
    free: Vec<NonNull<u8>>,
}

const SLABS_PER_CHUNK: usize = 4;

impl Pool {
    fn take(&mut self) -> Option<NonNull<u8>> {
        if self.free.is_empty() {
            let size = self.layout.size();
            let mut chunk = Vec::<u8>::with_capacity(size * (SLABS_PER_CHUNK + 1));
            let start = chunk.as_mut_ptr();
            let skip = start.align_offset(self.layout.align());
            for i in (0..SLABS_PER_CHUNK).rev() {
                // SAFETY: `skip < align <= size`, so every slab lies inside
                // the chunk's capacity.
                self.free
                    .push(NonNull::new(unsafe { start.add(skip + i * size) })?);
            }
            self.chunks.push(chunk);
        }
        self.free.pop()
    }
}

/// A `HookUntyped` over a fresh [`Pool`] of `layout` slabs.
pub(crate) fn pool(layout: Layout) -> impl UntypedObjectAlloc {
    let pool = Rc::new(RefCell::new(Pool {
        layout,
        chunks: Vec::new(),
        free: Vec::new(),
    }));
    let give = pool.clone();
    // SAFETY: the pool hands out disjoint, aligned slabs of `layout` from
    // chunks it keeps until both hooks (which own it) are dropped, and takes
    // back only what it handed out.
    unsafe {
        HookUntyped::new(
            layout,
            move |_| pool.borrow_mut().take(),
            move |slab, _| give.borrow_mut().free.push(slab),
        )
    }
}

/// Counts of backing calls, shared with the test.
#[derive(Default, Debug)]
pub(crate) struct Calls {
    pub(crate) allocs: Cell<usize>,
    pub(crate) deallocs: Cell<usize>,
}

/// Forwards to `B` and counts the calls.
pub(crate) struct Counting<B> {
    pub(crate) inner: B,
    pub(crate) calls: Rc<Calls>,
}

// SAFETY: every call is forwarded to `inner`.
unsafe impl<B: UntypedObjectAlloc> UntypedObjectAlloc for Counting<B> {
    fn layout(&self) -> Layout {
        self.inner.layout()
    }

    fn alloc(&mut self) -> Result<NonNull<u8>, AllocError> {
        self.calls.allocs.set(self.calls.allocs.get() + 1);
        self.inner.alloc()
    }

    unsafe fn dealloc(&mut self, ptr: NonNull<u8>) {
        self.calls.deallocs.set(self.calls.deallocs.get() + 1);
        // SAFETY: forwarded from the caller.
        unsafe { self.inner.dealloc(ptr) }
    }
}
