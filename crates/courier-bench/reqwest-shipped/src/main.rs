//! `reqwest-shipped URL REQUESTS`: GETs `URL` `REQUESTS` times in a row after three unmeasured ones,
//! streaming each body (decoded by reqwest) chunk by chunk without keeping it, and prints one JSON line:
//! `{"requests":N,"received":BYTES,"secs":WALL,"cpu_secs":CPU}`. CPU is this process's (one thread:
//! a current-thread runtime), as courier-bench measures its in-process clients.

use std::time::Instant;

fn cpu_secs() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

async fn get(client: &reqwest::Client, url: &str) -> Result<u64, reqwest::Error> {
    let mut response = client.get(url).send().await?.error_for_status()?;
    let mut total = 0;
    while let Some(chunk) = response.chunk().await? {
        total += chunk.len() as u64;
    }
    Ok(total)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(requests)) = (args.next(), args.next().and_then(|n| n.parse::<u64>().ok()))
    else {
        eprintln!("usage: reqwest-shipped URL REQUESTS");
        std::process::exit(2);
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let result = runtime.block_on(async {
        let client = reqwest::Client::new();
        for _ in 0..3 {
            get(&client, &url).await?;
        }
        let (start, cpu) = (Instant::now(), cpu_secs());
        let mut received = 0;
        for _ in 0..requests {
            received += get(&client, &url).await?;
        }
        Ok::<_, reqwest::Error>((received, start.elapsed().as_secs_f64(), cpu_secs() - cpu))
    });
    match result {
        Ok((received, secs, cpu_secs)) => println!(
            "{{\"requests\":{requests},\"received\":{received},\"secs\":{secs},\"cpu_secs\":{cpu_secs}}}"
        ),
        Err(err) => {
            eprintln!("reqwest-shipped: {err}");
            std::process::exit(1);
        }
    }
}
