// Shared by the Rust test targets, as common.h is by the C ones: name the
// threads, wait until every other thread sleeps, say "ready", then wait to
// be killed (or, under "leakscan --at-exit", exit with the threads alive).
#![allow(dead_code)]
use std::fs;
use std::io::Write;
use std::thread;
use std::time::Duration;


fn gettid() -> i64 {
    // /proc/thread-self names the calling thread's task directory
    fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|p| p.file_name().and_then(|n| n.to_str()).and_then(|s| s.parse().ok()))
        .unwrap_or(-1)
}

/// Whether every thread but the caller sleeps (S or D).
pub fn others_asleep() -> bool {
    let me = gettid();
    let dir = match fs::read_dir("/proc/self/task") {
        Ok(d) => d,
        Err(_) => return false,
    };
    for e in dir.flatten() {
        let name = e.file_name();
        let tid: i64 = name.to_str().and_then(|s| s.parse().ok()).unwrap_or(-1);
        if tid == me {
            continue;
        }
        if let Ok(stat) = fs::read_to_string(e.path().join("stat")) {
            if let Some(close) = stat.rfind(')') {
                let state = stat[close + 2..].chars().next().unwrap_or('?');
                if state != 'S' && state != 'D' {
                    return false;
                }
            }
        }
    }
    true
}

pub fn wait_others_asleep() {
    while !others_asleep() {
        thread::sleep(Duration::from_millis(1));
    }
}

/// Tells the harness the threads are set up, then parks main until it is
/// killed; with LEAKSCAN_TARGET_EXIT set it exits instead, once the other
/// threads sleep, so that they are alive at exit.
pub fn ready_and_wait() -> ! {
    if std::env::var_os("LEAKSCAN_TARGET_EXIT").is_some() {
        for _ in 0..200 {
            if others_asleep() {
                break;
            }
            thread::sleep(Duration::from_millis(10));
        }
        thread::sleep(Duration::from_millis(50));
        println!("exiting {}", std::process::id());
        std::process::exit(0);
    }
    println!("ready {}", std::process::id());
    std::io::stdout().flush().ok();
    loop {
        thread::sleep(Duration::from_secs(3600));
    }
}

/// Runs f under a deep, dead stack: the frames that held pointers lie far
/// below everything main does afterwards, where no scan of a running
/// thread's stack looks.
#[inline(never)]
pub fn deep<F: FnOnce()>(f: F) {
    let pad = [0u8; 32768];
    unsafe { std::ptr::read_volatile(&pad[100]) };
    f();
    unsafe { std::ptr::read_volatile(&pad[200]) };
}
