//! A counting global allocator: counts allocations made on one thread while counting is switched on.
//!
//! The benchmark server runs on other threads in the same process, so counters are thread-local: only
//! the client's thread (a `current_thread` runtime, which also drives the client's connection tasks) is
//! counted. Counting follows dhat's convention: a `realloc` counts as one allocation of its new size.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Wraps the system allocator and counts on threads that called [`start`].
pub struct CountingAllocator;

#[derive(Clone, Copy)]
struct State {
    counting: bool,
    allocations: u64,
    bytes: u64,
}

thread_local! {
    // `const` initialisation and no destructor: touching it never allocates, so it is safe to use from
    // inside the allocator.
    static STATE: Cell<State> = const {
        Cell::new(State { counting: false, allocations: 0, bytes: 0 })
    };
}

fn record(size: usize) {
    // `try_with`: the slot is gone while the thread is being torn down.
    let _ = STATE.try_with(|state| {
        let mut s = state.get();
        if s.counting {
            s.allocations += 1;
            s.bytes += size as u64;
            state.set(s);
        }
    });
}

// SAFETY: every call is forwarded unchanged to `System`; counting touches only a thread-local `Cell`.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        System.realloc(ptr, layout, new_size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

/// Allocations counted on this thread between [`start`] and [`stop`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub allocations: u64,
    pub bytes: u64,
}

/// Resets this thread's counters and starts counting.
pub fn start() {
    STATE.with(|state| {
        state.set(State {
            counting: true,
            allocations: 0,
            bytes: 0,
        })
    });
}

/// Stops counting on this thread and returns what was counted since [`start`].
pub fn stop() -> Counts {
    STATE.with(|state| {
        let mut s = state.get();
        s.counting = false;
        state.set(s);
        Counts {
            allocations: s.allocations,
            bytes: s.bytes,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_only_while_started_and_only_this_thread() {
        start();
        let v: Vec<u8> = Vec::with_capacity(1000);
        std::thread::spawn(|| drop(Vec::<u8>::with_capacity(5000)))
            .join()
            .unwrap();
        let counts = stop();
        drop(v);
        drop(Vec::<u8>::with_capacity(77));
        // The spawned thread's allocations (and the thread's own bookkeeping there) are not counted;
        // the `Vec` here is, and so may be the spawn's bookkeeping on this thread.
        assert!(counts.allocations >= 1);
        assert!(counts.bytes >= 1000);
        assert!(counts.bytes < 5000 + 1000, "{counts:?}");
        assert_eq!(
            stop(),
            Counts {
                allocations: counts.allocations,
                bytes: counts.bytes
            }
        );
    }
}
