// Handlers waiting on std::sync::Condvar replies whose requests the
// dispatcher forgot: nothing that can run references their Condvar any
// more, so they are unreachable; a fourth, still in the global table of
// pending requests, is idle.
// leakscan-expect: leaked=3
// leakscan-expect: thread handler count=3 state=condvar verdict=unreachable atexit-verdict=blocked leaked=true region=heap top=rs_condvar::wait_reply line=@wait created=rs_condvar::dispatch@spawn
// leakscan-expect: thread pending count=1 state=condvar verdict=idle leaked=false region=heap
// leakscan-expect-at-exit: leaked=4
mod common;
use std::thread::Builder;
use std::sync::{Arc, Condvar, Mutex};

struct Request {
    done: Mutex<bool>,
    replied: Condvar,
}

const NONE: Option<Arc<Request>> = None;
static PENDING: Mutex<[Option<Arc<Request>>; 8]> = Mutex::new([NONE; 8]);

#[inline(never)]
fn wait_reply(req: &Request) {
    let mut done = req.done.lock().unwrap();
    while !*done {
        done = req.replied.wait(done).unwrap(); // @wait
    }
}

#[inline(never)]
fn dispatch() {
    for i in 0..4 {
        let req = Arc::new(Request { done: Mutex::new(false), replied: Condvar::new() });
        let slot = if i == 3 { 7 } else { i };
        PENDING.lock().unwrap()[slot] = Some(req.clone());
        let name = if i == 3 { "pending" } else { "handler" };
        Builder::new().name(name.into()).spawn(move || wait_reply(&req)).unwrap(); // @spawn
    }
    common::wait_others_asleep();
    // the first three time out: they leave the table, nobody tells them
    for slot in PENDING.lock().unwrap()[0..3].iter_mut() {
        *slot = None;
    }
}

fn main() {
    common::deep(dispatch);
    common::ready_and_wait();
}
