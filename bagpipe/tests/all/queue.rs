//! `FaaQueue` on one thread: first in, first out across segments, and what
//! empty looks like.

use bagpipe::{FaaQueue, PopError, SharedWeakBag};

const ROUNDS: usize = if cfg!(miri) { 40 } else { 1000 };

#[test]
fn first_in_first_out() {
    let queue = FaaQueue::<usize>::new();
    for i in 0..ROUNDS {
        queue.try_push(i).unwrap();
        assert_eq!(queue.len_hint(), i + 1);
    }
    for i in 0..ROUNDS {
        assert_eq!(queue.try_pop(), Ok(i));
        assert_eq!(queue.len_hint(), ROUNDS - i - 1);
    }
    assert_eq!(queue.try_pop(), Err(PopError::Empty));
    assert_eq!(queue.pop(), None);
}

/// Segments of `N` slots: the order holds across segment boundaries, and a
/// queue emptied at a boundary goes on.
fn across_segments<const N: usize>() {
    let queue = FaaQueue::<usize, N>::default();
    let mut next_in = 0;
    let mut next_out = 0;
    // Grow by two, shrink by one: the head and tail cross boundaries at
    // different times.
    while next_in < ROUNDS {
        for _ in 0..2 {
            queue.push(next_in).unwrap();
            next_in += 1;
        }
        assert_eq!(queue.pop(), Some(next_out));
        next_out += 1;
        assert_eq!(queue.len_hint(), next_in - next_out);
    }
    while let Some(item) = queue.pop() {
        assert_eq!(item, next_out);
        next_out += 1;
    }
    assert_eq!(next_out, next_in);
    assert_eq!(queue.try_pop(), Err(PopError::Empty));
    // Emptied: push and pop go on, one at a time and in bursts of a
    // segment and a half.
    for burst in [1, N + N / 2 + 1] {
        for i in 0..burst {
            queue.push(i).unwrap();
        }
        for i in 0..burst {
            assert_eq!(queue.pop(), Some(i));
        }
        assert_eq!(queue.pop(), None);
    }
}

#[test]
fn across_segments_of_one() {
    across_segments::<1>();
}

#[test]
fn across_segments_of_two() {
    across_segments::<2>();
}

#[test]
fn across_segments_of_five() {
    across_segments::<5>();
}

#[test]
fn across_segments_of_the_default() {
    across_segments::<256>();
}

/// Segments of large items are built in place on the heap: a segment of
/// 4 MiB would overflow a test thread's 2 MiB stack otherwise.
#[test]
fn large_items() {
    let queue = FaaQueue::<[u64; 1024], 512>::default();
    queue.push([7; 1024]).unwrap();
    queue.push([8; 1024]).unwrap();
    assert_eq!(queue.pop().map(|a| a[1023]), Some(7));
    assert_eq!(queue.pop().map(|a| a[0]), Some(8));
    assert_eq!(queue.pop(), None);
}

#[test]
fn zero_sized_items() {
    let queue = FaaQueue::<(), 3>::default();
    for _ in 0..10 {
        queue.push(()).unwrap();
    }
    assert_eq!(queue.len_hint(), 10);
    assert_eq!(std::iter::from_fn(|| queue.pop()).count(), 10);
    assert_eq!(queue.len_hint(), 0);
}

#[test]
fn debug_shows_the_shape() {
    let queue = FaaQueue::<u8, 8>::default();
    queue.push(1).unwrap();
    assert_eq!(
        format!("{queue:?}"),
        "FaaQueue { segment_slots: 8, len_hint: 1 }"
    );
}

#[test]
fn send_and_sync_with_send_items() {
    fn shared<T: Send + Sync>() {}
    shared::<FaaQueue<std::cell::Cell<u8>>>();
}
