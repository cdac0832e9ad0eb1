//! Every item is dropped exactly once: by whoever popped it, or by the bag
//! when the bag is dropped, whatever segments or nodes it was spread over.
//! Miri runs these too, with its leak check on, so a node or segment that
//! is never freed fails them as well.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use bagpipe::{Bagpipe, FaaQueue, SharedWeakBag, TreiberStack};

use crate::support::Counted;

const ITEMS: usize = if cfg!(miri) { 50 } else { 1000 };

/// Pushes `ITEMS` counted items, pops a third of them and drops those,
/// then drops the bag: each item is dropped exactly once, the popped ones
/// before the bag goes.
fn drop_accounting<B: SharedWeakBag<Item = Counted>>(bag: B) {
    let drops = Arc::new(AtomicUsize::new(0));
    for _ in 0..ITEMS {
        bag.push(Counted(Arc::clone(&drops))).unwrap();
    }
    for _ in 0..ITEMS / 3 {
        drop(bag.pop().expect("items were pushed"));
    }
    assert_eq!(drops.load(Ordering::Relaxed), ITEMS / 3);
    drop(bag);
    assert_eq!(drops.load(Ordering::Relaxed), ITEMS);
    assert_eq!(Arc::strong_count(&drops), 1);
}

#[test]
fn treiber_stack() {
    drop_accounting(TreiberStack::new());
}

#[test]
fn faa_queue() {
    drop_accounting(FaaQueue::<_>::new());
}

#[test]
fn faa_queue_small_segments() {
    // Items left in many segments, after the head has retired some.
    drop_accounting(FaaQueue::<_, 3>::default());
}

#[test]
fn bagpipe_of_stacks() {
    drop_accounting(Bagpipe::<TreiberStack<_>>::with_bags(3).unwrap());
}

#[test]
fn bagpipe_of_queues() {
    drop_accounting(Bagpipe::<FaaQueue<_, 4>>::with_bags(4).unwrap());
}

#[test]
fn empty_bags_drop_nothing() {
    drop(TreiberStack::<Counted>::new());
    drop(FaaQueue::<Counted>::new());
    drop(Bagpipe::<FaaQueue<Counted>>::with_bags(2).unwrap());
}

/// Threads push and pop counted items at once, then the bag is dropped
/// with what is left: every item dropped exactly once.
fn concurrent_drop_accounting<B>(bag: B)
where
    B: SharedWeakBag<Item = Counted> + Send + Sync,
{
    let threads = if cfg!(miri) { 3 } else { 4 };
    let drops = Arc::new(AtomicUsize::new(0));
    thread::scope(|s| {
        for t in 0..threads {
            let (bag, drops) = (&bag, &drops);
            s.spawn(move || {
                for i in 0..ITEMS {
                    bag.push(Counted(Arc::clone(drops))).unwrap();
                    // Thread 0 only pushes; the others pop every other time.
                    if t != 0 && i % 2 == 0 {
                        drop(bag.pop());
                    }
                }
            });
        }
    });
    let left = bag.len_hint();
    let dropped = drops.load(Ordering::Relaxed);
    assert_eq!(dropped + left, threads * ITEMS);
    drop(bag);
    assert_eq!(drops.load(Ordering::Relaxed), threads * ITEMS);
    assert_eq!(Arc::strong_count(&drops), 1);
}

#[test]
fn concurrent_treiber_stack() {
    concurrent_drop_accounting(TreiberStack::new());
}

#[test]
fn concurrent_faa_queue() {
    concurrent_drop_accounting(FaaQueue::<_, 4>::default());
}

#[test]
fn concurrent_bagpipe() {
    concurrent_drop_accounting(Bagpipe::<FaaQueue<_, 4>>::with_bags(2).unwrap());
}
