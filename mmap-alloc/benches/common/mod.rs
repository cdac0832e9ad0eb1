//! What both benches time: map `len` bytes, write a byte in every page,
//! unmap; through raw `mmap`/`munmap` and through `MapAlloc`.

#![expect(
    clippy::disallowed_methods,
    reason = "raw mmap is the baseline being compared against"
)]

use std::hint::black_box;
use std::ptr::NonNull;

use mmap_alloc::MapAlloc;

pub(crate) const PAGE: usize = 4096;

fn touch(p: NonNull<u8>, len: usize) {
    for off in (0..len).step_by(PAGE) {
        // SAFETY: callers pass a live read-write mapping of `len` bytes.
        unsafe { p.as_ptr().add(off).write_volatile(1) };
    }
}

pub(crate) fn raw(len: usize) {
    // SAFETY: an anonymous private mapping at an address the kernel picks.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(p, libc::MAP_FAILED);
    let p = NonNull::new(p.cast::<u8>()).expect("mmap does not return null");
    touch(black_box(p), len);
    // SAFETY: the mapping made above, no longer used.
    assert_eq!(unsafe { libc::munmap(p.as_ptr().cast(), len) }, 0);
}

pub(crate) fn ours(map: &MapAlloc, len: usize) {
    let p = map.map(len, PAGE).expect("the bench sizes are mappable");
    touch(black_box(p), len);
    // SAFETY: the mapping made above, no longer used.
    unsafe { map.unmap(p, len) }.expect("unmapping our own mapping");
}
