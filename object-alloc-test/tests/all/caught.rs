//! Each broken allocator is caught, with a message that says what went
//! wrong.

use std::alloc::Layout;

use object_alloc::Typed;
use object_alloc_test::{
    Bytes, CheckResult, Config, Tracked, TrackedInit, allocator, global, object_layouts, typed,
    untyped,
};

use crate::broken::*;

fn config() -> Config {
    Config {
        ops: if cfg!(miri) { 300 } else { 20_000 },
        ..Config::from_env()
    }
}

/// Asserts that `result` is a failure of `check` whose message contains
/// `words`.
#[track_caller]
fn assert_caught(result: CheckResult, check: &str, words: &str) {
    let failure = result.expect_err("the broken allocator passed the suite");
    let text = failure.to_string();
    assert_eq!(failure.check(), check, "caught by another check: {text}");
    assert!(
        text.contains(words),
        "the message does not say {words:?}: {text}"
    );
}

#[test]
fn a_block_handed_out_twice_is_caught() {
    assert_caught(
        untyped::blocks(HandsOutLiveTwice::new, &object_layouts(), &config()),
        "blocks",
        "was handed out while still live",
    );
}

#[test]
fn a_block_handed_out_twice_is_caught_in_random_sequences() {
    assert_caught(
        untyped::random(HandsOutLiveTwice::new, &object_layouts(), &config()),
        "random",
        "was handed out while still live",
    );
}

#[test]
fn an_object_handed_out_twice_is_caught_by_the_typed_suite() {
    type Obj = Tracked<Bytes<8>>;
    let make = |init: TrackedInit<Bytes<8>>| {
        Typed::new(HandsOutLiveTwice::new(Layout::new::<Obj>()), init).unwrap()
    };
    let failure =
        typed::objects(make, &config()).expect_err("the broken allocator passed the suite");
    // The view constructs a new object over the live one, so the suite sees
    // either the collision or the overwritten live object, whichever it
    // checks first.
    let text = failure.to_string();
    assert!(
        text.contains("was handed out while still live")
            || text.contains("while the caller held it"),
        "{text}"
    );
}

#[test]
fn a_misaligned_block_is_caught() {
    assert_caught(
        untyped::blocks(
            |layout| Misaligns { layout, calls: 0 },
            &object_layouts(),
            &config(),
        ),
        "blocks",
        "is not aligned to",
    );
}

#[test]
fn overlapping_blocks_are_caught() {
    assert_caught(
        untyped::blocks(Overlaps::new, &object_layouts(), &config()),
        "blocks",
        "overlaps live block",
    );
}

#[test]
fn a_write_into_a_live_block_is_caught() {
    assert_caught(
        untyped::random(ScribblesOnNeighbour::new, &object_layouts(), &config()),
        "random",
        "was corrupted while live",
    );
}

#[test]
fn a_layout_smaller_than_requested_is_caught() {
    let shrink = |l: Layout| {
        let half = Layout::from_size_align((l.size() / 2).max(1), l.align()).unwrap();
        HandsOutLiveTwice::new(half)
    };
    assert_caught(
        untyped::layout(shrink, &object_layouts()),
        "layout",
        "smaller or less aligned than requested",
    );
}

#[test]
fn an_object_dropped_twice_is_caught() {
    assert_caught(
        typed::objects(
            |init: TrackedInit<Bytes<1>>| BadCache::new(init, CacheBug::DropsTwice),
            &config(),
        ),
        "drop accounting",
        "was dropped twice",
    );
}

#[test]
fn objects_never_dropped_are_caught() {
    assert_caught(
        typed::random(
            |init: TrackedInit<Bytes<1>>| BadCache::new(init, CacheBug::NeverDrops),
            &config(),
        ),
        "drop accounting",
        "were never dropped by the time the allocator was dropped",
    );
}

#[test]
fn a_free_list_written_into_freed_objects_is_caught() {
    assert_caught(
        typed::objects(
            |init: TrackedInit<Bytes<1>>| BadCache::new(init, CacheBug::FreeListInObject),
            &config(),
        ),
        "objects",
        "without being constructed",
    );
}

#[test]
fn objects_handed_out_unconstructed_are_caught() {
    assert_caught(
        typed::objects(
            |init: TrackedInit<Bytes<1>>| BadCache::new(init, CacheBug::SkipsConstructor),
            &config(),
        ),
        "objects",
        "without being constructed",
    );
}

#[test]
fn dirty_memory_from_a_zeroed_call_is_caught() {
    assert_caught(global::zeroed(&DirtyZeroed::new()), "zeroed", "is not zero");
}

#[test]
fn dirty_memory_from_a_zeroed_call_is_caught_in_random_sequences() {
    let ops = Config {
        ops: if cfg!(miri) { 2_000 } else { 100_000 },
        ..config()
    };
    assert_caught(
        global::random(&DirtyZeroed::new(), &ops),
        "random",
        "is not zero",
    );
}

#[test]
fn a_realloc_that_loses_contents_is_caught() {
    assert_caught(global::realloc(&HalfRealloc), "resize", "lost its contents");
}

#[test]
fn a_dirty_grow_zeroed_is_caught() {
    assert_caught(
        allocator::grow_shrink(&GrowZeroedDirty),
        "resize",
        "left the new tail dirty",
    );
}
