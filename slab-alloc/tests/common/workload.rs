//! The std-heavy workload the global-allocator test binaries run on their
//! allocator: collections, strings and formatting on `workers` threads,
//! batches of strings sent over a channel to a consumer (so they are freed
//! on another thread), blocks large enough to be mappings of their own
//! passed between threads through a mutex, and short-lived threads.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

/// Runs the workload for `rounds` rounds on each of `workers` threads, with
/// values of up to `max_value` bytes; returns the characters the consumer
/// received.
pub(crate) fn run(workers: usize, rounds: usize, max_value: usize) -> usize {
    let (tx, rx) = mpsc::channel::<Vec<String>>();
    let consumer = std::thread::spawn(move || {
        let mut chars = 0;
        for batch in rx {
            chars += batch.iter().map(String::len).sum::<usize>();
        }
        chars
    });
    let shared = Arc::new(Mutex::new(VecDeque::new()));
    let handles: Vec<_> = (0..workers)
        .map(|t| {
            let tx = tx.clone();
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || {
                let mut map = HashMap::new();
                let mut tree = BTreeMap::new();
                for i in 0..rounds {
                    map.insert(i, format!("worker {t} item {i}"));
                    tree.insert(format!("{i:08}"), vec![t as u8; i % max_value]);
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
    for h in handles {
        h.join().unwrap();
    }
    let chars = consumer.join().unwrap();
    assert!(chars > 0);
    // Short-lived threads.
    for _ in 0..200 {
        std::thread::spawn(|| (0..50).map(|i| i.to_string()).collect::<Vec<_>>().len())
            .join()
            .unwrap();
    }
    chars
}
