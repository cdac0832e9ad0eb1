//! The tests of slab-alloc: the conformance suites over three backings,
//! object caching, the checks on free, the working set and the statistics.

mod backing;
mod caching;
mod checks;
mod child;
mod config;
mod conformance;
mod placement;
mod working_set;
