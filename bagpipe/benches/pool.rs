//! The pool workload: every thread pushes a batch of items and then pops
//! as many (its own or anyone's), over and over, as a depot of magazines
//! or a free list sees it. Bagpipe over stacks and over queues, each inner
//! bag alone, and the peers (`crossbeam_queue::SegQueue` and `ArrayQueue`,
//! `Mutex<Vec<_>>`), at 1, 2 and 4 threads in the same group.
//!
//! ```sh
//! cargo bench -p bagpipe --bench pool -- --warm-up-time 1 --measurement-time 3
//! info/bench-table pool segqueue
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

/// Items each thread pushes, then pops, per iteration.
const BATCH: usize = 32;

/// What the workload needs of a pool: put an item in, take one out.
trait Pool: Sync {
    /// Built to hold at least `capacity` items at once.
    fn with_capacity(capacity: usize) -> Self;
    fn put(&self, item: u64);
    fn take(&self) -> Option<u64>;
}

impl<B: SharedWeakBag<Item = u64> + Default + Sync> Pool for Bagpipe<B> {
    fn with_capacity(_: usize) -> Self {
        Bagpipe::new()
    }
    fn put(&self, item: u64) {
        self.push(item).expect("unbounded");
    }
    fn take(&self) -> Option<u64> {
        self.pop()
    }
}

impl Pool for TreiberStack<u64> {
    fn with_capacity(_: usize) -> Self {
        TreiberStack::new()
    }
    fn put(&self, item: u64) {
        self.push(item).expect("unbounded");
    }
    fn take(&self) -> Option<u64> {
        self.pop()
    }
}

impl Pool for FaaQueue<u64> {
    fn with_capacity(_: usize) -> Self {
        FaaQueue::new()
    }
    fn put(&self, item: u64) {
        self.push(item).expect("unbounded");
    }
    fn take(&self) -> Option<u64> {
        self.pop()
    }
}

impl Pool for SegQueue<u64> {
    fn with_capacity(_: usize) -> Self {
        SegQueue::new()
    }
    fn put(&self, item: u64) {
        self.push(item);
    }
    fn take(&self) -> Option<u64> {
        self.pop()
    }
}

impl Pool for ArrayQueue<u64> {
    fn with_capacity(capacity: usize) -> Self {
        ArrayQueue::new(capacity)
    }
    fn put(&self, item: u64) {
        self.push(item).expect("sized for every thread's batch");
    }
    fn take(&self) -> Option<u64> {
        self.pop()
    }
}

impl Pool for Mutex<Vec<u64>> {
    fn with_capacity(capacity: usize) -> Self {
        Mutex::new(Vec::with_capacity(capacity))
    }
    fn put(&self, item: u64) {
        self.lock().unwrap().push(item);
    }
    fn take(&self) -> Option<u64> {
        self.lock().unwrap().pop()
    }
}

/// `threads` threads each run `iters` rounds of push `BATCH`, pop `BATCH`
/// on a fresh pool; the time from a common start to the last finish.
fn run<P: Pool>(threads: usize, iters: u64) -> Duration {
    let pool = P::with_capacity(threads * BATCH);
    let start_line = Barrier::new(threads + 1);
    thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    start_line.wait();
                    for _ in 0..iters {
                        for i in 0..BATCH as u64 {
                            pool.put(black_box(i));
                        }
                        for _ in 0..BATCH {
                            black_box(pool.take());
                        }
                    }
                })
            })
            .collect();
        start_line.wait();
        let start = Instant::now();
        workers.into_iter().for_each(|w| w.join().unwrap());
        start.elapsed()
    })
}

fn bench<P: Pool>(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, threads: usize) {
    group.bench_with_input(BenchmarkId::new(name, threads), &threads, |b, &threads| {
        b.iter_custom(|iters| run::<P>(threads, iters));
    });
}

fn pool(c: &mut Criterion) {
    let mut group = c.benchmark_group("pool");
    for threads in [1, 2, 4] {
        // One element: one item pushed and popped.
        group.throughput(Throughput::Elements((threads * BATCH) as u64));
        bench::<Bagpipe<TreiberStack<u64>>>(&mut group, "bagpipe-stack", threads);
        bench::<Bagpipe<FaaQueue<u64>>>(&mut group, "bagpipe-queue", threads);
        bench::<TreiberStack<u64>>(&mut group, "treiber-stack", threads);
        bench::<FaaQueue<u64>>(&mut group, "faa-queue", threads);
        bench::<SegQueue<u64>>(&mut group, "segqueue", threads);
        bench::<ArrayQueue<u64>>(&mut group, "arrayqueue", threads);
        bench::<Mutex<Vec<u64>>>(&mut group, "mutex-vec", threads);
    }
    group.finish();
}

criterion_group!(benches, pool);
criterion_main!(benches);
