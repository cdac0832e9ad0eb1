//! Allocate-and-free pairs of one layout, for BsAlloc, glibc's `malloc`
//! (`System`) and mimalloc in the same group, so the medians compare
//! directly: one size in the small class, one in the large class, and one
//! above it (a mapping for BsAlloc).
//!
//! ```sh
//! cargo bench -p bsalloc --bench pairs -- --warm-up-time 1 --measurement-time 3
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;

use bsalloc::BsAlloc;
use criterion::{Criterion, criterion_group, criterion_main};
use mimalloc::MiMalloc;

static BSALLOC: BsAlloc = BsAlloc::new();

/// One allocate-and-free pair.
#[inline]
fn pair<A: GlobalAlloc>(heap: &A, layout: Layout) {
    // SAFETY: the layouts below are not zero-sized; the block is freed once,
    // with its layout.
    unsafe {
        let block = heap.alloc(layout);
        assert!(!block.is_null());
        heap.dealloc(black_box(block), layout);
    }
}

fn pairs(c: &mut Criterion) {
    let cases = [
        ("small 48 B", Layout::from_size_align(48, 8).unwrap()),
        ("large 2 KiB", Layout::from_size_align(2048, 8).unwrap()),
        (
            "mapping 64 KiB",
            Layout::from_size_align(64 << 10, 8).unwrap(),
        ),
    ];
    for (name, layout) in cases {
        let mut group = c.benchmark_group(format!("pairs/{name}"));
        group.bench_function("bsalloc", |b| b.iter(|| pair(&BSALLOC, black_box(layout))));
        group.bench_function("glibc", |b| b.iter(|| pair(&System, black_box(layout))));
        group.bench_function("mimalloc", |b| {
            b.iter(|| pair(&MiMalloc, black_box(layout)))
        });
        group.finish();
    }
}

criterion_group!(benches, pairs);
criterion_main!(benches);
