//! What several test modules share: a drop counter and the exactly-once
//! stress harness.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::thread;

use bagpipe::SharedWeakBag;

/// An item that counts its drops in a shared counter.
#[derive(Debug)]
pub(crate) struct Counted(pub(crate) Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// Threads and items of the stress runs: the full size natively, a small
/// one under Miri (the same code paths, fewer rounds).
pub(crate) const THREADS: usize = if cfg!(miri) { 3 } else { 8 };
pub(crate) const ITEMS: usize = if cfg!(miri) { 240 } else { 1_000_000 };

/// Records which items came out, and fails on the second sighting of one.
struct Ledger {
    seen: Vec<AtomicU8>,
    popped: AtomicUsize,
}

impl Ledger {
    fn new(items: usize) -> Self {
        Ledger {
            seen: (0..items).map(|_| AtomicU8::new(0)).collect(),
            popped: AtomicUsize::new(0),
        }
    }

    fn record(&self, item: usize) {
        let before = self.seen[item].fetch_add(1, Ordering::Relaxed);
        assert_eq!(before, 0, "item {item} popped twice");
        self.popped.fetch_add(1, Ordering::Relaxed);
    }

    fn popped(&self) -> usize {
        self.popped.load(Ordering::Relaxed)
    }

    /// Every item came out exactly once.
    fn check(&self) {
        let lost: Vec<usize> = (0..self.seen.len())
            .filter(|&i| self.seen[i].load(Ordering::Relaxed) != 1)
            .take(10)
            .collect();
        assert!(lost.is_empty(), "items never popped (first ten): {lost:?}");
        assert_eq!(self.popped(), self.seen.len());
    }
}

/// `THREADS` threads, half producers that push `ITEMS` distinct items
/// between them with `push`, half consumers that pop with `pop` until all
/// are out. Checks each item is popped exactly once and the bag ends empty.
pub(crate) fn producers_and_consumers<B>(bag: &B)
where
    B: SharedWeakBag<Item = usize> + Sync,
{
    let producers = THREADS - THREADS / 2;
    let consumers = THREADS / 2;
    let ledger = Ledger::new(ITEMS);
    thread::scope(|s| {
        for p in 0..producers {
            s.spawn(move || {
                for item in (p..ITEMS).step_by(producers) {
                    bag.push(item).expect("unbounded bags are never full");
                }
            });
        }
        for _ in 0..consumers {
            s.spawn(|| {
                while ledger.popped() < ITEMS {
                    match bag.pop() {
                        Some(item) => ledger.record(item),
                        None => thread::yield_now(),
                    }
                }
            });
        }
    });
    ledger.check();
    assert_eq!(bag.pop(), None);
    assert_eq!(bag.len_hint(), 0);
}

/// `THREADS` threads, each pushing a batch of its items and then popping
/// as many (its own or anyone's), until `ITEMS` items have been pushed;
/// then the rest are drained. Checks each item is popped exactly once.
/// Pushes and pops use the one-attempt forms, retried here.
pub(crate) fn pool<B>(bag: &B, batch: usize)
where
    B: SharedWeakBag<Item = usize> + Sync,
{
    let ledger = Ledger::new(ITEMS);
    thread::scope(|s| {
        for t in 0..THREADS {
            let ledger = &ledger;
            s.spawn(move || {
                let mine: Vec<usize> = (t..ITEMS).step_by(THREADS).collect();
                for chunk in mine.chunks(batch) {
                    for &item in chunk {
                        let mut item = item;
                        while let Err(e) = bag.try_push(item) {
                            assert!(e.is_contended(), "unbounded bags are never full");
                            item = e.into_inner();
                            thread::yield_now();
                        }
                    }
                    for _ in 0..chunk.len() {
                        loop {
                            match bag.try_pop() {
                                Ok(item) => ledger.record(item),
                                Err(bagpipe::PopError::Empty) => {}
                                Err(bagpipe::PopError::Contended) => {
                                    thread::yield_now();
                                    continue;
                                }
                            }
                            break;
                        }
                    }
                }
            });
        }
    });
    while let Some(item) = bag.pop() {
        ledger.record(item);
    }
    ledger.check();
    assert_eq!(bag.len_hint(), 0);
}
