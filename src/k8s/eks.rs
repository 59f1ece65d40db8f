//! The EKS bearer token, made from the AWS credentials jobdeploy already uses, exactly as
//! `aws eks get-token` makes it (aws/aws-cli `awscli/customizations/eks/get_token.py`): a
//! presigned STS `GetCallerIdentity` URL, valid 60 seconds (`URL_TIMEOUT = 60`), with the
//! header `x-k8s-aws-id: <cluster>` signed into it, base64url-encoded without padding and
//! prefixed `k8s-aws-v1.`. EKS calls that URL to learn who the caller is and maps the IAM
//! principal through its access entries
//! (https://docs.aws.amazon.com/eks/latest/userguide/access-entries.html).
//!
//! The token is good for 15 minutes from signing on the server's side; like the CLI
//! (`TOKEN_EXPIRATION_MINS = 14`) it is reused for 14 and then made anew.
//!
//! Only the token comes from here: the API server's address and CA still come from the
//! kubeconfig context (as `aws eks update-kubeconfig` writes it), so no EKS SDK client
//! (`DescribeCluster`) is needed.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;

use crate::error::{Error, Result};

pub const TOKEN_PREFIX: &str = "k8s-aws-v1.";
/// The presigned URL's `X-Amz-Expires`, as the CLI's `URL_TIMEOUT`.
const URL_EXPIRES: Duration = Duration::from_secs(60);
/// How long a token is reused, as the CLI's `TOKEN_EXPIRATION_MINS`.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(14 * 60);

/// STS's regional endpoint (the China partition has its own suffix).
fn sts_host(region: &str) -> String {
    if region.starts_with("cn-") {
        format!("sts.{region}.amazonaws.com.cn")
    } else {
        format!("sts.{region}.amazonaws.com")
    }
}

/// base64url without padding (RFC 4648 §5), as `urlsafe_b64encode(...).rstrip('=')`.
fn base64url(bytes: &[u8]) -> String {
    aws_smithy_types::base64::encode(bytes)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}

/// The presigned GetCallerIdentity URL for `cluster`, signed with `credentials` at `now`.
pub fn presigned_url(
    credentials: &Credentials,
    region: &str,
    cluster: &str,
    now: SystemTime,
) -> Result<String> {
    let fail = |e: &dyn std::fmt::Display| {
        Error::new(format!(
            "[k8s.api] eks_cluster {cluster:?}: cannot sign the EKS token: {e}"
        ))
    };
    let host = sts_host(region);
    let url = format!("https://{host}/?Action=GetCallerIdentity&Version=2011-06-15");
    let identity: aws_smithy_runtime_api::client::identity::Identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(URL_EXPIRES);
    let params: aws_sigv4::http_request::SigningParams<'_> = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| fail(&e))?
        .into();
    let request = SignableRequest::new(
        "GET",
        url.as_str(),
        [("x-k8s-aws-id", cluster)].into_iter(),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| fail(&e))?;
    let (instructions, _signature) = sign(request, &params).map_err(|e| fail(&e))?.into_parts();
    let mut signed = http::Request::builder()
        .method("GET")
        .uri(url.as_str())
        .body(())
        .map_err(|e| fail(&e))?;
    instructions.apply_to_request_http1x(&mut signed);
    Ok(signed.uri().to_string())
}

/// The bearer token for `cluster`: `k8s-aws-v1.` + base64url(presigned URL).
pub fn token_at(
    credentials: &Credentials,
    region: &str,
    cluster: &str,
    now: SystemTime,
) -> Result<String> {
    let url = presigned_url(credentials, region, cluster, now)?;
    Ok(format!("{TOKEN_PREFIX}{}", base64url(url.as_bytes())))
}

/// A token for `cluster` from the SDK config's credentials and region, now.
pub async fn token(sdk: &aws_config::SdkConfig, cluster: &str) -> Result<String> {
    let region = sdk.region().map(ToString::to_string).ok_or_else(|| {
        Error::new(format!(
            "[k8s.api] eks_cluster {cluster:?}: no AWS region to sign the EKS token in"
        ))
        .hint("set AWS_REGION (or a profile region), as for the rest of jobdeploy")
    })?;
    let provider = sdk.credentials_provider().ok_or_else(|| {
        Error::new(format!(
            "[k8s.api] eks_cluster {cluster:?}: no AWS credentials to sign the EKS token with"
        ))
    })?;
    let credentials = provider.provide_credentials().await.map_err(|e| {
        Error::new(format!(
            "[k8s.api] eks_cluster {cluster:?}: AWS credentials for the EKS token: {e}"
        ))
    })?;
    token_at(&credentials, &region, cluster, SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(token: &str) -> String {
        let body = token.strip_prefix(TOKEN_PREFIX).expect("prefix");
        assert!(
            !body.contains(['=', '+', '/']),
            "base64url without padding: {body}"
        );
        let standard = body.replace('-', "+").replace('_', "/");
        let padded = format!("{standard}{}", "=".repeat((4 - standard.len() % 4) % 4));
        String::from_utf8(aws_smithy_types::base64::decode(padded).expect("base64")).expect("utf8")
    }

    /// The shape `aws eks get-token` produces, with the clock and credentials fixed: the
    /// regional STS host, GetCallerIdentity, a 60-second expiry, `x-k8s-aws-id` among the
    /// signed headers, the session token carried, base64url without padding.
    #[test]
    fn eks_token_is_the_presigned_get_caller_identity_url_the_aws_cli_makes() {
        let credentials = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            Some("session/token+with=chars".into()),
            None,
            "test",
        );
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_641_400); // 2025-12-02T02:10:00Z
        let token = token_at(&credentials, "eu-west-1", "prod", now).expect("token");
        let url = decode(&token);
        let (base, query) = url.split_once('?').expect("query");
        assert_eq!(base, "https://sts.eu-west-1.amazonaws.com/");
        let params: Vec<(&str, &str)> =
            query.split('&').filter_map(|p| p.split_once('=')).collect();
        let get = |k: &str| params.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
        assert_eq!(get("Action"), Some("GetCallerIdentity"));
        assert_eq!(get("Version"), Some("2011-06-15"));
        assert_eq!(get("X-Amz-Algorithm"), Some("AWS4-HMAC-SHA256"));
        assert_eq!(
            get("X-Amz-Credential"),
            Some("AKIDEXAMPLE%2F20251202%2Feu-west-1%2Fsts%2Faws4_request")
        );
        assert_eq!(get("X-Amz-Date"), Some("20251202T021000Z"));
        assert_eq!(get("X-Amz-Expires"), Some("60"));
        assert_eq!(get("X-Amz-SignedHeaders"), Some("host%3Bx-k8s-aws-id"));
        assert_eq!(
            get("X-Amz-Security-Token"),
            Some("session%2Ftoken%2Bwith%3Dchars")
        );
        // The signature botocore's SigV4QueryAuth (the signer behind `aws eks get-token`)
        // computes for the same request, key and clock.
        assert_eq!(
            get("X-Amz-Signature"),
            Some("f36b1a96ed4dc6fa7527e13e5a69c64f2899b077d16679c5c7064e637359e3a7")
        );
        // Deterministic for a fixed clock and key; another cluster signs differently.
        assert_eq!(
            token_at(&credentials, "eu-west-1", "prod", now).expect("again"),
            token
        );
        assert_ne!(
            token_at(&credentials, "eu-west-1", "staging", now).expect("other"),
            token
        );
        assert!(
            token_at(&credentials, "cn-north-1", "prod", now)
                .map(|t| decode(&t).starts_with("https://sts.cn-north-1.amazonaws.com.cn/"))
                .unwrap_or(false)
        );
    }
}
