//! Where a transport's proxies come from ([`ProxyConfig`]), compiled once into [`Proxies`]: the rules
//! that pick a request's proxy.

use std::sync::Arc;

use http::header::{HeaderMap, HeaderValue};
use http::Uri;
use url::Url;

use super::{CustomFn, Intercept, NoProxy, Proxy, Target};
use crate::error::Error;

/// Where a transport's proxy settings come from.
#[derive(Clone, Debug, Default)]
pub(crate) enum ProxyConfig {
    /// The environment variables (the default).
    #[default]
    Env,
    /// These proxies, and not the environment.
    Explicit(Vec<Proxy>),
    /// No proxy at all.
    Disabled,
}

impl ProxyConfig {
    /// The rules; `None` when no request would ever be proxied, so the common case costs nothing per
    /// request.
    pub(crate) fn build(&self) -> Result<Option<Arc<Proxies>>, Error> {
        let proxies = match self {
            ProxyConfig::Disabled => return Ok(None),
            ProxyConfig::Env => from_env(),
            ProxyConfig::Explicit(proxies) => proxies.clone(),
        };
        let rules = proxies
            .iter()
            .map(Rule::new)
            .collect::<Result<Vec<_>, Error>>()?;
        Ok((!rules.is_empty()).then(|| Arc::new(Proxies { rules })))
    }
}

/// The proxies named by the environment, most specific first. `HTTP_PROXY` (uppercase) is ignored in
/// a CGI program (`REQUEST_METHOD` set), where a request's `Proxy:` header would set it (httpoxy);
/// on Windows, whose variable names ignore case, so is `http_proxy`.
/// A variable that is no proxy URL is skipped (its value is not logged: it may hold credentials).
pub(super) fn from_env() -> Vec<Proxy> {
    let var = |names: &[&str]| {
        names
            .iter()
            .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    };
    let cgi = std::env::var_os("REQUEST_METHOD").is_some();
    let http_names: &[&str] = if cgi && cfg!(windows) {
        // Windows' variable names ignore case: `http_proxy` would read the header's `HTTP_PROXY`.
        &[]
    } else if cgi {
        &["http_proxy"]
    } else {
        &["HTTP_PROXY", "http_proxy"]
    };
    let no_proxy = NoProxy::from_env();
    let mut proxies = Vec::new();
    let mut add = |value: Option<String>, make: fn(String) -> Result<Proxy, Error>, name| {
        if let Some(value) = value {
            match make(value) {
                Ok(proxy) => proxies.push(proxy.no_proxy(no_proxy.clone())),
                Err(_) => tracing::warn!(
                    variable = name,
                    "ignoring a proxy variable that is no proxy URL"
                ),
            }
        }
    };
    add(var(http_names), Proxy::http, "HTTP_PROXY");
    add(
        var(&["HTTPS_PROXY", "https_proxy"]),
        Proxy::https,
        "HTTPS_PROXY",
    );
    add(var(&["ALL_PROXY", "all_proxy"]), Proxy::all, "ALL_PROXY");
    proxies
}

/// Which proxy, if any, each request goes through.
pub(crate) struct Proxies {
    rules: Vec<Rule>,
}

struct Rule {
    applies: Applies,
    no_proxy: Option<NoProxy>,
    action: Action,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Applies {
    All,
    Http,
    Https,
}

enum Action {
    /// One proxy, parsed once.
    Fixed(Arc<Target>),
    /// `Proxy::custom`: asked per request, with what to add to the proxy it names.
    Custom {
        fun: CustomFn,
        basic_auth: Option<(String, String)>,
        http_auth: Option<HeaderValue>,
        headers: HeaderMap,
    },
}

impl Rule {
    fn new(proxy: &Proxy) -> Result<Rule, Error> {
        let fixed = |url: &Url| -> Result<Action, Error> {
            Ok(Action::Fixed(Arc::new(Target::new(
                url,
                proxy.basic_auth.as_ref(),
                proxy.http_auth.as_ref(),
                &proxy.headers,
            )?)))
        };
        let (applies, action) = match &proxy.intercept {
            Intercept::All(url) => (Applies::All, fixed(url)?),
            Intercept::Http(url) => (Applies::Http, fixed(url)?),
            Intercept::Https(url) => (Applies::Https, fixed(url)?),
            Intercept::Custom(fun) => (
                Applies::All,
                Action::Custom {
                    fun: fun.clone(),
                    basic_auth: proxy.basic_auth.clone(),
                    http_auth: proxy.http_auth.clone(),
                    headers: proxy.headers.clone(),
                },
            ),
        };
        Ok(Rule {
            applies,
            no_proxy: proxy.no_proxy.clone(),
            action,
        })
    }
}

impl Proxies {
    /// The proxy for a request to `dst`, if any.
    pub(crate) fn intercept(&self, dst: &Uri) -> Result<Option<Arc<Target>>, Error> {
        let https = dst.scheme() == Some(&http::uri::Scheme::HTTPS);
        for rule in &self.rules {
            let applies = match rule.applies {
                Applies::All => true,
                Applies::Http => !https,
                Applies::Https => https,
            };
            if !applies || rule.no_proxy.as_ref().is_some_and(|no| no.contains(dst)) {
                continue;
            }
            match &rule.action {
                Action::Fixed(target) => return Ok(Some(target.clone())),
                Action::Custom {
                    fun,
                    basic_auth,
                    http_auth,
                    headers,
                } => {
                    let url = crate::urls::to_url(dst).map_err(Error::builder)?;
                    if let Some(proxy) = fun(&url) {
                        let target =
                            Target::new(&proxy?, basic_auth.as_ref(), http_auth.as_ref(), headers)?;
                        return Ok(Some(Arc::new(target)));
                    }
                }
            }
        }
        Ok(None)
    }
}

/// The proxy for `dst`, if any.
pub(crate) fn intercept(
    proxies: &Option<Arc<Proxies>>,
    dst: &Uri,
) -> Result<Option<Arc<Target>>, Error> {
    match proxies {
        Some(proxies) => proxies.intercept(dst),
        None => Ok(None),
    }
}
