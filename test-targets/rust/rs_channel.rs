// Consumers on std::sync::mpsc channels.  One channel's sender is in a
// global: its consumer is idle, not leaked.  The other's sender was
// forgotten (mem::forget: never dropped, so recv never fails, but nothing
// references it any more): its consumer is unreachable.  A thread parked
// with no handle left to unpark it is unreachable too.
// leakscan-expect: leaked=2
// leakscan-expect: thread served state=channel-recv verdict=idle leaked=false top=rs_channel::consumer
// leakscan-expect: thread forgotten state=channel-recv verdict=unreachable atexit-verdict=blocked leaked=true top=rs_channel::consumer line=@recv created=rs_channel::start@forgotten
// leakscan-expect: thread parked state=park verdict=unreachable atexit-verdict=blocked leaked=true top=rs_channel::sleeper line=@park
// leakscan-expect-at-exit: leaked=3
mod common;
use std::thread::Builder;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Mutex;

static FEED: Mutex<Option<Sender<u64>>> = Mutex::new(None);

#[inline(never)]
fn consumer(rx: Receiver<u64>) {
    let mut total = 0;
    for x in rx { // @recv
        total += x;
    }
    println!("{}", total);
}

#[inline(never)]
fn sleeper() {
    loop {
        std::thread::park(); // @park
    }
}

#[inline(never)]
fn start() {
    let (tx, rx) = channel();
    tx.send(1).unwrap();
    *FEED.lock().unwrap() = Some(tx);
    Builder::new().name("served".into()).spawn(move || consumer(rx)).unwrap();
    let (tx, rx) = channel::<u64>();
    Builder::new().name("forgotten".into()).spawn(move || consumer(rx)).unwrap(); // @forgotten
    std::mem::forget(tx);
    drop(Builder::new().name("parked".into()).spawn(sleeper).unwrap());
    common::wait_others_asleep();
}

fn main() {
    common::deep(start);
    common::ready_and_wait();
}
