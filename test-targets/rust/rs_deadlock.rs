// Two threads deadlocked on two std::sync::Mutex, each holding one and
// waiting for the other.  Rust's Mutex keeps no owner, so no cycle can be
// read from the lock words; but nothing that can still run references
// either mutex (main dropped its handles), so both waits are unreachable.
// leakscan-expect: leaked=2
// leakscan-expect: thread left state=mutex verdict=unreachable atexit-verdict=blocked leaked=true region=heap top=rs_deadlock::transfer line=@lock created=rs_deadlock::start@left
// leakscan-expect: thread right state=mutex verdict=unreachable atexit-verdict=blocked leaked=true region=heap top=rs_deadlock::transfer line=@lock created=rs_deadlock::start@right
// leakscan-expect-at-exit: leaked=2
mod common;
use std::thread::Builder;
use std::sync::{Arc, Barrier, Mutex};

#[inline(never)]
fn transfer(from: &Mutex<u64>, to: &Mutex<u64>, both: &Barrier) {
    let mut a = from.lock().unwrap();
    both.wait();
    let mut b = to.lock().unwrap(); // @lock
    *b += *a;
    *a = 0;
}

#[inline(never)]
fn start() {
    let x = Arc::new(Mutex::new(1u64));
    let y = Arc::new(Mutex::new(2u64));
    let both = Arc::new(Barrier::new(2));
    let (x1, y1, b1) = (x.clone(), y.clone(), both.clone());
    Builder::new().name("left".into()).spawn(move || transfer(&x1, &y1, &b1)).unwrap(); // @left
    let (x2, y2, b2) = (x, y, both);
    Builder::new().name("right".into()).spawn(move || transfer(&y2, &x2, &b2)).unwrap(); // @right
    common::wait_others_asleep();
}

fn main() {
    common::deep(start);
    common::ready_and_wait();
}
