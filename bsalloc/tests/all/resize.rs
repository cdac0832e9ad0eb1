//! Resizing: in place within a home, moves between homes in both
//! directions, and mappings that grow and shrink, keeping the contents.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;

use allocator_api2::alloc::Allocator;
use bsalloc::BsAlloc;

use crate::{check, fill};

#[test]
fn a_block_stays_put_while_the_new_size_belongs_to_its_class() {
    let heap = BsAlloc::new();
    let small = Layout::from_size_align(10, 8).unwrap();
    // SAFETY: non-zero layout; each resize keeps what the class allows.
    unsafe {
        let p = heap.alloc(small);
        assert_eq!(heap.realloc(p, small, 64), p);
        let small64 = Layout::from_size_align(64, 8).unwrap();
        assert_eq!(heap.realloc(p, small64, 1), p);
        let tiny = Layout::from_size_align(1, 8).unwrap();
        let q = heap.realloc(p, tiny, 100);
        assert_ne!(q, p, "65 bytes and more leave the small class");
        let large = Layout::from_size_align(100, 8).unwrap();
        assert_eq!(heap.realloc(q, large, 4096), q);
        let large4k = Layout::from_size_align(4096, 8).unwrap();
        assert_eq!(heap.realloc(q, large4k, 65), q);
        let large65 = Layout::from_size_align(65, 8).unwrap();
        heap.dealloc(q, large65);
    }
}

#[test]
fn contents_survive_every_move_between_homes() {
    let heap = BsAlloc::new();
    let path: &[usize] = if cfg!(miri) {
        &[1, 64, 65, 4096, 4097, 20_000, 5000, 65, 3, 9000, 1]
    } else {
        &[
            1,
            64,
            65,
            4096,
            4097,
            1 << 20,
            3 << 20,
            10_000,
            5000,
            4096,
            65,
            64,
            3,
            100_000,
            50,
            1,
        ]
    };
    for align in [1, 8, 64, 4096] {
        let mut layout = Layout::from_size_align(path[0], align).unwrap();
        // SAFETY: non-zero layout.
        let mut p = NonNull::new(unsafe { heap.alloc(layout) }).unwrap();
        // SAFETY: a fresh block of `path[0]` bytes.
        unsafe { fill(p, path[0], 9) };
        for &size in &path[1..] {
            // SAFETY: a live block of `layout`.
            p = NonNull::new(unsafe { heap.realloc(p.as_ptr(), layout, size) }).unwrap();
            let kept = layout.size().min(size);
            // SAFETY: the first `kept` bytes were kept.
            let found = unsafe { check(p, kept, 9) };
            assert_eq!(
                found,
                Ok(()),
                "{} -> {size} bytes (align {align})",
                layout.size()
            );
            layout = Layout::from_size_align(size, align).unwrap();
            // SAFETY: the block now has `size` bytes.
            unsafe { fill(p, size, 9) };
        }
        // SAFETY: allocated (last resized) with `layout`, freed once.
        unsafe { heap.dealloc(p.as_ptr(), layout) };
    }
}

#[test]
fn grow_zeroed_zeroes_the_tail_and_shrink_keeps_the_head() {
    let heap = BsAlloc::new();
    let last = if cfg!(miri) { 20_000 } else { 300_000 };
    let sizes = [1, 40, 64, 65, 2000, 4096, 4097, 9000, last];
    for pair in sizes.windows(2) {
        let (from, to) = (pair[0], pair[1]);
        let old = Layout::from_size_align(from, 8).unwrap();
        let new = Layout::from_size_align(to, 8).unwrap();
        let block = heap.allocate(old).unwrap();
        let len = block.len();
        let p = block.cast::<u8>();
        // SAFETY: the whole block is usable: dirty all of it, then put the
        // pattern in the first `from` bytes.
        unsafe {
            p.as_ptr().write_bytes(0xdd, len);
            fill(p, from, 3);
        }
        // SAFETY: a live block of `old`; `to >= from`.
        let grown = unsafe { heap.grow_zeroed(p, old, new) }.unwrap();
        let q = grown.cast::<u8>();
        // SAFETY: the first `from` bytes were kept.
        assert_eq!(unsafe { check(q, from, 3) }, Ok(()));
        // Past the old block's whole length, the grown block is zero (the
        // bytes between the old size and the old length may be either).
        let old_end = len.min(grown.len());
        // SAFETY: `grown.len()` readable bytes, from `old_end` on.
        let tail =
            unsafe { core::slice::from_raw_parts(q.as_ptr().add(old_end), grown.len() - old_end) };
        assert!(
            tail.iter().all(|&b| b == 0),
            "{from} -> {to}: the grown tail is dirty"
        );
        // SAFETY: a live block of `new`; `from <= to`.
        let shrunk = unsafe { heap.shrink(q, new, old) }.unwrap();
        // SAFETY: the first `from` bytes were kept.
        assert_eq!(unsafe { check(shrunk.cast(), from, 3) }, Ok(()));
        // SAFETY: allocated (last resized) with `old`, freed once.
        unsafe { heap.deallocate(shrunk.cast(), old) };
    }
}

#[test]
fn grow_and_shrink_may_change_the_alignment() {
    let heap = BsAlloc::new();
    let old = Layout::from_size_align(24, 8).unwrap();
    let new = Layout::from_size_align(3000, 2048).unwrap();
    let p = heap.allocate(old).unwrap().cast::<u8>();
    // SAFETY: 24 usable bytes.
    unsafe { fill(p, 24, 5) };
    // SAFETY: a live block of `old`, growing.
    let q = unsafe { heap.grow(p, old, new) }.unwrap().cast::<u8>();
    assert_eq!(q.as_ptr().addr() % 2048, 0);
    // SAFETY: 24 bytes kept.
    assert_eq!(unsafe { check(q, 24, 5) }, Ok(()));
    let back = Layout::from_size_align(16, 16).unwrap();
    // SAFETY: a live block of `new`, shrinking.
    let r = unsafe { heap.shrink(q, new, back) }.unwrap().cast::<u8>();
    assert_eq!(r.as_ptr().addr() % 16, 0);
    // SAFETY: 16 bytes kept.
    assert_eq!(unsafe { check(r, 16, 5) }, Ok(()));
    // SAFETY: allocated (last resized) with `back`, freed once.
    unsafe { heap.deallocate(r, back) };
}
