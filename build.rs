//! Records the commit jobdeploy was built from, for `--version`; and reads the source's module
//! graph for the layers check (src/layers.rs, a unit test), into `$OUT_DIR/layers.txt`.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "build/layers_parse.rs"]
mod layers_parse;
#[path = "build/layers_plants.rs"]
mod layers_plants;

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
    layers();
}

/// The module graph of src/, and of src/ with each planted import, as lines the test reads:
/// `graph NAME`, `file PATH MODULE`, `edge FROM TO FILE`, `error MESSAGE` (tab-separated).
/// Never fails the build: a problem is written down for the test to report.
fn layers() {
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=build");
    let Some(out) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        return;
    };
    let mut text = String::new();
    match layers_parse::read_sources(Path::new("src")) {
        Err(e) => text.push_str(&format!("error\tsrc/ is not readable: {e}\n")),
        Ok(files) => {
            graph(&mut text, "source", &files, true);
            for (name, file, line) in layers_plants::PLANTS {
                let mut planted = files.clone();
                match planted.get_mut(*file) {
                    Some(t) => t.push_str(&format!("\n{line}\n")),
                    None => text.push_str(&format!("error\tplant {name}: no src/{file}\n")),
                }
                graph(&mut text, name, &planted, false);
            }
        }
    }
    let _ = std::fs::write(out.join("layers.txt"), text);
}

fn graph(
    text: &mut String,
    name: &str,
    files: &std::collections::BTreeMap<String, String>,
    with_files: bool,
) {
    text.push_str(&format!("graph\t{name}\n"));
    if with_files {
        match layers_parse::load(files) {
            Ok((sources, _)) => {
                for s in sources {
                    text.push_str(&format!("file\t{}\t{}\n", s.file, s.module.join("::")));
                }
            }
            Err(e) => text.push_str(&format!("error\t{e}\n")),
        }
    }
    match layers_parse::graph_of_files(files) {
        Ok(g) => {
            for (from, edges) in g {
                // A node with no edges still is a node.
                text.push_str(&format!("node\t{from}\n"));
                for (to, in_files) in edges {
                    for file in in_files {
                        text.push_str(&format!("edge\t{from}\t{to}\t{file}\n"));
                    }
                }
            }
        }
        Err(e) => text.push_str(&format!("error\t{e}\n")),
    }
}
