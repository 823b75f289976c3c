//! Accept-Language building: arbitrary ranges and quality values, through both the chaining and the
//! `try_` API. Must never panic; both APIs must agree; a built header must list exactly the accepted
//! ranges, in order, each with its quality rounded to three decimals.
//!
//! Input: entries separated by `\n`; in each, byte 0 picks how the quality is made (a fixed value, a
//! fraction, or the raw bits of the next four bytes as an `f32`), the rest is the range.

#![no_main]

use courier_core::accept_language::AcceptLanguage;
use libfuzzer_sys::fuzz_target;

fn quality(entry: &[u8]) -> (f32, &[u8]) {
    match entry {
        [] => (1.0, entry),
        [0, a, b, c, d, rest @ ..] => (f32::from_le_bytes([*a, *b, *c, *d]), rest),
        [1, rest @ ..] => (f32::NAN, rest),
        [2, rest @ ..] => (-0.0, rest),
        [3, rest @ ..] => (f32::MIN_POSITIVE, rest),
        [4, rest @ ..] => (0.0005, rest),
        [5, rest @ ..] => (0.9995, rest),
        // Past 1 for the top of the range; small bytes that fell through here (0 without four bytes
        // after it) wrap to large values.
        [k, rest @ ..] => (f32::from(k.wrapping_sub(6)) / 249.0 * 1.1, rest),
    }
}

/// What a valid quality renders as, in thousandths.
fn expected_thousandths(q: f32) -> u16 {
    let rounded = (f64::from(q) * 1000.0).round();
    if rounded == 0.0 && q > 0.0 {
        1
    } else {
        rounded as u16
    }
}

fn parse_q(q: Option<&str>) -> u16 {
    let Some(q) = q else { return 1000 };
    let q = q.strip_prefix("q=").expect("a q parameter");
    if q == "0" {
        return 0;
    }
    let digits = q.strip_prefix("0.").expect("0.xyz");
    assert!(
        (1..=3).contains(&digits.len()) && !digits.ends_with('0'),
        "{q}"
    );
    let padded = format!("{digits:0<3}");
    padded.parse().unwrap()
}

fuzz_target!(|data: &[u8]| {
    let mut chained = AcceptLanguage::new();
    let mut tried = Ok(AcceptLanguage::new());
    let mut accepted: Vec<(String, f32)> = Vec::new();
    let mut failed = false;
    for entry in data.split(|&b| b == b'\n') {
        let (q, range) = quality(entry);
        let range = String::from_utf8_lossy(range);
        chained = chained.lang_q(&range, q);
        tried = match tried {
            Ok(list) => match list.try_lang_q(&range, q) {
                Ok(list) => {
                    accepted.push((range.into_owned(), q));
                    Ok(list)
                }
                Err(err) => {
                    failed = true;
                    Err(err)
                }
            },
            Err(err) => Err(err),
        };
    }
    let built = chained.build();
    assert_eq!(built.is_err(), failed || accepted.is_empty());
    if let Ok(list) = &tried {
        assert_eq!(list.build().ok(), built.as_ref().ok().cloned());
    }
    let Ok(value) = built else { return };

    let text = value.to_str().expect("ASCII");
    let items: Vec<&str> = text.split(", ").collect();
    assert_eq!(items.len(), accepted.len(), "{text}");
    for (item, (range, q)) in items.iter().zip(&accepted) {
        let mut parts = item.splitn(2, ';');
        assert_eq!(parts.next(), Some(range.as_str()), "{text}");
        assert!(
            range == "*"
                || range
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        );
        assert!((0.0..=1.0).contains(q), "{q} accepted");
        let rendered = parse_q(parts.next());
        let expected = expected_thousandths(*q);
        // f32 -> thousandths may round the other way at an exact half in f32 arithmetic.
        assert!(
            rendered.abs_diff(expected) <= 1,
            "{q} rendered as {rendered} in {text}"
        );
        assert_eq!(
            rendered == 0,
            *q == 0.0,
            "{q} rendered as {rendered} in {text}"
        );
    }
});
