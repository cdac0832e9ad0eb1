//! `MapAlloc` behind the standard interfaces: `GlobalAlloc` and
//! `allocator_api2::alloc::Allocator`.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{self, NonNull};

use allocator_api2::alloc::{AllocError, Allocator};

use crate::map::MapAlloc;

// SAFETY: `map` returns fresh, distinct mappings of at least the size,
// aligned to the alignment, or an error (null); `unmap` and `remap` are
// called with the pointers and sizes `GlobalAlloc`'s contract guarantees.
unsafe impl GlobalAlloc for MapAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.map(layout.size(), layout.align())
            .map_or(ptr::null_mut(), NonNull::as_ptr)
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(ptr) = NonNull::new(ptr) {
            // SAFETY: the caller passes a block of this allocator with its
            // layout. `munmap` of our own mapping fails only when splitting
            // a mapping would exceed `vm.max_map_count`, and `dealloc` has
            // no way to report that; the range then stays mapped.
            let _ = unsafe { self.unmap(ptr, layout.size()) };
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: new mappings read as zero.
        unsafe { self.alloc(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Some(p) = NonNull::new(ptr) else {
            return ptr::null_mut();
        };
        // SAFETY: the caller passes a live block of this allocator with its
        // layout; on failure the block is untouched, as `realloc` requires.
        unsafe { self.remap(p, layout.size(), new_size, layout.align()) }
            .map_or(ptr::null_mut(), NonNull::as_ptr)
    }
}

/// A zero-length block: dangling and aligned, never mapped.
fn empty(layout: Layout) -> NonNull<[u8]> {
    // SAFETY: an alignment is never zero.
    let p = unsafe { NonNull::new_unchecked(ptr::without_provenance_mut::<u8>(layout.align())) };
    NonNull::slice_from_raw_parts(p, 0)
}

impl MapAlloc {
    /// The block a mapping of `layout` gives: all of its pages.
    fn block(&self, p: NonNull<u8>, size: usize) -> NonNull<[u8]> {
        NonNull::slice_from_raw_parts(p, self.mapped_size(size).unwrap_or(size))
    }
}

// SAFETY: blocks are whole mappings (their full page-rounded length is
// reported, and any size within it rounds to the same pages when freed);
// zero-size blocks are dangling and never passed to the kernel; `grow` and
// `shrink` keep the prefix and leave the old block untouched on failure.
unsafe impl Allocator for MapAlloc {
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        if layout.size() == 0 {
            return Ok(empty(layout));
        }
        let p = self
            .map(layout.size(), layout.align())
            .map_err(|_| AllocError)?;
        Ok(self.block(p, layout.size()))
    }

    fn allocate_zeroed(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        // New mappings read as zero.
        self.allocate(layout)
    }

    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        if layout.size() != 0 {
            // SAFETY: the caller passes a block of this allocator that fits
            // `layout`, which rounds to the pages it was mapped with. See
            // `GlobalAlloc::dealloc` for why the result is ignored.
            let _ = unsafe { self.unmap(ptr, layout.size()) };
        }
    }

    unsafe fn grow(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        if old.size() == 0 {
            return self.allocate(new);
        }
        // SAFETY: the caller passes a live block of this allocator that
        // fits `old`; on failure it is untouched.
        let p = unsafe { self.remap(ptr, old.size(), new.size(), new.align()) }
            .map_err(|_| AllocError)?;
        Ok(self.block(p, new.size()))
    }

    unsafe fn grow_zeroed(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded from the caller.
        let block = unsafe { self.grow(ptr, old, new) }?;
        // Pages added by the kernel read as zero, and a copy into a new
        // mapping leaves zero after the prefix; only the rest of the old
        // last page may hold bytes written past `old.size()`.
        let kept = self
            .mapped_size(old.size())
            .unwrap_or(old.size())
            .min(new.size());
        if kept > old.size() {
            // SAFETY: `old.size()..kept` lies inside the grown block.
            unsafe {
                block
                    .cast::<u8>()
                    .add(old.size())
                    .write_bytes(0, kept - old.size())
            };
        }
        Ok(block)
    }

    unsafe fn shrink(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        if new.size() == 0 {
            // SAFETY: forwarded from the caller.
            unsafe { self.deallocate(ptr, old) };
            return Ok(empty(new));
        }
        // SAFETY: the caller passes a live block of this allocator that
        // fits `old`; on failure it is untouched.
        let p = unsafe { self.remap(ptr, old.size(), new.size(), new.align()) }
            .map_err(|_| AllocError)?;
        Ok(self.block(p, new.size()))
    }
}
