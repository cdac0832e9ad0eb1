//! Collections that take an allocator, over the zone, on stable Rust.

use allocator_api2::vec::Vec;
use hashbrown::HashMap;
use slab_alloc::SlabMalloc;

#[test]
fn hashbrown_map_over_the_zone() {
    let zone = SlabMalloc::new();
    let mut map = HashMap::new_in(&zone);
    for i in 0..50_000u64 {
        map.insert(i, i * 3);
    }
    for i in (0..50_000u64).step_by(2) {
        assert_eq!(map.remove(&i), Some(i * 3));
    }
    assert_eq!(map.len(), 25_000);
    assert_eq!(map.get(&49_999), Some(&149_997));
    assert!(zone.stats().live_bytes() > 25_000 * 16);
    drop(map);
    zone.trim();
    assert_eq!(zone.stats().live_bytes(), 0);
}

#[test]
fn vec_over_the_zone_grows_through_every_class_and_into_large_blocks() {
    let zone = SlabMalloc::new();
    let mut v = Vec::new_in(&zone);
    for i in 0..300_000u32 {
        v.push(i);
    }
    assert!(v.iter().copied().eq(0..300_000));
    assert!(zone.stats().large.live_blocks >= 1);
    v.truncate(10);
    v.shrink_to_fit();
    assert_eq!(v, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert_eq!(zone.stats().large.live_blocks, 0);
    let mut nested = Vec::new_in(&zone);
    for i in 0..1000usize {
        let mut inner = Vec::with_capacity_in(i % 70, &zone);
        inner.extend((0..i % 70).map(|x| x as u8));
        nested.push(inner);
    }
    assert!(nested.iter().enumerate().all(|(i, v)| v.len() == i % 70));
}
