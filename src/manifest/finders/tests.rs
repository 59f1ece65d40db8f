use super::*;

const IMAGE: &str = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/web";
const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn file(path: &str, text: &str) -> ManifestFile {
    ManifestFile {
        path: path.into(),
        text: text.into(),
    }
}

fn tag_of(files: &[ManifestFile]) -> Option<String> {
    find_image(files, IMAGE, None)
        .unwrap()
        .and_then(|f| f.image.tag)
}

#[test]
fn kustomize_by_name_and_new_name() {
    let k = format!("images:\n- name: {IMAGE}\n  newTag: v1.2.3\n");
    assert_eq!(
        tag_of(&[file("o/kustomization.yaml", &k)]),
        Some("v1.2.3".into())
    );
    let k = format!("images:\n- name: web\n  newName: {IMAGE}\n  newTag: \"42\"\n");
    assert_eq!(
        tag_of(&[file("o/kustomization.yml", &k)]),
        Some("42".into())
    );
}

#[test]
fn kustomize_numeric_tag_keeps_text() {
    let k = format!("images:\n- name: {IMAGE}\n  newTag: 20240101\n");
    assert_eq!(
        tag_of(&[file("Kustomization", &k)]),
        Some("20240101".into())
    );
}

#[test]
fn kustomize_digest_wins() {
    let k = format!("images:\n- name: {IMAGE}\n  newTag: v1\n  digest: {DIGEST}\n");
    let found = find_image(&[file("kustomization.yaml", &k)], IMAGE, None)
        .unwrap()
        .unwrap();
    assert_eq!(found.image.digest.as_deref(), Some(DIGEST));
    assert_eq!(found.image.reference(), format!("{IMAGE}@{DIGEST}"));
}

#[test]
fn kustomize_beats_workloads() {
    let files = [
        file(
            "deploy.yaml",
            &format!(
                "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - image: {IMAGE}:old\n"
            ),
        ),
        file(
            "kustomization.yaml",
            &format!("resources: [deploy.yaml]\nimages:\n- name: {IMAGE}\n  newTag: new\n"),
        ),
    ];
    assert_eq!(tag_of(&files), Some("new".into()));
}

#[test]
fn argocd_source() {
    let a = format!("kustomize:\n  images:\n  - other:1\n  - web={IMAGE}:v9\n");
    assert_eq!(
        tag_of(&[file(".argocd-source-web.yaml", &a)]),
        Some("v9".into())
    );
    let a = format!("kustomize:\n  images:\n  - {IMAGE}:v10\n");
    assert_eq!(
        tag_of(&[file(".argocd-source.yaml", &a)]),
        Some("v10".into())
    );
}

fn kustomization(tag: &str) -> ManifestFile {
    file(
        "o/kustomization.yaml",
        &format!("images:\n- name: {IMAGE}\n  newTag: {tag}\n"),
    )
}

fn argocd(name: &str, tag: &str) -> ManifestFile {
    file(
        &format!("o/{name}"),
        &format!("kustomize:\n  images:\n  - {IMAGE}:{tag}\n"),
    )
}

fn tag_for(files: &[ManifestFile], app: Option<&str>) -> Option<String> {
    find_image(files, IMAGE, app)
        .unwrap()
        .and_then(|f| f.image.tag)
}

/// The bug: with a kustomization and an Argo CD override, the kustomization's tag won,
/// while Argo CD deploys the override's.
#[test]
fn argocd_precedence_override_beats_kustomization() {
    let k = kustomization("k");
    let generic = argocd(".argocd-source.yaml", "generic");
    let app = argocd(".argocd-source-web.yaml", "app");
    let web = Some("web");
    // One source alone.
    assert_eq!(tag_for(std::slice::from_ref(&k), web), Some("k".into()));
    assert_eq!(
        tag_for(std::slice::from_ref(&generic), web),
        Some("generic".into())
    );
    assert_eq!(tag_for(std::slice::from_ref(&app), web), Some("app".into()));
    // The override over the kustomization, the app's file over the generic one.
    assert_eq!(
        tag_for(&[k.clone(), generic.clone()], web),
        Some("generic".into())
    );
    assert_eq!(
        tag_for(&[generic.clone(), app.clone()], web),
        Some("app".into())
    );
    assert_eq!(
        tag_for(&[k.clone(), generic.clone(), app.clone()], web),
        Some("app".into())
    );
    assert_eq!(
        tag_for(&[app.clone(), k.clone(), generic.clone()], None),
        Some("app".into())
    );
    // Another application's file is not ours when the app is configured.
    let other = argocd(".argocd-source-api.yaml", "api");
    assert_eq!(
        tag_for(&[k.clone(), generic.clone(), other.clone()], web),
        Some("generic".into())
    );
    assert_eq!(tag_for(&[k, other], web), Some("k".into()));
}

#[test]
fn argocd_app_file_list_replaces_the_generic_list() {
    // A JSON merge patch replaces arrays whole: the app file's images list, without
    // our image, drops the generic file's entry, and the kustomization's tag is live.
    let files = [
        kustomization("k"),
        argocd(".argocd-source.yaml", "generic"),
        file(
            "o/.argocd-source-web.yaml",
            "kustomize:\n  images:\n  - other/image:v1\n",
        ),
    ];
    assert_eq!(tag_for(&files, Some("web")), Some("k".into()));
    // A file that sets no images keeps the generic file's.
    let files = [
        kustomization("k"),
        argocd(".argocd-source.yaml", "generic"),
        file(
            "o/.argocd-source-web.yaml",
            "kustomize:\n  namePrefix: x-\n",
        ),
    ];
    assert_eq!(tag_for(&files, Some("web")), Some("generic".into()));
}

#[test]
fn argocd_same_level_disagreement_is_an_error_naming_both() {
    // Two applications' files and no app configured.
    let err = find_image(
        &[
            kustomization("k"),
            argocd(".argocd-source-web.yaml", "v1"),
            argocd(".argocd-source-web-canary.yaml", "v2"),
        ],
        IMAGE,
        None,
    )
    .unwrap_err()
    .to_string();
    for expected in [
        "o/.argocd-source-web.yaml",
        ":v1",
        "o/.argocd-source-web-canary.yaml",
        ":v2",
        "app",
    ] {
        assert!(err.contains(expected), "{expected} in {err}");
    }
    // Configured, the same files are no longer ambiguous.
    let files = [
        argocd(".argocd-source-web.yaml", "v1"),
        argocd(".argocd-source-web-canary.yaml", "v2"),
    ];
    assert_eq!(tag_for(&files, Some("web-canary")), Some("v2".into()));
    // Two applications that agree are fine.
    let files = [
        argocd(".argocd-source-a.yaml", "v1"),
        argocd(".argocd-source-b.yaml", "v1"),
    ];
    assert_eq!(tag_for(&files, None), Some("v1".into()));
    // Two tags in one file.
    let err = find_image(
        &[file(
            "o/.argocd-source.yaml",
            &format!("kustomize:\n  images:\n  - {IMAGE}:v1\n  - web={IMAGE}:v2\n"),
        )],
        IMAGE,
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains(":v1") && err.contains(":v2"), "{err}");
    // Two kustomizations.
    let err = find_image(
        &[
            kustomization("v1"),
            file(
                "o/Kustomization",
                &format!("images:\n- name: {IMAGE}\n  newTag: v2\n"),
            ),
        ],
        IMAGE,
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("o/kustomization.yaml") && err.contains("o/Kustomization"),
        "{err}"
    );
}

#[test]
fn argocd_digest_and_helm_parameters() {
    let files = [file(
        "o/.argocd-source.yaml",
        &format!("kustomize:\n  images:\n  - {IMAGE}@{DIGEST}\n"),
    )];
    let found = find_image(&files, IMAGE, None).unwrap().unwrap();
    assert_eq!(found.image.digest.as_deref(), Some(DIGEST));
    let helm = format!(
        "helm:\n  parameters:\n  - name: image.repository\n    value: {IMAGE}\n  - name: image.tag\n    value: v8\n  - name: sidecar.tag\n    value: \"1\"\n"
    );
    let files = [kustomization("k"), file("o/.argocd-source-web.yaml", &helm)];
    assert_eq!(tag_for(&files, None), Some("v8".into()));
    // A tag parameter that names no image is not a guess at ours.
    let files = [
        kustomization("k"),
        file(
            "o/.argocd-source.yaml",
            "helm:\n  parameters:\n  - name: image.tag\n    value: v8\n",
        ),
    ];
    assert_eq!(tag_for(&files, None), Some("k".into()));
}

#[test]
fn argocd_yml_files_are_not_read_by_argocd_nor_us() {
    let files = [
        kustomization("k"),
        argocd(".argocd-source.yml", "yml"),
        argocd(".argocd-source-web.yml", "yml"),
    ];
    assert_eq!(tag_for(&files, Some("web")), Some("k".into()));
}

#[test]
fn workloads_multi_document_and_init_containers() {
    let text = format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: web}}\n---\nkind: CronJob\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          initContainers:\n          - name: migrate\n            image: {IMAGE}:v3\n          containers:\n          - name: sidecar\n            image: datadog/agent:7\n"
    );
    assert_eq!(tag_of(&[file("cron.yaml", &text)]), Some("v3".into()));
}

#[test]
fn registry_port_image() {
    let image = "registry.local:5000/team/web";
    let text = format!(
        "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - image: {image}:2.0\n"
    );
    let found = find_image(&[file("d.yaml", &text)], image, None)
        .unwrap()
        .unwrap();
    assert_eq!(found.image.tag.as_deref(), Some("2.0"));
    // The same image name without the port is a different image.
    assert!(
        find_image(&[file("d.yaml", &text)], "registry.local/team/web", None)
            .unwrap()
            .is_none()
    );
}

#[test]
fn two_tags_is_an_error_naming_both() {
    let text = format!(
        "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - image: {IMAGE}:v1\n---\nkind: Job\nspec:\n  template:\n    spec:\n      containers:\n      - image: {IMAGE}:v2\n"
    );
    let err = find_image(&[file("apps/web.yaml", &text)], IMAGE, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains(":v1") && err.contains(":v2"), "{err}");
    assert!(err.contains("apps/web.yaml"), "{err}");
}

#[test]
fn same_tag_twice_is_fine() {
    let text = format!(
        "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - image: {IMAGE}:v1\n      - image: {IMAGE}:v1\n"
    );
    assert_eq!(tag_of(&[file("d.yaml", &text)]), Some("v1".into()));
}

#[test]
fn malformed_tag_of_our_image_is_reported() {
    let text = format!(
        "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - image: \"{IMAGE}:v1 2\"\n"
    );
    let err = find_image(&[file("d.yaml", &text)], IMAGE, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("d.yaml") && err.contains("v1 2"), "{err}");
}

#[test]
fn absent_image_and_other_kinds() {
    let text = format!("kind: ConfigMap\ndata:\n  containers: x\n  image: {IMAGE}:v1\n");
    assert_eq!(
        find_image(&[file("c.yaml", &text)], IMAGE, None).unwrap(),
        None
    );
    assert_eq!(
        find_image(&[file("README.md", "web:v1")], IMAGE, None).unwrap(),
        None
    );
}

#[test]
fn invalid_yaml_names_file() {
    let err = find_image(&[file("broken.yaml", "a: [b")], IMAGE, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("broken.yaml"), "{err}");
}
