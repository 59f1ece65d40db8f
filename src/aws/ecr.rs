//! ECR: does the release's image exist?

use aws_config::Region;

use super::pace::Group;
use super::{Aws, describe_error, error_code};
use crate::error::{Error, Result};
use crate::image::{EcrRepository, ImageRef};

/// Checks in the registry's own account and region (which may differ from the deploy's).
pub async fn check_image(aws: &Aws, image: &ImageRef, repo: &EcrRepository) -> Result<()> {
    let config = aws_sdk_ecr::config::Builder::from(&aws.sdk)
        .region(Region::new(repo.region.clone()))
        .build();
    let ecr = aws_sdk_ecr::Client::from_conf(config);
    let mut id = aws_sdk_ecr::types::ImageIdentifier::builder();
    id = match (&image.digest, &image.tag) {
        (Some(digest), _) => id.image_digest(digest),
        (None, Some(tag)) => id.image_tag(tag),
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
    match result {
        Ok(out) if !out.image_details().is_empty() => Ok(()),
        Ok(_) => Err(missing(image)),
        Err(e) if error_code(&e) == Some("ImageNotFoundException") => Err(missing(image)),
        Err(e) if error_code(&e) == Some("RepositoryNotFoundException") => {
            Err(Error::new(format!(
                "ECR repository `{}` not found in account {} region {}",
                repo.repository, repo.account, repo.region
            ))
            .hint("check [manifest] image in jobdeploy.toml"))
        }
        Err(e) => Err(Error::new(format!(
            "ECR DescribeImages {}: {}",
            repo.repository,
            describe_error(&e)
        ))),
    }
}

fn missing(image: &ImageRef) -> Error {
    Error::new(format!(
        "image `{image}` does not exist in ECR; nothing was changed"
    ))
    .hint("push the image first (is the build finished?), or check the tag in the manifest repo")
}
