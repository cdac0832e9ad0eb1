//! The criterion bench's three shapes (`benches/zone.rs`, same sizes),
//! timed in interleaved blocks so that the machine's drift falls on every
//! allocator alike: each block runs every allocator in turn, a number of
//! iterations each, and keeps each allocator's median; the ratio to
//! mimalloc is taken block by block, and the table gives the median and
//! the quartiles of those ratios.
//!
//! ```sh
//! cargo run --release -p slab-alloc --example zone_blocks -- [blocks] [iterations] [shape]
//! ```
//!
//! Defaults: 10 blocks of 30 iterations, every shape (or those whose name
//! contains `shape`). An iteration is what criterion
//! times once: 1,024 alloc/free pairs (repeated 100 times here, so that
//! one timing is not a few microseconds), or one run of the churn or the
//! producer-consumer, threads spawned and joined included.

use std::alloc::{GlobalAlloc, System};
use std::time::Instant;

use mimalloc::MiMalloc;
use slab_alloc::SlabMalloc;
use tikv_jemallocator::Jemalloc;

#[path = "../benches/zone_shapes.rs"]
mod shapes;

static ZONE: SlabMalloc = SlabMalloc::new();

const ALLOCATORS: [&str; 4] = ["slab-malloc", "mimalloc", "jemalloc", "glibc"];
const SHAPES: [&str; 3] = ["pairs 8-512 B", "churn 2 threads", "producer-consumer"];

/// Seconds one iteration of `shape` takes on `a`.
fn once<A: GlobalAlloc + Sync>(a: &A, shape: &str, sizes: &[usize]) -> f64 {
    let start = Instant::now();
    match shape {
        "pairs 8-512 B" => shapes::pairs(a, sizes, 100),
        "churn 2 threads" => shapes::churn(a, 2, 10_000, 100_000),
        _ => shapes::producer_consumer(a, 100_000, 1024),
    }
    let secs = start.elapsed().as_secs_f64();
    if shape == "pairs 8-512 B" {
        secs / 100.0
    } else {
        secs
    }
}

/// Seconds of `iterations` iterations of `shape` on allocator `name`.
fn times(name: &str, shape: &str, sizes: &[usize], iterations: usize) -> Vec<f64> {
    (0..iterations)
        .map(|_| match name {
            "slab-malloc" => once(&ZONE, shape, sizes),
            "mimalloc" => once(&MiMalloc, shape, sizes),
            "jemalloc" => once(&Jemalloc, shape, sizes),
            _ => once(&System, shape, sizes),
        })
        .collect()
}

/// The value at fraction `q` of `v` (sorted in place).
fn quantile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// A time in the unit that suits it.
fn show(secs: f64) -> String {
    if secs < 1e-3 {
        format!("{:.2} µs", secs * 1e6)
    } else {
        format!("{:.2} ms", secs * 1e3)
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: usize| match args.get(i) {
        None => Some(default),
        Some(a) => a.parse().ok().filter(|&n| n > 0),
    };
    let (Some(blocks), Some(iterations)) = (number(0, 10), number(1, 30)) else {
        eprintln!("usage: zone_blocks [blocks] [iterations] [shape] (counts above 0)");
        std::process::exit(2);
    };
    let only = args.get(2).map_or("", String::as_str);
    let sizes = shapes::pair_sizes();
    println!(
        "Median over {blocks} interleaved blocks of {iterations} iterations; \
         ratio = block median / mimalloc's block median, then its median \
         (quartiles in brackets) over the blocks.\n"
    );
    print!("| shape |");
    for name in ALLOCATORS {
        print!(" {name} |");
    }
    for name in ALLOCATORS.iter().filter(|&&n| n != "mimalloc") {
        print!(" {name} / mimalloc |");
    }
    println!();
    println!("|---{}|", "|---".repeat(2 * ALLOCATORS.len() - 1));
    for shape in SHAPES.into_iter().filter(|s| s.contains(only)) {
        // medians[allocator][block]
        let mut medians = vec![Vec::with_capacity(blocks); ALLOCATORS.len()];
        for _ in 0..blocks {
            for (i, name) in ALLOCATORS.iter().enumerate() {
                let mut t = times(name, shape, &sizes, iterations);
                medians[i].push(quantile(&mut t, 0.5));
            }
        }
        print!("| {shape} |");
        for m in &medians {
            print!(" {} |", show(quantile(&mut m.clone(), 0.5)));
        }
        let base = &medians[1];
        for m in medians
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != 1)
            .map(|(_, m)| m)
        {
            let mut r: Vec<f64> = m.iter().zip(base).map(|(a, b)| a / b).collect();
            let (lo, mid, hi) = (
                quantile(&mut r, 0.25),
                quantile(&mut r, 0.5),
                quantile(&mut r, 0.75),
            );
            print!(" {mid:.2} [{lo:.2}–{hi:.2}] |");
        }
        println!();
    }
}
