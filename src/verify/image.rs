//! Image: every container image in ECR exists (the tag, and the digest when pinned), and
//! its platform matches the task's `runtimePlatform` (Fargate's default: linux/X86_64).
//! Images in other registries are not checked, and the report says so.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Outcome, containers};
use crate::aws::Lookup;
use crate::aws::ecr::Manifest;
use crate::image::ImageRef;

/// `(os, architecture)` as image manifests spell them: `("linux", "amd64")`.
pub type Platform = (String, String);

/// The platform the task runs on, from `runtimePlatform` (ECS's spelling) in manifest
/// spelling; `None` when nothing says (an EC2 task without `runtimePlatform`: the instance
/// decides).
pub fn wanted_platform(body: &Value, on_fargate: bool) -> Option<Platform> {
    let runtime = body.get("runtimePlatform");
    let arch = runtime
        .and_then(|r| r.get("cpuArchitecture"))
        .and_then(Value::as_str);
    let os = runtime
        .and_then(|r| r.get("operatingSystemFamily"))
        .and_then(Value::as_str);
    if arch.is_none() && os.is_none() && !on_fargate {
        return None;
    }
    let arch = match arch.unwrap_or("X86_64") {
        "ARM64" => "arm64",
        _ => "amd64",
    };
    let os = match os.unwrap_or("LINUX") {
        "LINUX" => "linux",
        _ => "windows",
    };
    Some((os.to_string(), arch.to_string()))
}

/// The platforms a manifest offers: an index's (attestations, `unknown/unknown`, left
/// out), or a schema-1 manifest's `architecture`; `None` for a single-platform manifest,
/// which does not name its platform (it is in the image config, which is not read).
pub fn platforms(manifest: &Manifest) -> Option<Vec<Platform>> {
    let body: Value = serde_json::from_str(&manifest.body).ok()?;
    if let Some(list) = body.get("manifests").and_then(Value::as_array) {
        return Some(
            list.iter()
                .filter_map(|m| {
                    let p = m.get("platform")?;
                    let os = p.get("os")?.as_str()?;
                    let arch = p.get("architecture")?.as_str()?;
                    (os != "unknown").then(|| (os.to_string(), arch.to_string()))
                })
                .collect(),
        );
    }
    let arch = body.get("architecture").and_then(Value::as_str)?;
    Some(vec![("linux".to_string(), arch.to_string())])
}

fn show(p: &Platform) -> String {
    format!("{}/{}", p.0, p.1)
}

/// The image lines of one task definition.
pub fn check(
    body: &Value,
    on_fargate: bool,
    images: &BTreeMap<String, Lookup<Manifest>>,
) -> Vec<(String, Outcome)> {
    let wanted = wanted_platform(body, on_fargate);
    let mut out = Vec::new();
    for (name, container) in containers(body) {
        let Some(reference) = container.get("image").and_then(Value::as_str) else {
            continue;
        };
        let what = format!("container {name} image {reference}");
        let image = match ImageRef::parse(reference) {
            Ok(i) => i,
            Err(e) => {
                out.push((
                    what,
                    Outcome::fail(e.to_string(), "correct the image reference"),
                ));
                continue;
            }
        };
        let Some(repo) = image.ecr() else {
            out.push((
                what,
                Outcome::Skipped {
                    why: "not in ECR: not checked".into(),
                },
            ));
            continue;
        };
        let manifest = match images.get(reference) {
            Some(Lookup::Found(m)) => m,
            Some(Lookup::Missing) => {
                out.push((
                    what,
                    Outcome::fail(
                        format!(
                            "not in ECR repository {} (account {}, region {})",
                            repo.repository, repo.account, repo.region
                        ),
                        format!("push {} first, or correct the tag", image.reference()),
                    ),
                ));
                continue;
            }
            Some(Lookup::Denied(permission)) => {
                out.push((what, Outcome::denied(permission)));
                continue;
            }
            None => {
                out.push((
                    what,
                    Outcome::Skipped {
                        why: "not read".into(),
                    },
                ));
                continue;
            }
        };
        if let (Some(tag), Some(pinned)) = (&image.tag, &image.digest)
            && manifest.digest.as_deref() != Some(pinned.as_str())
        {
            out.push((
                what,
                Outcome::fail(
                    format!(
                        "tag {tag} is {} in ECR, not the pinned {pinned}",
                        manifest
                            .digest
                            .as_deref()
                            .unwrap_or("an image without a digest")
                    ),
                    "pin the digest the tag has now, or push the pinned image under a new tag",
                ),
            ));
            continue;
        }
        out.push((what.clone(), Outcome::Ok));
        let platform = format!("container {name} platform");
        let Some(wanted) = &wanted else {
            out.push((
                platform,
                Outcome::Skipped {
                    why: "no runtimePlatform and not Fargate: the instance decides".into(),
                },
            ));
            continue;
        };
        let outcome = match platforms(manifest) {
            Some(offered) if offered.contains(wanted) => Outcome::Ok,
            Some(offered) => {
                let list: Vec<String> = offered.iter().map(show).collect();
                let (_, arch) = wanted;
                let other = if arch == "arm64" { "X86_64" } else { "ARM64" };
                Outcome::fail(
                    format!(
                        "the task runs on {} but the image is built for {}",
                        show(wanted),
                        if list.is_empty() {
                            "no known platform".to_string()
                        } else {
                            list.join(", ")
                        }
                    ),
                    format!(
                        "build and push the image for {} (docker buildx build --platform {}), or set runtimePlatform.cpuArchitecture to {other}",
                        show(wanted),
                        show(wanted)
                    ),
                )
            }
            None => Outcome::Skipped {
                why: format!(
                    "a single-platform manifest does not name its platform (wanted {})",
                    show(wanted)
                ),
            },
        };
        out.push((platform, outcome));
    }
    out
}

/// Every ECR image reference in the bodies, to read.
pub fn wanted<'a>(bodies: impl Iterator<Item = &'a Value>) -> Vec<String> {
    let mut refs: Vec<String> = bodies
        .flat_map(containers)
        .filter_map(|(_, c)| c.get("image").and_then(Value::as_str))
        .filter(|r| ImageRef::parse(r).ok().and_then(|i| i.ecr()).is_some())
        .map(str::to_string)
        .collect();
    refs.sort();
    refs.dedup();
    refs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ECR: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v1";

    fn manifest(body: Value) -> Manifest {
        Manifest {
            digest: Some(format!("sha256:{}", "a".repeat(64))),
            media_type: None,
            body: body.to_string(),
        }
    }

    fn index(archs: &[&str]) -> Manifest {
        let manifests: Vec<Value> = archs
            .iter()
            .map(|a| json!({"platform": {"os": "linux", "architecture": a}}))
            .chain([json!({"platform": {"os": "unknown", "architecture": "unknown"}})])
            .collect();
        manifest(
            json!({"mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests}),
        )
    }

    fn body(runtime: Option<Value>) -> Value {
        let mut b = json!({"containerDefinitions": [{"name": "app", "image": ECR}, {"name": "sidecar", "image": "public.ecr.aws/datadog/agent:7"}]});
        if let Some(r) = runtime {
            b["runtimePlatform"] = r;
        }
        b
    }

    #[test]
    fn fargate_defaults_to_linux_x86_and_an_arm_only_index_fails() {
        let images = BTreeMap::from([(ECR.to_string(), Lookup::Found(index(&["arm64"])))]);
        let out = check(&body(None), true, &images);
        assert_eq!(out[0], (format!("container app image {ECR}"), Outcome::Ok));
        assert!(
            matches!(&out[1].1, Outcome::Fail { problem, fix } if problem.contains("linux/amd64") && problem.contains("linux/arm64") && fix.contains("--platform linux/amd64") && fix.contains("ARM64"))
        );
        assert!(matches!(&out[2].1, Outcome::Skipped { why } if why.contains("not in ECR")));
        let arm = body(Some(
            json!({"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"}),
        ));
        assert_eq!(check(&arm, true, &images)[1].1, Outcome::Ok);
        let multi = BTreeMap::from([(ECR.to_string(), Lookup::Found(index(&["amd64", "arm64"])))]);
        assert_eq!(check(&body(None), true, &multi)[1].1, Outcome::Ok);
    }

    #[test]
    fn a_single_platform_manifest_is_skipped_saying_why() {
        let single =
            manifest(json!({"schemaVersion": 2, "config": {"digest": "sha256:1"}, "layers": []}));
        let images = BTreeMap::from([(ECR.to_string(), Lookup::Found(single))]);
        let out = check(&body(None), true, &images);
        assert!(matches!(&out[1].1, Outcome::Skipped { why } if why.contains("single-platform")));
        // An EC2 task without runtimePlatform: the instance decides.
        assert!(
            matches!(&check(&body(None), false, &images)[1].1, Outcome::Skipped { why } if why.contains("instance"))
        );
    }

    #[test]
    fn a_missing_image_or_moved_tag_fails_with_the_fix() {
        let images = BTreeMap::from([(ECR.to_string(), Lookup::Missing)]);
        let out = check(&body(None), true, &images);
        assert!(
            matches!(&out[0].1, Outcome::Fail { fix, .. } if fix == &format!("push {ECR} first, or correct the tag"))
        );
        let pinned = format!("{ECR}@sha256:{}", "b".repeat(64));
        let b = json!({"containerDefinitions": [{"name": "app", "image": pinned}]});
        let images = BTreeMap::from([(pinned.clone(), Lookup::Found(index(&["amd64"])))]);
        let out = check(&b, true, &images);
        assert!(
            matches!(&out[0].1, Outcome::Fail { problem, .. } if problem.contains("not the pinned"))
        );
        let images = BTreeMap::from([(ECR.to_string(), Lookup::Denied("ecr:BatchGetImage"))]);
        assert!(
            matches!(&check(&body(None), true, &images)[0].1, Outcome::Warn { problem } if problem.contains("ecr:BatchGetImage"))
        );
    }

    #[test]
    fn only_ecr_images_are_read() {
        let b = body(None);
        assert_eq!(wanted([&b].into_iter()), [ECR]);
    }
}
