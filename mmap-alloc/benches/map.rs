//! Map, touch every page, unmap: `MapAlloc` against raw `mmap`/`munmap` in
//! the same group, at 4 KiB, 64 KiB and 2 MiB.
//!
//! ```sh
//! cargo bench -p mmap-alloc --bench map
//! ```

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mmap_alloc::MapAlloc;

mod common;

use common::{ours, raw};

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
