//! One workload shape on one allocator, for time and peak RSS: a process
//! per run, so that the peak belongs to that allocator alone.
//!
//! ```sh
//! cargo run --release -p slab-alloc --example zone_workload -- <shape> <allocator>
//! ```
//!
//! Shapes (larger than the criterion bench's, so that the peak is the
//! allocator's and not the program's): `pairs` (one thread, 8-512 B
//! alloc/free pairs, 20 million), `churn` (2 threads, 100,000 live blocks
//! each, 4 million replacements each), `producer-consumer` (2 threads, 4
//! million blocks through a ring of 4,096, so that at most about 1 MiB is
//! in flight and the peak is the allocator's own). Allocators: `slab-malloc`,
//! `glibc`, `mimalloc`, `jemalloc`. Prints one line: shape, allocator,
//! seconds, peak RSS in KiB (`VmHWM`).

use std::alloc::{GlobalAlloc, System};
use std::time::Instant;

use mimalloc::MiMalloc;
use slab_alloc::SlabMalloc;
use tikv_jemallocator::Jemalloc;

#[path = "../benches/zone_shapes.rs"]
mod shapes;

static ZONE: SlabMalloc = SlabMalloc::new();

fn run<A: GlobalAlloc + Sync>(shape: &str, a: &A) -> f64 {
    let start = Instant::now();
    match shape {
        "pairs" => shapes::pairs(a, &shapes::pair_sizes(), 20_000),
        "churn" => shapes::churn(a, 2, 100_000, 4_000_000),
        "producer-consumer" => shapes::producer_consumer(a, 4_000_000, 4_096),
        other => {
            eprintln!("unknown shape {other:?}: pairs, churn or producer-consumer");
            std::process::exit(2);
        }
    }
    start.elapsed().as_secs_f64()
}

/// The process's peak resident set, in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [shape, alloc] = &args[..] else {
        eprintln!("usage: zone_workload <shape> <allocator>");
        std::process::exit(2);
    };
    let secs = match alloc.as_str() {
        "slab-malloc" => run(shape, &ZONE),
        "glibc" => run(shape, &System),
        "mimalloc" => run(shape, &MiMalloc),
        "jemalloc" => run(shape, &Jemalloc),
        other => {
            eprintln!("unknown allocator {other:?}: slab-malloc, glibc, mimalloc or jemalloc");
            std::process::exit(2);
        }
    };
    println!("{shape} {alloc} {secs:.4} {}", peak_rss_kib());
}
