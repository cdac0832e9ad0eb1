//! `Bagpipe`: one bag made of several inner bags, each thread starting at
//! its own and moving on when it meets contention.

use core::cell::Cell;
use core::fmt;
use core::num::NonZeroUsize;
use core::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_epoch as epoch;
use crossbeam_utils::CachePadded;

use crate::bag::SharedWeakBag;
use crate::error::{BuildError, PopError, PushError};

/// A bag spread over a few inner bags ([`TreiberStack`]s, [`FaaQueue`]s or
/// any [`SharedWeakBag`]), so that threads working at once mostly touch
/// different cache lines.
///
/// Every thread has a *cursor*, a number handed out when it first uses any
/// bagpipe; its start index in a bagpipe is the cursor modulo the number
/// of inner bags, so threads start on different bags. An operation tries
/// the start bag, and on failure sweeps the others in order:
///
/// - a push stops at the first bag that takes the item;
/// - a pop stops at the first bag that gives an item, and reports
///   [`PopError::Empty`] only after every bag in a full sweep reported
///   empty.
///
/// Each transient failure met on the way moves the thread's cursor on by
/// one, so two threads that keep colliding drift apart instead of spinning
/// on the same bag. A sweep in which some bag was contended and none
/// succeeded is itself a transient failure ([`PushError::Contended`],
/// [`PopError::Contended`]), which [`push`](SharedWeakBag::push) and
/// [`pop`](SharedWeakBag::pop) retry after a backoff.
///
/// Items come out in no particular order: each inner bag keeps its own
/// order, and which bag an item lands in depends on the thread. This is the
/// relaxation that lets the bag scale (compare the lock-free bag of
/// Sundell, Gidenstam, Papatriantafilou and Tsigas, SPAA 2011).
///
/// # Costs
///
/// A push or pop that succeeds on its start bag costs one thread-local
/// read, a mask (or a remainder when the bag count is not a power of two)
/// and the inner bag's operation. A sweep pins crossbeam-epoch once, so
/// that the inner bags' own pins nest in it (a counter instead of a fence
/// each). The inner bags are cache-padded. The length hint is the sum of
/// the inner bags' hints.
///
/// [`TreiberStack`]: crate::TreiberStack
/// [`FaaQueue`]: crate::FaaQueue
///
/// ```
/// use bagpipe::{Bagpipe, FaaQueue, SharedWeakBag};
///
/// let bag: Bagpipe<FaaQueue<u64>> = Bagpipe::new();
/// std::thread::scope(|s| {
///     for t in 0..4u64 {
///         let bag = &bag;
///         s.spawn(move || {
///             for i in 0..25 {
///                 bag.push(t * 25 + i).unwrap();
///             }
///         });
///     }
/// });
/// assert_eq!(bag.len_hint(), 100);
/// let mut all: Vec<u64> = std::iter::from_fn(|| bag.pop()).collect();
/// all.sort();
/// assert!(all.iter().copied().eq(0..100));
/// ```
pub struct Bagpipe<B> {
    // Read by every operation: the inner bags, each on cache lines of its
    // own, and how to turn a cursor into an index.
    bags: Box<[CachePadded<B>]>,
    /// `bags.len() - 1` when the count is a power of two (a mask that
    /// takes the place of a division), otherwise `usize::MAX`.
    mask: usize,
}

/// The most inner bags [`default_bag_count`] picks.
///
/// ```
/// assert!(bagpipe::default_bag_count() <= bagpipe::MAX_DEFAULT_BAGS);
/// ```
pub const MAX_DEFAULT_BAGS: usize = 64;

/// What [`default_bag_count`] picks when the number of CPUs is unknown.
const FALLBACK_BAGS: usize = 4;

/// Marks a thread that has no cursor yet.
const NO_CURSOR: usize = usize::MAX;

/// The cursor the next thread to need one gets.
static NEXT_CURSOR: AtomicUsize = AtomicUsize::new(0);

/// [`default_bag_count`], once computed; 0 until then.
static DEFAULT_BAGS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's cursor, or [`NO_CURSOR`]. `const`-initialised and
    /// without a destructor: reading it never allocates or registers
    /// anything, even while the thread exits.
    static CURSOR: Cell<usize> = const { Cell::new(NO_CURSOR) };
}

impl<B: SharedWeakBag> SharedWeakBag for Bagpipe<B> {
    type Item = B::Item;

    /// Tries the thread's start bag; if it fails, sweeps the other bags
    /// once. [`PushError::Full`] only if every bag was full,
    /// [`PushError::Contended`] if some bag was contended and none took the
    /// item.
    ///
    /// ```
    /// use bagpipe::{Bagpipe, SharedWeakBag, TreiberStack};
    ///
    /// let bag = Bagpipe::<TreiberStack<i32>>::with_bags(3).unwrap();
    /// bag.try_push(1).unwrap();
    /// assert_eq!(bag.len_hint(), 1);
    /// ```
    #[inline]
    fn try_push(&self, item: B::Item) -> Result<(), PushError<B::Item>> {
        let cursor = cursor();
        let start = self.start(cursor);
        match self.bags[start].try_push(item) {
            Ok(()) => Ok(()),
            Err(failed) => self.push_sweep(failed, start, cursor),
        }
    }

    /// Tries the thread's start bag; if it gives nothing, sweeps the other
    /// bags once. [`PopError::Empty`] only if every bag reported empty,
    /// [`PopError::Contended`] if some bag was contended and none gave an
    /// item.
    ///
    /// ```
    /// use bagpipe::{Bagpipe, PopError, SharedWeakBag, TreiberStack};
    ///
    /// let bag = Bagpipe::<TreiberStack<i32>>::with_bags(3).unwrap();
    /// bag.try_push(1).unwrap();
    /// assert_eq!(bag.try_pop(), Ok(1));
    /// assert_eq!(bag.try_pop(), Err(PopError::Empty));
    /// ```
    #[inline]
    fn try_pop(&self) -> Result<B::Item, PopError> {
        let cursor = cursor();
        let start = self.start(cursor);
        match self.bags[start].try_pop() {
            Ok(item) => Ok(item),
            Err(failed) => self.pop_sweep(failed, start, cursor),
        }
    }

    /// The sum of the inner bags' hints: one hint per inner bag.
    ///
    /// ```
    /// use bagpipe::{Bagpipe, FaaQueue, SharedWeakBag};
    ///
    /// let bag = Bagpipe::<FaaQueue<u8>>::with_bags(2).unwrap();
    /// (0..5).for_each(|i| bag.push(i).unwrap());
    /// assert_eq!(bag.len_hint(), 5);
    /// ```
    fn len_hint(&self) -> usize {
        self.bags.iter().map(|bag| bag.len_hint()).sum()
    }
}

/// This thread's cursor.
#[inline]
fn cursor() -> usize {
    let cursor = CURSOR.get();
    if cursor != NO_CURSOR {
        cursor
    } else {
        first_cursor()
    }
}

#[cold]
#[inline(never)]
fn first_cursor() -> usize {
    let cursor = NEXT_CURSOR.fetch_add(1, Ordering::Relaxed) & (NO_CURSOR >> 1);
    CURSOR.set(cursor);
    cursor
}

/// Moves this thread's cursor on by one for each transient failure met.
fn move_cursor(cursor: usize, contended: usize) {
    if contended != 0 {
        CURSOR.set(cursor.wrapping_add(contended) & (NO_CURSOR >> 1));
    }
}

impl<B: SharedWeakBag> Bagpipe<B> {
    /// The start bag failed: try the others, in order, once.
    #[cold]
    #[inline(never)]
    fn push_sweep(
        &self,
        failed: PushError<B::Item>,
        start: usize,
        cursor: usize,
    ) -> Result<(), PushError<B::Item>> {
        // One pin for the sweep: the inner bags' own pins nest in it, which
        // costs a counter instead of a fence each.
        let _pinned = epoch::pin();
        let mut contended = usize::from(failed.is_contended());
        let mut item = failed.into_inner();
        let mut index = start;
        for _ in 1..self.bags.len() {
            index = self.after(index);
            match self.bags[index].try_push(item) {
                Ok(()) => {
                    move_cursor(cursor, contended);
                    return Ok(());
                }
                Err(PushError::Contended(back)) => {
                    contended += 1;
                    item = back;
                }
                Err(PushError::Full(back)) => item = back,
            }
        }
        move_cursor(cursor, contended);
        if contended == 0 {
            Err(PushError::Full(item))
        } else {
            Err(PushError::Contended(item))
        }
    }

    /// The start bag gave nothing: try the others, in order, once.
    #[cold]
    #[inline(never)]
    fn pop_sweep(
        &self,
        failed: PopError,
        start: usize,
        cursor: usize,
    ) -> Result<B::Item, PopError> {
        let _pinned = epoch::pin();
        let mut contended = usize::from(failed == PopError::Contended);
        let mut index = start;
        for _ in 1..self.bags.len() {
            index = self.after(index);
            match self.bags[index].try_pop() {
                Ok(item) => {
                    move_cursor(cursor, contended);
                    return Ok(item);
                }
                Err(PopError::Contended) => contended += 1,
                Err(PopError::Empty) => {}
            }
        }
        move_cursor(cursor, contended);
        if contended == 0 {
            Err(PopError::Empty)
        } else {
            Err(PopError::Contended)
        }
    }

    /// A bagpipe of `count` inner bags, the `i`th made by `make(i)`.
    /// [`BuildError::ZeroBags`] if `count` is 0.
    ///
    /// ```
    /// use bagpipe::{Bagpipe, FaaQueue, SharedWeakBag};
    ///
    /// // Inner queues with small segments.
    /// let bag = Bagpipe::from_fn(4, |_| FaaQueue::<u32, 32>::default()).unwrap();
    /// assert_eq!(bag.bag_count(), 4);
    /// ```
    pub fn from_fn(count: usize, make: impl FnMut(usize) -> B) -> Result<Self, BuildError> {
        match NonZeroUsize::new(count) {
            Some(count) => Ok(Self::build(count, make)),
            None => Err(BuildError::ZeroBags),
        }
    }

    fn build(count: NonZeroUsize, make: impl FnMut(usize) -> B) -> Self {
        let bags: Box<[CachePadded<B>]> =
            (0..count.get()).map(make).map(CachePadded::new).collect();
        let mask = if count.is_power_of_two() {
            count.get() - 1
        } else {
            usize::MAX
        };
        Bagpipe { bags, mask }
    }
}

impl<B> Bagpipe<B> {
    /// How many inner bags there are.
    ///
    /// ```
    /// use bagpipe::{Bagpipe, TreiberStack};
    ///
    /// let bag = Bagpipe::<TreiberStack<()>>::with_bags(5).unwrap();
    /// assert_eq!(bag.bag_count(), 5);
    /// ```
    pub fn bag_count(&self) -> usize {
        self.bags.len()
    }

    /// The inner bags, in index order.
    ///
    /// ```
    /// use bagpipe::{Bagpipe, SharedWeakBag, TreiberStack};
    ///
    /// let bag = Bagpipe::<TreiberStack<u8>>::with_bags(4).unwrap();
    /// bag.push(1).unwrap();
    /// // The item went to this thread's start bag, one of the four.
    /// assert_eq!(bag.bags().map(|b| b.len_hint()).sum::<usize>(), 1);
    /// ```
    pub fn bags(&self) -> impl ExactSizeIterator<Item = &B> {
        self.bags.iter().map(|bag| &**bag)
    }

    /// The index this cursor starts at.
    #[inline]
    fn start(&self, cursor: usize) -> usize {
        if self.mask != usize::MAX {
            cursor & self.mask
        } else {
            cursor % self.bags.len()
        }
    }

    /// The index after `index`, wrapping.
    #[inline]
    fn after(&self, index: usize) -> usize {
        if index + 1 == self.bags.len() {
            0
        } else {
            index + 1
        }
    }
}

impl<B: SharedWeakBag + Default> Bagpipe<B> {
    /// A bagpipe of [`default_bag_count`] inner bags.
    ///
    /// ```
    /// use bagpipe::{Bagpipe, SharedWeakBag, TreiberStack};
    ///
    /// let bag = Bagpipe::<TreiberStack<&str>>::new();
    /// bag.push("x").unwrap();
    /// assert_eq!(bag.pop(), Some("x"));
    /// ```
    pub fn new() -> Self {
        let count = NonZeroUsize::new(default_bag_count()).unwrap_or(NonZeroUsize::MIN);
        Self::build(count, |_| B::default())
    }

    /// A bagpipe of `count` default inner bags.
    /// [`BuildError::ZeroBags`] if `count` is 0.
    ///
    /// ```
    /// use bagpipe::{Bagpipe, BuildError, FaaQueue};
    ///
    /// assert_eq!(Bagpipe::<FaaQueue<u8>>::with_bags(8).unwrap().bag_count(), 8);
    /// assert_eq!(Bagpipe::<FaaQueue<u8>>::with_bags(0).unwrap_err(), BuildError::ZeroBags);
    /// ```
    pub fn with_bags(count: usize) -> Result<Self, BuildError> {
        Self::from_fn(count, |_| B::default())
    }
}

impl<B: SharedWeakBag + Default> Default for Bagpipe<B> {
    fn default() -> Self {
        Bagpipe::new()
    }
}

impl<B: SharedWeakBag> fmt::Debug for Bagpipe<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bagpipe")
            .field("bag_count", &self.bags.len())
            .field("len_hint", &self.len_hint())
            .finish()
    }
}

/// How many inner bags [`Bagpipe::new`] makes: the number of CPUs this
/// process may run on, rounded up to a power of two, at most
/// [`MAX_DEFAULT_BAGS`] (4 if the number is unknown). Computed once.
///
/// ```
/// let n = bagpipe::default_bag_count();
/// assert!(n.is_power_of_two() && n <= bagpipe::MAX_DEFAULT_BAGS);
/// ```
pub fn default_bag_count() -> usize {
    match DEFAULT_BAGS.load(Ordering::Relaxed) {
        0 => default_bag_count_slow(),
        count => count,
    }
}

#[cold]
#[inline(never)]
fn default_bag_count_slow() -> usize {
    let cpus = std::thread::available_parallelism().map_or(FALLBACK_BAGS, |n| n.get());
    let count = cpus.next_power_of_two().min(MAX_DEFAULT_BAGS);
    DEFAULT_BAGS.store(count, Ordering::Relaxed);
    count
}
