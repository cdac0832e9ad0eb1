//! `Bagpipe`: where items go, how a pop sweeps, and that a transient
//! failure of an inner bag is reported (and moves the thread on) rather
//! than retried inside the one-attempt forms. Inner bags scripted to fail
//! make the failures happen on demand.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use bagpipe::{Bagpipe, BuildError, FaaQueue, PopError, PushError, SharedWeakBag, TreiberStack};

/// An inner bag that fails transiently as many times as it is told to, has
/// a capacity, and counts the attempts made on it.
#[derive(Default)]
struct Scripted {
    items: Mutex<Vec<u32>>,
    capacity: usize,
    /// How many of the next attempts report contention.
    contend: AtomicUsize,
    attempts: AtomicUsize,
}

impl Scripted {
    fn with_capacity(capacity: usize) -> Self {
        Scripted {
            capacity,
            ..Scripted::default()
        }
    }

    fn contend(&self, times: usize) {
        self.contend.store(times, Ordering::Relaxed);
    }

    fn attempts(&self) -> usize {
        self.attempts.swap(0, Ordering::Relaxed)
    }

    fn contended_now(&self) -> bool {
        self.attempts.fetch_add(1, Ordering::Relaxed);
        // A compare-exchange loop rather than `fetch_update`, which nightly
        // deprecates under a new name that stable does not have yet.
        let mut n = self.contend.load(Ordering::Relaxed);
        while n > 0 {
            match self
                .contend
                .compare_exchange_weak(n, n - 1, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(now) => n = now,
            }
        }
        false
    }
}

impl SharedWeakBag for Scripted {
    type Item = u32;

    fn try_push(&self, item: u32) -> Result<(), PushError<u32>> {
        if self.contended_now() {
            return Err(PushError::Contended(item));
        }
        let mut items = self.items.lock().unwrap();
        if items.len() == self.capacity {
            return Err(PushError::Full(item));
        }
        items.push(item);
        Ok(())
    }

    fn try_pop(&self) -> Result<u32, PopError> {
        if self.contended_now() {
            return Err(PopError::Contended);
        }
        self.items.lock().unwrap().pop().ok_or(PopError::Empty)
    }

    fn len_hint(&self) -> usize {
        self.items.lock().unwrap().len()
    }
}

/// Two scripted bags of room 10, and the index of this thread's start bag
/// (found by pushing one item and seeing where it went).
fn two_bags() -> (Bagpipe<Scripted>, usize) {
    let pipe = Bagpipe::from_fn(2, |_| Scripted::with_capacity(10)).unwrap();
    pipe.try_push(0).unwrap();
    let start = pipe.bags().position(|b| b.len_hint() == 1).unwrap();
    assert_eq!(pipe.try_pop(), Ok(0));
    pipe.bags().for_each(|b| _ = b.attempts());
    (pipe, start)
}

fn bag(pipe: &Bagpipe<Scripted>, index: usize) -> &Scripted {
    pipe.bags().nth(index).unwrap()
}

#[test]
fn zero_bags_is_an_error() {
    assert_eq!(
        Bagpipe::<TreiberStack<u8>>::with_bags(0).unwrap_err(),
        BuildError::ZeroBags
    );
    assert_eq!(
        Bagpipe::from_fn(0, |_| FaaQueue::<u8>::new()).unwrap_err(),
        BuildError::ZeroBags
    );
    assert_eq!(
        BuildError::ZeroBags.to_string(),
        "a bagpipe needs at least one inner bag"
    );
}

#[test]
fn from_fn_numbers_the_bags() {
    let pipe = Bagpipe::from_fn(3, |i| {
        let bag = Scripted::with_capacity(10);
        bag.items.lock().unwrap().push(i as u32);
        bag
    })
    .unwrap();
    let firsts: Vec<u32> = pipe.bags().map(|b| b.items.lock().unwrap()[0]).collect();
    assert_eq!(firsts, [0, 1, 2]);
    assert_eq!(pipe.len_hint(), 3);
}

#[test]
fn default_bag_count_is_a_capped_power_of_two() {
    let n = bagpipe::default_bag_count();
    assert!(n.is_power_of_two() && n <= bagpipe::MAX_DEFAULT_BAGS);
    assert_eq!(Bagpipe::<TreiberStack<u8>>::new().bag_count(), n);
    assert_eq!(Bagpipe::<TreiberStack<u8>>::default().bag_count(), n);
}

/// Alone, a thread's pushes all land in its start bag.
#[test]
fn a_thread_stays_on_its_start_bag() {
    let pipe = Bagpipe::<TreiberStack<u32>>::with_bags(4).unwrap();
    for i in 0..20 {
        pipe.push(i).unwrap();
    }
    let mut lens: Vec<usize> = pipe.bags().map(|b| b.len_hint()).collect();
    lens.sort();
    assert_eq!(lens, [0, 0, 0, 20]);
    // Popped from the same bag: its order (a stack's) shows through.
    assert_eq!(pipe.pop(), Some(19));
}

/// A pop sweeps past empty bags to find items anywhere, and says empty
/// only when every bag is.
#[test]
fn pop_sweeps_every_bag() {
    for count in [1, 2, 3, 4, 7] {
        let pipe = Bagpipe::<FaaQueue<usize, 2>>::with_bags(count).unwrap();
        for (i, inner) in pipe.bags().enumerate() {
            inner.push(i).unwrap();
        }
        assert_eq!(pipe.len_hint(), count);
        let mut all: Vec<usize> = std::iter::from_fn(|| pipe.pop()).collect();
        all.sort();
        assert_eq!(all, (0..count).collect::<Vec<_>>());
        assert_eq!(pipe.try_pop(), Err(PopError::Empty));
        assert_eq!(pipe.len_hint(), 0);
    }
}

/// A contended start bag sends the push to the next bag; the thread's next
/// push starts there.
#[test]
fn push_moves_on_after_contention() {
    let (pipe, start) = two_bags();
    let other = 1 - start;
    bag(&pipe, start).contend(1);
    pipe.try_push(1).unwrap();
    assert_eq!(bag(&pipe, start).attempts(), 1);
    assert_eq!(bag(&pipe, other).len_hint(), 1);
    pipe.try_push(2).unwrap();
    assert_eq!(bag(&pipe, start).attempts(), 0, "the cursor moved on");
    assert_eq!(bag(&pipe, other).len_hint(), 2);
}

/// When every bag is contended, one attempt tries each bag once and
/// reports the contention with the item; it does not loop.
#[test]
fn try_push_reports_contention() {
    let (pipe, _) = two_bags();
    pipe.bags().for_each(|b| b.contend(1));
    assert_eq!(pipe.try_push(5), Err(PushError::Contended(5)));
    assert_eq!(
        pipe.bags().map(|b| b.attempts()).collect::<Vec<_>>(),
        [1, 1]
    );
    assert_eq!(pipe.len_hint(), 0);
    // The retrying form waits it out.
    pipe.bags().for_each(|b| b.contend(3));
    pipe.push(5).unwrap();
    assert_eq!(pipe.len_hint(), 1);
    assert!(pipe.bags().map(|b| b.attempts()).sum::<usize>() >= 7);
}

/// A pop that meets contention in one bag and emptiness in the other
/// reports contention, not emptiness: the contended bag may hold items.
#[test]
fn try_pop_reports_contention() {
    let (pipe, start) = two_bags();
    let other = 1 - start;
    bag(&pipe, other).push(9).unwrap();
    bag(&pipe, other).attempts();
    bag(&pipe, other).contend(1);
    assert_eq!(pipe.try_pop(), Err(PopError::Contended));
    assert_eq!(
        pipe.bags().map(|b| b.attempts()).collect::<Vec<_>>(),
        [1, 1]
    );
    assert_eq!(pipe.try_pop(), Ok(9));
    assert_eq!(pipe.try_pop(), Err(PopError::Empty));
    // The retrying form goes through contention to the item, and to `None`.
    bag(&pipe, start).push(10).unwrap();
    pipe.bags().for_each(|b| b.contend(2));
    assert_eq!(pipe.pop(), Some(10));
    pipe.bags().for_each(|b| b.contend(2));
    assert_eq!(pipe.pop(), None);
}

/// A full start bag sends the push on without moving the cursor; only
/// when every bag is full is the bagpipe full.
#[test]
fn full_bags() {
    let pipe = Bagpipe::from_fn(3, |_| Scripted::with_capacity(2)).unwrap();
    for i in 0..6 {
        pipe.try_push(i).unwrap();
    }
    assert_eq!(pipe.try_push(6), Err(PushError::Full(6)));
    assert_eq!(pipe.push(6), Err(6));
    assert_eq!(pipe.len_hint(), 6);
    assert!(pipe.pop().is_some());
    pipe.push(6).unwrap();
}

#[test]
fn debug_shows_the_shape() {
    let pipe = Bagpipe::<TreiberStack<u8>>::with_bags(2).unwrap();
    pipe.push(1).unwrap();
    assert_eq!(format!("{pipe:?}"), "Bagpipe { bag_count: 2, len_hint: 1 }");
}

#[test]
fn errors_display_and_debug() {
    assert_eq!(
        format!("{:?}", PushError::Contended(vec![1])),
        "Contended(..)"
    );
    assert_eq!(format!("{:?}", PushError::Full(())), "Full(..)");
    assert_eq!(
        PushError::Contended(1).to_string(),
        "push lost a race with another thread"
    );
    assert_eq!(PushError::Full(1).to_string(), "push into a full bag");
    assert_eq!(
        PopError::Contended.to_string(),
        "pop lost a race with another thread"
    );
    assert_eq!(PopError::Empty.to_string(), "pop from an empty bag");
}
