use std::alloc::Layout;
use std::ptr::NonNull;

use object_alloc::{AllocError, HookUntyped, UntypedObjectAlloc};

#[repr(align(64))]
struct Aligned([u8; 256]);

#[test]
fn an_empty_source_is_an_error() {
    let mut calls = 0;
    // SAFETY: the hook never returns a block.
    let mut empty = unsafe {
        HookUntyped::new(
            Layout::new::<u64>(),
            |_| {
                calls += 1;
                None
            },
            |_: NonNull<u8>, _| unreachable!(),
        )
    };
    assert_eq!(empty.alloc(), Err(AllocError));
    assert_eq!(empty.alloc(), Err(AllocError));
    assert_eq!(calls, 2);
}

#[test]
#[should_panic(expected = "not aligned to 64 (layout of 16 bytes)")]
fn a_misaligned_block_from_the_hook_is_reported() {
    let mut pool = Aligned([0; 256]);
    let base = NonNull::from(&mut pool.0).cast::<u8>();
    // SAFETY: 8 bytes into a 256-byte buffer.
    let off_by_eight = move |_| Some(unsafe { base.add(8) });
    // SAFETY: (deliberately broken) the hook returns a block 8 bytes past a
    // 64-byte boundary; the adapter must notice before anyone uses it.
    let mut bad = unsafe {
        HookUntyped::new(
            Layout::from_size_align(16, 64).unwrap(),
            off_by_eight,
            |_: NonNull<u8>, _| {},
        )
    };
    let _ = bad.alloc();
}

#[test]
fn the_free_hook_gets_each_block_with_the_layout() {
    let layout = Layout::from_size_align(32, 8).unwrap();
    let mut storage = [[0u64; 4]; 3];
    let base = NonNull::from(&mut storage).cast::<[u64; 4]>();
    let mut next = 0;
    let mut returned = Vec::new();
    let take = |_| {
        let i = next;
        next += 1;
        // SAFETY: `i < 3` is checked before the pointer is formed.
        (i < 3).then(|| unsafe { base.add(i) }.cast())
    };
    let give = |b: NonNull<u8>, l| returned.push((b.addr().get(), l));
    // SAFETY: hands out each of the three 32-byte, 8-aligned slots once.
    let mut slots = unsafe { HookUntyped::new(layout, take, give) };
    let blocks: Vec<_> = (0..3).map(|_| slots.alloc().unwrap()).collect();
    assert_eq!(slots.alloc(), Err(AllocError));
    for &b in &blocks {
        // SAFETY: each came from `slots`, freed once.
        unsafe { slots.dealloc(b) };
    }
    let expected: Vec<_> = blocks.iter().map(|b| (b.addr().get(), layout)).collect();
    assert_eq!(returned, expected);
}
