//! Sets `Accept-Language` on requests that have none, from a validated list of language ranges with
//! quality values.
//!
//! Build the list with [`AcceptLanguage`], then wrap a service with [`SetAcceptLanguageLayer`], which
//! makes a [`SetAcceptLanguage`] service:
//!
//! ```
//! use courier_core::accept_language::{AcceptLanguage, SetAcceptLanguageLayer};
//! use tower_layer::Layer;
//!
//! let languages = AcceptLanguage::new().lang("sv").lang_q("en-GB", 0.8).lang_q("*", 0.1);
//! assert_eq!(languages.build().unwrap(), "sv, en-GB;q=0.8, *;q=0.1");
//!
//! let layer = SetAcceptLanguageLayer::new(languages).unwrap();
//! let service = layer.layer(tower::service_fn(|req: http::Request<()>| async move {
//!     Ok::<_, std::convert::Infallible>(req.headers()["accept-language"].clone())
//! }));
//! # drop(service);
//! ```
//!
//! ## What it does not do
//!
//! - It never replaces an `Accept-Language` the request already carries, and changes nothing else (not
//!   the response; errors of the inner service become Courier [`Error`]s, as every layer's do).
//! - It does not check that a tag names a real language (`xx-yyyy` is well-formed, so it is accepted);
//!   it checks the syntax of RFC 4647 basic language ranges: a 1–8 letter primary subtag, then
//!   `-`-separated 1–8 letter-or-digit subtags, or `*`.
//! - It does not sort the list: the server weighs entries by their `q`, and the order given is kept.

use std::fmt;

use http::header::{HeaderValue, ACCEPT_LANGUAGE};
use tower_layer::Layer;

use crate::error::Error;
pub use crate::request_only::ResponseFuture;

/// A list of language ranges with quality values, rendered as an `Accept-Language` header value.
///
/// [`lang`](AcceptLanguage::lang) and [`lang_q`](AcceptLanguage::lang_q) chain; an invalid entry is
/// remembered and reported by [`build`](AcceptLanguage::build) as an [`Error`] with
/// [`is_builder`](Error::is_builder), so a chain needs one check at the end.
/// [`try_lang`](AcceptLanguage::try_lang) and [`try_lang_q`](AcceptLanguage::try_lang_q) report it at
/// once instead.
///
/// Quality values are rounded to three decimals (the most HTTP allows); `q=1` is left out, as it is the
/// default. `0` means "not acceptable"; a positive value too small to show is kept as `0.001` rather
/// than rounded to "not acceptable".
///
/// ```
/// use courier_core::accept_language::AcceptLanguage;
///
/// let value = AcceptLanguage::new()
///     .lang("de-CH")
///     .lang_q("de", 0.9)
///     .lang_q("en", 0.125)
///     .lang_q("fr", 0.0)
///     .build()
///     .unwrap();
/// assert_eq!(value, "de-CH, de;q=0.9, en;q=0.125, fr;q=0");
///
/// let err = AcceptLanguage::new().lang("en_US").build().unwrap_err();
/// assert!(err.is_builder());
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct AcceptLanguage {
    entries: Vec<Entry>,
    /// The first invalid entry, reported by `build`.
    error: Option<InvalidLanguage>,
}

#[derive(Clone, Debug)]
struct Entry {
    range: String,
    /// Quality in thousandths, 0..=1000.
    quality: u16,
}

impl AcceptLanguage {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a language range with the default quality, 1. An invalid or repeated range makes
    /// [`build`](AcceptLanguage::build) fail.
    pub fn lang(self, range: &str) -> Self {
        self.record(range, 1.0)
    }

    /// Adds a language range with quality `q`, between 0 and 1. An invalid range or quality, or a
    /// repeated range, makes [`build`](AcceptLanguage::build) fail.
    pub fn lang_q(self, range: &str, q: f32) -> Self {
        self.record(range, q)
    }

    /// Adds a language range with the default quality, 1, or says why it cannot be added.
    ///
    /// ```
    /// use courier_core::accept_language::AcceptLanguage;
    ///
    /// let languages = AcceptLanguage::new().try_lang("nb-NO")?.try_lang_q("nn", 0.5)?;
    /// assert_eq!(languages.build().unwrap(), "nb-NO, nn;q=0.5");
    /// assert!(AcceptLanguage::new().try_lang("-").is_err());
    /// # Ok::<(), courier_core::accept_language::InvalidLanguage>(())
    /// ```
    pub fn try_lang(self, range: &str) -> Result<Self, InvalidLanguage> {
        self.try_lang_q(range, 1.0)
    }

    /// Adds a language range with quality `q`, between 0 and 1, or says why it cannot be added.
    pub fn try_lang_q(mut self, range: &str, q: f32) -> Result<Self, InvalidLanguage> {
        if let Some(err) = &self.error {
            return Err(err.clone());
        }
        let entry = self.check(range, q)?;
        self.entries.push(entry);
        Ok(self)
    }

    /// Renders the list, e.g. `sv, en;q=0.8`. Fails (with [`Error::is_builder`]) if an entry was
    /// invalid or the list is empty.
    pub fn build(&self) -> Result<HeaderValue, Error> {
        if let Some(err) = &self.error {
            return Err(Error::builder(err.clone()));
        }
        if self.entries.is_empty() {
            return Err(Error::builder(InvalidLanguage {
                kind: InvalidKind::Empty,
            }));
        }
        let mut value = String::with_capacity(self.entries.len() * 10);
        for (i, entry) in self.entries.iter().enumerate() {
            if i > 0 {
                value.push_str(", ");
            }
            value.push_str(&entry.range);
            write_quality(&mut value, entry.quality);
        }
        // Ranges are checked to be ASCII letters, digits, `-` and `*`, so this cannot fail; stay an
        // error rather than panic regardless.
        HeaderValue::try_from(value).map_err(Error::builder)
    }

    fn record(mut self, range: &str, q: f32) -> Self {
        if self.error.is_some() {
            return self;
        }
        match self.check(range, q) {
            Ok(entry) => self.entries.push(entry),
            Err(err) => self.error = Some(err),
        }
        self
    }

    fn check(&self, range: &str, q: f32) -> Result<Entry, InvalidLanguage> {
        if !is_language_range(range) {
            return Err(InvalidLanguage {
                kind: InvalidKind::Range(range.to_owned()),
            });
        }
        let Some(quality) = thousandths(q) else {
            return Err(InvalidLanguage {
                kind: InvalidKind::Quality(range.to_owned(), q),
            });
        };
        // Ranges are case-insensitive (RFC 4647 §2.1): `en` and `EN` are the same entry.
        if self
            .entries
            .iter()
            .any(|e| e.range.eq_ignore_ascii_case(range))
        {
            return Err(InvalidLanguage {
                kind: InvalidKind::Duplicate(range.to_owned()),
            });
        }
        Ok(Entry {
            range: range.to_owned(),
            quality,
        })
    }
}

/// RFC 4647 §2.1 basic language range: `1*8ALPHA *("-" 1*8alphanum) / "*"`.
fn is_language_range(range: &str) -> bool {
    if range == "*" {
        return true;
    }
    let mut subtags = range.split('-');
    let primary = subtags.next().unwrap_or_default();
    (1..=8).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_alphabetic())
        && subtags
            .all(|s| (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// `q` in thousandths, if it is a number between 0 and 1.
fn thousandths(q: f32) -> Option<u16> {
    if !(0.0..=1.0).contains(&q) {
        // Also rejects NaN.
        return None;
    }
    let rounded = (q * 1000.0).round() as u16;
    // A positive quality must not round to 0, which means "not acceptable".
    Some(if rounded == 0 && q > 0.0 { 1 } else { rounded })
}

/// Appends `;q=0.xyz` without trailing zeros; nothing for 1, which is the default.
fn write_quality(out: &mut String, quality: u16) {
    match quality {
        1000.. => {}
        0 => out.push_str(";q=0"),
        _ => {
            let digits = format!("{quality:03}");
            out.push_str(";q=0.");
            out.push_str(digits.trim_end_matches('0'));
        }
    }
}

/// Why a language range could not be added to an [`AcceptLanguage`] list.
#[derive(Clone, Debug, PartialEq)]
pub struct InvalidLanguage {
    kind: InvalidKind,
}

#[derive(Clone, Debug, PartialEq)]
enum InvalidKind {
    Range(String),
    Quality(String, f32),
    Duplicate(String),
    Empty,
}

impl fmt::Display for InvalidLanguage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            InvalidKind::Range(range) => write!(
                f,
                "invalid language range {range:?} (expected a tag like \"en\" or \"en-US\", or \"*\")"
            ),
            InvalidKind::Quality(range, q) => {
                write!(f, "invalid quality {q} for {range:?}: must be between 0 and 1")
            }
            InvalidKind::Duplicate(range) => write!(f, "language range {range:?} is listed twice"),
            InvalidKind::Empty => f.write_str("no language range given"),
        }
    }
}

impl std::error::Error for InvalidLanguage {}

/// A [`Layer`] that sets `Accept-Language` when the request has none.
///
/// ```
/// use courier_core::accept_language::{AcceptLanguage, SetAcceptLanguageLayer};
///
/// let layer = SetAcceptLanguageLayer::new(AcceptLanguage::new().lang("fi").lang_q("sv", 0.5))?;
/// # drop(layer);
/// # Ok::<(), courier_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct SetAcceptLanguageLayer {
    value: HeaderValue,
}

impl SetAcceptLanguageLayer {
    /// Sets the rendered `languages`; fails like [`AcceptLanguage::build`].
    pub fn new(languages: AcceptLanguage) -> Result<Self, Error> {
        Ok(SetAcceptLanguageLayer {
            value: languages.build()?,
        })
    }

    /// Sets the given value as it is, unchecked.
    pub fn from_header_value(value: HeaderValue) -> Self {
        SetAcceptLanguageLayer { value }
    }
}

impl<S> Layer<S> for SetAcceptLanguageLayer {
    type Service = SetAcceptLanguage<S>;

    fn layer(&self, inner: S) -> SetAcceptLanguage<S> {
        SetAcceptLanguage {
            inner,
            value: Some(self.value.clone()),
        }
    }
}

/// `AcceptLanguageLayer` was renamed [`SetAcceptLanguageLayer`], after the service it makes.
#[deprecated(note = "renamed SetAcceptLanguageLayer, after the service it makes")]
pub type AcceptLanguageLayer = SetAcceptLanguageLayer;

/// The service made by [`SetAcceptLanguageLayer`].
#[derive(Clone, Debug)]
pub struct SetAcceptLanguage<S> {
    inner: S,
    value: Option<HeaderValue>,
}

impl<S> SetAcceptLanguage<S> {
    /// Wraps `inner`, setting `value` as `Accept-Language` on requests that have none.
    pub fn new(inner: S, value: HeaderValue) -> Self {
        SetAcceptLanguage {
            inner,
            value: Some(value),
        }
    }

    /// Wraps `inner`, setting `value` when there is one: a stack whose language is optional keeps one
    /// type either way.
    pub fn optional(inner: S, value: Option<HeaderValue>) -> Self {
        SetAcceptLanguage { inner, value }
    }

    inner_service_accessors!();
}

set_header_if_absent_service!(SetAcceptLanguage, ACCEPT_LANGUAGE);

#[cfg(test)]
mod tests {
    use super::*;
    use http::Request;
    use tower::ServiceExt;

    fn render(languages: AcceptLanguage) -> String {
        languages.build().unwrap().to_str().unwrap().to_owned()
    }

    fn rejection(languages: AcceptLanguage) -> String {
        let err = languages.build().unwrap_err();
        assert!(err.is_builder());
        std::error::Error::source(&err).unwrap().to_string()
    }

    #[test]
    fn renders_in_order_with_q_values() {
        assert_eq!(render(AcceptLanguage::new().lang("sv")), "sv");
        assert_eq!(
            render(AcceptLanguage::new().lang("sv").lang_q("en", 0.8)),
            "sv, en;q=0.8"
        );
        assert_eq!(
            render(
                AcceptLanguage::new()
                    .lang_q("en", 0.5)
                    .lang("zh-Hant-TW")
                    .lang_q("*", 0.0)
            ),
            "en;q=0.5, zh-Hant-TW, *;q=0"
        );
    }

    #[test]
    fn q_values_have_at_most_three_decimals_and_no_trailing_zeros() {
        let q = |q: f32| render(AcceptLanguage::new().lang_q("en", q));
        assert_eq!(q(1.0), "en");
        assert_eq!(q(0.8), "en;q=0.8");
        assert_eq!(q(0.12), "en;q=0.12");
        assert_eq!(q(0.123), "en;q=0.123");
        assert_eq!(q(0.1234), "en;q=0.123");
        assert_eq!(q(0.5), "en;q=0.5");
        assert_eq!(q(0.05), "en;q=0.05");
        assert_eq!(q(0.001), "en;q=0.001");
        assert_eq!(q(0.0), "en;q=0");
        assert_eq!(q(-0.0), "en;q=0");
        // Rounds to 1: the default, left out.
        assert_eq!(q(0.9996), "en");
        // Positive but tiny: still acceptable.
        assert_eq!(q(0.0001), "en;q=0.001");
    }

    #[test]
    fn accepts_well_formed_ranges() {
        for range in [
            "en",
            "EN",
            "en-US",
            "sr-Latn-RS",
            "de-CH-1996",
            "x-klingon",
            "i-enochian",
            "*",
            "abcdefgh-12345678",
        ] {
            assert!(AcceptLanguage::new().try_lang(range).is_ok(), "{range}");
        }
    }

    #[test]
    fn rejects_malformed_ranges() {
        for range in [
            "",
            "-",
            "en-",
            "-en",
            "en--US",
            "en_US",
            "e n",
            "123",
            "1en",
            "abcdefghi",
            "en-123456789",
            "*-US",
            "en-*",
            "**",
            "en;q=1",
            "en,fr",
            "sv\r\n",
            "é",
        ] {
            let err = AcceptLanguage::new().try_lang(range).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "invalid language range {range:?} (expected a tag like \"en\" or \"en-US\", or \"*\")"
                )
            );
            assert!(AcceptLanguage::new()
                .lang(range)
                .build()
                .unwrap_err()
                .is_builder());
        }
    }

    #[test]
    fn rejects_quality_outside_zero_to_one() {
        for q in [
            1.0001,
            1.5,
            -0.1,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ] {
            assert!(AcceptLanguage::new().try_lang_q("en", q).is_err(), "{q}");
        }
        assert_eq!(
            rejection(AcceptLanguage::new().lang_q("en", 1.5)),
            "invalid quality 1.5 for \"en\": must be between 0 and 1"
        );
    }

    #[test]
    fn rejects_duplicates_ignoring_case() {
        assert_eq!(
            rejection(AcceptLanguage::new().lang("en-US").lang_q("EN-us", 0.5)),
            "language range \"EN-us\" is listed twice"
        );
        // A prefix is a different range.
        assert_eq!(
            render(AcceptLanguage::new().lang("en-US").lang_q("en", 0.5)),
            "en-US, en;q=0.5"
        );
    }

    #[test]
    fn rejects_an_empty_list() {
        assert_eq!(rejection(AcceptLanguage::new()), "no language range given");
        assert!(SetAcceptLanguageLayer::new(AcceptLanguage::new()).is_err());
    }

    #[test]
    fn the_first_error_is_kept_and_later_entries_ignored() {
        let languages = AcceptLanguage::new()
            .lang("en")
            .lang("??")
            .lang_q("fr", 7.0);
        assert_eq!(
            rejection(languages.clone()),
            "invalid language range \"??\" (expected a tag like \"en\" or \"en-US\", or \"*\")"
        );
        // try_ on a list that already failed reports that failure.
        assert!(languages.try_lang("de").is_err());
    }

    #[tokio::test]
    async fn sets_the_header_only_when_missing() {
        let layer = SetAcceptLanguageLayer::new(AcceptLanguage::new().lang("sv").lang_q("en", 0.8))
            .unwrap();
        let echo = tower::service_fn(|req: Request<()>| async move {
            Ok::<_, std::convert::Infallible>(
                req.headers()
                    .get_all(ACCEPT_LANGUAGE)
                    .iter()
                    .map(|v| v.to_str().unwrap().to_owned())
                    .collect::<Vec<_>>(),
            )
        });
        let service = layer.layer(echo);

        let sent = service.clone().oneshot(Request::new(())).await.unwrap();
        assert_eq!(sent, ["sv, en;q=0.8"]);

        let explicit = Request::builder()
            .header(ACCEPT_LANGUAGE, "fr")
            .body(())
            .unwrap();
        let sent = service.oneshot(explicit).await.unwrap();
        assert_eq!(sent, ["fr"]);
    }
}
