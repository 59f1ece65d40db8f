//! The layering check: no module imports one that imports it back, directly or through
//! others. Read from the source itself (every `crate::…` path and every top-level
//! `use super::…` of an aws/ submodule), at the granularity the layout is described in:
//! each top-level module is one node (`plan`, `history`, `commands`, …), and each aws/
//! submodule is one of its own (`aws::ecs`, `aws::pace`, …; `aws` is aws/mod.rs).
//! Test-only code counts too: a test that imports its caller is a cycle all the same.
//! Comments, doc links included, are not imports and are skipped.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

/// `from → to → the files under `from` that name `to``.
pub type Graph = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

/// The node a file under src/ belongs to, `None` for the crate roots.
fn node_of(relative: &str, aws_modules: &BTreeSet<String>) -> Option<String> {
    let stem = relative.strip_suffix(".rs")?;
    let mut parts = stem.split('/');
    let first = parts.next()?;
    match (first, parts.next()) {
        ("lib" | "main", None) => None,
        ("aws", None | Some("mod")) => Some("aws".into()),
        ("aws", Some(sub)) if aws_modules.contains(sub) => Some(format!("aws::{sub}")),
        (first, _) => Some(first.to_string()),
    }
}

/// The node a path after `crate::` names: `aws::ecs::describe` → `aws::ecs`.
fn target_of(path: &str, aws_modules: &BTreeSet<String>) -> String {
    let mut segments = path.split("::").map(str::trim);
    let first = segments.next().unwrap_or_default();
    match (first, segments.next()) {
        ("aws", Some(sub)) if aws_modules.contains(sub) => format!("aws::{sub}"),
        _ => first.to_string(),
    }
}

/// The paths one `crate::` (or `super::`) reference names: `a::b`, or each item of a
/// `{a, b::c}` group.
fn paths_after(rest: &str) -> Vec<String> {
    let rest = rest.trim_start();
    if let Some(group) = rest.strip_prefix('{') {
        let mut depth = 0usize;
        let mut items = vec![String::new()];
        for c in group.chars() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => items.push(String::new()),
                _ => {}
            }
            if let Some(last) = items.last_mut()
                && !(c == ',' && depth == 0)
            {
                last.push(c);
            }
        }
        items
            .into_iter()
            .map(|i| i.trim().to_string())
            .filter(|i| !i.is_empty() && i != "self")
            .collect()
    } else {
        let path: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        vec![path.trim_end_matches(':').to_string()]
    }
}

/// The nodes one file's text names, besides its own. `in_aws_submodule`: the file is
/// aws/NAME.rs, whose `super` is aws/mod.rs.
pub fn references(
    text: &str,
    node: &str,
    in_aws_submodule: bool,
    aws_modules: &BTreeSet<String>,
) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            for path in paths_after(after) {
                found.insert(target_of(&path, aws_modules));
            }
            rest = after;
        }
        // Only a top-level `use super::` names the parent: indented ones are in a nested
        // `mod tests` and name the file itself.
        if in_aws_submodule && let Some(after) = code.strip_prefix("use super::") {
            for path in paths_after(after) {
                let first = path.split("::").next().unwrap_or_default().trim();
                found.insert(if aws_modules.contains(first) {
                    format!("aws::{first}")
                } else {
                    "aws".to_string()
                });
            }
        }
    }
    found.remove(node);
    found.remove("");
    found
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            rust_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// The module graph of the crate whose sources are under `src`.
pub fn graph_of(src: &Path) -> std::io::Result<Graph> {
    let aws_modules: BTreeSet<String> = std::fs::read_dir(src.join("aws"))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".rs").map(str::to_string);
            stem.or_else(|| e.path().is_dir().then_some(name))
        })
        .filter(|stem| stem != "mod")
        .collect();
    let mut files = Vec::new();
    rust_files(src, &mut files)?;
    let mut graph = Graph::new();
    for file in files {
        let relative = file
            .strip_prefix(src)
            .unwrap_or(&file)
            .to_string_lossy()
            .replace('\\', "/");
        let Some(node) = node_of(&relative, &aws_modules) else {
            continue;
        };
        let text = std::fs::read_to_string(&file)?;
        let edges = graph.entry(node.clone()).or_default();
        let in_aws_submodule = relative.starts_with("aws/")
            && relative.matches('/').count() == 1
            && relative != "aws/mod.rs";
        for to in references(&text, &node, in_aws_submodule, &aws_modules) {
            edges.entry(to).or_default().insert(relative.clone());
        }
    }
    Ok(graph)
}

/// A cycle, as the nodes along it with the first repeated at the end; `None` when there
/// is none.
pub fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    for start in graph.keys() {
        // Shortest way back to `start` from any of its imports.
        let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue: VecDeque<&str> = VecDeque::from([start.as_str()]);
        while let Some(at) = queue.pop_front() {
            for next in graph.get(at).into_iter().flat_map(|e| e.keys()) {
                if next == start {
                    // `at` back to `start` through the BFS parents, then round to `start`.
                    let mut path = vec![at.to_string()];
                    let mut back = at;
                    while let Some(prev) = came_from.get(back) {
                        path.push((*prev).to_string());
                        back = prev;
                    }
                    path.reverse();
                    path.push(start.clone());
                    return Some(path);
                }
                if next != start && !came_from.contains_key(next.as_str()) {
                    came_from.insert(next, at);
                    queue.push_back(next);
                }
            }
        }
    }
    None
}

/// `a → b (a/x.rs) → a (b.rs)`: a cycle with the files that make each step.
pub fn describe(graph: &Graph, cycle: &[String]) -> String {
    let mut text = cycle.first().cloned().unwrap_or_default();
    for pair in cycle.windows(2) {
        let files = graph
            .get(&pair[0])
            .and_then(|e| e.get(&pair[1]))
            .map(|f| f.iter().cloned().collect::<Vec<_>>().join(", "))
            .unwrap_or_default();
        text.push_str(&format!(" → {} (in {files})", pair[1]));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &str)]) -> Graph {
        let mut g = Graph::new();
        for (from, to) in edges {
            g.entry(from.to_string())
                .or_default()
                .entry(to.to_string())
                .or_default()
                .insert(format!("{from}.rs"));
        }
        g
    }

    fn aws() -> BTreeSet<String> {
        ["ecs", "pace", "raw"].map(String::from).into()
    }

    #[test]
    fn the_source_has_no_import_cycle() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let g = graph_of(&src).expect("src/ is readable");
        // The check reads real edges, not an empty graph.
        assert!(g["apply"].contains_key("plan"), "{g:?}");
        assert!(g["aws::ecs"].contains_key("aws"), "{g:?}");
        if let Some(cycle) = find_cycle(&g) {
            panic!("import cycle: {}", describe(&g, &cycle));
        }
    }

    #[test]
    fn the_model_imports_nothing_of_ours() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let g = graph_of(&src).expect("src/ is readable");
        let model = g.get("model").expect("src/model/ exists");
        assert!(model.is_empty(), "model imports {model:?}");
    }

    #[test]
    fn a_planted_cycle_is_caught_and_named() {
        let g = graph(&[("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]);
        let cycle = find_cycle(&g).expect("a → b → c → a");
        assert_eq!(cycle, ["a", "b", "c", "a"]);
        assert_eq!(
            describe(&g, &cycle),
            "a → b (in a.rs) → c (in b.rs) → a (in c.rs)"
        );
        let two = graph(&[("apply", "history"), ("history", "apply")]);
        assert_eq!(
            find_cycle(&two).expect("apply ↔ history"),
            ["apply", "history", "apply"]
        );
    }

    #[test]
    fn a_layered_graph_has_no_cycle() {
        let g = graph(&[("a", "b"), ("a", "c"), ("b", "c"), ("c", "model")]);
        assert_eq!(find_cycle(&g), None);
    }

    #[test]
    fn references_read_paths_groups_and_aws_submodules() {
        let text = "use crate::{error::Result, plan::{Plan, Kind}, self};\n\
                    use crate::aws::ecs::describe;\n\
                    let x = crate::aws::Aws::new();\n\
                    // crate::report is only a comment\n\
                    /// [`crate::history::Reader`] is a doc link\n\
                    use crate::apply::*;\n";
        let found = references(text, "live", false, &aws());
        assert_eq!(
            found,
            ["apply", "aws", "aws::ecs", "error", "plan"]
                .map(String::from)
                .into()
        );
    }

    #[test]
    fn super_in_an_aws_submodule_names_its_sibling_or_parent() {
        let text = "use super::pace::{Group, Paced};\n\
                    use super::{failed, raw::RawJson};\n\
                    mod tests {\n    use super::*;\n}\n";
        assert_eq!(
            references(text, "aws::ecs", true, &aws()),
            ["aws", "aws::pace", "aws::raw"].map(String::from).into()
        );
        // Elsewhere (aws/pace/tests.rs, report/releases.rs) `super::` stays inside the node.
        assert!(references(text, "aws::pace", false, &aws()).is_empty());
        assert!(references(text, "report", false, &aws()).is_empty());
    }

    #[test]
    fn files_map_to_nodes() {
        let aws = aws();
        assert_eq!(node_of("aws/mod.rs", &aws).as_deref(), Some("aws"));
        assert_eq!(node_of("aws/ecs.rs", &aws).as_deref(), Some("aws::ecs"));
        assert_eq!(
            node_of("history/reader.rs", &aws).as_deref(),
            Some("history")
        );
        assert_eq!(node_of("plan.rs", &aws).as_deref(), Some("plan"));
        assert_eq!(node_of("lib.rs", &aws), None);
    }
}
