//! The parsing half of the layers check (src/layers.rs), run by build.rs: reads the crate with
//! `syn` from `lib.rs` through its `mod` declarations (with `#[path]`), so every module is
//! seen at the path rustc gives it, and resolves every `use` tree (groups, globs, renames,
//! `pub use`) and every path (in expressions, types, patterns, and the tokens of macro calls)
//! as rustc does: `crate::`, `super::` at any depth, `self::`, a child module named
//! relatively, and a name a `use` brought into scope (`use crate::aws; aws::ecs::describe()`).
//! Comments and string literals are not paths and are never read.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

use proc_macro2::{Spacing, TokenStream, TokenTree};
use syn::visit::Visit;

/// `from → to → the files under `from` that name `to``.
pub type Graph = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

/// Modules whose children are layered among themselves, so each child is a node.
pub const SPLIT: &[&str] = &["aws"];

pub type ModPath = Vec<String>;

/// One file of the crate, at the module path rustc gives it.
pub struct Source {
    pub file: String,
    pub module: ModPath,
    ast: syn::File,
}

/// The crate's files from `lib.rs` through its `mod` declarations. `files`: path relative to
/// src/ → text. A file that does not parse is an error naming it.
pub fn load(files: &BTreeMap<String, String>) -> Result<(Vec<Source>, BTreeSet<ModPath>), String> {
    let mut sources = Vec::new();
    let mut modules = BTreeSet::new();
    let mut queue = VecDeque::from([("lib.rs".to_string(), ModPath::new())]);
    while let Some((file, module)) = queue.pop_front() {
        let text = files
            .get(&file)
            .ok_or_else(|| format!("src/{file}: declared by a `mod` but missing"))?;
        let ast = syn::parse_file(text).map_err(|e| format!("src/{file}: {e}"))?;
        modules.insert(module.clone());
        // Where `mod x;` looks: beside lib.rs/mod.rs, else in the directory named after the
        // file; `#[path]` is relative to the file's own directory.
        let dir = file.rsplit_once('/').map_or("", |(d, _)| d).to_string();
        let stem = file.rsplit('/').next().unwrap_or(&file);
        let base = if matches!(stem, "lib.rs" | "mod.rs" | "main.rs") {
            dir.clone()
        } else {
            join(&dir, stem.trim_end_matches(".rs"))
        };
        declared(
            &ast.items,
            &module,
            &base,
            &dir,
            true,
            files,
            &mut queue,
            &mut modules,
        );
        sources.push(Source { file, module, ast });
    }
    Ok((sources, modules))
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// The `mod` items of one file (inline ones recursed into): files queued, modules recorded.
#[allow(clippy::too_many_arguments)]
fn declared(
    items: &[syn::Item],
    module: &ModPath,
    base: &str,
    file_dir: &str,
    top: bool,
    files: &BTreeMap<String, String>,
    queue: &mut VecDeque<(String, ModPath)>,
    modules: &mut BTreeSet<ModPath>,
) {
    for item in items {
        let syn::Item::Mod(m) = item else { continue };
        let name = m.ident.to_string();
        let mut child = module.clone();
        child.push(name.clone());
        modules.insert(child.clone());
        match &m.content {
            Some((_, inner)) => declared(
                inner,
                &child,
                &join(base, &name),
                file_dir,
                false,
                files,
                queue,
                modules,
            ),
            None => {
                let explicit = m.attrs.iter().find_map(|a| match &a.meta {
                    syn::Meta::NameValue(nv) if nv.path.is_ident("path") => match &nv.value {
                        syn::Expr::Lit(syn::ExprLit {
                            lit: syn::Lit::Str(s),
                            ..
                        }) => Some(s.value()),
                        _ => None,
                    },
                    _ => None,
                });
                let file = match explicit {
                    Some(p) => join(if top { file_dir } else { base }, &p),
                    None => {
                        let flat = join(base, &format!("{name}.rs"));
                        if files.contains_key(&flat) {
                            flat
                        } else {
                            join(base, &format!("{name}/mod.rs"))
                        }
                    }
                };
                queue.push_back((file, child));
            }
        }
    }
}

/// Every path one file names, each with the module it is named in.
#[derive(Default)]
struct Named {
    module: ModPath,
    /// `(module, path)`: paths outside `use`, two segments or more.
    paths: Vec<(ModPath, Vec<String>)>,
    /// `(module, path, the name it binds)`: the leaves of `use` trees.
    uses: Vec<(ModPath, Vec<String>, Option<String>)>,
}

impl Named {
    fn path(&mut self, segments: Vec<String>) {
        // One segment is a local, a function or a type of this module, never another one.
        if segments.len() >= 2 {
            self.paths.push((self.module.clone(), segments));
        }
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) if n.ident == "self" => {
                let bound = prefix.last().cloned();
                self.uses.push((self.module.clone(), prefix.clone(), bound));
            }
            syn::UseTree::Name(n) => {
                let mut path = prefix.clone();
                path.push(n.ident.to_string());
                self.uses
                    .push((self.module.clone(), path, Some(n.ident.to_string())));
            }
            syn::UseTree::Rename(r) => {
                let mut path = prefix.clone();
                path.push(r.ident.to_string());
                self.uses
                    .push((self.module.clone(), path, Some(r.rename.to_string())));
            }
            syn::UseTree::Glob(_) => self.uses.push((self.module.clone(), prefix.clone(), None)),
            syn::UseTree::Group(g) => {
                for tree in &g.items {
                    self.use_tree(prefix, tree);
                }
            }
        }
    }

    /// The paths in a macro call's tokens: runs of `a::b::c`, not after a leading `::`.
    fn tokens(&mut self, tokens: TokenStream) {
        let tokens: Vec<TokenTree> = tokens.into_iter().collect();
        let colons = |i: usize| {
            matches!(
                (tokens.get(i), tokens.get(i + 1)),
                (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
                    if a.as_char() == ':' && a.spacing() == Spacing::Joint && b.as_char() == ':'
            )
        };
        let mut i = 0;
        while i < tokens.len() {
            match &tokens[i] {
                TokenTree::Group(g) => {
                    self.tokens(g.stream());
                    i += 1;
                }
                TokenTree::Ident(first) if i < 2 || !colons(i - 2) => {
                    let mut run = vec![first.to_string()];
                    let mut j = i + 1;
                    while colons(j) {
                        match tokens.get(j + 2) {
                            Some(TokenTree::Ident(next)) => {
                                run.push(next.to_string());
                                j += 3;
                            }
                            _ => break,
                        }
                    }
                    self.path(run);
                    i = j;
                }
                _ => i += 1,
            }
        }
    }
}

impl<'ast> Visit<'ast> for Named {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        self.module.push(m.ident.to_string());
        syn::visit::visit_item_mod(self, m);
        self.module.pop();
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        // `use ::name` is another crate.
        if u.leading_colon.is_none() {
            self.use_tree(&mut Vec::new(), &u.tree);
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path.leading_colon.is_none() {
            self.path(path.segments.iter().map(|s| s.ident.to_string()).collect());
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        syn::visit::visit_macro(self, mac);
        self.tokens(mac.tokens.clone());
    }

    // `pub(super)`, `pub(in crate::x)` say who may see an item, not what it uses.
    fn visit_vis_restricted(&mut self, _: &'ast syn::VisRestricted) {}
}

/// The module a path names, from `module`: `crate::`, `super::` (any depth), `self::`, a
/// child module, or a name a `use` of `module` bound. `None`: not ours (std, a dependency,
/// an item of this module).
fn resolve(
    module: &[String],
    path: &[String],
    modules: &BTreeSet<ModPath>,
    bound: &BTreeMap<(ModPath, String), ModPath>,
) -> Option<ModPath> {
    let first = path.first()?;
    match first.as_str() {
        "crate" => Some(path[1..].to_vec()),
        "self" | "super" => {
            let mut at = module.to_vec();
            let mut rest = path;
            if rest.first().is_some_and(|s| s == "self") {
                rest = &rest[1..];
            }
            while rest.first().is_some_and(|s| s == "super") {
                at.pop()?;
                rest = &rest[1..];
            }
            at.extend(rest.iter().cloned());
            Some(at)
        }
        _ => {
            let mut child = module.to_vec();
            child.push(first.clone());
            if modules.contains(&child) {
                child.extend(path[1..].iter().cloned());
                return Some(child);
            }
            let mut via = bound.get(&(module.to_vec(), first.clone()))?.clone();
            via.extend(path[1..].iter().cloned());
            Some(via)
        }
    }
}

/// The node a module path belongs to: its top-level module, or `aws::ecs` under a split one.
fn node_of(path: &[String], modules: &BTreeSet<ModPath>) -> Option<String> {
    let top = path.first()?;
    if !modules.contains(&vec![top.clone()]) {
        return None;
    }
    if SPLIT.contains(&top.as_str())
        && let Some(sub) = path.get(1)
        && modules.contains(&vec![top.clone(), sub.clone()])
    {
        return Some(format!("{top}::{sub}"));
    }
    Some(top.clone())
}

/// The module graph of a crate given as `path under src/ → text`.
pub fn graph_of_files(files: &BTreeMap<String, String>) -> Result<Graph, String> {
    let (sources, modules) = load(files)?;
    let named: Vec<(&Source, Named)> = sources
        .iter()
        .map(|s| {
            let mut n = Named {
                module: s.module.clone(),
                ..Named::default()
            };
            n.visit_file(&s.ast);
            (s, n)
        })
        .collect();
    // What each module's `use`s bind, resolved in order (a `use` may build on an earlier one).
    let mut bound: BTreeMap<(ModPath, String), ModPath> = BTreeMap::new();
    for (_, n) in &named {
        for (module, path, name) in &n.uses {
            if let (Some(name), Some(to)) = (name, resolve(module, path, &modules, &bound)) {
                bound.insert((module.clone(), name.clone()), to);
            }
        }
    }
    let mut graph = Graph::new();
    for (source, n) in &named {
        let Some(from) = node_of(&source.module, &modules) else {
            continue;
        };
        let edges = graph.entry(from.clone()).or_default();
        let uses = n.uses.iter().map(|(m, p, _)| (m, p));
        for (module, path) in uses.chain(n.paths.iter().map(|(m, p)| (m, p))) {
            let Some(to) = resolve(module, path, &modules, &bound)
                .and_then(|target| node_of(&target, &modules))
            else {
                continue;
            };
            if to != from {
                edges.entry(to).or_default().insert(source.file.clone());
            }
        }
    }
    Ok(graph)
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

/// Every .rs file under `src`, as `path under src/ → text`.
pub fn read_sources(src: &Path) -> std::io::Result<BTreeMap<String, String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files)?;
    files
        .into_iter()
        .map(|file| {
            let relative = file
                .strip_prefix(src)
                .unwrap_or(&file)
                .to_string_lossy()
                .replace('\\', "/");
            Ok((relative, std::fs::read_to_string(&file)?))
        })
        .collect()
}
