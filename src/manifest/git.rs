//! Reads one path of the manifest repo at a ref, straight from the object database: remote
//! repos are fetched into a bare cache clone, local clones are read as they are. No checkout.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use git2::{
    AutotagOption, Cred, CredentialType, FetchOptions, FetchPrune, ObjectType, Oid,
    RemoteCallbacks, Repository,
};

use super::finders::ManifestFile;
use crate::error::{Error, Result};

#[derive(Debug)]
pub struct Snapshot {
    pub commit: String,
    pub files: Vec<ManifestFile>,
}

/// How the user named the repo: a URL we fetch, or a clone already on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepoLocation {
    Remote(String),
    Local(PathBuf),
}

impl RepoLocation {
    pub fn parse(spec: &str, base_dir: &Path) -> Self {
        let scp_like = !spec.contains("://")
            && spec.split_once(':').is_some_and(|(host, _)| {
                host.contains('@') && !host.contains('/') && !Path::new(spec).exists()
            });
        if spec.contains("://") || scp_like {
            Self::Remote(spec.to_string())
        } else {
            Self::Local(base_dir.join(spec))
        }
    }
}

/// `https://user:secret@host/x` → `https://host/x`: URLs end up in messages and tags.
pub fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}/{path}")
        }
        None => url.to_string(),
    }
}

pub fn read(
    location: &RepoLocation,
    git_ref: Option<&str>,
    path: &str,
    cache_dir: &Path,
) -> Result<Snapshot> {
    let (repo, default_ref, shown) = match location {
        RepoLocation::Local(dir) => {
            let repo = Repository::open(dir).map_err(|e| {
                Error::new(format!(
                    "manifest repo {}: cannot open: {}",
                    dir.display(),
                    e.message()
                ))
                .hint("set [manifest] repo to a URL or to the path of a git clone")
            })?;
            (repo, "HEAD".to_string(), dir.display().to_string())
        }
        RepoLocation::Remote(url) => {
            let (repo, head) = fetch(url, cache_dir)?;
            (repo, head, redact_url(url))
        }
    };
    let wanted = git_ref.unwrap_or(&default_ref);
    let commit = resolve(&repo, wanted).ok_or_else(|| {
        Error::new(format!(
            "manifest repo {shown}: ref `{wanted}` not found (tried branch, tag, remote branch and commit)"
        ))
        .hint("check [manifest] ref in jobdeploy.toml")
    })?;
    let commit = repo
        .find_commit(commit)
        .map_err(|e| Error::new(format!("manifest repo {shown}: {}", e.message())))?;
    let files = read_path(&repo, &commit, path).map_err(|e| {
        e.context(format!(
            "manifest repo {shown} at `{wanted}` (commit {})",
            short(&commit.id().to_string())
        ))
    })?;
    Ok(Snapshot {
        commit: commit.id().to_string(),
        files,
    })
}

/// The manifest repo's commits around `commit` (C), for the k8s gate: `(descendants, known)`,
/// full hex. `descendants`: every commit with C as an ancestor (C excluded); `known`: every
/// commit reachable from the repo's refs. A remote repo is fetched again first, so commits
/// pushed since the release was read count. At most `limit` commits are walked.
pub fn lineage(
    location: &RepoLocation,
    commit: &str,
    cache_dir: &Path,
    limit: usize,
    tag_at: &TagAt<'_>,
) -> Result<Lineage> {
    let (repo, shown) = match location {
        RepoLocation::Local(dir) => {
            let repo = Repository::open(dir).map_err(|e| {
                Error::new(format!(
                    "manifest repo {}: cannot open: {}",
                    dir.display(),
                    e.message()
                ))
            })?;
            (repo, dir.display().to_string())
        }
        RepoLocation::Remote(url) => (fetch(url, cache_dir)?.0, redact_url(url)),
    };
    let fail = |e: git2::Error| Error::new(format!("manifest repo {shown}: {}", e.message()));
    let c = Oid::from_str(commit).map_err(fail)?;
    let mut walk = repo.revwalk().map_err(fail)?;
    walk.push_glob("refs/*").map_err(fail)?;
    // A local clone's detached HEAD counts too.
    let _ = walk.push_head();
    let mut known = BTreeSet::new();
    let mut after_c = Vec::new();
    for oid in walk.take(limit) {
        let oid = oid.map_err(fail)?;
        known.insert(oid.to_string());
        if oid != c {
            after_c.push(oid);
        }
    }
    let descendants: Vec<Oid> = after_c
        .into_iter()
        .filter(|oid| repo.graph_descendant_of(*oid, c).unwrap_or(false))
        .collect();
    // What the manifest says at each later commit (the newest first, a bounded number): a
    // later commit that k8s applied on another tag supersedes the release.
    let tags = descendants
        .iter()
        .take(TAGGED_DESCENDANTS)
        .filter_map(|oid| {
            let commit = repo.find_commit(*oid).ok()?;
            let files = read_path(&repo, &commit, tag_at.path).ok()?;
            Some((oid.to_string(), (tag_at.tag)(&files)?))
        })
        .collect();
    Ok(Lineage {
        descendants: descendants.iter().map(Oid::to_string).collect(),
        known,
        tags,
    })
}

/// How many of C's descendants have their manifest read for its tag.
const TAGGED_DESCENDANTS: usize = 200;

/// The manifest repo around a commit C (see [`lineage`]).
#[derive(Debug, Clone, Default)]
pub struct Lineage {
    /// Commits with C as an ancestor (C excluded), full hex.
    pub descendants: BTreeSet<String>,
    /// Every commit reachable from the repo's refs.
    pub known: BTreeSet<String>,
    /// Descendant → the image tag (or `@digest`) the manifest names at it.
    pub tags: BTreeMap<String, String>,
}

/// Where the manifest lives in the repo and how to read the release's tag from its files.
pub struct TagAt<'a> {
    pub path: &'a str,
    pub tag: &'a dyn Fn(&[ManifestFile]) -> Option<String>,
}

pub fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

fn token() -> Option<String> {
    let token = ["JOBDEPLOY_GIT_TOKEN", "GITHUB_TOKEN"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))?;
    crate::github::mask(&token);
    Some(token)
}

/// Fetches every branch and tag into a bare clone kept in the cache, so repeated runs only
/// download what is new. Returns the repo and the remote's default branch.
fn fetch(url: &str, cache_dir: &Path) -> Result<(Repository, String)> {
    let shown = redact_url(url);
    let dir = cache_dir
        .join("repos")
        .join(format!("{:016x}.git", fnv1a(url)));
    let fail = |what: &str, e: git2::Error| {
        Error::new(format!("manifest repo {shown}: {what}: {}", e.message()))
    };
    let repo = match Repository::open_bare(&dir) {
        Ok(repo) => repo,
        Err(_) => {
            std::fs::create_dir_all(&dir).map_err(|e| {
                Error::new(format!("cannot create cache dir {}: {e}", dir.display()))
                    .hint("set JOBDEPLOY_CACHE_DIR to a writable directory")
            })?;
            Repository::init_bare(&dir).map_err(|e| fail("cannot create cache clone", e))?
        }
    };
    let token = token();
    let mut attempts = 0;
    let mut callbacks = RemoteCallbacks::new();
    callbacks.credentials(move |_url, username, allowed| {
        attempts += 1;
        if attempts > 3 {
            return Err(git2::Error::from_str("authentication failed"));
        }
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT)
            && let Some(token) = &token
        {
            return Cred::userpass_plaintext("x-access-token", token);
        }
        if allowed.contains(CredentialType::SSH_KEY) {
            return Cred::ssh_key_from_agent(username.unwrap_or("git"));
        }
        Cred::default()
    });
    let mut options = FetchOptions::new();
    options
        .remote_callbacks(callbacks)
        .prune(FetchPrune::On)
        .download_tags(AutotagOption::All);
    let mut remote = repo
        .remote_anonymous(url)
        .map_err(|e| fail("invalid URL", e))?;
    remote
        .fetch(
            &["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"],
            Some(&mut options),
            None,
        )
        .map_err(|e| {
            fail("cannot fetch", e).hint(
                "check [manifest] repo, the network, and that JOBDEPLOY_GIT_TOKEN or GITHUB_TOKEN can read it",
            )
        })?;
    let head = remote
        .default_branch()
        .ok()
        .and_then(|b| b.as_str().map(str::to_string))
        .unwrap_or_else(|| "HEAD".to_string());
    drop(remote);
    Ok((repo, head))
}

fn resolve(repo: &Repository, wanted: &str) -> Option<Oid> {
    let candidates = [
        format!("refs/heads/{wanted}"),
        format!("refs/tags/{wanted}"),
        format!("refs/remotes/origin/{wanted}"),
        wanted.to_string(),
    ];
    for name in &candidates {
        if let Ok(reference) = repo.find_reference(name)
            && let Ok(commit) = reference.peel_to_commit()
        {
            return Some(commit.id());
        }
    }
    // A commit SHA, full or abbreviated.
    if wanted.len() >= 7 && wanted.bytes().all(|b| b.is_ascii_hexdigit()) {
        return repo
            .revparse_single(wanted)
            .ok()
            .and_then(|o| o.peel_to_commit().ok())
            .map(|c| c.id());
    }
    None
}

/// The file at `path`, or every file directly inside the directory at `path`.
fn read_path(
    repo: &Repository,
    commit: &git2::Commit<'_>,
    path: &str,
) -> Result<Vec<ManifestFile>> {
    let tree = commit
        .tree()
        .map_err(|e| Error::new(format!("cannot read tree: {}", e.message())))?;
    let trimmed = path.trim_matches('/');
    let object = if trimmed.is_empty() || trimmed == "." {
        tree.as_object().clone()
    } else {
        let entry = tree.get_path(Path::new(trimmed)).map_err(|_| {
            Error::new(format!("path `{path}` does not exist"))
                .hint("check [manifest] path in jobdeploy.toml")
        })?;
        entry
            .to_object(repo)
            .map_err(|e| Error::new(format!("path `{path}`: {}", e.message())))?
    };
    let text_of = |blob: &git2::Blob<'_>, path: String| -> Option<ManifestFile> {
        std::str::from_utf8(blob.content())
            .ok()
            .map(|t| ManifestFile {
                path,
                text: t.to_string(),
            })
    };
    match object.kind() {
        Some(ObjectType::Blob) => {
            let blob = object
                .peel_to_blob()
                .map_err(|e| Error::new(format!("path `{path}`: {}", e.message())))?;
            text_of(&blob, trimmed.to_string())
                .map(|f| vec![f])
                .ok_or_else(|| Error::new(format!("path `{path}` is not a text file")))
        }
        Some(ObjectType::Tree) => {
            let dir = object
                .peel_to_tree()
                .map_err(|e| Error::new(format!("path `{path}`: {}", e.message())))?;
            let mut files = Vec::new();
            for entry in dir.iter() {
                if entry.kind() != Some(ObjectType::Blob) {
                    continue;
                }
                let Some(name) = entry.name() else { continue };
                let Ok(blob) = repo.find_blob(entry.id()) else {
                    continue;
                };
                let full = if trimmed.is_empty() || trimmed == "." {
                    name.to_string()
                } else {
                    format!("{trimmed}/{name}")
                };
                files.extend(text_of(&blob, full));
            }
            Ok(files)
        }
        _ => Err(Error::new(format!(
            "path `{path}` is neither a file nor a directory"
        ))),
    }
}

/// Stable across runs and platforms (unlike `DefaultHasher`), so the cache dir is reused.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        let base = Path::new("/app");
        assert_eq!(
            RepoLocation::parse("https://github.com/a/b.git", base),
            RepoLocation::Remote("https://github.com/a/b.git".into())
        );
        assert_eq!(
            RepoLocation::parse("git@github.com:a/b.git", base),
            RepoLocation::Remote("git@github.com:a/b.git".into())
        );
        assert_eq!(
            RepoLocation::parse("../k8s", base),
            RepoLocation::Local(PathBuf::from("/app/../k8s"))
        );
        assert_eq!(
            RepoLocation::parse("/abs/k8s", base),
            RepoLocation::Local(PathBuf::from("/abs/k8s"))
        );
    }

    #[test]
    fn urls_lose_credentials() {
        assert_eq!(
            redact_url("https://x-access-token:ghp_secret@github.com/a/b.git"),
            "https://github.com/a/b.git"
        );
        assert_eq!(redact_url("file:///tmp/repo"), "file:///tmp/repo");
    }
}
