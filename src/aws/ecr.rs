//! ECR: does the release's image exist, and is it the one the manifest names?

use aws_config::Region;

use super::pace::Group;
use super::{Aws, error_code, failed};
use crate::error::{Error, Result};
use crate::image::{EcrRepository, ImageRef};

/// What ECR says of the release's image.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EcrImage {
    pub digest: Option<String>,
    /// Seconds since the epoch: when the image was pushed. No release of its tag can be
    /// older (the deploy checks the image exists), which bounds how far back release ids
    /// are looked for.
    pub pushed_at: Option<f64>,
}

/// Checks in the registry's own account and region (which may differ from the deploy's).
/// For `tag@digest` the tag is looked up and must resolve to that digest: a manifest that
/// pins a digest its tag no longer points at is refused, naming both.
pub async fn check_image(aws: &Aws, image: &ImageRef, repo: &EcrRepository) -> Result<EcrImage> {
    let config = aws_sdk_ecr::config::Builder::from(&aws.sdk)
        .region(Region::new(repo.region.clone()))
        .build();
    let ecr = aws_sdk_ecr::Client::from_conf(config);
    let mut id = aws_sdk_ecr::types::ImageIdentifier::builder();
    // With both, the tag is what is looked up: its digest is then compared.
    id = match (&image.tag, &image.digest) {
        (Some(tag), _) => id.image_tag(tag),
        (None, Some(digest)) => id.image_digest(digest),
        (None, None) => return Err(Error::new(format!("image `{image}` has no tag or digest"))),
    };
    let id = id.build();
    let result = aws
        .pacer
        .call(Group::Ecr, "DescribeImages", || {
            ecr.describe_images()
                .registry_id(&repo.account)
                .repository_name(&repo.repository)
                .image_ids(id.clone())
                .send()
        })
        .await;
    let found = match result {
        Ok(out) => out.image_details().first().map(|d| EcrImage {
            digest: d.image_digest().map(str::to_string),
            pushed_at: d.image_pushed_at().map(|t| t.as_secs_f64()),
        }),
        Err(e) if error_code(&e) == Some("ImageNotFoundException") => None,
        Err(e) if error_code(&e) == Some("RepositoryNotFoundException") => {
            return Err(Error::new(format!(
                "ECR repository `{}` not found in account {} region {}",
                repo.repository, repo.account, repo.region
            ))
            .hint("check [manifest] image in jobdeploy.toml"));
        }
        Err(e) => {
            return Err(failed("ECR DescribeImages", &repo.repository, &e));
        }
    };
    let Some(actual) = found else {
        return Err(missing(image));
    };
    if let (Some(tag), Some(wanted)) = (&image.tag, &image.digest)
        && actual.digest.as_deref() != Some(wanted.as_str())
    {
        return Err(digest_mismatch(
            image,
            tag,
            wanted,
            actual.digest.as_deref(),
        ));
    }
    Ok(actual)
}

fn digest_mismatch(image: &ImageRef, tag: &str, wanted: &str, actual: Option<&str>) -> Error {
    Error::new(format!(
        "image `{image}`: tag `{tag}` in ECR is {}, not the pinned {wanted}; nothing was changed",
        actual.unwrap_or("an image without a digest")
    ))
    .hint("the tag was moved after the manifest pinned it: pin the digest the tag has now, or push the pinned image under a new tag")
}

fn missing(image: &ImageRef) -> Error {
    Error::new(format!(
        "image `{image}` does not exist in ECR; nothing was changed"
    ))
    .hint("push the image first (is the build finished?), or check the tag in the manifest repo")
}

/// An image's manifest as ECR stores it, for `verify`.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub digest: Option<String>,
    pub media_type: Option<String>,
    pub body: String,
}

/// Media types `verify` reads: single-platform manifests and multi-platform indexes.
const MEDIA_TYPES: [&str; 4] = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
];

/// The manifest of `image` (by tag when it has one, else by digest): BatchGetImage, in
/// the registry's account and region. A missing repository or image is
/// [`super::Lookup::Missing`].
pub async fn manifest(
    aws: &Aws,
    image: &ImageRef,
    repo: &EcrRepository,
) -> Result<super::Lookup<Manifest>> {
    let config = aws_sdk_ecr::config::Builder::from(&aws.sdk)
        .region(Region::new(repo.region.clone()))
        .build();
    let ecr = aws_sdk_ecr::Client::from_conf(config);
    let id = aws_sdk_ecr::types::ImageIdentifier::builder();
    let id = match (&image.tag, &image.digest) {
        (Some(tag), _) => id.image_tag(tag),
        (None, Some(digest)) => id.image_digest(digest),
        (None, None) => return Err(Error::new(format!("image `{image}` has no tag or digest"))),
    }
    .build();
    let result = aws
        .pacer
        .call(Group::Ecr, "BatchGetImage", || {
            ecr.batch_get_image()
                .registry_id(&repo.account)
                .repository_name(&repo.repository)
                .image_ids(id.clone())
                .set_accepted_media_types(Some(
                    MEDIA_TYPES.iter().map(|m| (*m).to_string()).collect(),
                ))
                .send()
        })
        .await;
    match result {
        Ok(out) => Ok(out.images().first().map_or(super::Lookup::Missing, |i| {
            super::Lookup::Found(Manifest {
                digest: i
                    .image_id()
                    .and_then(|id| id.image_digest())
                    .map(str::to_string),
                media_type: i.image_manifest_media_type().map(str::to_string),
                body: i.image_manifest().unwrap_or_default().to_string(),
            })
        })),
        Err(e) if error_code(&e) == Some("RepositoryNotFoundException") => {
            Ok(super::Lookup::Missing)
        }
        Err(e) if super::is_denied(&e) => Ok(super::Lookup::Denied("ecr:BatchGetImage")),
        Err(e) => Err(failed("ECR BatchGetImage", &repo.repository, &e)),
    }
}
