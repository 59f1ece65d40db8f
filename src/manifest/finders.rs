//! Pure image finders over the files read from the manifest repo. First finder with a match
//! wins: kustomization `images[]`, then `.argocd-source-*.yaml`, then workload documents.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::image::ImageRef;

#[derive(Debug, Clone)]
pub struct ManifestFile {
    /// Path inside the repo, for messages.
    pub path: String,
    pub text: String,
}

impl ManifestFile {
    fn file_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }

    fn is_kustomization(&self) -> bool {
        matches!(
            self.file_name(),
            "kustomization.yaml" | "kustomization.yml" | "Kustomization"
        )
    }

    fn is_argocd_source(&self) -> bool {
        let name = self.file_name();
        name.starts_with(".argocd-source") && (name.ends_with(".yaml") || name.ends_with(".yml"))
    }

    fn is_yaml(&self) -> bool {
        let name = self.file_name();
        name.ends_with(".yaml") || name.ends_with(".yml")
    }
}

/// Where the image was found: the parsed reference and the file it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub image: ImageRef,
    pub file: String,
}

const WORKLOAD_KINDS: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "Rollout",
];

pub fn find_image(files: &[ManifestFile], image: &str) -> Result<Option<Found>> {
    let kustomizations: Vec<_> = files.iter().filter(|f| f.is_kustomization()).collect();
    if let Some(found) = single(in_kustomizations(&kustomizations, image)?, image)? {
        return Ok(Some(found));
    }
    let argocd: Vec<_> = files.iter().filter(|f| f.is_argocd_source()).collect();
    if let Some(found) = single(in_argocd_sources(&argocd, image)?, image)? {
        return Ok(Some(found));
    }
    let workloads: Vec<_> = files
        .iter()
        .filter(|f| f.is_yaml() && !f.is_kustomization() && !f.is_argocd_source())
        .collect();
    single(in_workloads(&workloads, image)?, image)
}

/// All matches must agree; two different tags for one image is an error, not a guess.
fn single(found: Vec<Found>, image: &str) -> Result<Option<Found>> {
    let Some(first) = found.first() else {
        return Ok(None);
    };
    if let Some(other) = found.iter().find(|f| f.image != first.image) {
        return Err(Error::new(format!(
            "image `{image}` has two different references: `{}` in {} and `{}` in {}",
            first.image, first.file, other.image, other.file
        ))
        .hint("make the manifest name one tag for the image"));
    }
    Ok(Some(first.clone()))
}

fn parse_yaml_docs(file: &ManifestFile) -> Result<Vec<Value>> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(&file.text)
        .map_err(|e| Error::new(format!("{}: not valid YAML: {e}", file.path)))?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

fn in_kustomizations(files: &[&ManifestFile], image: &str) -> Result<Vec<Found>> {
    let mut found = Vec::new();
    for file in files {
        for doc in parse_yaml_docs(file)? {
            let Some(images) = doc.get("images").and_then(Value::as_array) else {
                continue;
            };
            for (i, entry) in images.iter().enumerate() {
                let field = |k: &str| entry.get(k).and_then(Value::as_str);
                if field("name") != Some(image) && field("newName") != Some(image) {
                    continue;
                }
                let tag = field("newTag")
                    .map(str::to_string)
                    .or_else(|| entry.get("newTag").and_then(scalar_string));
                let digest = field("digest");
                if tag.is_none() && digest.is_none() {
                    continue;
                }
                let mut reference = image.to_string();
                if let Some(tag) = &tag {
                    reference.push(':');
                    reference.push_str(tag);
                }
                if let Some(digest) = digest {
                    reference.push('@');
                    reference.push_str(digest);
                }
                let parsed = ImageRef::parse(&reference)
                    .map_err(|e| Error::new(format!("{}: images[{i}]: {e}", file.path)))?;
                found.push(Found {
                    image: parsed,
                    file: file.path.clone(),
                });
            }
        }
    }
    Ok(found)
}

/// YAML turns `newTag: 1.10` into a number; the tag is still the text.
fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn in_argocd_sources(files: &[&ManifestFile], image: &str) -> Result<Vec<Found>> {
    let mut found = Vec::new();
    for file in files {
        for doc in parse_yaml_docs(file)? {
            let Some(images) = doc.pointer("/kustomize/images").and_then(Value::as_array) else {
                continue;
            };
            for (i, entry) in images.iter().enumerate() {
                let Some(entry) = entry.as_str() else {
                    continue;
                };
                // `name=newName:tag`, or just `name:tag`.
                let (alias, reference) = match entry.split_once('=') {
                    Some((alias, reference)) => (Some(alias), reference),
                    None => (None, entry),
                };
                let matches_alias = alias == Some(image);
                if !matches_alias && !reference_names(reference, image) {
                    continue;
                }
                let parsed = ImageRef::parse(reference).map_err(|e| {
                    Error::new(format!("{}: kustomize.images[{i}]: {e}", file.path))
                })?;
                if parsed.tag.is_none() && parsed.digest.is_none() {
                    continue;
                }
                found.push(Found {
                    image: ImageRef {
                        name: image.to_string(),
                        ..parsed
                    },
                    file: file.path.clone(),
                });
            }
        }
    }
    Ok(found)
}

/// Does `reference` name `image` (followed by a tag, a digest or nothing)? Checked on the raw
/// text so that a malformed tag of *our* image is reported rather than skipped.
fn reference_names(reference: &str, image: &str) -> bool {
    reference
        .strip_prefix(image)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(':') || rest.starts_with('@'))
}

fn in_workloads(files: &[&ManifestFile], image: &str) -> Result<Vec<Found>> {
    let mut found = Vec::new();
    for file in files {
        for (n, doc) in parse_yaml_docs(file)?.iter().enumerate() {
            let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
            if !WORKLOAD_KINDS.contains(&kind) {
                continue;
            }
            let mut images = Vec::new();
            collect_container_images(doc, &mut images);
            for reference in images {
                if !reference_names(reference, image) {
                    continue;
                }
                let parsed = ImageRef::parse(reference).map_err(|e| {
                    Error::new(format!("{}: document {} ({kind}): {e}", file.path, n + 1))
                })?;
                if parsed.tag.is_none() && parsed.digest.is_none() {
                    continue;
                }
                found.push(Found {
                    image: parsed,
                    file: file.path.clone(),
                });
            }
        }
    }
    Ok(found)
}

/// Every `containers[].image` and `initContainers[].image` anywhere in a workload, which
/// covers pod templates of every workload kind (CronJob nests one level deeper).
fn collect_container_images<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if (key == "containers" || key == "initContainers")
                    && let Some(list) = child.as_array()
                {
                    out.extend(
                        list.iter()
                            .filter_map(|c| c.get("image").and_then(Value::as_str)),
                    );
                }
                collect_container_images(child, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_container_images(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
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
        find_image(files, IMAGE).unwrap().and_then(|f| f.image.tag)
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
        let found = find_image(&[file("kustomization.yaml", &k)], IMAGE)
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
        let found = find_image(&[file("d.yaml", &text)], image)
            .unwrap()
            .unwrap();
        assert_eq!(found.image.tag.as_deref(), Some("2.0"));
        // The same image name without the port is a different image.
        assert!(
            find_image(&[file("d.yaml", &text)], "registry.local/team/web")
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn two_tags_is_an_error_naming_both() {
        let text = format!(
            "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - image: {IMAGE}:v1\n---\nkind: Job\nspec:\n  template:\n    spec:\n      containers:\n      - image: {IMAGE}:v2\n"
        );
        let err = find_image(&[file("apps/web.yaml", &text)], IMAGE)
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
        let err = find_image(&[file("d.yaml", &text)], IMAGE)
            .unwrap_err()
            .to_string();
        assert!(err.contains("d.yaml") && err.contains("v1 2"), "{err}");
    }

    #[test]
    fn absent_image_and_other_kinds() {
        let text = format!("kind: ConfigMap\ndata:\n  containers: x\n  image: {IMAGE}:v1\n");
        assert_eq!(find_image(&[file("c.yaml", &text)], IMAGE).unwrap(), None);
        assert_eq!(
            find_image(&[file("README.md", "web:v1")], IMAGE).unwrap(),
            None
        );
    }

    #[test]
    fn invalid_yaml_names_file() {
        let err = find_image(&[file("broken.yaml", "a: [b")], IMAGE)
            .unwrap_err()
            .to_string();
        assert!(err.contains("broken.yaml"), "{err}");
    }
}
