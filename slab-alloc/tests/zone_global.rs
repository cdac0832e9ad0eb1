//! The zone as this process's global allocator.
//!
//! Everything std does on the heap runs on `SlabMalloc` here: collections,
//! strings, formatting, threads (whose exit flushes their magazines through
//! a thread-specific key destructor), channels with cross-thread frees, and
//! blocks large enough to be mappings of their own. The zone's state is
//! made by the first allocation, before `main`, inside std's runtime
//! start-up; a hang there would start before `main`, so an `.init_array`
//! entry arms `alarm(2)` first and a hang dies of SIGALRM. The binary has
//! its own `main` (no test harness).
//!
//! Not under Miri, where `main` only says so: the zone's chunks are 4 MiB
//! aligned mappings, which need reservations Miri does not emulate.

#[cfg(not(miri))]
#[path = "common/deadline.rs"]
mod deadline;
#[cfg(not(miri))]
#[path = "common/workload.rs"]
mod workload;

fn main() {
    #[cfg(not(miri))]
    on_zone::run();
    #[cfg(miri)]
    println!("slab-alloc zone_global test: skipped under Miri (no aligned mappings)");
}

#[cfg(not(miri))]
mod on_zone {
    use slab_alloc::SlabMalloc;

    #[global_allocator]
    static GLOBAL: SlabMalloc = SlabMalloc::new();

    pub(crate) fn run() {
        let chars = crate::workload::run(6, 3_000, 700);
        let stats = GLOBAL.stats();
        let served: u64 = stats
            .classes
            .iter()
            .map(|c| c.slabs.objects_allocated)
            .sum();
        assert!(served > 10_000, "the zone served {served} small objects");
        assert!(stats.large.mapped_bytes > 0, "no large block was mapped");
        println!(
            "slab-alloc zone_global test: ok ({served} small objects from the slab layer, {} chunks, {} magazines, {chars} characters moved)",
            stats.chunks, stats.magazines
        );
    }
}
