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

fn main() {
    #[cfg(not(miri))]
    on_zone::run();
    #[cfg(miri)]
    println!("slab-alloc zone_global test: skipped under Miri (no aligned mappings)");
}

#[cfg(not(miri))]
mod on_zone {
    use std::collections::{BTreeMap, HashMap, VecDeque};
    use std::sync::mpsc;
    use std::sync::{Arc, Mutex};

    use slab_alloc::SlabMalloc;

    #[global_allocator]
    static GLOBAL: SlabMalloc = SlabMalloc::new();

    pub(crate) fn run() {
        let rounds = 3_000;
        let (tx, rx) = mpsc::channel::<Vec<String>>();
        let consumer = std::thread::spawn(move || {
            let mut chars = 0;
            for batch in rx {
                chars += batch.iter().map(String::len).sum::<usize>();
            }
            chars
        });
        let shared = Arc::new(Mutex::new(VecDeque::new()));
        let workers: Vec<_> = (0..6)
            .map(|t| {
                let tx = tx.clone();
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || {
                    let mut map = HashMap::new();
                    let mut tree = BTreeMap::new();
                    for i in 0..rounds {
                        map.insert(i, format!("worker {t} item {i}"));
                        tree.insert(format!("{i:08}"), vec![t as u8; i % 700]);
                        if i % 64 == 63 {
                            let batch: Vec<String> = map.drain().map(|(_, v)| v).collect();
                            tx.send(batch).unwrap();
                            tree.retain(|_, v| v.len() % 2 == 0);
                        }
                        if i % 500 == 0 {
                            // A block of its own mapping, freed by another
                            // thread later.
                            shared.lock().unwrap().push_back(vec![t as u8; 300_000 + i]);
                        }
                        if i % 700 == 0 {
                            drop(shared.lock().unwrap().pop_front());
                        }
                    }
                    tree.len()
                })
            })
            .collect();
        drop(tx);
        for w in workers {
            w.join().unwrap();
        }
        let chars = consumer.join().unwrap();
        assert!(chars > 0);
        // Short-lived threads: each exit flushes its magazines.
        for _ in 0..200 {
            std::thread::spawn(|| (0..50).map(|i| i.to_string()).collect::<Vec<_>>().len())
                .join()
                .unwrap();
        }
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
