//! A small JSON-over-HTTPS client for the k8s side (Argo CD's REST API, the Kubernetes API),
//! on the hyper 1 / hyper-rustls / rustls stack the AWS SDK already compiles: no Kubernetes
//! crate, no second TLS stack.
//!
//! TLS: the system roots plus a private CA (`ca_file`, kubeconfig CA data), client
//! certificates, or no checks at all (`insecure`, which the caller warns about). Every request
//! has a timeout; connection errors and 5xx answers are retried a bounded number of times;
//! 401/403/404 come back as their own errors so the caller can name the token or the object.
//! Tokens are sent, never put into an error.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

/// How the client checks the server and proves who it is.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// PEM: one or more CA certificates trusted besides the system roots.
    pub ca_pem: Option<Vec<u8>>,
    /// No certificate checks at all (port-forwards, stand-ins). The caller warns.
    pub insecure: bool,
    /// PEM: a client certificate chain and its key (kubeconfig `client-certificate-data`).
    pub client_cert_pem: Option<Vec<u8>>,
    pub client_key_pem: Option<Vec<u8>>,
}

/// What went wrong talking to a k8s-side server. `url` is the request URL (no credentials
/// are ever part of one); callers add which token or object it was about.
#[derive(Debug, thiserror::Error)]
pub enum K8sError {
    #[error("{url}: 401 Unauthorized{}", detail(body))]
    Unauthorized { url: String, body: String },
    #[error("{url}: 403 Forbidden{}", detail(body))]
    Forbidden { url: String, body: String },
    #[error("{url}: 404 Not Found{}", detail(body))]
    NotFound { url: String, body: String },
    #[error("cannot connect to {url}: {detail}")]
    Connect { url: String, detail: String },
    #[error("TLS with {url} failed: {detail}")]
    Tls { url: String, detail: String },
    #[error("{url}: no answer within {}s", after.as_secs())]
    Timeout { url: String, after: Duration },
    #[error("{url}: HTTP {status}{}", detail(body))]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    #[error("{url}: the answer is not the JSON expected: {detail}")]
    BadJson { url: String, detail: String },
    #[error("{what}: {detail}")]
    Config { what: String, detail: String },
}

fn detail(body: &str) -> String {
    // Argo CD and the Kubernetes API both answer errors with JSON carrying `message`.
    let message = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("message")
                .and_then(|m| m.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| body.trim().to_string());
    if message.is_empty() {
        String::new()
    } else {
        let short: String = message.chars().take(300).collect();
        format!(": {short}")
    }
}

impl K8sError {
    /// Worth asking again: the server may come back (connection refused while it restarts,
    /// 5xx while it is overloaded, a timeout).
    pub fn is_transient(&self) -> bool {
        match self {
            K8sError::Connect { .. } | K8sError::Timeout { .. } => true,
            K8sError::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }
}

/// Attempts per request: the first and two retries after connection errors or 5xx.
const ATTEMPTS: u32 = 3;
/// The most a response body may hold (an Argo CD app with a large resource tree is well
/// under this).
const MAX_BODY: usize = 32 << 20;

pub struct HttpClient {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>,
    timeout: Duration,
    retry_pause: Duration,
}

impl HttpClient {
    pub fn new(tls: &TlsOptions, timeout: Duration) -> Result<Self, K8sError> {
        let config = client_config(tls)?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(config)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(https),
            timeout,
            retry_pause: Duration::from_millis(500),
        })
    }

    /// The pause before a retry, doubled each time (tests make it short).
    pub fn with_retry_pause(mut self, pause: Duration) -> Self {
        self.retry_pause = pause;
        self
    }

    /// GET `url` as JSON, with `Authorization: Bearer` when a token is given. Connection
    /// errors, timeouts and 5xx are retried (bounded); 401/403/404 are typed errors.
    pub async fn get_json(
        &self,
        url: &str,
        bearer: Option<&str>,
    ) -> Result<serde_json::Value, K8sError> {
        let mut pause = self.retry_pause;
        let mut attempt = 1;
        loop {
            match self.get_once(url, bearer).await {
                Err(e) if e.is_transient() && attempt < ATTEMPTS => {
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn get_once(
        &self,
        url: &str,
        bearer: Option<&str>,
    ) -> Result<serde_json::Value, K8sError> {
        let shown = || url.to_string();
        let mut request =
            hyper::Request::get(url).header(hyper::header::ACCEPT, "application/json");
        if let Some(token) = bearer {
            request = request.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request
            .body(Empty::<Bytes>::new())
            .map_err(|e| K8sError::Config {
                what: shown(),
                detail: format!("not a URL jobdeploy can ask: {e}"),
            })?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| connect_error(url, &e))?;
            let status = response.status().as_u16();
            let body = Limited::new(response.into_body(), MAX_BODY)
                .collect()
                .await
                .map_err(|e| K8sError::Connect {
                    url: shown(),
                    detail: format!("reading the answer: {e}"),
                })?
                .to_bytes();
            Ok::<_, K8sError>((status, body))
        };
        let (status, body) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| K8sError::Timeout {
                url: shown(),
                after: self.timeout,
            })??;
        let text = || String::from_utf8_lossy(&body).into_owned();
        match status {
            200..=299 => serde_json::from_slice(&body).map_err(|e| K8sError::BadJson {
                url: shown(),
                detail: e.to_string(),
            }),
            401 => Err(K8sError::Unauthorized {
                url: shown(),
                body: text(),
            }),
            403 => Err(K8sError::Forbidden {
                url: shown(),
                body: text(),
            }),
            404 => Err(K8sError::NotFound {
                url: shown(),
                body: text(),
            }),
            status => Err(K8sError::Status {
                url: shown(),
                status,
                body: text(),
            }),
        }
    }
}

/// A TLS failure is not worth retrying and deserves its own words; everything else hyper
/// reports before an answer is a connection error.
fn connect_error(url: &str, err: &hyper_util::client::legacy::Error) -> K8sError {
    let mut chain = Vec::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut tls = false;
    while let Some(e) = source {
        let text = e.to_string();
        if e.downcast_ref::<rustls::Error>().is_some() || text.contains("certificate") {
            tls = true;
        }
        if !chain.contains(&text) {
            chain.push(text);
        }
        source = e.source();
    }
    let detail = chain.join(": ");
    if tls {
        K8sError::Tls {
            url: url.to_string(),
            detail,
        }
    } else {
        K8sError::Connect {
            url: url.to_string(),
            detail,
        }
    }
}

fn client_config(tls: &TlsOptions) -> Result<rustls::ClientConfig, K8sError> {
    let config_error = |what: &str, detail: String| K8sError::Config {
        what: what.to_string(),
        detail,
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| config_error("TLS", e.to_string()))?;
    let builder = if tls.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoCheck(provider)))
    } else {
        let mut roots = rustls::RootCertStore::empty();
        // A system without a readable trust store still works with a private CA.
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
        if let Some(pem) = &tls.ca_pem {
            let mut added = 0;
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| config_error("CA certificate", e.to_string()))?;
                roots
                    .add(cert)
                    .map_err(|e| config_error("CA certificate", e.to_string()))?;
                added += 1;
            }
            if added == 0 {
                return Err(config_error(
                    "CA certificate",
                    "no PEM certificate (-----BEGIN CERTIFICATE-----) in it".to_string(),
                ));
            }
        }
        builder.with_root_certificates(roots)
    };
    match (&tls.client_cert_pem, &tls.client_key_pem) {
        (Some(cert), Some(key)) => {
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert)
                .collect::<Result<_, _>>()
                .map_err(|e| config_error("client certificate", e.to_string()))?;
            if chain.is_empty() {
                return Err(config_error(
                    "client certificate",
                    "no PEM certificate in it".to_string(),
                ));
            }
            let key = PrivateKeyDer::from_pem_slice(key)
                .map_err(|e| config_error("client key", e.to_string()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| config_error("client certificate", e.to_string()))
        }
        (None, None) => Ok(builder.with_no_client_auth()),
        _ => Err(config_error(
            "client certificate",
            "a client certificate needs its key, and a key its certificate".to_string(),
        )),
    }
}

/// `insecure = true`: accepts any server certificate (signatures are still checked so the
/// handshake itself is sound).
#[derive(Debug)]
struct NoCheck(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoCheck {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_without_a_certificate_is_refused() {
        let tls = TlsOptions {
            ca_pem: Some(b"not a certificate".to_vec()),
            ..TlsOptions::default()
        };
        let err = HttpClient::new(&tls, Duration::from_secs(1))
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("CA certificate: no PEM certificate (-----BEGIN CERTIFICATE-----) in it")
        );
    }

    #[test]
    fn error_messages_take_the_servers_message_not_its_json() {
        let e = K8sError::Unauthorized {
            url: "https://argocd.example/api/v1/applications/web".into(),
            body: r#"{"error":"invalid session: token is expired","code":16,"message":"invalid session: token is expired"}"#.into(),
        };
        assert_eq!(
            e.to_string(),
            "https://argocd.example/api/v1/applications/web: 401 Unauthorized: invalid session: token is expired"
        );
        assert!(!e.is_transient());
        let e = K8sError::Status {
            url: "u".into(),
            status: 503,
            body: String::new(),
        };
        assert_eq!(e.to_string(), "u: HTTP 503");
        assert!(e.is_transient());
    }

    #[tokio::test]
    async fn connection_refused_is_a_connect_error_after_retries() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let client = HttpClient::new(&TlsOptions::default(), Duration::from_secs(2))
            .unwrap()
            .with_retry_pause(Duration::from_millis(1));
        let err = client
            .get_json(&format!("http://127.0.0.1:{port}/x"), Some("secret-token"))
            .await
            .unwrap_err();
        assert!(matches!(err, K8sError::Connect { .. }), "{err}");
        assert!(!err.to_string().contains("secret-token"));
    }
}
