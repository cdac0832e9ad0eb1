//! Zero-size requests and requests the kernel refuses: dangling pointers,
//! nulls and errors, never a panic, and a refused resize leaves the block
//! alone.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;

use allocator_api2::alloc::Allocator;
use bsalloc::BsAlloc;

use crate::{check, fill};

#[test]
fn zero_size_blocks_are_aligned_dangling_pointers() {
    let heap = BsAlloc::new();
    for align in [1, 8, 64, 4096, 1 << 20] {
        let layout = Layout::from_size_align(0, align).unwrap();
        let block = heap.allocate(layout).unwrap();
        assert_eq!(block.len(), 0);
        assert_eq!(block.cast::<u8>().as_ptr().addr(), align);
        // SAFETY: freeing a zero-size block does nothing.
        unsafe { heap.deallocate(block.cast(), layout) };
        // SAFETY: `GlobalAlloc` treats zero sizes the same way.
        let p = unsafe { heap.alloc(layout) };
        assert_eq!(p.addr(), align);
        // SAFETY: as above.
        unsafe { heap.dealloc(p, layout) };
    }
    assert_eq!(
        format!("{heap:?}"),
        "BsAlloc { small_carved: 0, large_carved: 0 }"
    );
}

#[test]
fn zero_sizes_grow_into_blocks_and_blocks_shrink_to_zero() {
    let heap = BsAlloc::new();
    let zero = Layout::from_size_align(0, 8).unwrap();
    let ten = Layout::from_size_align(10, 8).unwrap();
    let empty = heap.allocate(zero).unwrap().cast::<u8>();
    // SAFETY: growing a live (zero-size) block.
    let block = unsafe { heap.grow(empty, zero, ten) }.unwrap();
    assert!(block.len() >= 10);
    // SAFETY: 10 usable bytes.
    unsafe { fill(block.cast(), 10, 2) };
    // SAFETY: shrinking a live block to nothing.
    let gone = unsafe { heap.shrink(block.cast(), ten, zero) }.unwrap();
    assert_eq!(gone.len(), 0);
    // SAFETY: growing the zero-size block again, zeroed.
    let again = unsafe { heap.grow_zeroed(gone.cast(), zero, ten) }.unwrap();
    // SAFETY: `again.len()` readable bytes.
    let bytes = unsafe { core::slice::from_raw_parts(again.cast::<u8>().as_ptr(), again.len()) };
    assert!(bytes.iter().all(|&b| b == 0));
    // SAFETY: allocated with `ten`, freed once.
    unsafe { heap.deallocate(again.cast(), ten) };
}

#[test]
#[cfg_attr(
    miri,
    ignore = "Miri stops at a mapping it cannot make instead of returning MAP_FAILED"
)]
fn requests_the_kernel_refuses_are_null_and_leave_blocks_alone() {
    let heap = BsAlloc::new();
    let huge = Layout::from_size_align(isize::MAX as usize - 4096, 8).unwrap();
    // SAFETY: non-zero layout.
    assert!(unsafe { heap.alloc(huge) }.is_null());
    // SAFETY: non-zero layout.
    assert!(unsafe { heap.alloc_zeroed(huge) }.is_null());
    assert!(heap.allocate(huge).is_err());
    let over_aligned = Layout::from_size_align(1 << 40, 1 << 40).unwrap();
    assert!(heap.allocate(over_aligned).is_err());

    for size in [10, 1000, 100_000] {
        let layout = Layout::from_size_align(size, 8).unwrap();
        // SAFETY: non-zero layout.
        let p = NonNull::new(unsafe { heap.alloc(layout) }).unwrap();
        // SAFETY: `size` bytes.
        unsafe { fill(p, size, 4) };
        // SAFETY: a live block; the request is refused, so it stays live.
        let refused = unsafe { heap.realloc(p.as_ptr(), layout, huge.size()) };
        assert!(refused.is_null());
        // SAFETY: still live, with its contents.
        assert_eq!(unsafe { check(p, size, 4) }, Ok(()));
        // SAFETY: still live; the Allocator face refuses the same way.
        assert!(unsafe { heap.grow(p, layout, huge) }.is_err());
        // SAFETY: allocated with `layout`, freed once.
        unsafe { heap.dealloc(p.as_ptr(), layout) };
    }
}
