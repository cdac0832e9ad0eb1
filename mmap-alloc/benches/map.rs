//! Map, touch every page, unmap: `MapAlloc` against raw `mmap`/`munmap` in
//! the same group, at 4 KiB, 64 KiB and 2 MiB.
//!
//! ```sh
//! cargo bench -p mmap-alloc --bench map
//! ```

#![expect(
    clippy::disallowed_methods,
    reason = "raw mmap is the baseline being compared against"
)]

use std::hint::black_box;
use std::ptr::NonNull;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mmap_alloc::MapAlloc;

const PAGE: usize = 4096;

fn touch(p: NonNull<u8>, len: usize) {
    for off in (0..len).step_by(PAGE) {
        // SAFETY: callers pass a live read-write mapping of `len` bytes.
        unsafe { p.as_ptr().add(off).write_volatile(1) };
    }
}

fn raw(len: usize) {
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

fn ours(map: &MapAlloc, len: usize) {
    let p = map.map(len, PAGE).expect("the bench sizes are mappable");
    touch(black_box(p), len);
    // SAFETY: the mapping made above, no longer used.
    unsafe { map.unmap(p, len) }.expect("unmapping our own mapping");
}

fn map_touch_unmap(c: &mut Criterion) {
    let map = MapAlloc::new();
    let mut group = c.benchmark_group("map_touch_unmap");
    for len in [4 << 10, 64 << 10, 2 << 20] {
        group.throughput(Throughput::Bytes(len as u64));
        let name = format!("{}KiB", len >> 10);
        group.bench_with_input(BenchmarkId::new("libc", &name), &len, |b, &len| {
            b.iter(|| raw(len))
        });
        group.bench_with_input(BenchmarkId::new("mmap-alloc", &name), &len, |b, &len| {
            b.iter(|| ours(&map, len))
        });
    }
    group.finish();
}

criterion_group!(benches, map_touch_unmap);
criterion_main!(benches);
