//! Alignment: every power of two up to the page size in each home, and
//! larger ones (up to 1 MiB) from over-sized mappings.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;

use allocator_api2::alloc::Allocator;
use bsalloc::BsAlloc;

use crate::{check, fill};

fn page_size() -> usize {
    // SAFETY: `sysconf` has no preconditions.
    usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap()
}

fn sizes_for(align: usize) -> Vec<usize> {
    let mut sizes = if cfg!(miri) {
        vec![1, align, align + 1, 4097]
    } else {
        vec![
            1,
            align / 2,
            align,
            align + 1,
            3 * align,
            4096,
            4097,
            100_000,
        ]
    };
    sizes.retain(|&s| s > 0);
    sizes
}

#[test]
fn every_alignment_up_to_the_page_is_honoured() {
    let heap = BsAlloc::new();
    let page = page_size();
    let aligns: Vec<usize> = if cfg!(miri) {
        vec![1, 8, 64, 512, page]
    } else {
        (0..usize::BITS)
            .map(|s| 1 << s)
            .take_while(|&a| a <= page)
            .collect()
    };
    for align in aligns {
        for size in sizes_for(align) {
            let layout = Layout::from_size_align(size, align).unwrap();
            let blocks: Vec<*mut u8> = (0..3)
                .map(|i| {
                    // SAFETY: non-zero layout.
                    let p = unsafe { heap.alloc(layout) };
                    assert!(!p.is_null(), "{layout:?} failed");
                    assert_eq!(p.addr() % align, 0, "{layout:?} misaligned at {p:p}");
                    // SAFETY: a fresh block of `size` bytes.
                    unsafe { fill(NonNull::new(p).unwrap(), size, i) };
                    p
                })
                .collect();
            for (i, p) in blocks.into_iter().enumerate() {
                // SAFETY: live, filled with seed `i`.
                let found = unsafe { check(NonNull::new(p).unwrap(), size, i as u64) };
                assert_eq!(found, Ok(()), "{layout:?} lost its contents");
                // SAFETY: allocated with `layout`, freed once.
                unsafe { heap.dealloc(p, layout) };
            }
        }
    }
}

#[test]
fn alignments_above_the_page_come_from_larger_mappings() {
    let heap = BsAlloc::new();
    let page = page_size();
    let top = if cfg!(miri) { page * 4 } else { 1 << 20 };
    let mut align = page * 2;
    while align <= top {
        for size in [1, page, align, align + 1] {
            let layout = Layout::from_size_align(size, align).unwrap();
            let block = heap.allocate(layout).unwrap();
            let p = block.cast::<u8>();
            assert_eq!(p.as_ptr().addr() % align, 0, "{layout:?}");
            assert!(block.len() >= size);
            // SAFETY: the block's whole length is usable.
            unsafe { fill(p, block.len(), 7) };
            // SAFETY: live, filled with seed 7.
            assert_eq!(unsafe { check(p, block.len(), 7) }, Ok(()));
            // SAFETY: allocated with `layout`, freed once.
            unsafe { heap.deallocate(p, layout) };
        }
        align *= 2;
    }
}

#[test]
fn realloc_keeps_the_alignment() {
    let heap = BsAlloc::new();
    let page = page_size();
    for align in [1, 16, 64, 128, 1024, page, page * 4] {
        let mut layout = Layout::from_size_align(8, align).unwrap();
        // SAFETY: non-zero layout.
        let mut p = unsafe { heap.alloc(layout) };
        // SAFETY: 8 bytes.
        unsafe { fill(NonNull::new(p).unwrap(), 8, 1) };
        for size in [40, 100, 3000, 5000, 200_000, 4000, 60, 8] {
            // SAFETY: a live block of `layout`; the result is kept with
            // the new size.
            p = unsafe { heap.realloc(p, layout, size) };
            assert!(!p.is_null());
            assert_eq!(p.addr() % align, 0, "{size} bytes aligned to {align}");
            // SAFETY: the first 8 bytes were kept.
            assert_eq!(unsafe { check(NonNull::new(p).unwrap(), 8, 1) }, Ok(()));
            layout = Layout::from_size_align(size, align).unwrap();
        }
        // SAFETY: allocated (last resized) with `layout`, freed once.
        unsafe { heap.dealloc(p, layout) };
    }
}
