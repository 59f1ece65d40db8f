//! Records the commit jobdeploy was built from, for `--version`.

use std::process::Command;

fn main() {
    let commit = std::env::var("JOBDEPLOY_BUILD_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| {
            Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .and_then(|o| String::from_utf8(o.stdout).ok())
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown commit".to_string());
    println!("cargo:rustc-env=JOBDEPLOY_COMMIT={commit}");
    println!("cargo:rerun-if-env-changed=JOBDEPLOY_BUILD_COMMIT");
    for path in [".git/HEAD", ".git/refs/heads", ".git/packed-refs"] {
        if std::path::Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}
