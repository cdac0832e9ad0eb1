//! Growing and shrinking with `mremap`: contents are kept, in place when the
//! kernel can, moved without copying otherwise.

use mmap_alloc::MapAlloc;

fn fill(p: std::ptr::NonNull<u8>, len: usize) {
    for i in (0..len).step_by(512) {
        // SAFETY: callers pass a live mapping of at least `len` bytes.
        unsafe { p.as_ptr().add(i).write((i / 512) as u8) };
    }
}

fn check(p: std::ptr::NonNull<u8>, len: usize) {
    for i in (0..len).step_by(512) {
        // SAFETY: callers pass a live mapping of at least `len` bytes.
        let b = unsafe { p.as_ptr().add(i).read() };
        assert_eq!(b, (i / 512) as u8, "byte {i} changed");
    }
}

#[test]
fn growth_keeps_contents() {
    let map = MapAlloc::new();
    let mut len = 4096;
    let mut p = map.map(len, 4096).unwrap();
    fill(p, len);
    let end = if cfg!(miri) { 1 << 20 } else { 64 << 20 };
    while len < end {
        // SAFETY: `p` is a live mapping of `len` bytes.
        p = unsafe { map.remap(p, len, len * 4, 4096) }.unwrap();
        check(p, len);
        fill(p, len * 4);
        len *= 4;
    }
    // SAFETY: `p` is now a live mapping of `len` bytes.
    unsafe { map.unmap(p, len).unwrap() };
}

#[test]
#[cfg_attr(miri, ignore = "Miri emulates only whole-mapping munmap and mremap")]
fn growth_into_free_address_space_stays_in_place() {
    let map = MapAlloc::new();
    // Reserve a range, free its upper part, and grow into it.
    let p = map.map(64 << 20, 4096).unwrap();
    // SAFETY: the upper part of a live mapping, unused.
    unsafe { map.unmap(p.byte_add(4 << 20), 60 << 20).unwrap() };
    fill(p, 4 << 20);
    // SAFETY: `p` is now a live mapping of 4 MiB.
    let q = unsafe { map.remap(p, 4 << 20, 32 << 20, 4096) }.unwrap();
    assert_eq!(q, p, "the address space after the mapping was free");
    check(q, 4 << 20);
    // SAFETY: `q` is a live mapping of 32 MiB.
    unsafe { map.unmap(q, 32 << 20).unwrap() };
}

#[test]
#[cfg_attr(miri, ignore = "Miri emulates only whole-mapping munmap and mremap")]
fn shrinking_stays_in_place_and_keeps_the_prefix() {
    let map = MapAlloc::new();
    let p = map.map(1 << 20, 4096).unwrap();
    fill(p, 1 << 20);
    // SAFETY: `p` is a live mapping of 1 MiB, then of 8 KiB.
    unsafe {
        let q = map.remap(p, 1 << 20, 8192, 4096).unwrap();
        assert_eq!(q, p);
        check(q, 8192);
        map.unmap(q, 8192).unwrap();
    }
}

#[test]
#[cfg_attr(miri, ignore = "Miri emulates only whole-mapping munmap and mremap")]
fn growth_keeps_large_alignment_and_contents_with_guards() {
    let guarded = MapAlloc::builder().guard_pages(1, 1).build().unwrap();
    for map in [MapAlloc::new(), guarded] {
        let p = map.map(8192, 1 << 21).unwrap();
        fill(p, 8192);
        // SAFETY: `p` is a live mapping of 8 KiB.
        let q = unsafe { map.remap(p, 8192, 3 << 20, 1 << 21) }.unwrap();
        assert_eq!(q.as_ptr() as usize % (1 << 21), 0);
        check(q, 8192);
        // SAFETY: `q` is a live mapping of 3 MiB.
        unsafe {
            q.as_ptr().add((3 << 20) - 1).write(1);
            map.unmap(q, 3 << 20).unwrap();
        }
    }
}

#[test]
fn allocator_grow_zeroes_the_tail_after_a_shrink() {
    use allocator_api2::alloc::Allocator;
    use std::alloc::Layout;

    let map = MapAlloc::new();
    let big = Layout::from_size_align(4000, 8).unwrap();
    let small = Layout::from_size_align(100, 8).unwrap();
    let block = map.allocate(big).unwrap().cast::<u8>();
    // SAFETY: the block is live with the layouts passed at each step.
    unsafe {
        block.as_ptr().write_bytes(0xff, 4000);
        let block = map.shrink(block, big, small).unwrap().cast::<u8>();
        let block = map.grow_zeroed(block, small, big).unwrap().cast::<u8>();
        let bytes = std::slice::from_raw_parts(block.as_ptr(), 4000);
        assert!(bytes[..100].iter().all(|&b| b == 0xff));
        assert!(
            bytes[100..].iter().all(|&b| b == 0),
            "grow_zeroed must zero what shrink left behind"
        );
        map.deallocate(block, big);
    }
}
