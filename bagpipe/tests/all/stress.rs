//! Many threads at once: every item pushed is popped exactly once (no
//! loss, no duplicate), for each bag alone and for a `Bagpipe` over each.
//! Natively 8 threads move 1,000,000 items per test; under Miri 3 threads
//! move a few hundred (`support::THREADS`, `support::ITEMS`).

use bagpipe::{Bagpipe, FaaQueue, TreiberStack};

use crate::support::{pool, producers_and_consumers};

/// Segments of four slots: pushes and pops cross segments all the time, so
/// appending, helping the tail and retiring race with everything else.
type SmallQueue = FaaQueue<usize, 4>;

mod producers_and_consumers {
    use super::*;

    #[test]
    fn treiber_stack() {
        producers_and_consumers(&TreiberStack::new());
    }

    #[test]
    fn faa_queue() {
        producers_and_consumers(&FaaQueue::<usize>::new());
    }

    #[test]
    fn faa_queue_small_segments() {
        producers_and_consumers(&SmallQueue::default());
    }

    #[test]
    fn bagpipe_of_stacks() {
        producers_and_consumers(&Bagpipe::<TreiberStack<usize>>::with_bags(4).unwrap());
    }

    #[test]
    fn bagpipe_of_queues() {
        producers_and_consumers(&Bagpipe::<FaaQueue<usize>>::with_bags(4).unwrap());
    }

    #[test]
    fn bagpipe_of_small_queues() {
        // Three bags: start indices by remainder, not by mask.
        producers_and_consumers(&Bagpipe::<SmallQueue>::with_bags(3).unwrap());
    }
}

mod pool {
    use super::*;

    const BATCH: usize = 16;

    #[test]
    fn treiber_stack() {
        pool(&TreiberStack::new(), BATCH);
    }

    #[test]
    fn faa_queue() {
        pool(&FaaQueue::<usize>::new(), BATCH);
    }

    #[test]
    fn faa_queue_small_segments() {
        pool(&SmallQueue::default(), BATCH);
    }

    #[test]
    fn bagpipe_of_stacks() {
        pool(
            &Bagpipe::<TreiberStack<usize>>::with_bags(4).unwrap(),
            BATCH,
        );
    }

    #[test]
    fn bagpipe_of_queues() {
        pool(&Bagpipe::<FaaQueue<usize>>::with_bags(4).unwrap(), BATCH);
    }

    #[test]
    fn bagpipe_of_small_queues() {
        pool(&Bagpipe::<SmallQueue>::with_bags(3).unwrap(), BATCH);
    }

    /// One inner bag: every thread shares it, the most contended shape.
    #[test]
    fn bagpipe_of_one_queue() {
        pool(&Bagpipe::<SmallQueue>::with_bags(1).unwrap(), BATCH);
    }
}
