//! CPU time used by the calling thread: the client's cost per request, which other processes' load on a
//! shared machine disturbs far less than wall-clock figures.

use std::time::Duration;

/// User + system CPU time this thread has used so far; `None` where the platform has no such clock.
pub fn thread_cpu_time() -> Option<Duration> {
    imp::thread_cpu_time()
}

/// User + system CPU time this whole process has used so far.
pub fn process_cpu_time() -> Option<Duration> {
    imp::process_cpu_time()
}

/// User + system CPU time of another process, from `/proc/PID/stat` (clock-tick resolution).
pub fn other_process_cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces: fields are counted after its closing parenthesis.
    let mut fields = stat.get(stat.rfind(')')? + 1..)?.split_whitespace();
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    let ticks = imp::clock_ticks_per_second()?;
    Some(Duration::from_secs_f64(
        (utime + stime) as f64 / ticks as f64,
    ))
}

/// User + system CPU time used so far by this process's threads named `name` (the server's), from
/// `/proc/self/task/*/stat` (clock-tick resolution).
pub fn named_threads_cpu_time(name: &str) -> Option<Duration> {
    let ticks = imp::clock_ticks_per_second()?;
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue; // the thread ended meanwhile
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if stat.get(open + 1..close) != Some(name) {
            continue;
        }
        let mut fields = stat[close + 1..].split_whitespace();
        let utime: u64 = fields.nth(11)?.parse().ok()?;
        let stime: u64 = fields.next()?.parse().ok()?;
        total += utime + stime;
    }
    Some(Duration::from_secs_f64(total as f64 / ticks as f64))
}

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
mod imp {
    use std::time::Duration;

    /// `struct timespec` on 64-bit Linux.
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }

    const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    const SC_CLK_TCK: i32 = 2;

    extern "C" {
        // From the C library std already links.
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
        fn sysconf(name: i32) -> i64;
    }

    fn clock(id: i32) -> Option<Duration> {
        let mut ts = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable `struct timespec`; the clock ids are Linux constants.
        let rc = unsafe { clock_gettime(id, &mut ts) };
        (rc == 0).then(|| Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
    }

    pub fn thread_cpu_time() -> Option<Duration> {
        clock(CLOCK_THREAD_CPUTIME_ID)
    }

    pub fn process_cpu_time() -> Option<Duration> {
        clock(CLOCK_PROCESS_CPUTIME_ID)
    }

    pub fn clock_ticks_per_second() -> Option<u64> {
        // SAFETY: sysconf has no preconditions.
        let ticks = unsafe { sysconf(SC_CLK_TCK) };
        (ticks > 0).then_some(ticks as u64)
    }
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
mod imp {
    pub fn thread_cpu_time() -> Option<std::time::Duration> {
        None
    }

    pub fn process_cpu_time() -> Option<std::time::Duration> {
        None
    }

    pub fn clock_ticks_per_second() -> Option<u64> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_this_threads_work_not_sleep() {
        let before = thread_cpu_time().expect("thread CPU clock");
        std::thread::sleep(Duration::from_millis(30));
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(std::hint::black_box(i));
        }
        std::hint::black_box(x);
        let used = thread_cpu_time().unwrap() - before;
        assert!(used > Duration::ZERO);
        assert!(used < Duration::from_millis(30) + Duration::from_secs(5));
        assert!(process_cpu_time().unwrap() >= used);
        let via_proc = other_process_cpu_time(std::process::id()).expect("/proc/PID/stat");
        assert!(via_proc <= process_cpu_time().unwrap() + Duration::from_millis(20));
        assert_eq!(other_process_cpu_time(u32::MAX), None);
    }
}
