//! A native decision allocates nothing on the heap.

mod common;

use arbpolicy_core::policy::{Network, Offer, Request, Selector, decide};
use arbpolicy_core::{Portfolio, Position, TradingConfig};

#[test]
fn a_native_decision_makes_no_heap_allocation() {
    let market = common::market(&common::flat(3, 100.0, 0.0001, 0.00002));
    let opportunities = market.snapshots()[1].opportunities.clone();
    let mut network = Box::new(Network::ZERO);
    let mut k = 0.0f32;
    network.set_parameters(|| {
        k += 0.37;
        k.sin() * 0.2
    });
    let mut book = Portfolio::new(10_000.0);
    let mut held = Position::open(&opportunities[0], 500.0, 2.0, 0.001, common::T0);
    held.coin = arbpolicy_core::name("ETH").unwrap();
    book.positions[1] = Some(held);
    let request = Request {
        opportunities: Offer::List(&opportunities),
        portfolio: &book,
        config: TradingConfig::balanced(),
        now: common::T0 + 5,
    };
    let mut policy = &*network;
    // Warm up anything lazily initialised (the CPU feature detection of the dispatch).
    decide(&mut policy, &request, Selector::Greedy).unwrap();
    let mut decisions = Vec::with_capacity(2);
    let info = allocation_counter::measure(|| {
        decisions.push(decide(&mut policy, &request, Selector::Greedy).unwrap());
        decisions.push(decide(&mut policy, &request, Selector::Sample(7)).unwrap());
    });
    assert_eq!(info.count_total, 0, "{info:?}");
    assert_eq!(decisions.len(), 2);
    assert!(decisions[0].value.is_finite());
    // The counter sees allocations: the check above could fail.
    let info = allocation_counter::measure(|| drop(std::hint::black_box(vec![1u8; 10])));
    assert_eq!(info.count_total, 1);
}
