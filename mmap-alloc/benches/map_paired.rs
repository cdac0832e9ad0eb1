//! The overhead ratio of `MapAlloc` over raw `mmap`/`munmap`, measured in
//! alternating rounds so that drift on a noisy machine (other processes,
//! frequency changes) hits both sides alike. Each round times a batch of
//! map + touch + unmap with each side, in alternating order, and the ratio
//! of the two batch times is one sample; the median and quartiles of the
//! samples are printed.
//!
//! ```sh
//! cargo bench -p mmap-alloc --bench map_paired
//! ```

use std::time::{Duration, Instant};

use mmap_alloc::MapAlloc;

mod common;

use common::{ours, raw};

const ROUNDS: usize = 200;

fn batch(n: usize, f: impl Fn()) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed()
}

fn main() {
    // `cargo bench` passes `--bench`; a filter is not supported.
    let map = MapAlloc::new();
    println!(
        "size     median   q1       q3       (ratio = mmap-alloc / libc per round, {ROUNDS} rounds)"
    );
    for len in [4 << 10, 64 << 10, 2 << 20] {
        // About 2 ms per batch, so a round is long enough to time and
        // short enough to alternate often.
        let per = (batch(10, || raw(len)) / 10).max(Duration::from_nanos(100));
        let n = (Duration::from_millis(2).as_nanos() / per.as_nanos()).max(1) as usize;
        let mut ratios: Vec<f64> = (0..ROUNDS)
            .map(|round| {
                let (a, b) = if round % 2 == 0 {
                    let b = batch(n, || raw(len));
                    (batch(n, || ours(&map, len)), b)
                } else {
                    let a = batch(n, || ours(&map, len));
                    (a, batch(n, || raw(len)))
                };
                a.as_secs_f64() / b.as_secs_f64()
            })
            .collect();
        ratios.sort_by(f64::total_cmp);
        let q = |f: f64| ratios[((ratios.len() - 1) as f64 * f) as usize];
        println!(
            "{:>4} KiB {:.3}    {:.3}    {:.3}",
            len >> 10,
            q(0.5),
            q(0.25),
            q(0.75)
        );
    }
}
