//! An untyped allocator over any [`GlobalAlloc`].

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;

use crate::{AllocError, SharedUntypedObjectAlloc, UntypedObjectAlloc};

/// An [`UntypedObjectAlloc`] of one [`Layout`] over any [`GlobalAlloc`]: the
/// system heap, mimalloc, jemalloc, or this workspace's own zone.
///
/// It is the simplest backing for a slab cache (`GlobalUntyped::system` with
/// the slab's layout), and shared when the global allocator is `Sync`, as
/// every `#[global_allocator]` is.
///
/// A zero-size layout is served without calling the global allocator (which
/// must not be asked for zero bytes): every block is the layout's aligned
/// dangling pointer.
///
/// # Examples
///
/// ```
/// use core::alloc::Layout;
/// use std::alloc::System;
/// use object_alloc::{GlobalUntyped, UntypedObjectAlloc};
///
/// let slab_layout = Layout::from_size_align(64 * 1024, 64 * 1024).unwrap();
/// let mut slabs = GlobalUntyped::new(System, slab_layout);
/// let slab = slabs.alloc().unwrap();
/// assert_eq!(slab.as_ptr() as usize % (64 * 1024), 0);
/// // SAFETY: `slab` came from `slabs` and is freed once.
/// unsafe { slabs.dealloc(slab) };
/// ```
#[derive(Clone, Copy, Debug)]
pub struct GlobalUntyped<G> {
    global: G,
    layout: Layout,
}

impl<G: GlobalAlloc> GlobalUntyped<G> {
    /// Serves blocks of `layout` from `global`.
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// # use std::alloc::System;
    /// # use object_alloc::{GlobalUntyped, UntypedObjectAlloc};
    /// const PAGES: GlobalUntyped<System> = GlobalUntyped::new(System, Layout::new::<[u8; 4096]>());
    /// assert_eq!(PAGES.layout().size(), 4096);
    /// ```
    pub const fn new(global: G, layout: Layout) -> Self {
        GlobalUntyped { global, layout }
    }

    /// The global allocator the blocks come from.
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// # use std::alloc::System;
    /// # use object_alloc::GlobalUntyped;
    /// let blocks = GlobalUntyped::new(System, Layout::new::<u8>());
    /// let _system: &System = blocks.global();
    /// ```
    pub const fn global(&self) -> &G {
        &self.global
    }
}

#[cfg(feature = "std")]
impl GlobalUntyped<std::alloc::System> {
    /// Serves blocks of `layout` from the system heap.
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// # use object_alloc::{GlobalUntyped, UntypedObjectAlloc};
    /// let blocks = GlobalUntyped::system(Layout::new::<[u64; 2]>());
    /// assert_eq!(blocks.layout(), Layout::new::<[u64; 2]>());
    /// ```
    pub const fn system(layout: Layout) -> Self {
        GlobalUntyped::new(std::alloc::System, layout)
    }
}

impl<G: GlobalAlloc> GlobalUntyped<G> {
    #[inline]
    fn alloc_block(&self) -> Result<NonNull<u8>, AllocError> {
        if self.layout.size() == 0 {
            let dangling = core::ptr::without_provenance_mut::<u8>(self.layout.align());
            // SAFETY: an alignment is never zero.
            return Ok(unsafe { NonNull::new_unchecked(dangling) });
        }
        // SAFETY: the layout has a non-zero size, as `GlobalAlloc::alloc`
        // requires.
        let ptr = unsafe { self.global.alloc(self.layout) };
        NonNull::new(ptr).ok_or(AllocError)
    }

    /// # Safety
    ///
    /// `ptr` came from `alloc_block` on this value and is freed once.
    #[inline]
    unsafe fn dealloc_block(&self, ptr: NonNull<u8>) {
        if self.layout.size() != 0 {
            // SAFETY: the caller guarantees `ptr` came from `self.global` with
            // `self.layout` (non-zero blocks always do) and is freed once.
            unsafe { self.global.dealloc(ptr.as_ptr(), self.layout) }
        }
    }
}

// SAFETY: blocks come from `GlobalAlloc::alloc` with the fixed layout, which
// returns aligned, disjoint blocks valid until `dealloc`; zero-size blocks
// are aligned dangling pointers, which are valid for zero bytes. The global
// allocator's blocks do not depend on where this value lives.
unsafe impl<G: GlobalAlloc> UntypedObjectAlloc for GlobalUntyped<G> {
    #[inline]
    fn layout(&self) -> Layout {
        self.layout
    }

    #[inline]
    fn alloc(&mut self) -> Result<NonNull<u8>, AllocError> {
        self.alloc_block()
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>) {
        // SAFETY: forwarded from the caller.
        unsafe { self.dealloc_block(ptr) }
    }
}

// SAFETY: `GlobalAlloc` methods take `&self`, and a `Sync` global allocator
// serves calls from any thread, including frees of blocks allocated on
// another thread.
unsafe impl<G: GlobalAlloc + Sync> SharedUntypedObjectAlloc for GlobalUntyped<G> {
    #[inline]
    fn alloc(&self) -> Result<NonNull<u8>, AllocError> {
        self.alloc_block()
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: NonNull<u8>) {
        // SAFETY: forwarded from the caller.
        unsafe { self.dealloc_block(ptr) }
    }
}
