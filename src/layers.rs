//! The layering check. build.rs parses src/ with `syn` (build/layers_parse.rs: every `use`
//! tree and every path, resolved through `crate::`, `super::` at any depth, `self::`, child
//! modules and names a `use` brought in) and writes the module graph to
//! `$OUT_DIR/layers.txt`; this module checks it. (Parsing in build.rs lets the check share the
//! host build of syn the proc macros already have; see Cargo.toml.)
//!
//! Nodes are the top-level modules (`plan`, `history`, `commands`, …), and each child of aws/
//! is one of its own (`aws::ecs`, `aws::pace`, …; `aws` is aws/mod.rs). Two rules, both
//! failing with the files behind each step:
//! - no cycle: no module imports one that imports it back, directly or through others;
//! - every edge is in [`ALLOWED`], the table of layers lib.rs and README describe.
//!
//! Test-only code counts too: a test that imports its caller is a cycle all the same.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// `from → to → the files under `from` that name `to``.
pub type Graph = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

/// The layers, bottom up: each module and the modules it may name. `aws::*` is any aws/
/// adapter without a row of its own. This is lib.rs's (and README's) description as a table;
/// a new module gets a row placed where that description says it belongs, and an edge the
/// table lacks fails `the_source_keeps_its_layers` naming the files.
pub const ALLOWED: &[(&str, &[&str])] = &[
    // Leaves: the nouns, and helpers every layer may use.
    ("model", &[]),
    ("error", &["model"]),
    ("image", &["error"]),
    ("secrets", &[]),
    ("github", &["error"]),
    ("progress", &["error", "github", "model"]),
    ("layers", &[]),
    // aws/: the pacer and the raw-JSON interceptor at its bottom, then aws/mod.rs (clients,
    // the one error mapper, the paginator), then one adapter per service; `owner` reads a
    // target's owner through the EventBridge and Scheduler adapters.
    ("aws::pace", &["error", "model"]),
    ("aws::raw", &["error"]),
    (
        "aws",
        &["aws::pace", "aws::raw", "config", "error", "model"],
    ),
    (
        "aws::owner",
        &[
            "aws",
            "aws::events",
            "aws::scheduler",
            "aws::pace",
            "error",
            "model",
        ],
    ),
    (
        "aws::*",
        &["aws", "aws::pace", "aws::raw", "error", "image", "model"],
    ),
    // The pipeline: config → manifest (the release) → render → live → plan → apply. Releases
    // (history) sit between the reads and the release: its reader reads through live's
    // types, and manifest and plan use its pure release ids. init's pure half uses only the
    // leaves (render's tests render back what it writes).
    ("config", &["aws::pace", "error", "image", "model"]),
    ("live", &["aws", "aws::*", "config", "error", "model"]),
    (
        "history",
        &["aws", "aws::*", "error", "image", "live", "model"],
    ),
    ("init", &["config", "error", "image", "model"]),
    (
        "manifest",
        &["config", "error", "github", "history", "image", "model"],
    ),
    (
        "render",
        &[
            "config", "error", "image", "init", "manifest", "model", "secrets",
        ],
    ),
    ("normalize", &["model"]),
    (
        "plan",
        &[
            "config",
            "error",
            "history",
            "image",
            "live",
            "manifest",
            "model",
            "normalize",
            "render",
        ],
    ),
    (
        "apply",
        &[
            "aws", "aws::*", "config", "error", "history", "image", "live", "manifest", "model",
            "plan", "progress",
        ],
    ),
    ("prune", &["history", "live", "model"]),
    // Beside the pipeline, over the same model and adapters: the task runner (which smoke
    // runs on a plan's new revisions), the preflight checks, the IAM policy.
    (
        "run",
        &[
            "apply", "aws", "aws::*", "config", "error", "github", "live", "model", "plan",
            "progress", "render", "secrets",
        ],
    ),
    (
        "verify",
        &[
            "aws", "aws::*", "config", "error", "image", "live", "model", "render", "secrets",
        ],
    ),
    (
        "iam",
        &[
            "config", "error", "image", "live", "model", "render", "verify",
        ],
    ),
    // The Kubernetes side: a small HTTP client, readers and a pure verdict over the model and
    // the release; it signs EKS tokens with the AWS credentials (aws/mod.rs).
    (
        "k8s",
        &[
            "aws", "config", "error", "github", "image", "manifest", "model", "progress",
        ],
    ),
    // What a release's jobs did: reads like verify's, and the runner's task states.
    (
        "runs",
        &[
            "aws", "aws::*", "config", "error", "history", "live", "model", "progress", "run",
        ],
    ),
    // Output: the only place English is produced, from every step's result.
    (
        "report",
        &[
            "apply",
            "aws::pace",
            "config",
            "error",
            "github",
            "history",
            "image",
            "k8s",
            "live",
            "manifest",
            "model",
            "plan",
            "prune",
            "run",
            "runs",
            "secrets",
            "verify",
        ],
    ),
    ("cli", &["config", "report"]),
    // The commands wire every step; nothing names them.
    (
        "commands",
        &[
            "apply",
            "aws",
            "aws::*",
            "cli",
            "config",
            "error",
            "github",
            "history",
            "iam",
            "image",
            "init",
            "k8s",
            "live",
            "manifest",
            "model",
            "normalize",
            "plan",
            "progress",
            "prune",
            "render",
            "report",
            "run",
            "runs",
            "secrets",
            "verify",
        ],
    ),
];

/// Whether the table lets `from` name `to`: the row for `from` itself, else its `X::*` row.
pub fn allowed(from: &str, to: &str) -> Option<bool> {
    let row = ALLOWED.iter().find(|(f, _)| *f == from).or_else(|| {
        ALLOWED
            .iter()
            .find(|(f, _)| f.strip_suffix("::*").is_some_and(|p| is_child_of(from, p)))
    })?;
    Some(
        row.1
            .iter()
            .any(|t| *t == to || t.strip_suffix("::*").is_some_and(|p| is_child_of(to, p))),
    )
}

fn is_child_of(node: &str, parent: &str) -> bool {
    node.strip_prefix(parent)
        .and_then(|r| r.strip_prefix("::"))
        .is_some_and(|r| !r.is_empty())
}

/// What build.rs read: each graph by name (`source`, then one per planted import), the files
/// of the source with their module paths, and anything it could not read.
#[derive(Debug, Default)]
pub struct Facts {
    pub graphs: BTreeMap<String, Graph>,
    pub files: BTreeMap<String, String>,
    pub errors: Vec<String>,
}

impl Facts {
    pub fn read(text: &str) -> Self {
        let mut facts = Facts::default();
        let mut current = String::new();
        for line in text.lines() {
            let fields: Vec<&str> = line.split('\t').collect();
            match fields.as_slice() {
                ["graph", name] => {
                    current = name.to_string();
                    facts.graphs.entry(current.clone()).or_default();
                }
                ["file", file, module] => {
                    facts.files.insert(file.to_string(), module.to_string());
                }
                ["node", node] => {
                    facts
                        .graphs
                        .entry(current.clone())
                        .or_default()
                        .entry(node.to_string())
                        .or_default();
                }
                ["edge", from, to, file] => {
                    facts
                        .graphs
                        .entry(current.clone())
                        .or_default()
                        .entry(from.to_string())
                        .or_default()
                        .entry(to.to_string())
                        .or_default()
                        .insert(file.to_string());
                }
                ["error", message] => facts.errors.push(format!("{current}: {message}")),
                _ => facts.errors.push(format!("unreadable line: {line}")),
            }
        }
        facts
    }
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

/// Everything wrong with a graph: a cycle, edges against [`ALLOWED`], and modules the table
/// does not place. Empty when the layering holds.
pub fn problems(graph: &Graph) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(cycle) = find_cycle(graph) {
        found.push(format!("import cycle: {}", describe(graph, &cycle)));
    }
    for (from, edges) in graph {
        for (to, files) in edges {
            let files = files.iter().cloned().collect::<Vec<_>>().join(", ");
            match allowed(from, to) {
                None => found.push(format!(
                    "module `{from}` has no row in layers::ALLOWED (it names `{to}` in {files})"
                )),
                Some(false) => found.push(format!(
                    "layer rule: `{from}` may not name `{to}` (in {files})"
                )),
                Some(true) => {}
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const FACTS: &str = include_str!(concat!(env!("OUT_DIR"), "/layers.txt"));

    fn facts() -> Facts {
        let facts = Facts::read(FACTS);
        assert!(facts.errors.is_empty(), "{:#?}", facts.errors);
        facts
    }

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

    /// The problems of the source with the planted import `name` (build/layers_plants.rs).
    fn planted(name: &str) -> Vec<String> {
        let facts = facts();
        let g = facts
            .graphs
            .get(name)
            .unwrap_or_else(|| panic!("build.rs read no plant {name}"));
        problems(g)
    }

    fn assert_caught(problems: &[String], edge: &str, file: &str) {
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("layer rule:") && p.contains(edge) && p.contains(file)),
            "{edge} in {file} not reported: {problems:#?}"
        );
    }

    #[test]
    fn the_source_keeps_its_layers() {
        let facts = facts();
        let g = &facts.graphs["source"];
        // The check reads real edges, not an empty graph.
        assert!(g["apply"].contains_key("plan"), "{g:?}");
        assert!(g["aws::ecs"].contains_key("aws"), "{g:?}");
        assert!(g["aws::ecs"].contains_key("aws::pace"), "{g:?}");
        assert!(g["commands"].contains_key("report"), "{g:?}");
        let problems = problems(g);
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn every_source_file_is_read() {
        let facts = facts();
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut unread = Vec::new();
        let mut dirs = vec![src.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("src/ is readable") {
                let path = entry.expect("an entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let relative = path
                        .strip_prefix(&src)
                        .expect("under src/")
                        .to_string_lossy()
                        .replace('\\', "/");
                    if relative != "main.rs" && !facts.files.contains_key(&relative) {
                        unread.push(relative);
                    }
                }
            }
        }
        assert!(unread.is_empty(), "not reached from lib.rs: {unread:?}");
        // `#[path]` modules are found at the path rustc gives them.
        assert_eq!(
            facts.files.get("run/wait_tests.rs").map(String::as_str),
            Some("run::wait::tests")
        );
    }

    #[test]
    fn the_model_imports_nothing_of_ours() {
        let facts = facts();
        let model = facts.graphs["source"]
            .get("model")
            .expect("src/model/ exists");
        assert!(model.is_empty(), "model imports {model:?}");
    }

    // The issue-23 bug: two planted imports in model/time.rs made a cycle the line-by-line
    // check did not see. One planted import per form the parser must read.

    #[test]
    fn a_planted_super_super_import_is_caught() {
        let found = planted("super_super");
        assert_caught(&found, "`model` may not name `apply`", "model/time.rs");
        assert!(
            found.iter().any(|p| p.starts_with("import cycle:")),
            "{found:#?}"
        );
    }

    #[test]
    fn a_planted_rustfmt_wrapped_crate_group_is_caught() {
        let found = planted("wrapped_group");
        assert_caught(&found, "`model` may not name `apply`", "model/time.rs");
    }

    #[test]
    fn a_planted_pub_use_super_is_caught() {
        let found = planted("pub_use_super");
        assert_caught(&found, "`aws::pace` may not name `aws::ecs`", "aws/pace.rs");
    }

    #[test]
    fn a_planted_path_in_an_expression_or_a_macro_call_is_caught() {
        let found = planted("expression");
        assert_caught(&found, "`model` may not name `apply`", "model/time.rs");
        let found = planted("macro_tokens");
        assert_caught(&found, "`model` may not name `plan`", "model/time.rs");
    }

    #[test]
    fn a_planted_relative_child_path_is_caught() {
        let found = planted("relative_child");
        assert_caught(&found, "`aws` may not name `aws::ecs`", "aws/mod.rs");
        assert!(
            found.iter().any(|p| p.starts_with("import cycle:")),
            "{found:#?}"
        );
    }

    #[test]
    fn a_planted_self_path_is_caught() {
        let found = planted("self_path");
        assert_caught(&found, "`aws` may not name `aws::scheduler`", "aws/mod.rs");
    }

    #[test]
    fn a_planted_path_through_a_used_module_is_caught() {
        let found = planted("through_a_use");
        assert_caught(&found, "`model` may not name `aws::ecs`", "model/time.rs");
    }

    #[test]
    fn comments_strings_locals_and_visibility_are_not_imports() {
        let facts = facts();
        assert_eq!(facts.graphs["not_imports"], facts.graphs["source"]);
    }

    #[test]
    fn a_module_without_a_row_is_named() {
        let g = graph(&[("newmod", "model")]);
        assert_eq!(
            problems(&g),
            ["module `newmod` has no row in layers::ALLOWED (it names `model` in newmod.rs)"]
        );
    }

    #[test]
    fn the_table_reads_rows_and_wildcards() {
        assert_eq!(allowed("model", "apply"), Some(false));
        assert_eq!(allowed("aws::ecs", "aws::pace"), Some(true));
        assert_eq!(allowed("aws::ecs", "aws::events"), Some(false));
        assert_eq!(allowed("live", "aws::scheduler"), Some(true));
        assert_eq!(allowed("aws::owner", "aws::events"), Some(true));
        assert_eq!(allowed("nowhere", "model"), None);
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
}
