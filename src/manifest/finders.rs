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
mod tests;
