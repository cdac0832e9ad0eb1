//! The producer-consumer workload: `pairs` producer threads push items
//! that `pairs` consumer threads pop, for 1, 2 and 4 pairs (2, 4 and 8
//! threads). Bagpipe over stacks and over queues, each inner bag alone,
//! and the peers (`crossbeam_queue::SegQueue` and `ArrayQueue`,
//! `Mutex<Vec<_>>`) in the same group.
//!
//! ```sh
//! cargo bench -p bagpipe --bench producer_consumer -- --warm-up-time 1 --measurement-time 3
//! info/bench-table producer_consumer segqueue
//! ```

use std::hint::black_box;
use std::sync::{Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use bagpipe::{Bagpipe, FaaQueue, SharedWeakBag, TreiberStack};
use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use crossbeam_queue::{ArrayQueue, SegQueue};
use crossbeam_utils::Backoff;

/// Items each producer pushes per iteration.
const BATCH: usize = 32;

/// The capacity of the bounded peer (`ArrayQueue`): producers wait while
/// it is full.
const CAPACITY: usize = 1024;

/// What the workload needs of a pool: put an item in, take one out.
trait Pool: Sync {
    /// Built to hold at least `capacity` items at once.
    fn with_capacity(capacity: usize) -> Self;
    /// `false` if the pool is full.
    fn put(&self, item: u64) -> bool;
    fn take(&self) -> Option<u64>;
}

impl<B: SharedWeakBag<Item = u64> + Default + Sync> Pool for Bagpipe<B> {
    fn with_capacity(_: usize) -> Self {
        Bagpipe::new()
    }
    fn put(&self, item: u64) -> bool {
        self.push(item).is_ok()
    }
    fn take(&self) -> Option<u64> {
        self.pop()
    }
}

impl Pool for TreiberStack<u64> {
    fn with_capacity(_: usize) -> Self {
        TreiberStack::new()
    }
    fn put(&self, item: u64) -> bool {
        self.push(item).is_ok()
    }
    fn take(&self) -> Option<u64> {
        self.pop()
    }
}

impl Pool for FaaQueue<u64> {
    fn with_capacity(_: usize) -> Self {
        FaaQueue::new()
    }
    fn put(&self, item: u64) -> bool {
        self.push(item).is_ok()
    }
    fn take(&self) -> Option<u64> {
        self.pop()
    }
}

impl Pool for SegQueue<u64> {
    fn with_capacity(_: usize) -> Self {
        SegQueue::new()
    }
    fn put(&self, item: u64) -> bool {
        self.push(item);
        true
    }
    fn take(&self) -> Option<u64> {
        self.pop()
    }
}

impl Pool for ArrayQueue<u64> {
    fn with_capacity(capacity: usize) -> Self {
        ArrayQueue::new(capacity)
    }
    fn put(&self, item: u64) -> bool {
        self.push(item).is_ok()
    }
    fn take(&self) -> Option<u64> {
        self.pop()
    }
}

impl Pool for Mutex<Vec<u64>> {
    fn with_capacity(capacity: usize) -> Self {
        Mutex::new(Vec::with_capacity(capacity))
    }
    fn put(&self, item: u64) -> bool {
        self.lock().unwrap().push(item);
        true
    }
    fn take(&self) -> Option<u64> {
        self.lock().unwrap().pop()
    }
}

/// `pairs` producers each push `iters * BATCH` items into a fresh pool
/// while `pairs` consumers each pop as many; the time from a common start
/// to the last finish. A producer facing a full pool and a consumer facing
/// an empty one back off and try again.
fn run<P: Pool>(pairs: usize, iters: u64) -> Duration {
    let pool = P::with_capacity(CAPACITY);
    let quota = iters * BATCH as u64;
    let start_line = Barrier::new(2 * pairs + 1);
    thread::scope(|s| {
        let mut workers = Vec::new();
        for _ in 0..pairs {
            workers.push(s.spawn(|| {
                start_line.wait();
                let backoff = Backoff::new();
                for i in 0..quota {
                    while !pool.put(black_box(i)) {
                        backoff.snooze();
                    }
                    backoff.reset();
                }
            }));
            workers.push(s.spawn(|| {
                start_line.wait();
                let backoff = Backoff::new();
                let mut got = 0;
                while got < quota {
                    match pool.take() {
                        Some(item) => {
                            black_box(item);
                            got += 1;
                            backoff.reset();
                        }
                        None => backoff.snooze(),
                    }
                }
            }));
        }
        start_line.wait();
        let start = Instant::now();
        workers.into_iter().for_each(|w| w.join().unwrap());
        start.elapsed()
    })
}

fn bench<P: Pool>(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, pairs: usize) {
    group.bench_with_input(BenchmarkId::new(name, pairs), &pairs, |b, &pairs| {
        b.iter_custom(|iters| run::<P>(pairs, iters));
    });
}

fn producer_consumer(c: &mut Criterion) {
    let mut group = c.benchmark_group("producer_consumer");
    for pairs in [1, 2, 4] {
        // One element: one item through the pool.
        group.throughput(Throughput::Elements((pairs * BATCH) as u64));
        bench::<Bagpipe<TreiberStack<u64>>>(&mut group, "bagpipe-stack", pairs);
        bench::<Bagpipe<FaaQueue<u64>>>(&mut group, "bagpipe-queue", pairs);
        bench::<TreiberStack<u64>>(&mut group, "treiber-stack", pairs);
        bench::<FaaQueue<u64>>(&mut group, "faa-queue", pairs);
        bench::<SegQueue<u64>>(&mut group, "segqueue", pairs);
        bench::<ArrayQueue<u64>>(&mut group, "arrayqueue", pairs);
        bench::<Mutex<Vec<u64>>>(&mut group, "mutex-vec", pairs);
    }
    group.finish();
}

criterion_group!(benches, producer_consumer);
criterion_main!(benches);
