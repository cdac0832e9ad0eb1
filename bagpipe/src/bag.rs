//! `SharedWeakBag`: the interface every bag in the crate implements, and
//! the one `Bagpipe` is built over.

use crossbeam_utils::Backoff;

use crate::error::{PopError, PushError};

/// A concurrent pool of items that promises no order: what goes in comes
/// out exactly once, in whatever order the implementation finds cheapest.
///
/// *Shared*: every method takes `&self`, and an implementation meant for
/// many threads is `Sync`. *Weak*: an attempt may fail because another
/// thread got in the way, and says so ([`PushError::Contended`],
/// [`PopError::Contended`]) instead of retrying on its own, so that a
/// caller with somewhere else to go (another inner bag of a [`Bagpipe`])
/// can go there.
///
/// [`push`](Self::push) and [`pop`](Self::pop) are the retrying forms:
/// they back off and try again after a transient failure, and stop only on
/// success, a full bag (push) or an empty one (pop).
///
/// [`Bagpipe`]: crate::Bagpipe
///
/// # Implementing
///
/// `try_pop` returns [`PopError::Empty`] only if the bag held no item at
/// some moment during the call, so that an item whose push finished before
/// a pop started is never missed by it. Every pushed item is returned by
/// exactly one pop or dropped with the bag.
///
/// ```
/// use bagpipe::{PopError, PushError, SharedWeakBag};
/// use std::sync::Mutex;
///
/// /// A bag of at most four items behind a lock, where a busy lock counts
/// /// as contention.
/// struct Small(Mutex<Vec<u32>>);
///
/// impl SharedWeakBag for Small {
///     type Item = u32;
///
///     fn try_push(&self, item: u32) -> Result<(), PushError<u32>> {
///         let Ok(mut items) = self.0.try_lock() else { return Err(PushError::Contended(item)) };
///         if items.len() == 4 {
///             return Err(PushError::Full(item));
///         }
///         items.push(item);
///         Ok(())
///     }
///
///     fn try_pop(&self) -> Result<u32, PopError> {
///         let Ok(mut items) = self.0.try_lock() else { return Err(PopError::Contended) };
///         items.pop().ok_or(PopError::Empty)
///     }
///
///     fn len_hint(&self) -> usize {
///         self.0.try_lock().map_or(0, |items| items.len())
///     }
/// }
///
/// let bag = Small(Mutex::new(Vec::new()));
/// for i in 0..4 {
///     bag.push(i).unwrap();
/// }
/// assert_eq!(bag.push(4), Err(4), "full");
/// assert_eq!(bag.pop(), Some(3));
/// ```
pub trait SharedWeakBag {
    /// What the bag holds.
    type Item;

    /// Pushes `item` in one attempt. On failure the item comes back inside
    /// the error: [`PushError::Contended`] if another thread got in the way,
    /// [`PushError::Full`] if the bag has no room.
    ///
    /// ```
    /// use bagpipe::{FaaQueue, SharedWeakBag};
    ///
    /// let queue = FaaQueue::new();
    /// // Alone, nothing gets in the way.
    /// queue.try_push('a').unwrap();
    /// assert_eq!(queue.try_pop(), Ok('a'));
    /// ```
    fn try_push(&self, item: Self::Item) -> Result<(), PushError<Self::Item>>;

    /// Pops an item in one attempt: [`PopError::Empty`] if the bag was seen
    /// empty, [`PopError::Contended`] if another thread got in the way and
    /// the bag may still hold items.
    ///
    /// ```
    /// use bagpipe::{PopError, SharedWeakBag, TreiberStack};
    ///
    /// let stack = TreiberStack::new();
    /// stack.try_push(1).unwrap();
    /// assert_eq!(stack.try_pop(), Ok(1));
    /// assert_eq!(stack.try_pop(), Err(PopError::Empty));
    /// ```
    fn try_pop(&self) -> Result<Self::Item, PopError>;

    /// About how many items the bag holds: exact when no operation is in
    /// flight, and cheap to ask (a few loads, no lock, no write).
    ///
    /// ```
    /// use bagpipe::{SharedWeakBag, TreiberStack};
    ///
    /// let stack = TreiberStack::new();
    /// stack.push("a").unwrap();
    /// stack.push("b").unwrap();
    /// assert_eq!(stack.len_hint(), 2);
    /// ```
    fn len_hint(&self) -> usize;

    /// Pushes `item`, backing off and retrying after each transient
    /// failure. `Err(item)` only if the bag is full, which none of this
    /// crate's bags ever is.
    ///
    /// ```
    /// use bagpipe::{SharedWeakBag, TreiberStack};
    ///
    /// let stack = TreiberStack::new();
    /// stack.push(5).unwrap();
    /// assert_eq!(stack.pop(), Some(5));
    /// ```
    fn push(&self, item: Self::Item) -> Result<(), Self::Item> {
        let backoff = Backoff::new();
        let mut item = item;
        loop {
            match self.try_push(item) {
                Ok(()) => return Ok(()),
                Err(PushError::Full(back)) => return Err(back),
                Err(PushError::Contended(back)) => {
                    item = back;
                    backoff.snooze();
                }
            }
        }
    }

    /// Pops an item, backing off and retrying after each transient
    /// failure. `None` only if an attempt saw the bag empty.
    ///
    /// ```
    /// use bagpipe::{FaaQueue, SharedWeakBag};
    ///
    /// let queue = FaaQueue::new();
    /// queue.push(1).unwrap();
    /// assert_eq!(queue.pop(), Some(1));
    /// assert_eq!(queue.pop(), None);
    /// ```
    fn pop(&self) -> Option<Self::Item> {
        let backoff = Backoff::new();
        loop {
            match self.try_pop() {
                Ok(item) => return Some(item),
                Err(PopError::Empty) => return None,
                Err(PopError::Contended) => backoff.snooze(),
            }
        }
    }
}
