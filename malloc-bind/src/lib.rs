//! Any allocator as a complete C `malloc`: the C and POSIX allocation API
//! with their exact semantics, generated from an allocator that can
//! allocate by size and alignment and tell a block's size from its address.
//!
//! - [`Backend`] is what a binding needs. [`SlabMalloc`] (the zone of
//!   `slab-alloc`) implements it directly; any `GlobalAlloc` that cannot tell
//!   sizes (such as `bsalloc`) gets it through [`Headered`], which keeps
//!   each block's layout in a 16-byte header in front of it.
//! - [`c`] holds the C functions as generic Rust functions, with the C
//!   rules: `malloc(0)` returns a unique pointer, `free(NULL)` does nothing,
//!   overflow in `calloc`/`reallocarray` and impossible sizes return NULL
//!   with `errno = ENOMEM`, `posix_memalign` returns `EINVAL` for a bad
//!   alignment and leaves `errno` alone, `realloc` keeps the prefix and
//!   `realloc(p, 0)` frees `p` and returns NULL as glibc's does, and the C23
//!   `free_sized`/`free_aligned_sized` check the size against the block's.
//! - [`export_malloc!`] exports them under their C names (`#[no_mangle]`):
//!   a `cdylib` that invokes it is a library to `LD_PRELOAD`. Its
//!   `fork` handlers, statistics at exit and the class API come with it.
//! - [`classes`] is a class-tagged C API over shared slab caches, in the
//!   spirit of slitter: register a class once, allocate and release by
//!   class, and a release into the wrong class is reported by name.
//!
//! Inside a library built this way, Rust's own global allocator must not
//! be the library's `malloc` (that would recurse): the builds in
//! `examples/` make it `bsalloc`.
//!
//! # Example
//!
//! ```
//! use malloc_bind::{Backend, c};
//! use slab_alloc::SlabMalloc;
//!
//! static ZONE: SlabMalloc = SlabMalloc::new();
//!
//! // SAFETY: each block is freed once, through the same backend.
//! unsafe {
//!     let p = c::malloc(&ZONE, 0);
//!     let q = c::malloc(&ZONE, 0);
//!     assert!(!p.is_null() && p != q);
//!     let big = c::calloc(&ZONE, usize::MAX / 2, 4);
//!     assert!(big.is_null());
//!     assert_eq!(*libc::__errno_location(), libc::ENOMEM);
//!     c::free(&ZONE, p);
//!     c::free(&ZONE, q);
//!     c::free(&ZONE, std::ptr::null_mut());
//! }
//! ```

#![deny(unsafe_op_in_unsafe_fn)]

use core::alloc::{GlobalAlloc, Layout};
use core::ptr;

pub use slab_alloc::SlabMalloc;

pub mod c;
pub mod classes;
#[doc(hidden)]
pub mod export;
pub mod stats;

/// The alignment `malloc` guarantees: `alignof(max_align_t)` on 64-bit
/// Linux.
pub const MALLOC_ALIGN: usize = 16;

/// What a C binding needs from an allocator.
///
/// # Safety
///
/// `allocate` returns null or a block of at least `size` bytes aligned to
/// `align` that no one else holds, until it is passed to `release` (or
/// moved by `reallocate`). `usable_size` of a live block is at least the
/// size it was allocated (or last reallocated) with, and all of it may be
/// written.
pub unsafe trait Backend: Sync {
    /// A block of at least `size` (at least 1) bytes aligned to `align` (a
    /// power of two), or null.
    fn allocate(&self, size: usize, align: usize) -> *mut u8;

    /// Like [`allocate`](Self::allocate), but the block reads as zeros.
    fn allocate_zeroed(&self, size: usize, align: usize) -> *mut u8 {
        let p = self.allocate(size, align);
        if !p.is_null() {
            // SAFETY: a fresh block of at least `size` bytes.
            unsafe { p.write_bytes(0, size) };
        }
        p
    }

    /// Frees a live block.
    ///
    /// # Safety
    ///
    /// `ptr` is not null. A block of this backend is not used afterwards;
    /// an address that is not one is the backend's to report.
    unsafe fn release(&self, ptr: *mut u8);

    /// The usable size of a live block.
    ///
    /// # Safety
    ///
    /// `ptr` is a live block of this backend.
    unsafe fn usable_size(&self, ptr: *mut u8) -> usize;

    /// Resizes a live block aligned to [`MALLOC_ALIGN`] (or to its own
    /// alignment), keeping the first `min(old, new)` bytes; null when
    /// memory runs out, the block then left as it was. The default moves
    /// the block unless it already holds `new_size` bytes.
    ///
    /// # Safety
    ///
    /// `ptr` is a live block of this backend and `new_size` is at least 1.
    unsafe fn reallocate(&self, ptr: *mut u8, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's live block.
        let usable = unsafe { self.usable_size(ptr) };
        if new_size <= usable {
            return ptr;
        }
        let fresh = self.allocate(new_size, MALLOC_ALIGN);
        if !fresh.is_null() {
            // SAFETY: distinct blocks of at least `usable` bytes each; the
            // old one is freed once.
            unsafe {
                ptr::copy_nonoverlapping(ptr, fresh, usable);
                self.release(ptr);
            }
        }
        fresh
    }

    /// Gives memory back to the system (`malloc_trim`); whether any was.
    fn trim(&self) -> bool {
        false
    }

    /// Writes the backend's statistics (`malloc_stats`, and at exit).
    fn write_stats(&self, out: &mut dyn core::fmt::Write) -> core::fmt::Result {
        out.write_str("no statistics for this allocator\n")
    }

    /// Takes the backend's locks before a `fork` (see
    /// [`SlabMalloc::prepare_fork`]).
    fn prepare_fork(&self) {}

    /// Releases them after the fork, in the parent and in the child.
    ///
    /// # Safety
    ///
    /// Follows this thread's `prepare_fork`.
    unsafe fn after_fork(&self) {}
}

// SAFETY: the zone's blocks are what its methods say; `usable_size` is
// its class's size or its mapping's room.
unsafe impl Backend for SlabMalloc {
    // Always inlined, so that `malloc`'s constant alignment folds into the
    // zone's class lookup.
    #[inline(always)]
    fn allocate(&self, size: usize, align: usize) -> *mut u8 {
        match Layout::from_size_align(size, align) {
            // SAFETY: `size` is at least 1 (the binding's rule), so the
            // layout is not zero-sized; `Layout` rejected impossible sizes.
            Ok(layout) => unsafe { GlobalAlloc::alloc(self, layout) },
            Err(_) => ptr::null_mut(),
        }
    }

    fn allocate_zeroed(&self, size: usize, align: usize) -> *mut u8 {
        match Layout::from_size_align(size, align) {
            // SAFETY: a non-zero layout; large blocks that are fresh
            // mappings are not written.
            Ok(layout) => unsafe { GlobalAlloc::alloc_zeroed(self, layout) },
            Err(_) => ptr::null_mut(),
        }
    }

    #[inline]
    unsafe fn release(&self, ptr: *mut u8) {
        // SAFETY: forwarded; the zone checks the address.
        unsafe { self.free(ptr) }
    }

    unsafe fn usable_size(&self, ptr: *mut u8) -> usize {
        // SAFETY: the caller's live block.
        match unsafe { SlabMalloc::usable_size(self, ptr) } {
            Ok(n) => n,
            Err(err) => {
                slab_alloc::abort_on_error(&err);
                0
            }
        }
    }

    unsafe fn reallocate(&self, ptr: *mut u8, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's live block. C's `realloc` promises `malloc`'s
        // alignment only, whatever the block had.
        unsafe { SlabMalloc::reallocate(self, ptr, MALLOC_ALIGN, new_size) }
            .map_or(ptr::null_mut(), |p| p.as_ptr())
    }

    fn trim(&self) -> bool {
        let before = self.stats();
        SlabMalloc::trim(self);
        let after = self.stats();
        after.small_bytes_held() < before.small_bytes_held()
            || after.large.cached_bytes < before.large.cached_bytes
            || before.large.cached_blocks > 0
    }

    fn write_stats(&self, out: &mut dyn core::fmt::Write) -> core::fmt::Result {
        stats::write_zone(&self.stats(), out)
    }

    fn prepare_fork(&self) {
        SlabMalloc::prepare_fork(self);
    }

    unsafe fn after_fork(&self) {
        // SAFETY: forwarded.
        unsafe { SlabMalloc::after_fork(self) }
    }
}

/// Any `GlobalAlloc` as a [`Backend`]: each block carries its layout in a
/// 16-byte header in front of it (more when the alignment is larger), so
/// `free(ptr)` and `malloc_usable_size` need nothing from the allocator.
///
/// ```
/// use malloc_bind::{Backend, Headered};
///
/// static HEAP: Headered<bsalloc::BsAlloc> = Headered::new(bsalloc::BsAlloc::new());
///
/// let p = HEAP.allocate(100, 16);
/// // SAFETY: a live block of `HEAP`, freed once.
/// unsafe {
///     assert_eq!(HEAP.usable_size(p), 100);
///     HEAP.release(p);
/// }
/// ```
#[derive(Debug)]
pub struct Headered<A> {
    inner: A,
}

/// The header in front of a [`Headered`] block.
#[repr(C)]
struct Header {
    /// The layout the inner allocator gave the whole allocation.
    size: usize,
    align: usize,
}

const HEADER: usize = 16;
const _: () = assert!(size_of::<Header>() == HEADER);

impl<A> Headered<A> {
    /// Wraps `inner`.
    pub const fn new(inner: A) -> Self {
        Headered { inner }
    }

    /// The header of block `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` is a live block of a `Headered`.
    unsafe fn header(ptr: *mut u8) -> *mut Header {
        // SAFETY: every block has its header right in front of it.
        unsafe { ptr.sub(HEADER).cast::<Header>() }
    }

    /// Where a block with `align` starts in its allocation.
    fn offset(align: usize) -> usize {
        HEADER.max(align)
    }
}

// SAFETY: a block is `offset` bytes into an allocation of the inner
// allocator of `offset + size` bytes, aligned to the block's alignment, so
// the block is aligned, at least `size` long, and its header (the 16 bytes
// in front) is inside the allocation.
unsafe impl<A: GlobalAlloc + Sync> Backend for Headered<A> {
    fn allocate(&self, size: usize, align: usize) -> *mut u8 {
        let align = align.max(HEADER);
        let offset = Self::offset(align);
        let Some(total) = offset.checked_add(size) else {
            return ptr::null_mut();
        };
        let Ok(layout) = Layout::from_size_align(total, align) else {
            return ptr::null_mut();
        };
        // SAFETY: a non-zero layout.
        let base = unsafe { self.inner.alloc(layout) };
        if base.is_null() {
            return base;
        }
        // SAFETY: `offset <= total`, inside the allocation; the header fits
        // in the `offset >= 16` bytes in front of the block.
        unsafe {
            let block = base.add(offset);
            Self::header(block).write(Header { size: total, align });
            block
        }
    }

    unsafe fn release(&self, ptr: *mut u8) {
        // SAFETY: the caller's live block: its header holds the layout.
        unsafe {
            let h = Self::header(ptr).read();
            let base = ptr.sub(Self::offset(h.align));
            self.inner
                .dealloc(base, Layout::from_size_align_unchecked(h.size, h.align));
        }
    }

    unsafe fn usable_size(&self, ptr: *mut u8) -> usize {
        // SAFETY: the caller's live block.
        let h = unsafe { Self::header(ptr).read() };
        h.size - Self::offset(h.align)
    }
}

/// Sets `errno`.
#[inline]
pub(crate) fn set_errno(code: i32) {
    // SAFETY: the thread's errno location is always valid.
    unsafe { *libc::__errno_location() = code };
}

/// Reads `errno`.
#[inline]
pub(crate) fn errno() -> i32 {
    // SAFETY: as above.
    unsafe { *libc::__errno_location() }
}
