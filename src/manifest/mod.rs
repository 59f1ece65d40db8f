//! The release: which image tag the Kubernetes manifest repo says is live (or `--tag`).

mod finders;
mod git;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use finders::{Found, ManifestFile, find_image};
pub use git::{Lineage, RepoLocation, redact_url, short};

use crate::config::LoadedConfig;
use crate::error::{Error, Result};
use crate::image::{ImageRef, validate_tag};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Release {
    /// The release id: the image tag (or the digest's head when the manifest pins only a
    /// digest), with `+N` added by the plan when a deploy at a tag already released
    /// registers new revisions (see [`crate::history::next_release_id`]).
    pub id: String,
    /// The image tag (or the digest's head): what `{{ release }}` renders, whatever the id.
    pub tag: String,
    /// The image digest: the one the manifest pins, else the one ECR reports for the tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(serialize_with = "as_reference")]
    pub image: ImageRef,
    pub manifest_commit: Option<String>,
    /// Where the release came from, for humans: `--tag` or `repo@ref:path`.
    pub origin: String,
}

fn as_reference<S: serde::Serializer>(image: &ImageRef, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&image.reference())
}

impl Release {
    fn from_image(image: ImageRef, manifest_commit: Option<String>, origin: String) -> Self {
        let id = match (&image.tag, &image.digest) {
            (Some(tag), _) => tag.clone(),
            (None, Some(digest)) => digest.chars().take(19).collect(),
            (None, None) => String::new(),
        };
        Self {
            tag: id.clone(),
            id,
            digest: image.digest.clone(),
            image,
            manifest_commit,
            origin,
        }
    }

    /// A release from history (rollback): its id, normally the image tag, and the manifest
    /// commit it was deployed from.
    pub fn recorded(id: &str, image_name: &ImageRef, manifest_commit: Option<String>) -> Self {
        let tag = crate::history::release_tag(id);
        let image = ImageRef::parse(&format!("{}:{tag}", image_name.name))
            .unwrap_or_else(|_| image_name.clone());
        Self {
            id: id.to_string(),
            tag: tag.to_string(),
            digest: None,
            image,
            manifest_commit,
            origin: "history".to_string(),
        }
    }

    /// `--tag TAG` (or `TAG@sha256:…`): no manifest repo involved.
    pub fn from_tag(tag: &str, image_name: &ImageRef) -> Result<Self> {
        let (tag_part, digest) = match tag.split_once('@') {
            Some((t, d)) => (t, Some(d)),
            None => (tag, None),
        };
        validate_tag(tag_part).map_err(|e| Error::new(format!("--tag: {e}")))?;
        let mut reference = format!("{}:{tag_part}", image_name.name);
        if let Some(digest) = digest {
            reference.push('@');
            reference.push_str(digest);
        }
        let image = ImageRef::parse(&reference).map_err(|e| Error::new(format!("--tag: {e}")))?;
        Ok(Self::from_image(image, None, "--tag".to_string()))
    }

    /// Reads the live tag from the manifest repo named in the config.
    pub fn from_manifest(config: &LoadedConfig) -> Result<Self> {
        let shown = config.path.display();
        let image_name = config.image_name()?;
        let manifest = config
            .config
            .manifest
            .as_ref()
            .ok_or_else(|| Error::new(format!("{shown}: [manifest] is missing")))?;
        let missing = |key: &str| {
            Error::new(format!(
                "{shown}: key `manifest.{key}` is required to read the live tag"
            ))
            .hint("or pass --tag TAG to deploy a tag directly")
        };
        let repo = manifest.repo.as_deref().ok_or_else(|| missing("repo"))?;
        let path = manifest.path.as_deref().ok_or_else(|| missing("path"))?;
        let location = RepoLocation::parse(repo, config.base_dir());
        let snapshot = git::read(&location, manifest.git_ref.as_deref(), path, &cache_dir())?;
        let origin = format!(
            "{}@{} {}",
            redact_url(repo),
            manifest.git_ref.as_deref().unwrap_or("HEAD"),
            path
        );
        let found = find_image(&snapshot.files, &image_name.name, manifest.app.as_deref())?.ok_or_else(|| {
            Error::new(format!(
                "manifest repo {} at commit {}: image `{}` not found in `{path}`",
                redact_url(repo),
                short(&snapshot.commit),
                image_name.name
            ))
            .hint("looked in .argocd-source-<app>.yaml, .argocd-source.yaml, kustomization images[] and workload containers; check [manifest] path and image")
        })?;
        Ok(Self::from_image(found.image, Some(snapshot.commit), origin))
    }
}

/// The manifest repo's commits after `commit` and every commit it holds, for the k8s gate's
/// "is this a later commit?", with the tag the manifest names at each later commit (see
/// `git::lineage`).
pub fn lineage(config: &LoadedConfig, commit: &str) -> Result<git::Lineage> {
    let manifest = config.config.manifest.as_ref();
    let repo = manifest.and_then(|m| m.repo.as_deref()).ok_or_else(|| {
        Error::new(format!(
            "{}: key `manifest.repo` is required",
            config.path.display()
        ))
    })?;
    let image_name = config.image_name()?;
    let app = manifest.and_then(|m| m.app.as_deref());
    let tag = |files: &[ManifestFile]| -> Option<String> {
        let found = find_image(files, &image_name.name, app).ok()??;
        match (found.image.tag, found.image.digest) {
            (Some(tag), _) => Some(tag),
            (None, Some(digest)) => Some(format!("@{digest}")),
            (None, None) => None,
        }
    };
    let location = RepoLocation::parse(repo, config.base_dir());
    let tag_at = git::TagAt {
        path: manifest.and_then(|m| m.path.as_deref()).unwrap_or("."),
        tag: &tag,
    };
    git::lineage(&location, commit, &cache_dir(), 50_000, &tag_at)
}

/// `JOBDEPLOY_CACHE_DIR`, else the XDG cache dir, else a temp dir.
fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("JOBDEPLOY_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Path::new(&dir).join("jobdeploy");
    }
    if let Some(home) = std::env::var_os("HOME") {
        return Path::new(&home).join(".cache").join("jobdeploy");
    }
    std::env::temp_dir().join("jobdeploy")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_from_tag() {
        let name = ImageRef::parse("registry:5000/web").unwrap();
        let r = Release::from_tag("v1.2", &name).unwrap();
        assert_eq!(r.id, "v1.2");
        assert_eq!(r.image.reference(), "registry:5000/web:v1.2");
        assert!(Release::from_tag("v1;rm", &name).is_err());
        assert!(Release::from_tag("", &name).is_err());
    }

    #[test]
    fn digest_only_release_id() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        let image = ImageRef::parse(&format!("web@{digest}")).unwrap();
        let r = Release::from_image(image, None, "x".into());
        assert_eq!(r.id, format!("sha256:{}", "ab".repeat(6)));
    }
}
