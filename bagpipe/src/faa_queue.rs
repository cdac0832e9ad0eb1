//! `FaaQueue`: a queue of linked array segments whose slots pushes and pops
//! claim with fetch-and-add, segments freed through crossbeam-epoch.

use core::cell::UnsafeCell;
use core::fmt;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use crossbeam_epoch::{self as epoch, Atomic, Guard, Owned, Shared};
use crossbeam_utils::{Backoff, CachePadded};

use crate::bag::SharedWeakBag;
use crate::error::{PopError, PushError};

/// A lock-free queue over linked segments of `SEGMENT_SLOTS` slots each,
/// where pushes and pops claim slots with fetch-and-add instead of racing
/// on one compare-and-swap: first in, first out, up to pushes and pops that
/// overlap.
///
/// The design is the fetch-and-add core of Morrison and Afek's LCRQ (*Fast
/// concurrent queues for x86 processors*, PPoPP 2013) with segments that
/// are never reused, as in Ramalhete and Correia's FAAArrayQueue (2016),
/// and Michael and Scott's helping for the head and tail pointers (PODC
/// 1996).
///
/// # Design
///
/// - **Memory.** The queue is two pointers, to the head segment (pops) and
///   the tail segment (pushes), each on its own cache line. A segment is a
///   push index, a pop index (each on its own line), a pointer to the next
///   segment and `SEGMENT_SLOTS` slots; a slot is a state byte and room
///   for one `T`. A segment is one allocation, made when the one before it
///   fills up.
/// - **Push.** Fetch-and-add on the tail segment's push index claims a
///   slot; the push writes its item there and publishes it by swapping the
///   slot's state from *empty* to *full*. An index past the end means the
///   segment is full: the push appends a new segment with its item in the
///   first slot, or moves to the segment another push appended.
/// - **Pop.** If the head segment's pop index has caught up with its push
///   index the queue is empty. Otherwise fetch-and-add on the pop index
///   claims a slot; a *full* slot's item is the pop's. An *empty* slot
///   means its push has claimed it but not published yet: the pop waits a
///   moment, then marks the slot *dead* and reports
///   [`PopError::Contended`]. The push then finds its swap refused, takes
///   its item back and reports [`PushError::Contended`]. Neither retries:
///   that is the caller's choice.
/// - **Reclamation.** When every slot of the head segment has been claimed
///   by a pop, the head moves to the next segment (the tail first, if it
///   lags, so that no pointer of the queue is left on a retired segment)
///   and the old one goes to crossbeam-epoch (`defer_destroy`). Operations
///   are pinned while they use a segment, so none is freed under them.
///
/// # Costs
///
/// A push is a pin, a load, a fetch-and-add, the write of the item and a
/// compare-and-swap on its own slot. A pop is a pin, three loads, a
/// fetch-and-add, the read of the item and a store. Every `SEGMENT_SLOTS`
/// pushes, one allocates a segment and one pop retires one. An empty queue
/// holds one segment, about `SEGMENT_SLOTS * (size_of::<T>() + 1)` bytes
/// plus three cache lines.
///
/// ```
/// use bagpipe::{FaaQueue, SharedWeakBag};
///
/// let queue = FaaQueue::new();
/// std::thread::scope(|s| {
///     s.spawn(|| (0..20).for_each(|i| queue.push(i).unwrap()));
/// });
/// let all: Vec<i32> = std::iter::from_fn(|| queue.pop()).collect();
/// assert_eq!(all, (0..20).collect::<Vec<_>>(), "one pusher: its order");
/// ```
pub struct FaaQueue<T, const SEGMENT_SLOTS: usize = 256> {
    // Read by every push: the segment pushes claim slots in.
    tail: CachePadded<Atomic<Segment<T, SEGMENT_SLOTS>>>,
    // Read by every pop: the segment pops claim slots in.
    head: CachePadded<Atomic<Segment<T, SEGMENT_SLOTS>>>,
}

/// One array of the queue.
struct Segment<T, const N: usize> {
    /// The index the next push claims. Runs past `N` once the segment is
    /// full, by one for each push that finds it so.
    enqueue: CachePadded<AtomicUsize>,
    /// The index the next pop claims; may run past `N` the same way.
    dequeue: CachePadded<AtomicUsize>,
    /// The segment after this one, set once, by the push that appends it.
    next: Atomic<Segment<T, N>>,
    /// Segments before this one since the queue was made (for `len_hint`).
    position: usize,
    slots: [Slot<T>; N],
}

/// Room for one item and the state that says who owns it.
struct Slot<T> {
    /// [`EMPTY`], [`FULL`] or [`DEAD`].
    state: AtomicU8,
    item: UnsafeCell<MaybeUninit<T>>,
}

/// No item yet: the push that claimed the slot (if any) has not published.
const EMPTY: u8 = 0;
/// Holds a published item no pop has taken.
const FULL: u8 = 1;
/// Holds nothing, for good: its item was taken, or a pop gave up on it.
const DEAD: u8 = 2;

/// Rounds of exponential spinning (1, 2, 4, … spins) a pop grants a push
/// that has claimed a slot but not published, before it gives up on it.
const PUBLISH_WAIT_ROUNDS: u32 = 7;

// SAFETY: the queue owns its items and hands each to exactly one thread
// (the pop that takes it, or the push that takes it back), so it may move
// to another thread when `T` may.
unsafe impl<T: Send, const N: usize> Send for FaaQueue<T, N> {}

// SAFETY: `&FaaQueue` moves items in and out whole and never shares a `&T`.
// A slot's item is written only by the one push whose fetch-and-add
// claimed the slot, and read only by the one pop that claimed it after
// seeing it published (release/acquire on the state), or by that push
// after its publication was refused; segments are freed only through the
// epoch. So sharing the queue needs only `T: Send`.
unsafe impl<T: Send, const N: usize> Sync for FaaQueue<T, N> {}

impl<T, const N: usize> SharedWeakBag for FaaQueue<T, N> {
    type Item = T;

    /// A pin, a load, a fetch-and-add, the write and a compare-and-swap on
    /// the claimed slot. [`PushError::Contended`] when a pop gave up on the
    /// slot before the item was published; never [`PushError::Full`].
    ///
    /// ```
    /// use bagpipe::{FaaQueue, SharedWeakBag};
    ///
    /// let queue = FaaQueue::new();
    /// queue.try_push(1).unwrap();
    /// assert_eq!(queue.len_hint(), 1);
    /// ```
    #[inline]
    fn try_push(&self, item: T) -> Result<(), PushError<T>> {
        let guard = epoch::pin();
        let mut item = item;
        loop {
            let tail = self.tail.load(Ordering::Acquire, &guard);
            // SAFETY: `tail` is never null (the queue starts with a segment
            // and the tail only moves to a segment's non-null successor),
            // and it was read while pinned, so the segment is not freed
            // before `guard` is dropped.
            let segment = unsafe { tail.deref() };
            let index = segment.enqueue.fetch_add(1, Ordering::Relaxed);
            if let Some(slot) = segment.slots.get(index) {
                return slot.publish(item).map_err(PushError::Contended);
            }
            match self.push_slow(item, tail, &guard) {
                Ok(()) => return Ok(()),
                Err(back) => item = back,
            }
        }
    }

    /// A pin, three loads, a fetch-and-add, the read and a store.
    /// [`PopError::Empty`] when the pop index has caught up with the push
    /// index; [`PopError::Contended`] when the claimed slot's push had not
    /// published.
    ///
    /// ```
    /// use bagpipe::{FaaQueue, PopError, SharedWeakBag};
    ///
    /// let queue = FaaQueue::new();
    /// queue.try_push('a').unwrap();
    /// queue.try_push('b').unwrap();
    /// assert_eq!(queue.try_pop(), Ok('a'));
    /// assert_eq!(queue.try_pop(), Ok('b'));
    /// assert_eq!(queue.try_pop(), Err(PopError::Empty));
    /// ```
    #[inline]
    fn try_pop(&self) -> Result<T, PopError> {
        let guard = epoch::pin();
        loop {
            let head = self.head.load(Ordering::Acquire, &guard);
            // SAFETY: `head` is never null (it only moves to a segment's
            // non-null successor), and it was read while pinned.
            let segment = unsafe { head.deref() };
            let claimed = segment.dequeue.load(Ordering::Relaxed);
            if claimed < N {
                if claimed >= segment.enqueue.load(Ordering::Relaxed) {
                    // No push has claimed a slot the pops have not; and the
                    // segment is not full, so it has no successor.
                    return Err(PopError::Empty);
                }
                let index = segment.dequeue.fetch_add(1, Ordering::Relaxed);
                if let Some(slot) = segment.slots.get(index) {
                    return slot.take();
                }
            }
            if !self.pop_slow(head, &guard) {
                return Err(PopError::Empty);
            }
        }
    }

    /// A pin and four loads: slots claimed by pushes minus slots claimed by
    /// pops, counted from the segments' positions. A slot whose push has
    /// claimed it but not published yet counts as an item; a dead slot was
    /// claimed by both a push and a pop, so it counts as none.
    ///
    /// ```
    /// use bagpipe::{FaaQueue, SharedWeakBag};
    ///
    /// let queue = FaaQueue::<_, 4>::default();
    /// (0..10).for_each(|i| queue.push(i).unwrap());
    /// queue.pop().unwrap();
    /// assert_eq!(queue.len_hint(), 9);
    /// ```
    fn len_hint(&self) -> usize {
        let guard = epoch::pin();
        let head = self.head.load(Ordering::Acquire, &guard);
        let tail = self.tail.load(Ordering::Acquire, &guard);
        // SAFETY: neither pointer is ever null, and both were read while
        // pinned.
        let (head, tail) = unsafe { (head.deref(), tail.deref()) };
        let popped = head.position * N + head.dequeue.load(Ordering::Relaxed).min(N);
        let pushed = tail.position * N + tail.enqueue.load(Ordering::Relaxed).min(N);
        pushed.saturating_sub(popped)
    }
}

impl<T> Slot<T> {
    /// Writes `item` into this slot, claimed by the caller's fetch-and-add,
    /// and publishes it; `Err(item)` if a pop gave up on the slot first.
    #[inline]
    fn publish(&self, item: T) -> Result<(), T> {
        // SAFETY: the caller's fetch-and-add handed this slot to it alone,
        // so no other push writes it, and no pop reads it before the state
        // says *full*. The slot held no item (slots are never reused).
        unsafe { self.item.get().cast::<T>().write(item) };
        #[cfg(test)]
        crate::hook::reach(crate::hook::Point::FaaPublish);
        match self
            .state
            .compare_exchange(EMPTY, FULL, Ordering::Release, Ordering::Relaxed)
        {
            Ok(_) => Ok(()),
            // SAFETY: the state was *dead*: the pop that claimed the slot
            // gave up on it before the item was published, and nobody reads
            // the item of a slot that never became *full*. It is still the
            // one written above.
            Err(_) => Err(unsafe { self.item.get().cast::<T>().read() }),
        }
    }

    /// Takes the item of this slot, claimed by the caller's fetch-and-add.
    #[inline]
    fn take(&self) -> Result<T, PopError> {
        if self.state.load(Ordering::Acquire) == FULL {
            // SAFETY: the caller claimed the slot and saw it *full* with
            // acquire ordering.
            return Ok(unsafe { self.take_full() });
        }
        self.take_slow()
    }

    /// The claimed slot's push has not published: wait a moment, then give
    /// up on the slot.
    #[cold]
    #[inline(never)]
    fn take_slow(&self) -> Result<T, PopError> {
        let backoff = Backoff::new();
        for _ in 0..PUBLISH_WAIT_ROUNDS {
            backoff.spin();
            if self.state.load(Ordering::Acquire) == FULL {
                // SAFETY: claimed by the caller, seen *full* with acquire.
                return Ok(unsafe { self.take_full() });
            }
        }
        match self
            .state
            .compare_exchange(EMPTY, DEAD, Ordering::Acquire, Ordering::Acquire)
        {
            Ok(_) => Err(PopError::Contended),
            Err(state) => {
                debug_assert_eq!(state, FULL, "only the pop that claimed a slot kills it");
                // SAFETY: claimed by the caller, seen *full* with acquire
                // (the failed swap's load).
                Ok(unsafe { self.take_full() })
            }
        }
    }

    /// Moves the item out and marks the slot *dead*.
    ///
    /// # Safety
    ///
    /// - The caller's fetch-and-add on the pop index claimed this slot.
    /// - The caller saw the state *full* with an acquire load.
    #[inline]
    unsafe fn take_full(&self) -> T {
        // SAFETY: *full* means the push wrote the item before its release
        // swap, which the caller's acquire load saw; the claim makes this
        // pop the only reader, and no push touches a *full* slot again.
        let item = unsafe { self.item.get().cast::<T>().read() };
        // Relaxed: only `Drop`, which runs after every operation on the
        // queue has finished, reads the state of a slot once it was full.
        self.state.store(DEAD, Ordering::Relaxed);
        item
    }
}

impl<T> FaaQueue<T> {
    /// An empty queue with segments of the default 256 slots, its first
    /// segment allocated. For another segment size,
    /// `FaaQueue::<T, SLOTS>::default()`.
    ///
    /// ```
    /// use bagpipe::{FaaQueue, SharedWeakBag};
    ///
    /// let queue = FaaQueue::new();
    /// queue.push("x".to_string()).unwrap();
    /// assert_eq!(queue.pop().as_deref(), Some("x"));
    /// ```
    pub fn new() -> Self {
        FaaQueue::default()
    }
}

impl<T, const N: usize> Default for FaaQueue<T, N> {
    /// An empty queue with segments of `N` slots, its first segment
    /// allocated.
    ///
    /// ```
    /// use bagpipe::{FaaQueue, SharedWeakBag};
    ///
    /// // Small segments: a new one every 16 pushes.
    /// let queue = FaaQueue::<u32, 16>::default();
    /// (0..40).for_each(|i| queue.push(i).unwrap());
    /// assert_eq!(queue.pop(), Some(0));
    /// ```
    fn default() -> Self {
        const { assert!(N > 0, "a segment needs at least one slot") };
        let first: *const Segment<T, N> = Box::into_raw(Segment::alloc(0));
        FaaQueue {
            tail: CachePadded::new(Atomic::from(first)),
            head: CachePadded::new(Atomic::from(first)),
        }
    }
}

impl<T, const N: usize> FaaQueue<T, N> {
    /// `index` was past the end of the tail segment: append a segment
    /// holding `item`, or help the tail to the segment another push
    /// appended and hand `item` back to claim a slot there.
    #[cold]
    #[inline(never)]
    fn push_slow(&self, item: T, tail: Shared<'_, Segment<T, N>>, guard: &Guard) -> Result<(), T> {
        // SAFETY: as in `try_push`: not null, read while `guard` pins.
        let segment = unsafe { tail.deref() };
        let next = segment.next.load(Ordering::Acquire, guard);
        if !next.is_null() {
            let _ =
                self.tail
                    .compare_exchange(tail, next, Ordering::Release, Ordering::Relaxed, guard);
            return Err(item);
        }
        let new = Owned::from(Segment::with_first(item, segment.position + 1));
        #[cfg(test)]
        crate::hook::reach(crate::hook::Point::FaaAppend);
        match segment.next.compare_exchange(
            Shared::null(),
            new,
            Ordering::Release,
            Ordering::Acquire,
            guard,
        ) {
            Ok(new) => {
                let _ = self.tail.compare_exchange(
                    tail,
                    new,
                    Ordering::Release,
                    Ordering::Relaxed,
                    guard,
                );
                Ok(())
            }
            Err(lost) => {
                let _ = self.tail.compare_exchange(
                    tail,
                    lost.current,
                    Ordering::Release,
                    Ordering::Relaxed,
                    guard,
                );
                Err(lost.new.into_box().take_first())
            }
        }
    }

    /// Every slot of the head segment has been claimed by a pop: move the
    /// head to the next segment and retire this one. `false` if there is no
    /// next segment (the queue is empty).
    #[cold]
    #[inline(never)]
    fn pop_slow(&self, head: Shared<'_, Segment<T, N>>, guard: &Guard) -> bool {
        // SAFETY: as in `try_pop`: not null, read while `guard` pins.
        let segment = unsafe { head.deref() };
        let next = segment.next.load(Ordering::Acquire, guard);
        if next.is_null() {
            return false;
        }
        // The tail never lags the head: move it first, so that once the
        // head leaves this segment no pointer of the queue is left on it.
        // If the swap fails, the tail is already past it.
        let _ = self
            .tail
            .compare_exchange(head, next, Ordering::Release, Ordering::Relaxed, guard);
        if self
            .head
            .compare_exchange(head, next, Ordering::Release, Ordering::Relaxed, guard)
            .is_ok()
        {
            // SAFETY: neither `head` nor `tail` points to the segment any
            // more, and only retired segments point to it, so no thread
            // that pins from now on can reach it. Threads that read it
            // earlier are pinned, and the epoch waits for them. Every slot
            // was claimed by a pop, which took or killed it, so dropping the
            // segment (which drops no item) loses nothing.
            unsafe { guard.defer_destroy(head) };
        }
        true
    }
}

impl<T, const N: usize> Segment<T, N> {
    /// A segment with every slot empty, allocated without building it on
    /// the stack first (a segment of large items can be megabytes).
    fn alloc(position: usize) -> Box<Self> {
        #[cfg(test)]
        crate::live::SEGMENTS.fetch_add(1, Ordering::Relaxed);
        let mut segment = Box::<Self>::new_uninit();
        let p = segment.as_mut_ptr();
        // SAFETY: `p` is the box's memory, aligned and writable for one
        // `Segment`. Each write initialises one field in place, reading and
        // dropping nothing; the slot pointers stay inside the `slots` array.
        unsafe {
            (&raw mut (*p).enqueue).write(CachePadded::new(AtomicUsize::new(0)));
            (&raw mut (*p).dequeue).write(CachePadded::new(AtomicUsize::new(0)));
            (&raw mut (*p).next).write(Atomic::null());
            (&raw mut (*p).position).write(position);
            let slots = (&raw mut (*p).slots).cast::<Slot<T>>();
            for i in 0..N {
                (&raw mut (*slots.add(i)).state).write(AtomicU8::new(EMPTY));
            }
        }
        // SAFETY: every field is initialised above except the items, which
        // are `MaybeUninit` inside `UnsafeCell` and need no initialisation.
        unsafe { segment.assume_init() }
    }

    /// A segment with `item` published in its first slot, ready to append.
    fn with_first(item: T, position: usize) -> Box<Self> {
        let segment = Self::alloc(position);
        let slot = &segment.slots[0];
        // SAFETY: nobody else sees the new segment, and its first slot is
        // empty.
        unsafe { slot.item.get().cast::<T>().write(item) };
        // Relaxed: the swap that appends the segment publishes it all.
        slot.state.store(FULL, Ordering::Relaxed);
        segment.enqueue.store(1, Ordering::Relaxed);
        segment
    }

    /// The item of a segment from [`with_first`](Self::with_first) that was
    /// never appended.
    fn take_first(&self) -> T {
        // SAFETY: the segment was never shared, so this thread alone claims
        // its first slot, which `with_first` published (and this thread
        // wrote, so no ordering is needed).
        unsafe { self.slots[0].take_full() }
    }
}

#[cfg(test)]
impl<T, const N: usize> Drop for Segment<T, N> {
    fn drop(&mut self) {
        crate::live::SEGMENTS.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<T, const N: usize> FaaQueue<T, N> {
    /// Checks, with no operation in flight: the segments from the head are
    /// numbered in order and the tail is one of them; in each, every slot a
    /// pop claimed is dead, and no slot a push did not claim is full.
    #[cfg(debug_assertions)]
    fn check_invariants(&mut self) {
        // SAFETY: `&mut self`: no other thread can reach the segments, so
        // nothing is freed under the walk.
        let guard = unsafe { epoch::unprotected() };
        let tail = self.tail.load(Ordering::Relaxed, guard);
        let mut cur = self.head.load(Ordering::Relaxed, guard);
        let mut tail_seen = false;
        let mut position: Option<usize> = None;
        // SAFETY: the segments from the head on are owned by the queue and
        // not freed.
        while let Some(segment) = unsafe { cur.as_ref() } {
            if let Some(before) = position {
                assert_eq!(
                    segment.position,
                    before + 1,
                    "segments are numbered in order"
                );
            }
            position = Some(segment.position);
            tail_seen |= cur == tail;
            let pushed = segment.enqueue.load(Ordering::Relaxed).min(N);
            let popped = segment.dequeue.load(Ordering::Relaxed).min(N);
            for (index, slot) in segment.slots.iter().enumerate() {
                let state = slot.state.load(Ordering::Relaxed);
                assert!(state <= DEAD, "slot {index}: unknown state {state}");
                if index < popped {
                    assert_eq!(state, DEAD, "slot {index}: claimed by a pop, not dead");
                }
                if index >= pushed {
                    assert_ne!(state, FULL, "slot {index}: full, but no push claimed it");
                }
            }
            cur = segment.next.load(Ordering::Relaxed, guard);
        }
        assert!(tail_seen, "the tail is the head or after it");
    }
}

impl<T, const N: usize> Drop for FaaQueue<T, N> {
    fn drop(&mut self) {
        #[cfg(debug_assertions)]
        self.check_invariants();
        // SAFETY: `&mut self`: no other thread can reach the segments, so
        // nothing needs protecting from concurrent frees.
        let guard = unsafe { epoch::unprotected() };
        let mut cur = self.head.load(Ordering::Relaxed, guard);
        while !cur.is_null() {
            // SAFETY: the segments from the head on are owned by the queue
            // and not retired (only segments the head has left are), and
            // each is reached once.
            let segment = unsafe { cur.into_owned() }.into_box();
            for slot in &segment.slots {
                if slot.state.load(Ordering::Relaxed) == FULL {
                    // SAFETY: a *full* slot holds a published item no pop
                    // took; every operation has finished, so the queue owns
                    // it, and it is dropped once (the segment drops no item).
                    unsafe { slot.item.get().cast::<T>().drop_in_place() };
                }
            }
            cur = segment.next.load(Ordering::Relaxed, guard);
        }
    }
}

impl<T, const N: usize> fmt::Debug for FaaQueue<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaaQueue")
            .field("segment_slots", &N)
            .field("len_hint", &self.len_hint())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::hook::{self, Point};
    use crate::live;

    /// A pop that claims the slot of a push that has not published gives up
    /// on it and says so; the push finds its slot dead, gets its item back
    /// and says so too. Nothing is lost and the queue works on.
    #[test]
    fn overtaken_push_and_pop_are_reported() {
        let _serial = live::serial();
        let queue = Arc::new(FaaQueue::<u32>::new());
        let other = Arc::clone(&queue);
        hook::once(Point::FaaPublish, move || {
            assert_eq!(other.try_pop(), Err(PopError::Contended));
        });
        assert_eq!(queue.try_push(7), Err(PushError::Contended(7)));
        assert!(!hook::pending(), "the race happened");
        assert_eq!(queue.try_pop(), Err(PopError::Empty));
        queue.try_push(8).unwrap();
        assert_eq!(queue.try_pop(), Ok(8));
    }

    /// The retrying `push` goes through an overtaken slot and lands in the
    /// next one.
    #[test]
    fn push_retries_an_overtaken_slot() {
        let _serial = live::serial();
        let queue = Arc::new(FaaQueue::<u32, 2>::default());
        let other = Arc::clone(&queue);
        hook::once(Point::FaaPublish, move || {
            assert_eq!(other.try_pop(), Err(PopError::Contended));
        });
        queue.push(7).unwrap();
        assert!(!hook::pending());
        assert_eq!(queue.pop(), Some(7));
        assert_eq!(queue.pop(), None);
    }

    /// An overtaken push whose item needs dropping: the item comes back
    /// whole and is dropped once, by its owner, not by the queue.
    #[test]
    fn overtaken_item_is_not_dropped_by_the_queue() {
        let _serial = live::serial();
        let queue = Arc::new(FaaQueue::<Arc<()>>::new());
        let other = Arc::clone(&queue);
        let item = Arc::new(());
        hook::once(Point::FaaPublish, move || {
            assert_eq!(other.try_pop(), Err(PopError::Contended));
        });
        let back = queue.try_push(Arc::clone(&item)).unwrap_err().into_inner();
        assert_eq!(Arc::strong_count(&item), 2);
        drop(back);
        drop(queue);
        assert_eq!(Arc::strong_count(&item), 1);
    }

    /// A push that loses the race to append a segment frees the segment it
    /// made, moves to the winner's, and its item lands after the winner's.
    #[test]
    fn lost_append_moves_on() {
        let _serial = live::serial();
        let queue = Arc::new(FaaQueue::<u32, 1>::default());
        queue.try_push(1).unwrap();
        let other = Arc::clone(&queue);
        hook::once(Point::FaaAppend, move || other.try_push(3).unwrap());
        queue.try_push(2).unwrap();
        assert!(!hook::pending(), "the race happened");
        assert_eq!(queue.len_hint(), 3);
        assert_eq!(
            [queue.pop(), queue.pop(), queue.pop()],
            [Some(1), Some(3), Some(2)]
        );
        assert_eq!(queue.pop(), None);
        drop(queue);
        assert_eq!(live::drain(&live::SEGMENTS), 0, "segments never freed");
    }

    /// Every segment is freed: those the head retired (through the epoch),
    /// those still linked when the queue drops, and those of lost appends.
    #[test]
    fn every_segment_is_freed() {
        let _serial = live::serial();
        let rounds = if cfg!(miri) { 30 } else { 1000 };
        let queue = FaaQueue::<Box<usize>, 2>::default();
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    for i in 0..rounds {
                        queue.push(Box::new(i)).unwrap();
                        if i % 3 != 0 {
                            queue.pop().unwrap();
                        }
                    }
                });
            }
        });
        drop(queue);
        assert_eq!(live::drain(&live::SEGMENTS), 0, "segments never freed");
    }
}
