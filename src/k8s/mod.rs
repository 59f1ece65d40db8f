//! The k8s side of a release: does Kubernetes run the release yet?
//!
//! - [`verdict`]: the shared nouns — [`Verdict`], [`ReleaseRef`], [`Observed`], [`Lineage`].
//! - [`http`]: a small JSON client on hyper/rustls (TLS options, retries, typed errors).
//! - [`argocd`]: Argo CD applications (REST API) and their pure verdict.
//! - [`gate`]: the [`gate::Source`] trait every reader implements, building the sources from
//!   `[k8s]`, and the wait loop `deploy` and `rollback` run before their first write.
//!
//! Pure: the verdict functions. I/O: the HTTP client, the sources' `look`, the gate's loop.

pub mod argocd;
pub mod gate;
pub mod http;
pub mod verdict;

pub use verdict::{Lineage, Observed, Relation, ReleaseRef, Verdict};

/// The environment variables the Argo CD token is read from, first found wins.
pub const ARGOCD_TOKEN_VARS: [&str; 2] = ["JOBDEPLOY_ARGOCD_TOKEN", "ARGOCD_AUTH_TOKEN"];

/// A bearer token and where it came from (the name is shown in errors, the token never).
#[derive(Clone)]
pub struct Token {
    pub value: String,
    /// `JOBDEPLOY_ARGOCD_TOKEN`, `kubeconfig user prod-admin`, `aws eks get-token`…
    pub source: String,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Token(from {})", self.source)
    }
}

impl Token {
    /// The first of `vars` set to a non-empty value.
    pub fn from_env(vars: &[&str]) -> Option<Token> {
        vars.iter().find_map(|var| {
            std::env::var(var)
                .ok()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .map(|value| Token {
                    value,
                    source: (*var).to_string(),
                })
        })
    }
}
