//! Container image references, parsed by the Docker reference grammar:
//! `[registry[:port]/]path[:tag][@algorithm:hex]`.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry and repository path, e.g. `host:5000/team/app`.
    pub name: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageRefError {
    #[error("image reference is empty")]
    Empty,
    #[error(
        "`{0}` is not a valid tag (letters, digits, `_`, `.` and `-`, at most 128, not starting with `.` or `-`)"
    )]
    BadTag(String),
    #[error("`{0}` is not a valid digest (expected `sha256:` and 64 hex digits)")]
    BadDigest(String),
    #[error("`{0}` is not a valid registry host")]
    BadRegistry(String),
    #[error(
        "`{0}` is not a valid repository path component (lowercase letters, digits, separators `.`, `_`, `__`, `-`)"
    )]
    BadComponent(String),
}

/// Where an image lives in ECR: what DescribeImages needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrRepository {
    pub account: String,
    pub region: String,
    pub repository: String,
}

impl ImageRef {
    pub fn parse(input: &str) -> Result<Self, ImageRefError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(ImageRefError::Empty);
        }
        let (rest, digest) = match input.split_once('@') {
            Some((rest, digest)) => {
                validate_digest(digest)?;
                (rest, Some(digest.to_string()))
            }
            None => (input, None),
        };
        // A tag is a `:` after the last `/`; a `:` before it is a registry port.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let tag = &rest[last_slash + i + 1..];
                validate_tag(tag)?;
                (&rest[..last_slash + i], Some(tag.to_string()))
            }
            None => (rest, None),
        };
        validate_name(name)?;
        Ok(Self {
            name: name.to_string(),
            tag,
            digest,
        })
    }

    /// The registry host (with port), when the name has one.
    pub fn registry(&self) -> Option<&str> {
        let (first, _) = self.name.split_once('/')?;
        is_registry(first).then_some(first)
    }

    /// `name@digest` when pinned to a digest, else `name:tag`, else the bare name.
    pub fn reference(&self) -> String {
        match (&self.tag, &self.digest) {
            (_, Some(digest)) => format!("{}@{digest}", self.name),
            (Some(tag), None) => format!("{}:{tag}", self.name),
            (None, None) => self.name.clone(),
        }
    }

    /// `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]/<repo>`.
    pub fn ecr(&self) -> Option<EcrRepository> {
        let host = self.registry()?;
        let parts: Vec<&str> = host.split('.').collect();
        let is_ecr = parts.len() >= 6
            && parts[0].len() == 12
            && parts[0].bytes().all(|b| b.is_ascii_digit())
            && parts[1] == "dkr"
            && (parts[2] == "ecr" || parts[2] == "ecr-fips")
            && parts[4] == "amazonaws"
            && parts[5] == "com";
        is_ecr.then(|| EcrRepository {
            account: parts[0].to_string(),
            region: parts[3].to_string(),
            repository: self.name[host.len() + 1..].to_string(),
        })
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reference())
    }
}

pub fn validate_tag(tag: &str) -> Result<(), ImageRefError> {
    let mut bytes = tag.bytes();
    let ok = match bytes.next() {
        Some(first) => {
            (first.is_ascii_alphanumeric() || first == b'_')
                && tag.len() <= 128
                && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(ImageRefError::BadTag(tag.to_string()))
    }
}

fn validate_digest(digest: &str) -> Result<(), ImageRefError> {
    let ok = match digest.split_once(':') {
        Some(("sha256", hex)) => hex.len() == 64,
        Some(("sha384", hex)) => hex.len() == 96,
        Some(("sha512", hex)) => hex.len() == 128,
        _ => false,
    } && digest
        .split_once(':')
        .is_some_and(|(_, hex)| hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
    if ok {
        Ok(())
    } else {
        Err(ImageRefError::BadDigest(digest.to_string()))
    }
}

fn is_registry(component: &str) -> bool {
    component.contains('.') || component.contains(':') || component == "localhost"
}

fn validate_name(name: &str) -> Result<(), ImageRefError> {
    if name.is_empty() {
        return Err(ImageRefError::Empty);
    }
    let mut components = name.split('/').peekable();
    if let Some(first) = components.peek().copied()
        && name.contains('/')
        && is_registry(first)
    {
        validate_registry(first)?;
        components.next();
    }
    for component in components {
        validate_component(component)?;
    }
    Ok(())
}

fn validate_registry(host: &str) -> Result<(), ImageRefError> {
    let bad = || ImageRefError::BadRegistry(host.to_string());
    let (hostname, port) = match host.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (h, Some(p)),
        _ => (host, None),
    };
    if let Some(port) = port
        && (port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad());
    }
    let ipv6 = hostname.starts_with('[') && hostname.ends_with(']');
    let ok = ipv6
        || (!hostname.is_empty()
            && hostname.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            }));
    if ok { Ok(()) } else { Err(bad()) }
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn validate_component(component: &str) -> Result<(), ImageRefError> {
    let bad = || ImageRefError::BadComponent(component.to_string());
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return Err(bad());
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let separator = &component[start..i];
        let valid = separator == "."
            || separator == "_"
            || separator == "__"
            || separator.bytes().all(|b| b == b'-');
        if !valid {
            return Err(bad());
        }
    }
    Ok(())
}

/// The tag of `reference` when it names `image_name` (`name:tag`, `name:tag@digest`;
/// `name@digest` gives `@digest`); `None` for other images, even ones sharing a prefix.
pub fn tag_of(reference: &str, image_name: &str) -> Option<String> {
    let rest = reference.strip_prefix(image_name)?;
    if let Some(tag) = rest.strip_prefix(':') {
        let tag = tag.split('@').next().unwrap_or(tag);
        Some(tag.to_string())
    } else if rest.starts_with('@') {
        Some(rest.to_string())
    } else {
        None
    }
}

/// The distinct tags of `image_name` among `references`, sorted.
pub fn tags_of<'a>(
    references: impl IntoIterator<Item = &'a String>,
    image_name: &str,
) -> Vec<String> {
    let mut tags: Vec<String> = references
        .into_iter()
        .filter_map(|i| tag_of(i, image_name))
        .collect();
    tags.sort();
    tags.dedup();
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn plain_name_and_tag() {
        let r = ImageRef::parse("web:v1.2.3").unwrap();
        assert_eq!(r.name, "web");
        assert_eq!(r.tag.as_deref(), Some("v1.2.3"));
        assert_eq!(r.digest, None);
        assert_eq!(r.registry(), None);
    }

    #[test]
    fn registry_port_is_not_a_tag() {
        let r = ImageRef::parse("registry.local:5000/team/app").unwrap();
        assert_eq!(r.name, "registry.local:5000/team/app");
        assert_eq!(r.tag, None);
        assert_eq!(r.registry(), Some("registry.local:5000"));

        let r = ImageRef::parse("localhost:5000/app:2024-01").unwrap();
        assert_eq!(r.name, "localhost:5000/app");
        assert_eq!(r.tag.as_deref(), Some("2024-01"));
    }

    #[test]
    fn tag_and_digest() {
        let r = ImageRef::parse(&format!("ghcr.io/acme/web:v2@{DIGEST}")).unwrap();
        assert_eq!(r.name, "ghcr.io/acme/web");
        assert_eq!(r.tag.as_deref(), Some("v2"));
        assert_eq!(r.digest.as_deref(), Some(DIGEST));
        assert_eq!(r.reference(), format!("ghcr.io/acme/web@{DIGEST}"));
    }

    #[test]
    fn digest_without_tag() {
        let r = ImageRef::parse(&format!("web@{DIGEST}")).unwrap();
        assert_eq!(r.tag, None);
        assert_eq!(r.digest.as_deref(), Some(DIGEST));
    }

    #[test]
    fn rejects_bad_tags() {
        for bad in [
            "web:v1 2",
            "web:$(rm -rf)",
            "web:.hidden",
            "web:-x",
            "web:",
            "web:a;b",
        ] {
            assert!(
                matches!(ImageRef::parse(bad), Err(ImageRefError::BadTag(_))),
                "{bad}"
            );
        }
        let long = format!("web:{}", "a".repeat(129));
        assert!(ImageRef::parse(&long).is_err());
        assert!(ImageRef::parse(&format!("web:{}", "a".repeat(128))).is_ok());
    }

    #[test]
    fn rejects_bad_names_and_digests() {
        assert_eq!(
            ImageRef::parse("Web:v1"),
            Err(ImageRefError::BadComponent("Web".into()))
        );
        assert!(matches!(
            ImageRef::parse("web@sha256:abc"),
            Err(ImageRefError::BadDigest(_))
        ));
        assert!(matches!(
            ImageRef::parse("bad_host.:80/app"),
            Err(ImageRefError::BadRegistry(_))
        ));
        assert_eq!(ImageRef::parse("  "), Err(ImageRefError::Empty));
        assert!(ImageRef::parse("a//b").is_err());
    }

    #[test]
    fn separators_follow_the_grammar() {
        assert!(ImageRef::parse("a__b/c-d/e.f/g---h").is_ok());
        assert!(ImageRef::parse("a___b").is_err());
        assert!(ImageRef::parse("a.-b").is_err());
    }

    #[test]
    fn ecr_repository() {
        let r = ImageRef::parse("123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/team/web:v1")
            .unwrap();
        assert_eq!(
            r.ecr(),
            Some(EcrRepository {
                account: "123456789012".into(),
                region: "ap-northeast-1".into(),
                repository: "team/web".into(),
            })
        );
        assert_eq!(ImageRef::parse("ghcr.io/acme/web:v1").unwrap().ecr(), None);
        assert_eq!(
            ImageRef::parse("123.dkr.ecr.us-east-1.amazonaws.com/web")
                .unwrap()
                .ecr(),
            None
        );
    }
}
