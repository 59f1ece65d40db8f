//! Real git repositories holding the Kubernetes half of a release.

use super::IMAGE;

/// A real git repository holding Kubernetes manifests.
pub struct ManifestRepo {
    pub dir: tempfile::TempDir,
    pub repo: git2::Repository,
}

impl ManifestRepo {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut opts = git2::RepositoryInitOptions::new();
        opts.initial_head("main");
        let repo = git2::Repository::init_opts(dir.path(), &opts).expect("git init");
        Self { dir, repo }
    }

    pub fn url(&self) -> String {
        format!("file://{}", self.dir.path().display())
    }

    /// Writes the files and commits them on the current branch; returns the commit SHA.
    pub fn commit(&self, files: &[(&str, &str)], message: &str) -> String {
        for (path, text) in files {
            let full = self.dir.path().join(path);
            std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
            std::fs::write(full, text).expect("write");
        }
        let mut index = self.repo.index().expect("index");
        index
            .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .expect("add");
        index.write().expect("write index");
        let tree = self
            .repo
            .find_tree(index.write_tree().expect("tree"))
            .expect("tree");
        let sig = git2::Signature::now("release bot", "bot@example.com").expect("sig");
        let parent = self.repo.head().ok().and_then(|h| h.peel_to_commit().ok());
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        self.repo
            .commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
            .expect("commit")
            .to_string()
    }

    /// Commits `files` but leaves the branch where it was: the commit exists (its SHA can be
    /// scripted) yet no fetch sees it until [`push_of`] moves the branch to it, as a push
    /// to the repo would.
    pub fn prepare_commit(&self, files: &[(&str, &str)], message: &str) -> String {
        let before = self
            .repo
            .head()
            .expect("head")
            .target()
            .expect("branch tip");
        let sha = self.commit(files, message);
        self.repo
            .reference("refs/heads/main", before, true, "not pushed yet")
            .expect("reset branch");
        let tree = self.repo.find_commit(before).expect("commit").into_object();
        self.repo
            .reset(&tree, git2::ResetType::Hard, None)
            .expect("reset");
        sha
    }

    /// A closure that moves the branch to `sha` (made by [`prepare_commit`]): the push.
    pub fn push_of(&self, sha: &str) -> impl FnOnce() + Send + 'static {
        let dir = self.dir.path().to_path_buf();
        let sha = sha.to_string();
        move || {
            let repo = git2::Repository::open(dir).expect("open manifest repo");
            let oid = git2::Oid::from_str(&sha).expect("sha");
            repo.reference("refs/heads/main", oid, true, "push")
                .expect("push");
        }
    }

    /// Commits `apps/web/kustomization.yaml` naming `tag`, as the Kubernetes half of a
    /// release would; returns the commit SHA.
    pub fn release(&self, tag: &str) -> String {
        self.commit(
            &[("apps/web/kustomization.yaml", &Self::kustomization(tag))],
            &format!("web {tag}"),
        )
    }

    pub fn kustomization(tag: &str) -> String {
        format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [../../base]\nimages:\n  - name: {IMAGE}\n    newTag: {tag}\n"
        )
    }
}
