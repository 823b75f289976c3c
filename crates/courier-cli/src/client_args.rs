//! [`ClientArgs::apply`]: the connection options `get` and `download` share, onto a client builder.

use courier::{Certificate, ClientBuilder, NoProxy, Proxy};

use crate::get::seconds;
use crate::{CliError, ClientArgs};

impl ClientArgs {
    /// Sets these options on `builder`.
    pub(crate) fn apply(&self, mut builder: ClientBuilder) -> Result<ClientBuilder, CliError> {
        if let Some(agent) = &self.user_agent {
            builder = builder.user_agent(agent.as_str());
        }
        // 0: no limit, as curl's.
        if let Some(secs) = self.connect_timeout.filter(|&secs| secs != 0.0) {
            builder = builder.connect_timeout(seconds(secs, "--connect-timeout")?);
        }
        if self.insecure {
            builder = builder.danger_accept_invalid_certs(true);
        }
        if let Some(path) = &self.cacert {
            let pem =
                std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            // As curl's: these roots instead of the system's, not besides them.
            builder = builder.tls_certs_only(Certificate::from_pem_bundle(&pem)?);
        }
        if let Some(cert) = &self.cert {
            let read = |path: &std::path::Path| {
                std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
            };
            let mut pem = read(cert)?;
            if let Some(key) = &self.key {
                pem.push(b'\n');
                pem.extend_from_slice(&read(key)?);
            }
            builder = builder.identity(courier::Identity::from_pem(&pem)?);
        }
        let no_proxy = || self.noproxy.as_deref().and_then(NoProxy::from_string);
        match self.proxy.as_deref() {
            // -x "": no proxy at all, the environment's neither (as curl).
            Some("") => builder = builder.no_proxy(),
            Some(url) => builder = builder.proxy(Proxy::all(url)?.no_proxy(no_proxy())),
            // --noproxy replaces NO_PROXY for the environment's proxies too, as curl's does.
            None if self.noproxy.is_some() => {
                for proxy in Proxy::from_env() {
                    builder = builder.proxy(proxy.no_proxy(no_proxy()));
                }
            }
            None => {}
        }
        if self.http1_1 {
            builder = builder.http1_only();
        }
        if self.http2_prior_knowledge {
            builder = builder.http2_prior_knowledge();
        }
        Ok(builder)
    }
}
