use std::path::Path;

use super::*;

const CA_PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";

fn b64(text: &str) -> String {
    aws_smithy_types::base64::encode(text.as_bytes())
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

fn env_with(paths: &[&Path]) -> Env {
    Env {
        kubeconfig: Some(std::env::join_paths(paths).expect("join")),
        home: None,
        service_host: None,
        service_port: None,
        service_account_dir: PathBuf::from("/nonexistent"),
    }
}

fn prod_config(ca_line: &str, user: &str) -> String {
    format!(
        "apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: prod
  cluster:
    server: https://prod.example.com:6443/
{ca_line}
contexts:
- name: prod
  context:
    cluster: prod
    user: ci
    namespace: web
users:
- name: ci
  user:
{user}
"
    )
}

#[test]
fn kubeconfig_list_merges_as_kubectl_does() {
    let dir = tempfile::tempdir().expect("tmp");
    let first = write(
        dir.path(),
        "first",
        "clusters:\n- name: staging\n  cluster:\n    server: https://first.example.com\ncontexts:\n- name: staging\n  context:\n    cluster: staging\n",
    );
    let second = write(
        dir.path(),
        "second",
        &prod_config(
            &format!("    certificate-authority-data: {}", b64(CA_PEM)),
            "    token: abc.def",
        ),
    );
    let third = write(
        dir.path(),
        "third",
        "current-context: staging\nclusters:\n- name: staging\n  cluster:\n    server: https://third.example.com\n",
    );
    let missing = dir.path().join("missing");
    // current-context comes from the second file (the first has none); a missing file is
    // skipped; the first file to name a cluster wins.
    let access = load(&env_with(&[&missing, &first, &second, &third]), None, None).expect("load");
    assert_eq!(access.server, "https://prod.example.com:6443");
    assert_eq!(access.tls.ca_pem.as_deref(), Some(CA_PEM.as_bytes()));
    assert_eq!(access.credential, Credential::Token("abc.def".into()));
    assert_eq!(
        access.origin,
        format!("context \"prod\" in {}", second.display())
    );
    let staging =
        load(&env_with(&[&first, &second, &third]), Some("staging"), None).expect("staging");
    assert_eq!(staging.server, "https://first.example.com");
    assert_eq!(staging.credential, Credential::None);
}

#[test]
fn paths_in_a_kubeconfig_are_relative_to_it() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir(dir.path().join("certs")).expect("mkdir");
    write(&dir.path().join("certs"), "ca.crt", CA_PEM);
    write(&dir.path().join("certs"), "client.crt", "CERT");
    write(&dir.path().join("certs"), "client.key", "KEY");
    let config = write(
        dir.path(),
        "config",
        &prod_config(
            "    certificate-authority: certs/ca.crt",
            "    client-certificate: certs/client.crt\n    client-key: certs/client.key\n    tokenFile: certs/token",
        ),
    );
    let access = load(&env_with(&[&config]), Some("prod"), None).expect("load");
    assert_eq!(access.tls.ca_pem.as_deref(), Some(CA_PEM.as_bytes()));
    assert_eq!(access.tls.client_cert_pem.as_deref(), Some(&b"CERT"[..]));
    assert_eq!(access.tls.client_key_pem.as_deref(), Some(&b"KEY"[..]));
    assert_eq!(
        access.credential,
        Credential::TokenFile(dir.path().join("certs/token"))
    );
}

#[test]
fn client_certificate_data_and_insecure_skip_tls_verify() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = write(
        dir.path(),
        "config",
        &prod_config(
            "    insecure-skip-tls-verify: true",
            &format!(
                "    client-certificate-data: {}\n    client-key-data: {}",
                b64("CERT"),
                b64("KEY")
            ),
        ),
    );
    let access = load(&env_with(&[&config]), None, None).expect("load");
    assert!(access.tls.insecure);
    assert_eq!(access.tls.ca_pem, None);
    assert_eq!(access.tls.client_cert_pem.as_deref(), Some(&b"CERT"[..]));
    assert_eq!(access.credential, Credential::None);
    // eks_cluster replaces the user's credentials; the context still gives server and CA.
    let eks = load(&env_with(&[&config]), None, Some("prod")).expect("eks");
    assert_eq!(
        eks.credential,
        Credential::Eks {
            cluster: "prod".into()
        }
    );
}

#[test]
fn exec_plugins_are_read_with_their_args_env_and_cluster_info() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = write(
        dir.path(),
        "config",
        &prod_config(
            "",
            "    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: [--region, eu-west-1, eks, get-token, --cluster-name, prod]
      env:
      - name: AWS_PROFILE
        value: deploy
      provideClusterInfo: true
      installHint: install the AWS CLI",
        ),
    );
    let access = load(&env_with(&[&config]), None, None).expect("load");
    let Credential::Exec(plugin) = access.credential else {
        panic!("exec expected: {:?}", access.credential);
    };
    assert_eq!(plugin.command, "aws");
    assert_eq!(plugin.args[3], "get-token");
    assert_eq!(
        plugin.env,
        [("AWS_PROFILE".to_string(), "deploy".to_string())]
    );
    assert_eq!(
        plugin.cluster_info,
        Some(json!({"server": "https://prod.example.com:6443/"}))
    );
    assert_eq!(plugin.install_hint.as_deref(), Some("install the AWS CLI"));
}

#[test]
fn kubeconfig_errors_name_the_file_and_the_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = write(
        dir.path(),
        "config",
        &prod_config("    certificate-authority-data: not*base64", "    token: t"),
    );
    let shown = |r: Result<Access>| r.map(|_| ()).unwrap_err().message().to_string();
    let file = config.display();
    assert_eq!(
        shown(load(&env_with(&[&config]), Some("nope"), None)),
        format!(
            "kubeconfig {file}: no context \"nope\" (named by [k8s.api] context); it has: prod"
        )
    );
    assert!(
        shown(load(&env_with(&[&config]), None, None)).starts_with(&format!(
            "kubeconfig {file}: cluster \"prod\": certificate-authority-data is not base64"
        ))
    );
    let no_user = write(
        dir.path(),
        "no-user",
        "current-context: a\nclusters:\n- name: c\n  cluster:\n    server: https://x\ncontexts:\n- name: a\n  context:\n    cluster: c\n    user: ghost\n",
    );
    assert_eq!(
        shown(load(&env_with(&[&no_user]), None, None)),
        format!(
            "kubeconfig {}: context \"a\" names user \"ghost\", which no kubeconfig defines",
            no_user.display()
        )
    );
    let provider = write(
        dir.path(),
        "provider",
        &prod_config("", "    auth-provider:\n      name: gcp"),
    );
    assert_eq!(
        shown(load(&env_with(&[&provider]), None, None)),
        format!(
            "kubeconfig {}: user \"ci\": auth-provider is not supported (kubectl removed it too)",
            provider.display()
        )
    );
    let ca_missing = write(
        dir.path(),
        "ca-missing",
        &prod_config("    certificate-authority: nowhere/ca.crt", "    token: t"),
    );
    assert!(
        shown(load(&env_with(&[&ca_missing]), None, None)).starts_with(&format!(
            "kubeconfig {}: cluster \"prod\": certificate-authority {}: cannot read it",
            ca_missing.display(),
            dir.path().join("nowhere/ca.crt").display()
        ))
    );
    let nothing = Env {
        home: Some(dir.path().join("home")),
        ..Env::default()
    };
    assert!(
        shown(load(&nothing, None, None)).starts_with("[k8s.api]: no kubeconfig found (looked at ")
    );
}

#[test]
fn in_a_pod_without_kubeconfig_the_service_account_is_used() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "ca.crt", CA_PEM);
    write(dir.path(), "token", "sa-token\n");
    let env = Env {
        kubeconfig: None,
        home: Some(dir.path().join("no-home")),
        service_host: Some("10.96.0.1".into()),
        service_port: Some("443".into()),
        service_account_dir: dir.path().to_path_buf(),
    };
    let access = load(&env, None, None).expect("in cluster");
    assert_eq!(access.server, "https://10.96.0.1:443");
    assert_eq!(access.tls.ca_pem.as_deref(), Some(CA_PEM.as_bytes()));
    assert_eq!(
        access.credential,
        Credential::TokenFile(dir.path().join("token"))
    );
    let v6 = Env {
        service_host: Some("fd00::1".into()),
        ..env
    };
    assert_eq!(
        load(&v6, None, None).expect("v6").server,
        "https://[fd00::1]:443"
    );
}

#[test]
fn exec_credentials_are_parsed_per_api_version() {
    let v1 = br#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{},
        "status":{"token":"k8s-aws-v1.abc","expirationTimestamp":"2026-12-02T02:24:00Z"}}"#;
    let cred = parse_exec_credential(v1, "client.authentication.k8s.io/v1").expect("v1");
    assert_eq!(cred.token.as_deref(), Some("k8s-aws-v1.abc"));
    assert_eq!(
        cred.expires,
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_178_240))
    );
    let certs = br#"{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential",
        "status":{"clientCertificateData":"CERT","clientKeyData":"KEY"}}"#;
    let cred = parse_exec_credential(certs, "client.authentication.k8s.io/v1beta1").expect("certs");
    assert_eq!(cred.token, None);
    assert_eq!(cred.client_key_pem.as_deref(), Some(&b"KEY"[..]));
    let err = |out: &[u8]| {
        parse_exec_credential(out, "client.authentication.k8s.io/v1")
            .unwrap_err()
            .message()
            .to_string()
    };
    assert_eq!(
        err(certs),
        "it returned kind \"ExecCredential\" apiVersion \"client.authentication.k8s.io/v1beta1\", want ExecCredential client.authentication.k8s.io/v1"
    );
    assert_eq!(
        err(br#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{}}"#),
        "its status has neither a token nor clientCertificateData and clientKeyData"
    );
    assert!(err(b"token").starts_with("its output is not an ExecCredential (JSON)"));
}

/// A real plugin: a shell script that records each run and its inputs, and answers with a
/// token that expires when the test says.
fn plugin(dir: &Path, expires: &str) -> ExecPlugin {
    let script = write(
        dir,
        "plugin.sh",
        &format!(
            "#!/bin/sh\necho \"$1 $PLUGIN_ENV $KUBERNETES_EXEC_INFO\" >> {runs}\nn=$(wc -l < {runs} | tr -d ' ')\nprintf '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"token-%s\",\"expirationTimestamp\":\"{expires}\"}}}}' \"$n\"\n",
            runs = dir.join("runs").display()
        ),
    );
    ExecPlugin {
        api_version: "client.authentication.k8s.io/v1".into(),
        command: "sh".into(),
        args: vec![script.display().to_string(), "first-arg".into()],
        env: vec![("PLUGIN_ENV".into(), "from-kubeconfig".into())],
        install_hint: None,
        cluster_info: Some(json!({"server": "https://x"})),
        origin: "kubeconfig test: user \"ci\"".into(),
    }
}

#[tokio::test]
async fn exec_plugin_tokens_are_cached_until_they_expire() {
    let dir = tempfile::tempdir().expect("tmp");
    let later = Bearer::new(
        Credential::Exec(plugin(dir.path(), "2999-01-01T00:00:00Z")),
        None,
    );
    assert_eq!(
        later.token().await.expect("token").as_deref(),
        Some("token-1")
    );
    assert_eq!(
        later.token().await.expect("cached").as_deref(),
        Some("token-1")
    );
    let runs = std::fs::read_to_string(dir.path().join("runs")).expect("runs");
    assert_eq!(runs.lines().count(), 1);
    assert!(runs.starts_with("first-arg from-kubeconfig {\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"spec\":{\"interactive\":false,\"cluster\":{\"server\":\"https://x\"}}}"), "{runs}");

    let dir = tempfile::tempdir().expect("tmp");
    let expired = Bearer::new(
        Credential::Exec(plugin(dir.path(), "2020-01-01T00:00:00Z")),
        None,
    );
    assert_eq!(
        expired.token().await.expect("token").as_deref(),
        Some("token-1")
    );
    assert_eq!(
        expired.token().await.expect("again").as_deref(),
        Some("token-2")
    );
}

#[tokio::test]
async fn a_failing_exec_plugin_is_named_with_its_stderr() {
    let dir = tempfile::tempdir().expect("tmp");
    let failing = ExecPlugin {
        command: "sh".into(),
        args: vec![
            "-c".into(),
            "echo 'Unable to locate credentials' >&2; exit 253".into(),
        ],
        ..plugin(dir.path(), "")
    };
    let err = Bearer::new(Credential::Exec(failing), None)
        .token()
        .await
        .unwrap_err();
    assert_eq!(
        err.message(),
        "kubeconfig test: user \"ci\": exec plugin `sh` failed (exit status: 253): Unable to locate credentials"
    );
    let missing = ExecPlugin {
        command: "/nonexistent/kubelogin".into(),
        install_hint: Some("install kubelogin".into()),
        ..plugin(dir.path(), "")
    };
    let err = Bearer::new(Credential::Exec(missing), None)
        .token()
        .await
        .unwrap_err();
    assert!(
        err.message().starts_with(
            "kubeconfig test: user \"ci\": exec plugin `/nonexistent/kubelogin` could not be run"
        ),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn token_files_are_read_again_on_every_request() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = write(dir.path(), "token", "one\n");
    let bearer = Bearer::new(Credential::TokenFile(path.clone()), None);
    assert_eq!(bearer.token().await.expect("one").as_deref(), Some("one"));
    std::fs::write(&path, "two").expect("rotate");
    assert_eq!(bearer.token().await.expect("two").as_deref(), Some("two"));
}
