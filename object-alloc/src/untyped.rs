//! Untyped object allocators: blocks of one fixed [`Layout`], no
//! initialisation promise.

use core::alloc::Layout;
use core::ptr::NonNull;

use crate::AllocError;

/// An allocator of untyped blocks of one fixed [`Layout`], used through
/// `&mut self`.
///
/// This is also the *backing* interface of the workspace: a slab allocator
/// takes each slab from an `UntypedObjectAlloc` whose layout is the slab's size
/// and alignment, so any memory source (the heap, kernel pages, a static
/// pool, a kernel frame allocator) plugs in by implementing this trait (see
/// the crate docs, *Backing allocators*).
///
/// A block's contents are unspecified when it is handed out: they may be
/// uninitialised, or hold what the previous owner left.
///
/// # Safety
///
/// Implementors guarantee, for every allocator value:
/// - `layout` returns the same layout for the allocator's whole life.
/// - A block returned by `alloc` is aligned to `layout().align()` and valid
///   for reads and writes of `layout().size()` bytes until it is passed to
///   `dealloc` or the allocator is dropped, and moving the allocator does not
///   invalidate it.
/// - Blocks of non-zero size that are live at the same time do not overlap.
///
/// # Examples
///
/// ```
/// use core::alloc::Layout;
/// use object_alloc::{GlobalUntyped, UntypedObjectAlloc};
///
/// let mut blocks = GlobalUntyped::system(Layout::from_size_align(48, 16).unwrap());
/// let block = blocks.alloc().expect("out of memory");
/// assert_eq!(block.as_ptr() as usize % 16, 0);
/// // SAFETY: `block` came from `blocks` and is freed once.
/// unsafe { blocks.dealloc(block) };
/// ```
pub unsafe trait UntypedObjectAlloc {
    /// The layout of every block this allocator hands out.
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// # use object_alloc::{GlobalUntyped, UntypedObjectAlloc};
    /// let blocks = GlobalUntyped::system(Layout::new::<[u64; 4]>());
    /// assert_eq!(blocks.layout().size(), 32);
    /// ```
    fn layout(&self) -> Layout;

    /// Hands out one block, or [`AllocError`] when the memory source is
    /// exhausted.
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// # use object_alloc::{GlobalUntyped, UntypedObjectAlloc};
    /// let mut blocks = GlobalUntyped::system(Layout::new::<u32>());
    /// let block = blocks.alloc().unwrap();
    /// // SAFETY: the block is 4 bytes, aligned to 4, and ours until freed.
    /// unsafe { block.cast::<u32>().write(7) };
    /// // SAFETY: the block came from `blocks` and is freed once.
    /// unsafe { blocks.dealloc(block) };
    /// ```
    fn alloc(&mut self) -> Result<NonNull<u8>, AllocError>;

    /// Takes back a block.
    ///
    /// # Safety
    ///
    /// - `ptr` was returned by `alloc` on this allocator, or on another handle
    ///   to the same allocator (a reference, `Box` or `Arc` of it).
    /// - `ptr` has not been passed to `dealloc` since then.
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// # use object_alloc::{GlobalUntyped, UntypedObjectAlloc};
    /// let mut blocks = GlobalUntyped::system(Layout::new::<u32>());
    /// let block = blocks.alloc().unwrap();
    /// // SAFETY: the block came from `blocks` and is freed once.
    /// unsafe { blocks.dealloc(block) };
    /// ```
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>);
}

/// An [`UntypedObjectAlloc`] that many threads may call at once through
/// `&self`.
///
/// Every shared allocator is also an [`UntypedObjectAlloc`] (the supertrait),
/// and a reference to one is an `UntypedObjectAlloc` by a blanket impl, so
/// `&shared` can be handed to anything that wants a backing allocator by
/// value.
///
/// # Safety
///
/// Implementors guarantee everything [`UntypedObjectAlloc`] requires, for calls
/// made from any number of threads at once through `&self`; in particular a
/// block may be freed on a thread other than the one that allocated it.
///
/// # Examples
///
/// ```
/// use core::alloc::Layout;
/// use object_alloc::{GlobalUntyped, SharedUntypedObjectAlloc};
///
/// // Any number of threads allocate and free through `&blocks`.
/// let blocks = GlobalUntyped::system(Layout::new::<[u8; 64]>());
/// std::thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| {
///             let block = blocks.alloc().unwrap();
///             // SAFETY: `block` came from `blocks` and is freed once.
///             unsafe { blocks.dealloc(block) };
///         });
///     }
/// });
/// ```
pub unsafe trait SharedUntypedObjectAlloc: UntypedObjectAlloc + Sync {
    /// Hands out one block, or [`AllocError`] when the memory source is
    /// exhausted. Callable from any thread.
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// # use object_alloc::{GlobalUntyped, SharedUntypedObjectAlloc};
    /// let blocks = GlobalUntyped::system(Layout::new::<u32>());
    /// let block = SharedUntypedObjectAlloc::alloc(&blocks).unwrap();
    /// // SAFETY: the block came from `blocks` and is freed once.
    /// unsafe { SharedUntypedObjectAlloc::dealloc(&blocks, block) };
    /// ```
    fn alloc(&self) -> Result<NonNull<u8>, AllocError>;

    /// Takes back a block, on any thread.
    ///
    /// # Safety
    ///
    /// - `ptr` was returned by `alloc` on this allocator, or on another handle
    ///   to the same allocator.
    /// - `ptr` has not been passed to `dealloc` since then.
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// # use object_alloc::{GlobalUntyped, SharedUntypedObjectAlloc};
    /// # use core::ptr::NonNull;
    /// struct Block(NonNull<u8>);
    /// // SAFETY: the block is plain memory that no other thread uses.
    /// unsafe impl Send for Block {}
    ///
    /// let blocks = GlobalUntyped::system(Layout::new::<u32>());
    /// let block = Block(blocks.alloc().unwrap());
    /// std::thread::scope(|s| {
    ///     s.spawn(|| {
    ///         let block = block;
    ///         // SAFETY: the block came from `blocks` and is freed once; a
    ///         // shared allocator takes blocks back on any thread.
    ///         unsafe { blocks.dealloc(block.0) }
    ///     });
    /// });
    /// ```
    unsafe fn dealloc(&self, ptr: NonNull<u8>);
}

// A shared allocator is usable wherever a single-threaded one is wanted,
// through a reference to it.
//
// SAFETY: every call forwards to the shared allocator, which upholds the
// untyped contract for calls through `&self` from any thread, so also for
// calls from one.
unsafe impl<A: SharedUntypedObjectAlloc + ?Sized> UntypedObjectAlloc for &A {
    #[inline]
    fn layout(&self) -> Layout {
        (**self).layout()
    }

    #[inline]
    fn alloc(&mut self) -> Result<NonNull<u8>, AllocError> {
        SharedUntypedObjectAlloc::alloc(*self)
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>) {
        // SAFETY: the caller guarantees `ptr` came from this allocator (a
        // handle to it) and is live.
        unsafe { SharedUntypedObjectAlloc::dealloc(*self, ptr) }
    }
}

// SAFETY: forwards to a shared allocator; `&A` is `Sync` because `A` is.
unsafe impl<A: SharedUntypedObjectAlloc + ?Sized> SharedUntypedObjectAlloc for &A {
    #[inline]
    fn alloc(&self) -> Result<NonNull<u8>, AllocError> {
        SharedUntypedObjectAlloc::alloc(*self)
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: NonNull<u8>) {
        // SAFETY: forwarded from the caller.
        unsafe { SharedUntypedObjectAlloc::dealloc(*self, ptr) }
    }
}

// SAFETY: forwards every call to the allocator behind the unique reference.
unsafe impl<A: UntypedObjectAlloc + ?Sized> UntypedObjectAlloc for &mut A {
    #[inline]
    fn layout(&self) -> Layout {
        (**self).layout()
    }

    #[inline]
    fn alloc(&mut self) -> Result<NonNull<u8>, AllocError> {
        (**self).alloc()
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>) {
        // SAFETY: forwarded from the caller.
        unsafe { (**self).dealloc(ptr) }
    }
}

#[cfg(feature = "alloc")]
mod owned {
    use alloc::boxed::Box;
    use alloc::sync::Arc;

    use super::*;

    // SAFETY: forwards every call to the boxed allocator, which does not move
    // when the box does.
    unsafe impl<A: UntypedObjectAlloc + ?Sized> UntypedObjectAlloc for Box<A> {
        #[inline]
        fn layout(&self) -> Layout {
            (**self).layout()
        }

        #[inline]
        fn alloc(&mut self) -> Result<NonNull<u8>, AllocError> {
            (**self).alloc()
        }

        #[inline]
        unsafe fn dealloc(&mut self, ptr: NonNull<u8>) {
            // SAFETY: forwarded from the caller.
            unsafe { (**self).dealloc(ptr) }
        }
    }

    // SAFETY: forwards to the boxed shared allocator.
    unsafe impl<A: SharedUntypedObjectAlloc + ?Sized> SharedUntypedObjectAlloc for Box<A> {
        #[inline]
        fn alloc(&self) -> Result<NonNull<u8>, AllocError> {
            SharedUntypedObjectAlloc::alloc(&**self)
        }

        #[inline]
        unsafe fn dealloc(&self, ptr: NonNull<u8>) {
            // SAFETY: forwarded from the caller.
            unsafe { SharedUntypedObjectAlloc::dealloc(&**self, ptr) }
        }
    }

    // SAFETY: forwards to the shared allocator every clone of the `Arc`
    // points to, so a block may be freed through any clone.
    unsafe impl<A: SharedUntypedObjectAlloc + ?Sized> UntypedObjectAlloc for Arc<A> {
        #[inline]
        fn layout(&self) -> Layout {
            (**self).layout()
        }

        #[inline]
        fn alloc(&mut self) -> Result<NonNull<u8>, AllocError> {
            SharedUntypedObjectAlloc::alloc(&**self)
        }

        #[inline]
        unsafe fn dealloc(&mut self, ptr: NonNull<u8>) {
            // SAFETY: forwarded from the caller.
            unsafe { SharedUntypedObjectAlloc::dealloc(&**self, ptr) }
        }
    }

    // SAFETY: as above. `Arc<A>` is `Sync` only when `A` is `Send` as well as
    // `Sync`, hence the extra bound.
    unsafe impl<A: SharedUntypedObjectAlloc + Send + ?Sized> SharedUntypedObjectAlloc for Arc<A> {
        #[inline]
        fn alloc(&self) -> Result<NonNull<u8>, AllocError> {
            SharedUntypedObjectAlloc::alloc(&**self)
        }

        #[inline]
        unsafe fn dealloc(&self, ptr: NonNull<u8>) {
            // SAFETY: forwarded from the caller.
            unsafe { SharedUntypedObjectAlloc::dealloc(&**self, ptr) }
        }
    }
}
