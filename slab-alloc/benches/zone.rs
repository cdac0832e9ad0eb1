//! The zone (`SlabMalloc`) against glibc's `malloc` (`System`), mimalloc
//! and jemalloc, all called as `GlobalAlloc`, in the same criterion groups:
//!
//! - `zone/pairs 8-512 B`: one thread allocates and frees 1,024 blocks of
//!   sizes from 8 to 512 bytes, one at a time.
//! - `zone/churn 2 threads`: two threads each keep 10,000 blocks of 8 to
//!   512 bytes and replace a random one 100,000 times.
//! - `zone/producer-consumer`: one thread allocates 100,000 blocks of 8 to
//!   512 bytes, another frees them (every free cross-thread).
//!
//! Peak RSS needs a process per allocator: `examples/zone_workload.rs` runs
//! the same shapes, larger, and `info/zone-workloads` runs it for each
//! allocator and tabulates time and peak RSS.
//!
//! ```sh
//! cargo bench -p slab-alloc --bench zone -- --warm-up-time 1 --measurement-time 3
//! ```

use std::alloc::{GlobalAlloc, System};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mimalloc::MiMalloc;
use slab_alloc::SlabMalloc;
use tikv_jemallocator::Jemalloc;

#[path = "zone_shapes.rs"]
mod shapes;

static ZONE: SlabMalloc = SlabMalloc::new();

/// Runs `$case(group, name, allocator, args…)` once per allocator,
/// monomorphised for each (no dynamic dispatch in the measured loops).
macro_rules! for_each_allocator {
    ($case:ident($group:expr $(, $arg:expr)*)) => {
        $case($group, "slab-malloc", &ZONE $(, $arg)*);
        $case($group, "glibc", &System $(, $arg)*);
        $case($group, "mimalloc", &MiMalloc $(, $arg)*);
        $case($group, "jemalloc", &Jemalloc $(, $arg)*);
    };
}

type Group<'a> = criterion::BenchmarkGroup<'a, criterion::measurement::WallTime>;

fn pairs_case<A: GlobalAlloc>(group: &mut Group<'_>, name: &str, a: &A, sizes: &[usize]) {
    group.bench_function(BenchmarkId::new(name, "pairs 8-512 B"), |b| {
        b.iter(|| shapes::pairs(a, sizes, 1));
    });
}

fn pairs(c: &mut Criterion) {
    let sizes = shapes::pair_sizes();
    let mut group = c.benchmark_group("zone");
    group.throughput(Throughput::Elements(sizes.len() as u64));
    for_each_allocator!(pairs_case(&mut group, &sizes));
    group.finish();
}

/// Times `iters` runs of `run` (each spawns its own threads).
fn timed(iters: u64, run: impl Fn()) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        run();
    }
    start.elapsed()
}

fn threads_case<A: GlobalAlloc + Sync>(group: &mut Group<'_>, name: &str, a: &A) {
    group.bench_function(BenchmarkId::new(name, "churn 2 threads"), |b| {
        b.iter_custom(|iters| timed(iters, || shapes::churn(a, 2, 10_000, 100_000)));
    });
    group.bench_function(BenchmarkId::new(name, "producer-consumer"), |b| {
        b.iter_custom(|iters| timed(iters, || shapes::producer_consumer(a, 100_000, 1024)));
    });
}

fn threads(c: &mut Criterion) {
    let mut group = c.benchmark_group("zone");
    group.sample_size(10);
    for_each_allocator!(threads_case(&mut group));
    group.finish();
}

criterion_group!(benches, pairs, threads);
criterion_main!(benches);
