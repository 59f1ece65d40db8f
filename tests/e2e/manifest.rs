//! End to end, no AWS needed: `jobdeploy render` reads the release from real git repos in
//! every manifest layout, and bad input fails with a message naming the culprit.

use crate::common::*;

const NO_AWS: &str = "http://127.0.0.1:9";
const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn app_for(manifests: &ManifestRepo, path: &str, extra: &str) -> App {
    App::new(
        &config(
            "batch",
            &format!("repo = \"{}\"\npath = \"{path}\"\n{extra}", manifests.url()),
        ),
        &["web"],
    )
}

fn rendered_image(app: &App) -> String {
    let run = app.run(NO_AWS, &["render", "web"]).ok();
    let body: serde_json::Value = serde_json::from_str(&run.stdout).expect("render prints JSON");
    body["containerDefinitions"][0]["image"]
        .as_str()
        .expect("image")
        .to_string()
}

#[test]
fn kustomization_digest_wins_over_tag() {
    let m = ManifestRepo::new();
    m.commit(
        &[(
            "overlays/prod/kustomization.yaml",
            &format!("images:\n  - name: web\n    newName: {IMAGE}\n    newTag: v5\n    digest: {DIGEST}\n"),
        )],
        "pin",
    );
    let app = app_for(&m, "overlays/prod", "");
    assert_eq!(rendered_image(&app), format!("{IMAGE}@{DIGEST}"));
}

#[test]
fn argocd_source_file() {
    let m = ManifestRepo::new();
    m.commit(
        &[(
            "apps/web/.argocd-source-web-prod.yaml",
            &format!("kustomize:\n  images:\n    - web={IMAGE}:v7\n"),
        )],
        "argo",
    );
    let app = app_for(&m, "apps/web", "");
    assert_eq!(rendered_image(&app), format!("{IMAGE}:v7"));
}

#[test]
fn plain_workloads_with_a_registry_port() {
    let image = "registry.internal:5000/team/web";
    let m = ManifestRepo::new();
    m.commit(
        &[(
            "k8s/web.yaml",
            &format!(
                "apiVersion: v1\nkind: Service\nmetadata: {{name: web}}\n---\napiVersion: batch/v1\nkind: CronJob\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n            - name: app\n              image: {image}:2024.11.1\n"
            ),
        )],
        "cron",
    );
    let app = App::new(
        &format!(
            "cluster = \"batch\"\n[manifest]\nimage = \"{image}\"\nrepo = \"{}\"\npath = \"k8s\"\n",
            m.url()
        ),
        &["web"],
    );
    assert_eq!(rendered_image(&app), format!("{image}:2024.11.1"));
}

#[test]
fn ref_can_be_a_branch_a_tag_or_a_commit() {
    let m = ManifestRepo::new();
    let first = m.commit(
        &[("k/kustomization.yaml", &ManifestRepo::kustomization("v1"))],
        "v1",
    );
    m.repo
        .tag_lightweight(
            "prod-2024",
            &m.repo
                .find_object(first.parse().expect("oid"), None)
                .expect("obj"),
            false,
        )
        .expect("tag");
    m.commit(
        &[("k/kustomization.yaml", &ManifestRepo::kustomization("v2"))],
        "v2",
    );
    for (git_ref, tag) in [("main", "v2"), ("prod-2024", "v1"), (&first[..10], "v1")] {
        let app = app_for(&m, "k", &format!("ref = \"{git_ref}\"\n"));
        assert_eq!(
            rendered_image(&app),
            format!("{IMAGE}:{tag}"),
            "ref {git_ref}"
        );
    }
    // No ref: the remote's HEAD.
    assert_eq!(rendered_image(&app_for(&m, "k", "")), format!("{IMAGE}:v2"));
}

#[test]
fn two_tags_for_one_image_is_an_error() {
    let m = ManifestRepo::new();
    let deployment = |tag: &str| {
        format!(
            "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - image: {IMAGE}:{tag}\n"
        )
    };
    m.commit(
        &[
            ("k/a.yaml", &deployment("v1")),
            ("k/b.yaml", &deployment("v2")),
        ],
        "conflict",
    );
    let run = app_for(&m, "k", "").run(NO_AWS, &["render"]).fails();
    assert!(
        run.stderr.contains(":v1") && run.stderr.contains(":v2"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("k/a.yaml") && run.stderr.contains("k/b.yaml"),
        "{}",
        run.stderr
    );
}

#[test]
fn manifest_problems_name_the_culprit() {
    let m = ManifestRepo::new();
    m.commit(
        &[("k/kustomization.yaml", &ManifestRepo::kustomization("v1"))],
        "v1",
    );
    let cases = [
        ("k", "ref = \"nope\"\n", "ref `nope` not found"),
        ("missing/dir", "", "path `missing/dir` does not exist"),
        ("k", "", ""),
    ];
    for (path, extra, expected) in cases {
        let run = app_for(&m, path, extra).run(NO_AWS, &["render"]);
        if expected.is_empty() {
            assert_eq!(run.code, 0, "{}", run.stderr);
        } else {
            assert_eq!(run.code, 1);
            assert!(run.stderr.contains(expected), "{expected}: {}", run.stderr);
        }
    }
    let absent = ManifestRepo::new();
    absent.commit(
        &[(
            "k/kustomization.yaml",
            "images:\n  - name: other\n    newTag: v1\n",
        )],
        "x",
    );
    let run = app_for(&absent, "k", "").run(NO_AWS, &["render"]).fails();
    assert!(
        run.stderr.contains(&format!("image `{IMAGE}` not found")),
        "{}",
        run.stderr
    );

    let bad_tag = ManifestRepo::new();
    bad_tag.commit(
        &[(
            "k/kustomization.yaml",
            &ManifestRepo::kustomization("\"v1 $(id)\""),
        )],
        "x",
    );
    let run = app_for(&bad_tag, "k", "").run(NO_AWS, &["render"]).fails();
    assert!(run.stderr.contains("not a valid tag"), "{}", run.stderr);

    let unreachable = App::new(
        &config(
            "batch",
            "repo = \"file:///nonexistent/repo.git\"\npath = \"k\"\n",
        ),
        &["web"],
    );
    let run = unreachable.run(NO_AWS, &["render"]).fails();
    assert!(
        run.stderr.contains("file:///nonexistent/repo.git") && run.stderr.contains("cannot fetch"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_git_token_is_never_printed() {
    let app = App::new(
        &config(
            "batch",
            "repo = \"https://x-access-token:ghp_leak@127.0.0.1:9/acme/k8s.git\"\npath = \"k\"\n",
        ),
        &["web"],
    );
    let run = app
        .run_env(
            NO_AWS,
            &["render"],
            &[("JOBDEPLOY_GIT_TOKEN", "ghp_other_secret")],
        )
        .fails();
    assert!(!run.stderr.contains("ghp_"), "{}", run.stderr);
    assert!(
        run.stderr.contains("https://127.0.0.1:9/acme/k8s.git"),
        "{}",
        run.stderr
    );
}

#[test]
fn bad_config_and_templates_name_file_and_key() {
    let cases: &[(&str, &str, &str)] = &[
        ("cluster = \"b\"\nclustr = \"x\"\n", "", "clustr"),
        ("cluster = 5\n", "", "cluster"),
        ("cluster = \"b\"\n[rules\n", "", "jobdeploy.toml"),
        ("region = \"us-east-1\"\n", "", "cluster"),
        (
            "cluster = \"b\"\n[manifest]\nimage = \"web\"\n",
            "{\"family\": \"web\", \"containerDefinitions\": [{\"image\": \"{{ vars.missing }}\"}]}",
            "$.containerDefinitions[0].image",
        ),
        (
            "cluster = \"b\"\n[manifest]\nimage = \"web\"\n",
            "{\"family\": \"web\", \"containerDefinitions\": [{\"image\": \"{{ env('JOBDEPLOY_UNSET_VAR') }}\"}]}",
            "JOBDEPLOY_UNSET_VAR",
        ),
        (
            "cluster = \"b\"\n[manifest]\nimage = \"web\"\n",
            "{\"family\": \"worker\", \"containerDefinitions\": []}",
            "$.family",
        ),
        (
            "cluster = \"b\"\n[manifest]\nimage = \"web\"\n",
            "{not json",
            "not valid JSON",
        ),
        (
            "cluster = \"b\"\n[manifest]\nimage = \"web\"\n",
            "",
            "--tag",
        ),
    ];
    for (config, template, expected) in cases {
        let app = App::new(config, &[]);
        if !template.is_empty() {
            app.write("taskdefs/web.json", template);
        } else {
            app.write("taskdefs/web.json", &APP_TEMPLATE.replace("FAMILY", "web"));
        }
        let args: &[&str] = if *expected == "--tag" {
            &["render"]
        } else {
            &["render", "--tag", "v1"]
        };
        let run = app.run(NO_AWS, args);
        assert_eq!(run.code, 1, "{expected}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains(expected),
            "expected `{expected}` in: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
    let app = App::new(&config("b", ""), &["web"]);
    let run = app.run(NO_AWS, &["render", "--tag", "v1;reboot"]).fails();
    assert!(
        run.stderr.contains("--tag") && run.stderr.contains("not a valid tag"),
        "{}",
        run.stderr
    );
    let run = app.run(NO_AWS, &["render", "nope", "--tag", "v1"]).fails();
    assert!(
        run.stderr.contains("no template for family `nope`"),
        "{}",
        run.stderr
    );
}

#[test]
fn config_elsewhere_resolves_paths_against_its_own_directory() {
    let app = App::new(&config("batch", ""), &["web"]);
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let config = app.path().join("jobdeploy.toml");
    let config = config.to_str().expect("utf-8 path");
    for (args, env) in [
        (
            vec!["--config", config, "render", "web", "--tag", "v4"],
            vec![],
        ),
        (
            vec!["render", "web", "--tag", "v4"],
            vec![("JOBDEPLOY_CONFIG", config)],
        ),
    ] {
        let run = app.run_in(elsewhere.path(), NO_AWS, &args, &env).ok();
        assert!(
            run.stdout.contains(&format!("{IMAGE}:v4")),
            "{}",
            run.stdout
        );
    }
    let run = app
        .run_in(elsewhere.path(), NO_AWS, &["render", "--tag", "v4"], &[])
        .fails();
    assert!(
        run.stderr.contains("jobdeploy.toml") && run.stderr.contains("--config"),
        "{}",
        run.stderr
    );
}

/// The bug: a kustomization `images:` entry won over Argo CD's override files, so jobdeploy
/// deployed a tag the cluster was not running. Argo CD's order: `.argocd-source-<app>.yaml`
/// over `.argocd-source.yaml` over the kustomization.
#[test]
fn argocd_override_files_win_over_the_kustomization() {
    let kustomization = ManifestRepo::kustomization("from-kustomization");
    let generic = format!("kustomize:\n  images:\n    - {IMAGE}:from-generic\n");
    let app = format!("kustomize:\n  images:\n    - web={IMAGE}:from-app\n");
    let m = ManifestRepo::new();
    m.commit(
        &[
            ("k/kustomization.yaml", &kustomization),
            ("g/.argocd-source.yaml", &generic),
            ("a/.argocd-source-web.yaml", &app),
            ("kg/kustomization.yaml", &kustomization),
            ("kg/.argocd-source.yaml", &generic),
            ("ga/.argocd-source.yaml", &generic),
            ("ga/.argocd-source-web.yaml", &app),
            ("kga/kustomization.yaml", &kustomization),
            ("kga/.argocd-source.yaml", &generic),
            ("kga/.argocd-source-web.yaml", &app),
            (
                "kga/.argocd-source-api.yaml",
                &format!("kustomize:\n  images:\n    - {IMAGE}:from-api\n"),
            ),
        ],
        "every combination",
    );
    for (path, tag) in [
        ("k", "from-kustomization"),
        ("g", "from-generic"),
        ("a", "from-app"),
        ("kg", "from-generic"),
        ("ga", "from-app"),
        ("kga", "from-app"),
    ] {
        let app = app_for(&m, path, "app = \"web\"\n");
        assert_eq!(
            rendered_image(&app),
            format!("{IMAGE}:{tag}"),
            "path {path}"
        );
    }
    // Without `app`, the two applications' files in kga disagree: refused, naming both.
    let run = app_for(&m, "kga", "").run(NO_AWS, &["render"]).fails();
    for expected in [
        "kga/.argocd-source-web.yaml",
        ":from-app",
        "kga/.argocd-source-api.yaml",
        ":from-api",
        "`app`",
    ] {
        assert!(run.stderr.contains(expected), "{expected}: {}", run.stderr);
    }
    // A typo'd key next to `app` is still an error.
    let run = app_for(&m, "kga", "apps = \"web\"\n")
        .run(NO_AWS, &["render"])
        .fails();
    assert!(run.stderr.contains("apps"), "{}", run.stderr);
}
