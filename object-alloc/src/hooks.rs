//! An untyped allocator made from a pair of functions.

use core::alloc::Layout;
use core::fmt;
use core::ptr::NonNull;

use crate::{AllocError, SharedUntypedObjectAlloc, UntypedObjectAlloc};

/// An [`UntypedObjectAlloc`] made from an *allocate* and a *free* function or
/// closure: the way to attach a foreign memory source (a static pool, a
/// kernel frame allocator, an arena, an instrumented heap) as a backing
/// allocator.
///
/// The allocate hook is called with the layout and returns a block or `None`
/// when its source is exhausted; the free hook gets each block back with the
/// same layout. With `FnMut` hooks the allocator is single-threaded; with
/// `Fn + Sync` hooks it is also a [`SharedUntypedObjectAlloc`].
///
/// # Examples
///
/// A pool of eight 4 KiB frames in a static, as a kernel or firmware would
/// have, handing frames to anything that takes a backing allocator:
///
/// ```
/// use core::alloc::Layout;
/// use core::cell::UnsafeCell;
/// use core::ptr::NonNull;
/// use core::sync::atomic::{AtomicU8, Ordering};
/// use object_alloc::{AllocError, HookUntyped, SharedUntypedObjectAlloc};
///
/// #[repr(C, align(4096))]
/// struct Frames(UnsafeCell<[[u8; 4096]; 8]>);
/// // SAFETY: each frame is handed to one owner at a time by the bitmap below.
/// unsafe impl Sync for Frames {}
///
/// static FRAMES: Frames = Frames(UnsafeCell::new([[0; 4096]; 8]));
/// static IN_USE: AtomicU8 = AtomicU8::new(0);
///
/// fn take_frame(_: Layout) -> Option<NonNull<u8>> {
///     let mut used = IN_USE.load(Ordering::Relaxed);
///     loop {
///         let free = (!used).trailing_zeros() as usize;
///         if free == 8 {
///             return None;
///         }
///         match IN_USE.compare_exchange_weak(used, used | 1 << free, Ordering::Acquire, Ordering::Relaxed) {
///             Ok(_) => return NonNull::new(FRAMES.0.get().cast::<[u8; 4096]>().wrapping_add(free).cast()),
///             Err(now) => used = now,
///         }
///     }
/// }
///
/// fn give_frame(frame: NonNull<u8>, _: Layout) {
///     let index = (frame.addr().get() - FRAMES.0.get().addr()) / 4096;
///     IN_USE.fetch_and(!(1 << index), Ordering::Release);
/// }
///
/// let layout = Layout::from_size_align(4096, 4096).unwrap();
/// // SAFETY: `take_frame` hands out each frame (4096 bytes, aligned to 4096)
/// // once until `give_frame` gets it back.
/// let frames = unsafe { HookUntyped::new(layout, take_frame, give_frame) };
/// let all: Vec<_> = (0..8).map(|_| frames.alloc().unwrap()).collect();
/// assert_eq!(frames.alloc(), Err(AllocError));
/// for frame in all {
///     // SAFETY: each frame came from `frames` and is freed once.
///     unsafe { frames.dealloc(frame) };
/// }
/// ```
pub struct HookUntyped<A, D> {
    layout: Layout,
    alloc: A,
    dealloc: D,
}

impl<A, D> HookUntyped<A, D> {
    /// Makes an allocator of `layout` from an allocate hook and a free hook.
    ///
    /// # Safety
    ///
    /// - Every block `alloc` returns is aligned to `layout.align()`, valid for
    ///   reads and writes of `layout.size()` bytes, and does not overlap any
    ///   other block it returned that has not been given to `dealloc`.
    /// - A block stays valid until it is given to `dealloc`, even if the
    ///   `HookUntyped` is moved or dropped.
    /// - If the hooks are `Fn + Sync` (so that the result is shared), they may
    ///   be called from several threads at once, and a block may come back to
    ///   `dealloc` on another thread.
    ///
    /// The alignment promise is checked on every block (a misaligned block
    /// panics with the address rather than letting a caller misuse it).
    ///
    /// ```
    /// use core::alloc::{GlobalAlloc, Layout};
    /// use core::cell::Cell;
    /// use core::ptr::NonNull;
    /// use std::alloc::System;
    /// use object_alloc::{HookUntyped, UntypedObjectAlloc};
    ///
    /// // An instrumented heap: count what the backing hands out.
    /// let allocated = Cell::new(0);
    /// let take = |layout: Layout| {
    ///     allocated.set(allocated.get() + 1);
    ///     // SAFETY: the layout has a non-zero size.
    ///     NonNull::new(unsafe { System.alloc(layout) })
    /// };
    /// // SAFETY: every block came from `System.alloc` with this layout.
    /// let give = |block: NonNull<u8>, layout| unsafe { System.dealloc(block.as_ptr(), layout) };
    ///
    /// // SAFETY: the hooks hand out and take back system-heap blocks of the
    /// // layout they are given.
    /// let mut counted = unsafe { HookUntyped::new(Layout::new::<[u64; 4]>(), take, give) };
    /// let block = counted.alloc().unwrap();
    /// // SAFETY: from `counted`, freed once.
    /// unsafe { counted.dealloc(block) };
    /// assert_eq!(allocated.get(), 1);
    /// ```
    pub const unsafe fn new(layout: Layout, alloc: A, dealloc: D) -> Self {
        HookUntyped {
            layout,
            alloc,
            dealloc,
        }
    }

    #[inline]
    fn checked(layout: Layout, block: Option<NonNull<u8>>) -> Result<NonNull<u8>, AllocError> {
        let block = block.ok_or(AllocError)?;
        if block.addr().get() & (layout.align() - 1) != 0 {
            misaligned(block, layout);
        }
        Ok(block)
    }
}

#[cold]
#[inline(never)]
fn misaligned(block: NonNull<u8>, layout: Layout) -> ! {
    panic!(
        "HookUntyped: the allocate hook returned {block:p}, which is not aligned to {} (layout of {} bytes)",
        layout.align(),
        layout.size()
    )
}

impl<A, D> fmt::Debug for HookUntyped<A, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookUntyped")
            .field("layout", &self.layout)
            .finish_non_exhaustive()
    }
}

// SAFETY: `HookUntyped::new`'s caller promised that the allocate hook returns
// aligned, disjoint blocks of the layout that stay valid until the free hook
// gets them back, independent of where this value lives; alignment is also
// checked above.
unsafe impl<A, D> UntypedObjectAlloc for HookUntyped<A, D>
where
    A: FnMut(Layout) -> Option<NonNull<u8>>,
    D: FnMut(NonNull<u8>, Layout),
{
    #[inline]
    fn layout(&self) -> Layout {
        self.layout
    }

    #[inline]
    fn alloc(&mut self) -> Result<NonNull<u8>, AllocError> {
        Self::checked(self.layout, (self.alloc)(self.layout))
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>) {
        (self.dealloc)(ptr, self.layout)
    }
}

// SAFETY: with `Fn + Sync` hooks, `HookUntyped::new`'s caller promised the
// hooks may run on many threads at once and take blocks back on any thread.
unsafe impl<A, D> SharedUntypedObjectAlloc for HookUntyped<A, D>
where
    A: Fn(Layout) -> Option<NonNull<u8>> + Sync,
    D: Fn(NonNull<u8>, Layout) + Sync,
{
    #[inline]
    fn alloc(&self) -> Result<NonNull<u8>, AllocError> {
        Self::checked(self.layout, (self.alloc)(self.layout))
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: NonNull<u8>) {
        (self.dealloc)(ptr, self.layout)
    }
}
