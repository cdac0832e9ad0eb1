//! `TreiberStack` on one thread: last in, first out, and what empty looks
//! like.

use bagpipe::{PopError, SharedWeakBag, TreiberStack};

#[test]
fn last_in_first_out() {
    let stack = TreiberStack::new();
    for i in 0..100 {
        stack.try_push(i).unwrap();
        assert_eq!(stack.len_hint(), i + 1);
    }
    for i in (0..100).rev() {
        assert_eq!(stack.try_pop(), Ok(i));
        assert_eq!(stack.len_hint(), i);
    }
    assert_eq!(stack.try_pop(), Err(PopError::Empty));
    assert_eq!(stack.pop(), None);
}

#[test]
fn interleaved() {
    let stack = TreiberStack::new();
    stack.push(1).unwrap();
    stack.push(2).unwrap();
    assert_eq!(stack.pop(), Some(2));
    stack.push(3).unwrap();
    assert_eq!(stack.pop(), Some(3));
    assert_eq!(stack.pop(), Some(1));
    assert_eq!(stack.pop(), None);
    stack.push(4).unwrap();
    assert_eq!(stack.len_hint(), 1);
    assert_eq!(stack.pop(), Some(4));
}

#[test]
fn zero_sized_items() {
    let stack = TreiberStack::new();
    for _ in 0..10 {
        stack.push(()).unwrap();
    }
    assert_eq!(stack.len_hint(), 10);
    assert_eq!(std::iter::from_fn(|| stack.pop()).count(), 10);
}

#[test]
fn static_and_default() {
    static STACK: TreiberStack<u8> = TreiberStack::new();
    STACK.push(1).unwrap();
    assert_eq!(STACK.pop(), Some(1));
    let stack: TreiberStack<u8> = TreiberStack::default();
    assert_eq!(stack.pop(), None);
}

#[test]
fn debug_shows_the_length() {
    let stack = TreiberStack::new();
    stack.push("a").unwrap();
    assert_eq!(format!("{stack:?}"), "TreiberStack { len_hint: 1 }");
}

#[test]
fn send_and_sync_with_send_items() {
    fn shared<T: Send + Sync>() {}
    // `Cell` is `Send` but not `Sync`: the stack only moves items.
    shared::<TreiberStack<std::cell::Cell<u8>>>();
}
