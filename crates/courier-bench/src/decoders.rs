//! `courier-bench decoders`: each coding's decoder alone on the 1 MiB text of scenarios 4 to 4d, with
//! no HTTP and no client: the ceiling of those scenarios on this machine.
//!
//! The libraries and versions are the ones Courier decodes with (flate2 on zlib-rs, brotli-decompressor
//! 6, libzstd through zstd-safe 8), fed as a response arrives: 16 KiB of input at a time, decoded into
//! 64 KiB blocks. A client can at best match these figures; reqwest as shipped runs the same brotli
//! and zstd decoders, so how far it is below them bounds what any client can gain over it there.

use std::io::Read;
use std::time::Instant;

use crate::clients::BoxError;
use crate::cpu;
use crate::server::{Corpus, LARGE_LEN};

/// Input given to the decoder at a time, as a network read would.
const INPUT_PIECE: usize = 16 * 1024;
/// Output block, as Courier's decoding body uses.
const OUTPUT_BLOCK: usize = 64 * 1024;

/// Decodes a whole body, in output blocks; returns the decoded length.
type Decode = fn(&[u8], &mut [u8]) -> Result<usize, BoxError>;

/// Decodes each coding's body `iterations` times per round, for `rounds` rounds, and prints the best
/// round's decoded MB/s and CPU µs per body.
pub fn run(iterations: usize, rounds: usize) -> Result<(), BoxError> {
    let corpus = Corpus::new(1, 1);
    let mut out = vec![0; OUTPUT_BLOCK];
    println!("coding    decoded MB/s   CPU µs per 1 MiB body   (decoder alone, best of {rounds} rounds of {iterations})");
    for (coding, body) in corpus.encoded_text() {
        let decode: Decode = match coding {
            "gzip" => gzip,
            "deflate" => zlib,
            "br" => brotli,
            "zstd" => zstd,
            other => return Err(format!("no decoder for {other}").into()),
        };
        let expected = decode(&body, &mut out)?;
        if expected != LARGE_LEN {
            return Err(format!("{coding}: decoded {expected} bytes, expected {LARGE_LEN}").into());
        }
        let (mut best_secs, mut best_cpu) = (f64::INFINITY, f64::INFINITY);
        for _ in 0..rounds.max(1) {
            let (start, cpu_start) = (Instant::now(), cpu::thread_cpu_time());
            for _ in 0..iterations.max(1) {
                let decoded = decode(&body, &mut out)?;
                if decoded != expected {
                    return Err(format!("{coding}: {expected} bytes, then {decoded}").into());
                }
            }
            let secs = start.elapsed().as_secs_f64() / iterations.max(1) as f64;
            let cpu = cpu::thread_cpu_time()
                .zip(cpu_start)
                .map_or(f64::NAN, |(end, start)| (end - start).as_secs_f64());
            best_secs = best_secs.min(secs);
            best_cpu = best_cpu.min(cpu / iterations.max(1) as f64);
        }
        println!(
            "{coding:<9} {:>12.0}   {:>21.0}",
            expected as f64 / best_secs / 1e6,
            best_cpu * 1e6
        );
    }
    Ok(())
}

/// Reads `reader` to its end in output blocks; returns the decoded length.
fn drain(mut reader: impl Read, out: &mut [u8]) -> Result<usize, BoxError> {
    let mut total = 0;
    loop {
        match reader.read(out)? {
            0 => return Ok(total),
            n => total += n,
        }
    }
}

fn gzip(body: &[u8], out: &mut [u8]) -> Result<usize, BoxError> {
    let input = std::io::BufReader::with_capacity(INPUT_PIECE, body);
    drain(flate2::bufread::MultiGzDecoder::new(input), out)
}

fn zlib(body: &[u8], out: &mut [u8]) -> Result<usize, BoxError> {
    let input = std::io::BufReader::with_capacity(INPUT_PIECE, body);
    drain(flate2::bufread::ZlibDecoder::new(input), out)
}

fn brotli(body: &[u8], out: &mut [u8]) -> Result<usize, BoxError> {
    use brotli_decompressor::{BrotliDecompressStream, BrotliResult, BrotliState, StandardAlloc};
    // Strict, as async-compression's decoder: no large-window extension.
    let mut state = BrotliState::new_strict(
        StandardAlloc::default(),
        StandardAlloc::default(),
        StandardAlloc::default(),
    );
    let (mut total, mut total_out) = (0, 0);
    for piece in body.chunks(INPUT_PIECE) {
        let (mut available_in, mut in_offset) = (piece.len(), 0);
        loop {
            let (mut available_out, mut out_offset) = (out.len(), 0);
            let result = BrotliDecompressStream(
                &mut available_in,
                &mut in_offset,
                piece,
                &mut available_out,
                &mut out_offset,
                out,
                &mut total_out,
                &mut state,
            );
            total += out_offset;
            match result {
                BrotliResult::NeedsMoreOutput => continue,
                BrotliResult::NeedsMoreInput => break,
                BrotliResult::ResultSuccess => return Ok(total),
                BrotliResult::ResultFailure => return Err("br: corrupt stream".into()),
            }
        }
    }
    Err("br: stream cut short".into())
}

fn zstd(body: &[u8], out: &mut [u8]) -> Result<usize, BoxError> {
    let mut dctx = zstd_safe::DCtx::create();
    // As Courier's decoder: windows up to 8 MiB (RFC 9659).
    dctx.set_parameter(zstd_safe::DParameter::WindowLogMax(23))
        .map_err(zstd_error)?;
    let mut total = 0;
    for piece in body.chunks(INPUT_PIECE) {
        let mut input = zstd_safe::InBuffer::around(piece);
        loop {
            let mut output = zstd_safe::OutBuffer::around(&mut out[..]);
            let hint = dctx
                .decompress_stream(&mut output, &mut input)
                .map_err(zstd_error)?;
            let written = output.pos();
            total += written;
            if hint == 0 {
                // The frame is complete and flushed (the body is one frame).
                return Ok(total);
            }
            // More output may be waiting while the block is full; else the piece is used up.
            if written < OUTPUT_BLOCK && input.pos() == piece.len() {
                break;
            }
        }
    }
    Err("zstd: frame cut short".into())
}

fn zstd_error(code: usize) -> BoxError {
    format!("zstd: {}", zstd_safe::get_error_name(code)).into()
}
