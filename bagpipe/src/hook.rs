//! Points inside the lock-free operations where a unit test runs code of its
//! own, so that a race happens on one thread, the same way every time: a
//! push of another item between a load and the compare-and-swap that
//! depends on it, a pop between a push's claim of a slot and its
//! publication, or another push between a push's decision to append a
//! segment and the append. Compiled only for this crate's unit tests; the call sites
//! are `#[cfg(test)]` too, so other builds carry nothing of it.

use std::cell::RefCell;

/// Where a hook runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Point {
    /// `TreiberStack::try_push`, between reading the head and swapping it.
    TreiberPush,
    /// `TreiberStack::try_pop`, between reading the head and swapping it.
    TreiberPop,
    /// `FaaQueue::try_push`, between claiming a slot and publishing the item.
    FaaPublish,
    /// `FaaQueue::try_push`, between finding the tail segment full with no
    /// successor and appending one.
    FaaAppend,
}

type Hook = (Point, Box<dyn FnOnce()>);

thread_local! {
    static HOOK: RefCell<Option<Hook>> = const { RefCell::new(None) };
}

/// Runs `f` the next time this thread reaches `point`, once.
pub(crate) fn once(point: Point, f: impl FnOnce() + 'static) {
    HOOK.with(|hook| *hook.borrow_mut() = Some((point, Box::new(f))));
}

/// Whether a hook set with [`once`] has not run yet.
pub(crate) fn pending() -> bool {
    HOOK.with(|hook| hook.borrow().is_some())
}

/// Runs this thread's hook if it is set for `point`. The hook is taken out
/// before it runs, so the operations it calls do not run it again.
pub(crate) fn reach(point: Point) {
    let hook = HOOK.with(|hook| {
        let mut hook = hook.borrow_mut();
        match *hook {
            Some((at, _)) if at == point => hook.take().map(|(_, f)| f),
            _ => None,
        }
    });
    if let Some(f) = hook {
        f();
    }
}
