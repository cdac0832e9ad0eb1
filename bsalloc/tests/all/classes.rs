//! The classes' arenas: contiguous carving, what happens when one is used
//! up, and reuse once blocks come back.

use core::alloc::{GlobalAlloc, Layout};
use std::collections::HashSet;

use bsalloc::BsAlloc;

/// Allocates `n` blocks of `layout`, checking each is aligned and new.
fn take(heap: &BsAlloc, layout: Layout, n: usize, seen: &mut HashSet<usize>) -> Vec<*mut u8> {
    (0..n)
        .map(|_| {
            // SAFETY: non-zero layout.
            let p = unsafe { heap.alloc(layout) };
            assert!(!p.is_null());
            assert_eq!(p.addr() % layout.align(), 0);
            assert!(seen.insert(p.addr()), "{p:p} handed out twice");
            // SAFETY: at least `layout.size()` writable bytes.
            unsafe { p.write_bytes(0x3c, layout.size()) };
            p
        })
        .collect()
}

fn span(blocks: &[*mut u8]) -> (usize, usize) {
    let lo = blocks.iter().map(|p| p.addr()).min().unwrap();
    let hi = blocks.iter().map(|p| p.addr()).max().unwrap();
    (lo, hi)
}

#[test]
fn a_used_up_class_sends_requests_to_the_next_home_and_takes_its_blocks_back() {
    let heap = BsAlloc::new();
    let small = Layout::from_size_align(BsAlloc::SMALL_SIZE, 8).unwrap();
    let large = Layout::from_size_align(BsAlloc::LARGE_SIZE, 8).unwrap();
    let mut seen = HashSet::new();

    // The whole small arena, carved in order: one contiguous run of blocks.
    let arena = take(&heap, small, BsAlloc::SMALL_BLOCKS, &mut seen);
    let (lo, hi) = span(&arena);
    assert_eq!(hi - lo, (BsAlloc::SMALL_BLOCKS - 1) * BsAlloc::SMALL_SIZE);
    assert_eq!(
        format!("{heap:?}"),
        format!(
            "BsAlloc {{ small_carved: {}, large_carved: 0 }}",
            BsAlloc::SMALL_BLOCKS
        )
    );

    // More small requests take large blocks.
    let overflow = take(&heap, small, 3, &mut seen);
    assert!(overflow.iter().all(|p| p.addr() < lo || p.addr() > hi));
    assert!(overflow.iter().all(|p| p.addr() % BsAlloc::LARGE_SIZE == 0));
    assert_eq!(
        format!("{heap:?}"),
        format!(
            "BsAlloc {{ small_carved: {}, large_carved: 3 }}",
            BsAlloc::SMALL_BLOCKS
        )
    );

    // The rest of the large arena, then mappings for both sizes.
    let rest = take(&heap, large, BsAlloc::LARGE_BLOCKS - 3, &mut seen);
    let mapped_small = take(&heap, small, 2, &mut seen);
    let mapped_large = take(&heap, large, 2, &mut seen);
    let large_blocks: Vec<*mut u8> = overflow.iter().chain(&rest).copied().collect();
    let (large_lo, large_hi) = span(&large_blocks);
    assert_eq!(
        large_hi - large_lo,
        (BsAlloc::LARGE_BLOCKS - 1) * BsAlloc::LARGE_SIZE
    );
    for p in mapped_small.iter().chain(&mapped_large) {
        assert!(p.addr() < large_lo || p.addr() > large_hi);
    }

    // Everything goes back to where it came from, each with its own layout.
    for &p in arena.iter().chain(&overflow).chain(&mapped_small) {
        // SAFETY: allocated with `small`, freed once.
        unsafe { heap.dealloc(p, small) };
    }
    for &p in rest.iter().chain(&mapped_large) {
        // SAFETY: allocated with `large`, freed once.
        unsafe { heap.dealloc(p, large) };
    }

    // Freed blocks are reused: a small request gets a small block again,
    // and the whole arena comes back without carving anything new.
    let mut seen = HashSet::new();
    let again = take(&heap, small, BsAlloc::SMALL_BLOCKS, &mut seen);
    assert_eq!(span(&again), (lo, hi));
    let large_again = take(&heap, large, BsAlloc::LARGE_BLOCKS, &mut seen);
    assert_eq!(span(&large_again), (large_lo, large_hi));
    assert_eq!(
        format!("{heap:?}"),
        format!(
            "BsAlloc {{ small_carved: {}, large_carved: {} }}",
            BsAlloc::SMALL_BLOCKS,
            BsAlloc::LARGE_BLOCKS
        )
    );
    for p in again {
        // SAFETY: allocated with `small`, freed once.
        unsafe { heap.dealloc(p, small) };
    }
    for p in large_again {
        // SAFETY: allocated with `large`, freed once.
        unsafe { heap.dealloc(p, large) };
    }
}

#[test]
fn the_classes_are_chosen_by_the_larger_of_size_and_alignment() {
    let heap = BsAlloc::new();
    // (size, align, small blocks carved before, large blocks carved before)
    let cases = [
        (1, 1, 0, 0),
        (64, 64, 1, 0),
        (8, 128, 2, 0),
        (65, 1, 2, 1),
        (4096, 4096, 2, 2),
        (1, 4096, 2, 3),
    ];
    let mut held = Vec::new();
    for (size, align, small_before, large_before) in cases {
        assert_eq!(
            format!("{heap:?}"),
            format!("BsAlloc {{ small_carved: {small_before}, large_carved: {large_before} }}"),
            "before {size} bytes aligned to {align}"
        );
        let layout = Layout::from_size_align(size, align).unwrap();
        // SAFETY: non-zero layout.
        let p = unsafe { heap.alloc(layout) };
        assert!(!p.is_null() && p.addr() % align == 0);
        held.push((p, layout));
    }
    // A request above the large class is a mapping: neither count moves.
    let big = Layout::from_size_align(4097, 8).unwrap();
    // SAFETY: non-zero layout.
    let p = unsafe { heap.alloc(big) };
    assert!(!p.is_null());
    held.push((p, big));
    assert_eq!(
        format!("{heap:?}"),
        "BsAlloc { small_carved: 2, large_carved: 4 }"
    );
    for (p, layout) in held {
        // SAFETY: allocated with `layout`, freed once.
        unsafe { heap.dealloc(p, layout) };
    }
}

#[test]
fn zeroed_blocks_are_zero_after_reuse() {
    let heap = BsAlloc::new();
    for size in [1, 64, 65, 4096, 4097, 70_000] {
        let layout = Layout::from_size_align(size, 8).unwrap();
        // SAFETY: non-zero layout; the block is dirtied and freed once.
        unsafe {
            let p = heap.alloc(layout);
            p.write_bytes(0xee, size);
            heap.dealloc(p, layout);
        }
        // SAFETY: non-zero layout.
        let p = unsafe { heap.alloc_zeroed(layout) };
        // SAFETY: `size` readable bytes.
        let bytes = unsafe { core::slice::from_raw_parts(p, size) };
        assert!(bytes.iter().all(|&b| b == 0), "{size} bytes are not zero");
        // SAFETY: allocated with `layout`, freed once.
        unsafe { heap.dealloc(p, layout) };
    }
}
