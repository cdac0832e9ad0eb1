//! Blocks above the large class: each one is a mapping of its own, released
//! to the kernel when it is freed.
//!
//! A block aligned to at most the page size is a mapping of its size rounded
//! up to pages, starting at the block. A block aligned to more than a page
//! is carved out of a larger mapping: `round_up(size, page) + align` bytes
//! are mapped, the block starts at the first `align`-aligned address at
//! least a page past the mapping's start, and the word just below the block
//! holds the mapping's start so that `dealloc` can release the whole
//! mapping. The whole mapping is kept rather than trimmed to the block, so
//! that every mapping is released by one `munmap` of exactly what was
//! mapped; the unused pages around the block are address space only, never
//! touched, except the page holding that word.
//!
//! Every function takes the block's `Layout` and derives the mapping's
//! length from it, so a mapped block carries no other bookkeeping.

use core::alloc::Layout;
use core::ptr::NonNull;

use crate::os;

/// The length of the mapping that starts a block of `size` bytes aligned to
/// at most a page: `size` rounded up to pages. `None` on overflow.
#[inline]
fn plain_len(size: usize, page: usize) -> Option<usize> {
    Some(size.max(1).checked_add(page - 1)? & !(page - 1))
}

/// The length of the mapping around a block of `layout`, and whether it is
/// over-aligned (aligned to more than a page).
#[inline]
fn mapping_len(layout: Layout, page: usize) -> Option<(usize, bool)> {
    let len = plain_len(layout.size(), page)?;
    if layout.align() <= page {
        Some((len, false))
    } else {
        Some((len.checked_add(layout.align())?, true))
    }
}

/// Maps a block of `layout`, zeroed; also returns how many bytes of it may
/// be used (its size rounded up to pages). `None` when the kernel refuses or
/// the size overflows.
#[inline]
pub(crate) fn alloc(layout: Layout) -> Option<(NonNull<u8>, usize)> {
    let page = os::page_size();
    let usable = plain_len(layout.size(), page)?;
    if layout.align() <= page {
        return Some((os::map(usable)?, usable));
    }
    let (len, _) = mapping_len(layout, page)?;
    let mapping = os::map(len)?;
    let start = mapping.as_ptr().addr();
    // `start` is page-aligned, so the first `align`-aligned address above it
    // is at least a page above it and at most `align` above it; the block
    // and its `usable` bytes end inside the mapping (`len = usable + align`).
    let block_addr = (start + 1).next_multiple_of(layout.align());
    // SAFETY: `block_addr - start <= align < len`, inside the mapping.
    let block = unsafe { mapping.add(block_addr - start) };
    // SAFETY: the word below the block is inside the mapping (the block is
    // at least a page past its start), aligned (the block is page-aligned),
    // and outside the block, so no caller writes it.
    unsafe { block.cast::<*mut u8>().sub(1).write(mapping.as_ptr()) };
    Some((block, usable))
}

/// Releases a mapped block.
///
/// # Safety
///
/// - `block` was returned by [`alloc`] or [`resize`] with `layout` (for
///   `resize`, the layout of its new size and the same alignment).
/// - The block is freed once, and nothing uses it afterwards.
#[inline]
pub(crate) unsafe fn dealloc(block: NonNull<u8>, layout: Layout) {
    let page = os::page_size();
    // The caller's layout was accepted by `alloc`, so this cannot overflow.
    let Some((len, over_aligned)) = mapping_len(layout, page) else {
        return;
    };
    let mapping = if over_aligned {
        // SAFETY: `alloc` stored the mapping's start in the word below an
        // over-aligned block, inside the mapping, and nothing wrote it since.
        let start = unsafe { block.cast::<*mut u8>().sub(1).read() };
        // SAFETY: a mapping's start is never null.
        unsafe { NonNull::new_unchecked(start) }
    } else {
        block
    };
    // SAFETY: `mapping` and `len` are exactly the mapping `alloc` (or
    // `resize`) made for this layout, handed over by the caller.
    unsafe { os::unmap(mapping, len) };
}

/// Resizes a mapped block to `new_size` bytes (still above the large class)
/// keeping its contents, and returns it with its usable length. A block
/// aligned to at most a page is remapped (the kernel moves pages rather than
/// bytes); an over-aligned one is copied into a new mapping when its page
/// count changes. `None` leaves the block as it was.
///
/// # Safety
///
/// - `block` is a live block from [`alloc`] or [`resize`] with `old`.
/// - On success the old block is no longer used; the new one is freed with
///   the layout of `new_size` and `old.align()`.
#[inline]
pub(crate) unsafe fn resize(
    block: NonNull<u8>,
    old: Layout,
    new_size: usize,
) -> Option<(NonNull<u8>, usize)> {
    let page = os::page_size();
    let old_len = plain_len(old.size(), page)?;
    let new_len = plain_len(new_size, page)?;
    if old_len == new_len {
        return Some((block, new_len));
    }
    if old.align() <= page {
        // SAFETY: a block aligned to at most a page is a whole mapping of
        // `old_len` bytes; the caller stops using the old address.
        let moved = unsafe { os::remap(block, old_len, new_len) }?;
        return Some((moved, new_len));
    }
    let new = Layout::from_size_align(new_size, old.align()).ok()?;
    let (moved, usable) = alloc(new)?;
    // SAFETY: both blocks are live and distinct mappings, each at least
    // `min(old, new)` bytes long.
    unsafe {
        moved
            .as_ptr()
            .copy_from_nonoverlapping(block.as_ptr(), old.size().min(new_size));
    }
    // SAFETY: the old block, freed once with its own layout.
    unsafe { dealloc(block, old) };
    Some((moved, usable))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_round_up_to_pages() {
        assert_eq!(plain_len(1, 4096), Some(4096));
        assert_eq!(plain_len(4096, 4096), Some(4096));
        assert_eq!(plain_len(4097, 4096), Some(8192));
        assert_eq!(plain_len(0, 4096), Some(4096));
        assert_eq!(plain_len(usize::MAX - 100, 4096), None);
        let over = Layout::from_size_align(5000, 65536).unwrap();
        assert_eq!(mapping_len(over, 4096), Some((8192 + 65536, true)));
        let plain = Layout::from_size_align(5000, 4096).unwrap();
        assert_eq!(mapping_len(plain, 4096), Some((8192, false)));
    }

    #[test]
    fn over_aligned_blocks_round_trip() {
        for align in [8192, 65536] {
            let layout = Layout::from_size_align(10_000, align).unwrap();
            let (block, usable) = alloc(layout).unwrap();
            assert_eq!(block.as_ptr().addr() % align, 0);
            assert_eq!(usable, plain_len(10_000, os::page_size()).unwrap());
            // SAFETY: `usable` bytes of a fresh block.
            unsafe { block.as_ptr().write_bytes(0x5a, usable) };
            // SAFETY: live block of `layout`, resized once.
            let (grown, _) = unsafe { resize(block, layout, 100_000) }.unwrap();
            assert_eq!(grown.as_ptr().addr() % align, 0);
            // SAFETY: the first 10,000 bytes were copied.
            assert_eq!(unsafe { grown.as_ptr().add(9_999).read() }, 0x5a);
            let grown_layout = Layout::from_size_align(100_000, align).unwrap();
            // SAFETY: freed once with its layout.
            unsafe { dealloc(grown, grown_layout) };
        }
    }
}
