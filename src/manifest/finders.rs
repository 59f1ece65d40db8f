//! Pure image finders over the files read from the manifest repo, in Argo CD's order: the
//! Argo CD override files (`.argocd-source-<app>.yaml` over `.argocd-source.yaml`), then
//! kustomization `images[]`, then workload documents. The first level that names the image
//! wins; two different references at one level is an error.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::image::ImageRef;

#[derive(Debug, Clone)]
pub struct ManifestFile {
    /// Path inside the repo, for messages.
    pub path: String,
    pub text: String,
}

/// The file Argo CD merges into every application of a path.
const GENERIC_OVERRIDE: &str = ".argocd-source.yaml";

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

    /// `web` for `.argocd-source-web.yaml`: the application the file overrides. Argo CD
    /// reads exactly `.argocd-source-<app>.yaml`, so a `.yml` file is not one.
    fn override_app(&self) -> Option<&str> {
        self.file_name()
            .strip_prefix(".argocd-source-")?
            .strip_suffix(".yaml")
            .filter(|app| !app.is_empty())
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

/// The reference of `image` that Argo CD deploys from `files`. `app` is the Argo CD
/// application name (`[manifest] app`), which picks `.argocd-source-<app>.yaml`.
pub fn find_image(files: &[ManifestFile], image: &str, app: Option<&str>) -> Result<Option<Found>> {
    if let Some(found) = in_argocd_overrides(files, image, app)? {
        return Ok(Some(found));
    }
    let kustomizations: Vec<_> = files.iter().filter(|f| f.is_kustomization()).collect();
    if let Some(found) = single(in_kustomizations(&kustomizations, image)?, image)? {
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

/// What one override file sets. Argo CD merges the files into the application's source as
/// a JSON merge patch (RFC 7396), so a list the file sets replaces the list before it
/// whole: `None` is "this file does not set it".
struct Override {
    kustomize_images: Option<Vec<Found>>,
    helm_images: Option<Vec<Found>>,
}

impl Override {
    fn read(file: &ManifestFile, image: &str) -> Result<Self> {
        let doc = parse_yaml_docs(file)?
            .into_iter()
            .next()
            .unwrap_or_default();
        let set = |pointer: &str| {
            let (parent, key) = pointer.rsplit_once('/').unwrap_or(("", pointer));
            doc.pointer(parent)
                .and_then(Value::as_object)
                .and_then(|o| o.get(key))
        };
        let kustomize_images = set("/kustomize/images")
            .map(|v| in_argocd_images(file, v, image))
            .transpose()?;
        let helm_images = set("/helm/parameters")
            .map(|v| in_helm_parameters(file, v, image))
            .transpose()?;
        Ok(Self {
            kustomize_images,
            helm_images,
        })
    }

    /// `self` merged over `under`, as Argo CD merges the app file over the generic one.
    fn over(self, under: Option<Override>) -> Override {
        let (k, h) = under.map_or((None, None), |u| (u.kustomize_images, u.helm_images));
        Override {
            kustomize_images: self.kustomize_images.or(k),
            helm_images: self.helm_images.or(h),
        }
    }

    fn found(self) -> Vec<Found> {
        let mut all = self.kustomize_images.unwrap_or_default();
        all.extend(self.helm_images.unwrap_or_default());
        all
    }
}

/// The image as Argo CD's override files set it: `.argocd-source-<app>.yaml` merged over
/// `.argocd-source.yaml`. Without a configured app, one app file is that app's; several
/// apps' files must agree, or the result is an error asking for `[manifest] app`.
fn in_argocd_overrides(
    files: &[ManifestFile],
    image: &str,
    app: Option<&str>,
) -> Result<Option<Found>> {
    let generic = files.iter().find(|f| f.file_name() == GENERIC_OVERRIDE);
    let app_files: Vec<&ManifestFile> = files
        .iter()
        .filter(|f| match (f.override_app(), app) {
            (Some(name), Some(app)) => name == app,
            (Some(_), None) => true,
            (None, _) => false,
        })
        .collect();
    let merged = |app_file: Option<&ManifestFile>| -> Result<Option<Found>> {
        let under = generic.map(|g| Override::read(g, image)).transpose()?;
        let effective = match app_file {
            Some(f) => Override::read(f, image)?.over(under),
            None => match under {
                Some(u) => u,
                None => return Ok(None),
            },
        };
        single(effective.found(), image)
    };
    let Some((first, others)) = app_files.split_first() else {
        return merged(None);
    };
    let chosen = merged(Some(*first))?;
    let image_of = |found: &Option<Found>| found.as_ref().map(|f| f.image.clone());
    for other in others {
        let theirs = merged(Some(*other))?;
        if image_of(&theirs) != image_of(&chosen) {
            let says = |f: &ManifestFile, found: &Option<Found>| match found {
                Some(found) => format!("{} sets `{}`", found.file, found.image),
                None => format!("{} does not override it", f.path),
            };
            return Err(Error::new(format!(
                "image `{image}`: the Argo CD override files of two applications disagree: {} and {}",
                says(first, &chosen),
                says(other, &theirs)
            ))
            .hint(format!(
                "set `app` in [manifest] to the Argo CD application name, to read only `.argocd-source-<app>.yaml` (here: {})",
                app_files
                    .iter()
                    .filter_map(|f| f.override_app())
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    Ok(chosen)
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

/// `kustomize.images` of an override file: `name=newName:tag`, `name:tag`, `name@digest`,
/// as `argocd app set --kustomize-image` and the image updater write them. `null` (which
/// the merge patch turns into "no list") sets none.
fn in_argocd_images(file: &ManifestFile, images: &Value, image: &str) -> Result<Vec<Found>> {
    let mut found = Vec::new();
    for (i, entry) in images.as_array().into_iter().flatten().enumerate() {
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
        let parsed = ImageRef::parse(reference)
            .map_err(|e| Error::new(format!("{}: kustomize.images[{i}]: {e}", file.path)))?;
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
    Ok(found)
}

/// `helm.parameters` of an override file: a `P.tag` parameter is the image's tag when a
/// `P.repository` or `P.name` parameter names the image (`image.repository` +
/// `image.tag`, as the image updater writes them). A tag whose image is not named cannot
/// be told apart from another image's and is not read.
fn in_helm_parameters(file: &ManifestFile, parameters: &Value, image: &str) -> Result<Vec<Found>> {
    let params: Vec<(&str, String)> = parameters
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let name = p.get("name")?.as_str()?;
            let value = match p.get("value")? {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            Some((name, value))
        })
        .collect();
    let value_of = |name: &str| params.iter().find(|(n, _)| *n == name).map(|(_, v)| v);
    let mut found = Vec::new();
    for (name, tag) in &params {
        let Some(prefix) = name.strip_suffix(".tag") else {
            continue;
        };
        let names_image = [".repository", ".name"].iter().any(|suffix| {
            value_of(&format!("{prefix}{suffix}")).map(String::as_str) == Some(image)
        });
        if !names_image {
            continue;
        }
        let parsed = ImageRef::parse(&format!("{image}:{tag}"))
            .map_err(|e| Error::new(format!("{}: helm.parameters `{name}`: {e}", file.path)))?;
        found.push(Found {
            image: parsed,
            file: file.path.clone(),
        });
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
}
