use std::alloc::{GlobalAlloc, Layout, System};
use std::ptr::{self, NonNull};

use object_alloc::{AllocError, GlobalUntyped, UntypedObjectAlloc};

/// A global allocator whose memory source is exhausted.
struct Exhausted;

// SAFETY: never hands out memory, so there is nothing to get wrong.
unsafe impl GlobalAlloc for Exhausted {
    unsafe fn alloc(&self, _: Layout) -> *mut u8 {
        ptr::null_mut()
    }

    unsafe fn dealloc(&self, _: *mut u8, _: Layout) {
        unreachable!("nothing was allocated")
    }
}

#[test]
fn exhaustion_is_an_error_not_a_panic() {
    let mut blocks = GlobalUntyped::new(Exhausted, Layout::new::<u64>());
    assert_eq!(blocks.alloc(), Err(AllocError));
}

#[test]
fn zero_size_blocks_are_aligned_and_never_reach_the_global_allocator() {
    let layout = Layout::from_size_align(0, 4096).unwrap();
    let mut blocks = GlobalUntyped::new(Exhausted, layout);
    let block: NonNull<u8> = blocks.alloc().expect("zero-size blocks need no memory");
    assert_eq!(block.addr().get() % 4096, 0);
    // SAFETY: from `blocks`, freed once.
    unsafe { blocks.dealloc(block) };
}

#[test]
fn blocks_honour_large_alignments() {
    for shift in 0..=16 {
        let layout = Layout::from_size_align(24, 1 << shift).unwrap();
        let mut blocks = GlobalUntyped::new(System, layout);
        let block = blocks.alloc().unwrap();
        assert_eq!(
            block.addr().get() % (1 << shift),
            0,
            "alignment {}",
            1 << shift
        );
        // SAFETY: from `blocks`, freed once.
        unsafe { blocks.dealloc(block) };
    }
}
