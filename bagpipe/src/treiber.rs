//! `TreiberStack`: a lock-free LIFO list, one compare-and-swap per push or
//! pop (Treiber 1986), its nodes freed through crossbeam-epoch.

use core::fmt;
use core::mem::ManuallyDrop;
use core::sync::atomic::Ordering;

use crossbeam_epoch::{self as epoch, Atomic, Owned, Shared};
use crossbeam_utils::{Backoff, CachePadded};

use crate::bag::SharedWeakBag;
use crate::error::{PopError, PushError};

/// A lock-free stack: last in, first out (R. K. Treiber, *Systems
/// programming: coping with parallelism*, IBM RJ 5118, 1986).
///
/// The stack is one atomic pointer to the top node of a singly linked list.
/// A push allocates a node and swaps it in on top; a pop swaps the top
/// node's successor in. A swap that finds the top changed since it was read
/// is a lost race: `try_push` and `try_pop` report it as
/// [`Contended`](PushError::Contended) and do not retry.
///
/// **Reclamation and ABA.** A popped node is handed to crossbeam-epoch
/// (`defer_destroy`) and freed only once every thread that was pinned when
/// it was unlinked has unpinned (Fraser, *Practical lock-freedom*, 2004).
/// Every operation is pinned while it holds a node's address, so no address
/// it read can be freed and reused under it: a compare-and-swap that
/// succeeds on an address succeeds on the same node, which rules out ABA.
///
/// **Length.** Each node records how many items lie at and below it, so the
/// length is one load from the top node: [`len_hint`](Self::len_hint) costs
/// no write on any path.
///
/// **Costs.** A push is one allocation, a pin, a load and a
/// compare-and-swap on the top pointer; a pop is a pin, a load, a
/// compare-and-swap and a deferred free. Every thread writes the same word,
/// so under contention this is the bag to spread over a [`Bagpipe`].
///
/// [`Bagpipe`]: crate::Bagpipe
///
/// ```
/// use bagpipe::{SharedWeakBag, TreiberStack};
///
/// static STACK: TreiberStack<u32> = TreiberStack::new();
///
/// std::thread::scope(|s| {
///     for t in 0..4 {
///         s.spawn(move || STACK.push(t).unwrap());
///     }
/// });
/// let mut all: Vec<u32> = std::iter::from_fn(|| STACK.pop()).collect();
/// all.sort();
/// assert_eq!(all, [0, 1, 2, 3]);
/// ```
pub struct TreiberStack<T> {
    // The only field, read and swapped by every operation; padded so that
    // neighbouring data does not share its cache line.
    head: CachePadded<Atomic<Node<T>>>,
}

struct Node<T> {
    /// Moved out by the pop that unlinks the node; the node is freed later,
    /// without dropping it again.
    item: ManuallyDrop<T>,
    /// The node below, or null. Never changes once the node is pushed.
    next: *const Node<T>,
    /// Items from this node to the bottom, this one included.
    len: usize,
}

// SAFETY: the stack owns its items and hands each to exactly one thread
// (the one whose pop unlinks it), so it may move to another thread when
// `T` may. The raw `next` pointers are the stack's own list.
unsafe impl<T: Send> Send for TreiberStack<T> {}

// SAFETY: `&TreiberStack` only moves items in and out whole (never shares
// a `&T`), and every access to the list goes through atomic operations on
// `head` while pinned, so sharing the stack needs only `T: Send`.
unsafe impl<T: Send> Sync for TreiberStack<T> {}

impl<T> SharedWeakBag for TreiberStack<T> {
    type Item = T;

    /// One allocation, one pin, one load and one compare-and-swap.
    /// [`PushError::Contended`] when the top changed between the load and
    /// the swap; never [`PushError::Full`].
    ///
    /// ```
    /// use bagpipe::{SharedWeakBag, TreiberStack};
    ///
    /// let stack = TreiberStack::new();
    /// stack.try_push(1).unwrap();
    /// assert_eq!(stack.len_hint(), 1);
    /// ```
    #[inline]
    fn try_push(&self, item: T) -> Result<(), PushError<T>> {
        let node = Node::new(item);
        let guard = epoch::pin();
        let head = self.head.load(Ordering::Acquire, &guard);
        let node = link(node, head);
        #[cfg(test)]
        crate::hook::reach(crate::hook::Point::TreiberPush);
        match self
            .head
            .compare_exchange(head, node, Ordering::Release, Ordering::Relaxed, &guard)
        {
            Ok(_) => Ok(()),
            Err(lost) => Err(PushError::Contended(into_item(lost.new))),
        }
    }

    /// One pin, one load and one compare-and-swap; the node is freed later
    /// through the epoch. [`PopError::Contended`] when the top changed
    /// between the load and the swap.
    ///
    /// ```
    /// use bagpipe::{PopError, SharedWeakBag, TreiberStack};
    ///
    /// let stack = TreiberStack::new();
    /// stack.try_push("a").unwrap();
    /// assert_eq!(stack.try_pop(), Ok("a"));
    /// assert_eq!(stack.try_pop(), Err(PopError::Empty));
    /// ```
    #[inline]
    fn try_pop(&self) -> Result<T, PopError> {
        let guard = epoch::pin();
        // Acquire: the node's fields were written before the release swap
        // that pushed it (every later write of `head` is a read-modify-write
        // and so carries that release along).
        let head = self.head.load(Ordering::Acquire, &guard);
        // SAFETY: `head` was read from the list while pinned, so it is null
        // or a node that is not freed before `guard` is dropped.
        let Some(node) = (unsafe { head.as_ref() }) else {
            return Err(PopError::Empty);
        };
        #[cfg(test)]
        crate::hook::reach(crate::hook::Point::TreiberPop);
        let next = Shared::from(node.next);
        match self
            .head
            .compare_exchange(head, next, Ordering::Acquire, Ordering::Relaxed, &guard)
        {
            Ok(_) => {
                // SAFETY: the swap unlinked `node`, and only the thread whose
                // swap unlinks a node moves its item out; nobody else reads
                // `item` (other threads read only `next` and `len`).
                let item = ManuallyDrop::into_inner(unsafe { core::ptr::read(&node.item) });
                // SAFETY: `node` is unlinked, so no thread can reach it from
                // `head` any more; threads that read it earlier are pinned,
                // and the epoch frees it only after they unpin. Dropping the
                // node drops no item (`ManuallyDrop`).
                unsafe { guard.defer_destroy(head) };
                Ok(item)
            }
            Err(_) => Err(PopError::Contended),
        }
    }

    /// One pin and one load: the count recorded in the top node.
    ///
    /// ```
    /// use bagpipe::{SharedWeakBag, TreiberStack};
    ///
    /// let stack = TreiberStack::new();
    /// assert_eq!(stack.len_hint(), 0);
    /// stack.push(()).unwrap();
    /// assert_eq!(stack.len_hint(), 1);
    /// ```
    fn len_hint(&self) -> usize {
        let guard = epoch::pin();
        let head = self.head.load(Ordering::Acquire, &guard);
        // SAFETY: read while pinned: null or a node not yet freed.
        unsafe { head.as_ref() }.map_or(0, |node| node.len)
    }

    /// Pushes, retrying after each lost race with the same node (one
    /// allocation however many tries), backing off between tries. Never
    /// `Err`: the stack is unbounded.
    ///
    /// ```
    /// use bagpipe::{SharedWeakBag, TreiberStack};
    ///
    /// let stack = TreiberStack::new();
    /// stack.push(1).unwrap();
    /// stack.push(2).unwrap();
    /// assert_eq!(stack.pop(), Some(2));
    /// ```
    fn push(&self, item: T) -> Result<(), T> {
        let backoff = Backoff::new();
        let mut node = Node::new(item);
        loop {
            let guard = epoch::pin();
            let head = self.head.load(Ordering::Acquire, &guard);
            node = link(node, head);
            match self.head.compare_exchange(
                head,
                node,
                Ordering::Release,
                Ordering::Relaxed,
                &guard,
            ) {
                Ok(_) => return Ok(()),
                Err(lost) => node = lost.new,
            }
            drop(guard);
            backoff.snooze();
        }
    }
}

/// Points `node` at `head`, and records the length it will have on top.
/// The caller is pinned and read `head` from the list.
#[inline]
fn link<T>(mut node: Owned<Node<T>>, head: Shared<'_, Node<T>>) -> Owned<Node<T>> {
    // SAFETY: `head` was read from the list while the caller is pinned
    // (`head`'s lifetime is its guard's), so it is null or a live node.
    let below = unsafe { head.as_ref() }.map_or(0, |below| below.len);
    node.next = head.as_raw();
    node.len = below + 1;
    node
}

/// The item of a node that was never published.
#[cold]
#[inline(never)]
fn into_item<T>(node: Owned<Node<T>>) -> T {
    let mut node = node.into_box();
    // SAFETY: the node is this thread's alone and is freed right after;
    // its item is taken once.
    unsafe { ManuallyDrop::take(&mut node.item) }
}

impl<T> Node<T> {
    /// A node holding `item`, not yet linked.
    #[inline]
    fn new(item: T) -> Owned<Self> {
        #[cfg(test)]
        crate::live::NODES.fetch_add(1, Ordering::Relaxed);
        Owned::new(Node {
            item: ManuallyDrop::new(item),
            next: core::ptr::null(),
            len: 0,
        })
    }
}

#[cfg(test)]
impl<T> Drop for Node<T> {
    fn drop(&mut self) {
        crate::live::NODES.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<T> TreiberStack<T> {
    /// An empty stack. `const`, and allocates nothing, so a stack can be a
    /// `static`.
    ///
    /// ```
    /// use bagpipe::{SharedWeakBag, TreiberStack};
    ///
    /// static FREE: TreiberStack<usize> = TreiberStack::new();
    /// assert_eq!(FREE.pop(), None);
    /// ```
    pub const fn new() -> Self {
        TreiberStack {
            head: CachePadded::new(Atomic::null()),
        }
    }
}

impl<T> Default for TreiberStack<T> {
    fn default() -> Self {
        TreiberStack::new()
    }
}

impl<T> TreiberStack<T> {
    /// Checks, with no operation in flight, that every node's length is one
    /// more than the length of the node below it, down to 1.
    #[cfg(debug_assertions)]
    fn check_invariants(&mut self) {
        // SAFETY: `&mut self`: no other thread can reach the list, so
        // nothing is freed under the walk.
        let guard = unsafe { epoch::unprotected() };
        let mut cur = self.head.load(Ordering::Relaxed, guard);
        let mut below: Option<usize> = None;
        // SAFETY: every node reachable from `head` is owned by the stack and
        // not freed.
        while let Some(node) = unsafe { cur.as_ref() } {
            if let Some(len) = below {
                assert_eq!(node.len, len, "a node's length is its successor's plus one");
            }
            below = Some(node.len - 1);
            cur = Shared::from(node.next);
        }
        assert!(
            matches!(below, None | Some(0)),
            "the bottom node's length is 1"
        );
    }
}

impl<T> Drop for TreiberStack<T> {
    fn drop(&mut self) {
        #[cfg(debug_assertions)]
        self.check_invariants();
        // SAFETY: `&mut self`: no other thread can reach the list, so
        // nothing needs protecting from concurrent frees.
        let guard = unsafe { epoch::unprotected() };
        let mut cur = self.head.load(Ordering::Relaxed, guard);
        while !cur.is_null() {
            // SAFETY: every node reachable from `head` is owned by the stack,
            // not freed (only unlinked nodes are deferred) and reached once.
            let mut node = unsafe { cur.into_owned() }.into_box();
            cur = Shared::from(node.next);
            // SAFETY: the stack owns the item of every linked node; it is
            // taken once, and the node is freed without dropping it again.
            let item = unsafe { ManuallyDrop::take(&mut node.item) };
            drop(node);
            drop(item);
        }
    }
}

impl<T> fmt::Debug for TreiberStack<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TreiberStack")
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

    /// A push that loses its compare-and-swap says so, gives the item back
    /// and changes nothing; the racing push stands.
    #[test]
    fn lost_push_is_reported() {
        let _serial = live::serial();
        let stack = Arc::new(TreiberStack::new());
        let other = Arc::clone(&stack);
        hook::once(Point::TreiberPush, move || other.try_push(1).unwrap());
        assert_eq!(stack.try_push(2), Err(PushError::Contended(2)));
        assert!(!hook::pending(), "the race happened");
        assert_eq!(stack.len_hint(), 1);
        assert_eq!(stack.try_pop(), Ok(1));
        assert_eq!(stack.try_pop(), Err(PopError::Empty));
    }

    /// A pop that loses its compare-and-swap says so and takes nothing; the
    /// item it aimed at is still there.
    #[test]
    fn lost_pop_is_reported() {
        let _serial = live::serial();
        let stack = Arc::new(TreiberStack::new());
        stack.try_push(1).unwrap();
        let other = Arc::clone(&stack);
        hook::once(Point::TreiberPop, move || other.try_push(2).unwrap());
        assert_eq!(stack.try_pop(), Err(PopError::Contended));
        assert!(!hook::pending(), "the race happened");
        assert_eq!(stack.try_pop(), Ok(2));
        assert_eq!(stack.try_pop(), Ok(1));
    }

    /// The retrying `pop` goes through a lost race and finds the item.
    #[test]
    fn pop_retries_a_lost_race() {
        let _serial = live::serial();
        let stack = Arc::new(TreiberStack::new());
        stack.try_push(1).unwrap();
        let other = Arc::clone(&stack);
        hook::once(Point::TreiberPop, move || other.try_push(2).unwrap());
        assert_eq!(stack.pop(), Some(2));
        assert!(!hook::pending());
        assert_eq!(stack.pop(), Some(1));
    }

    /// Every node is freed: those popped (through the epoch), those left
    /// in the stack when it drops, and those of lost pushes.
    #[test]
    fn every_node_is_freed() {
        let _serial = live::serial();
        let rounds = if cfg!(miri) { 30 } else { 1000 };
        let stack = Arc::new(TreiberStack::new());
        let other = Arc::clone(&stack);
        hook::once(Point::TreiberPush, move || {
            other.try_push(Box::new(0)).unwrap()
        });
        assert!(stack.try_push(Box::new(1)).is_err());
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    for i in 0..rounds {
                        stack.push(Box::new(i)).unwrap();
                        if i % 3 != 0 {
                            stack.pop().unwrap();
                        }
                    }
                });
            }
        });
        drop(stack);
        assert_eq!(live::drain(&live::NODES), 0, "nodes never freed");
    }
}
