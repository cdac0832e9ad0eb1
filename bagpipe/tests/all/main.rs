//! The tests of bagpipe: each bag's order and empty behaviour alone, how a
//! `Bagpipe` reports and routes around transient failures, drop accounting,
//! and multi-threaded runs that check every item comes out exactly once.

mod drops;
mod pipe;
mod queue;
mod stack;
mod stress;
mod support;
