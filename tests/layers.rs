//! The module graph has no cycles, the low layers import nothing above them, and the
//! README's layout map names every source file.
//!
//! The graph is read from the source: an arrow from one module to another for every
//! `crate::…` or `super::…` path in its code (comments left out), pointing at the
//! longest module that path names. `docs/architecture.md` explains the layers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

/// Layers from the bottom up: a module may import its own layer and the ones below.
/// Modules not listed here sit on the top layer.
const LAYERS: &[&[&str]] = &[
    &[
        "error",
        "config",
        "cidr",
        "telemetry",
        "tls",
        "metrics",
        "domain",
        "api_types",
        "event",
    ],
    &["db"],
    &["auth", "rate_limit", "stream_limits"],
    &["realtime"],
    &["state"],
    &["extract", "client_address", "routes"],
    &["openapi", "startup"],
];

#[test]
fn the_module_graph_has_no_cycles() {
    let graph = module_graph();
    assert!(
        graph.len() > 20,
        "too few modules found: {:?}",
        graph.keys()
    );
    let cycles: Vec<Vec<String>> = strongly_connected(&graph)
        .into_iter()
        .filter(|component| component.len() > 1)
        .collect();
    assert!(
        cycles.is_empty(),
        "modules that import each other, directly or around a circle: {cycles:#?}"
    );
}

#[test]
fn each_layer_imports_only_its_own_and_lower_layers() {
    let graph = module_graph();
    let mut upward = Vec::new();
    for (from, targets) in &graph {
        for to in targets {
            if layer(to) > layer(from) {
                upward.push(format!("{from} -> {to}"));
            }
        }
    }
    assert!(upward.is_empty(), "imports that point up: {upward:#?}");
}

fn layer(module: &str) -> usize {
    let top = module.split('/').next().unwrap_or(module);
    LAYERS
        .iter()
        .position(|layer| layer.contains(&top))
        .unwrap_or(LAYERS.len())
}

/// Every module of the library (not the binaries), with the modules it imports.
fn module_graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect_rust_files(&src, &mut files);
    let modules: BTreeMap<String, PathBuf> = files
        .into_iter()
        .filter_map(|file| Some((module_of(&src, &file)?, file)))
        .collect();
    let known: BTreeSet<&str> = modules.keys().map(String::as_str).collect();
    modules
        .iter()
        .map(|(module, file)| {
            let code =
                without_comments(&std::fs::read_to_string(file).expect("read a source file"));
            let imports = paths_in(&code, module)
                .into_iter()
                .filter_map(|path| resolve(&known, &path))
                .filter(|target| target != module)
                .collect();
            (module.clone(), imports)
        })
        .collect()
}

fn collect_rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src").flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_rust_files(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
}

/// `src/db/event_log.rs` → `db/event_log`, `src/db/mod.rs` → `db`; the crate roots and
/// the binaries are not modules of the library.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?.with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.first().is_some_and(|first| first == "bin") {
        return None;
    }
    if parts.last().is_some_and(|last| last == "mod") {
        parts.pop();
    }
    let module = parts.join("/");
    (!matches!(module.as_str(), "lib" | "main" | "malloc")).then_some(module)
}

fn without_comments(code: &str) -> String {
    code.lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::a::b` and `super::a` path in `code`, as module paths (`a/b`), with
/// one level of `{…}` groups expanded.
fn paths_in(code: &str, module: &str) -> Vec<String> {
    let parent: Vec<&str> = module.split('/').collect();
    let parent = &parent[..parent.len() - 1];
    let mut paths = Vec::new();
    for (prefix, base) in [("crate::", Vec::new()), ("super::", parent.to_vec())] {
        let mut rest = code;
        while let Some(at) = rest.find(prefix) {
            let preceded_by_ident = rest[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_');
            rest = &rest[at + prefix.len()..];
            if preceded_by_ident {
                continue;
            }
            for path in expand(rest) {
                let mut full: Vec<&str> = base.clone();
                full.extend(path.split("::").filter(|part| !part.is_empty()));
                paths.push(full.join("/"));
            }
        }
    }
    paths
}

/// The path that starts `text` (`db::event_log::head(…)` → `db::event_log::head`), or for
/// `db::{Db, event_log}` each of `db::Db`, `db::event_log`.
fn expand(text: &str) -> Vec<String> {
    let head: String = text
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
        .collect();
    let after = &text[head.len()..];
    if !after.starts_with('{') {
        return vec![head];
    }
    let group = after[1..].split('}').next().unwrap_or("");
    group
        .split(',')
        .map(|item| {
            let item: String = item
                .trim()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            format!("{head}{item}")
        })
        .collect()
}

/// The longest known module that `path` names (`db/event_log/head` → `db/event_log`).
fn resolve(known: &BTreeSet<&str>, path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split('/').collect();
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("/"))
        .find(|candidate| known.contains(candidate.as_str()))
}

/// Tarjan's strongly connected components.
fn strongly_connected(graph: &Graph) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        components: Vec<Vec<String>>,
    }
    fn visit<'a>(state: &mut State<'a>, node: &'a str) {
        let n = state.index.len();
        state.index.insert(node, n);
        state.low.insert(node, n);
        state.stack.push(node);
        state.on_stack.insert(node);
        for next in state.graph.get(node).into_iter().flatten() {
            let next = next.as_str();
            if !state.index.contains_key(next) {
                visit(state, next);
                let low = state.low[node].min(state.low[next]);
                state.low.insert(node, low);
            } else if state.on_stack.contains(next) {
                let low = state.low[node].min(state.index[next]);
                state.low.insert(node, low);
            }
        }
        if state.low[node] == state.index[node] {
            let mut component = Vec::new();
            while let Some(top) = state.stack.pop() {
                state.on_stack.remove(top);
                component.push(top.to_owned());
                if top == node {
                    break;
                }
            }
            state.components.push(component);
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        components: Vec::new(),
    };
    for node in graph.keys() {
        if !state.index.contains_key(node.as_str()) {
            visit(&mut state, node);
        }
    }
    state.components
}

/// The README's layout map names every file of `src/`, so a newcomer can find anything
/// from it (and a new file is described when it is added).
#[test]
fn the_readme_layout_lists_every_source_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("read README.md");
    let layout = readme
        .split("## Project layout")
        .nth(1)
        .and_then(|section| section.split("```").nth(1))
        .expect("a code block under \"## Project layout\"");
    // Entries start before column 20; lines indented further continue a description.
    let mut listed = BTreeSet::new();
    let mut folders: Vec<(usize, String)> = Vec::new();
    for line in layout.lines() {
        let indent = line.len() - line.trim_start().len();
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        if indent >= 20 {
            continue;
        }
        folders.retain(|(depth, _)| *depth < indent);
        let parent: String = folders.iter().map(|(_, folder)| folder.as_str()).collect();
        if name.ends_with('/') {
            folders.push((indent, name.to_owned()));
        } else {
            listed.insert(format!("{parent}{name}"));
        }
    }
    let mut files = Vec::new();
    collect_rust_files(&root.join("src"), &mut files);
    let missing: Vec<String> = files
        .iter()
        .filter_map(|file| file.strip_prefix(root).ok())
        .map(|file| file.to_string_lossy().into_owned())
        .filter(|file| !listed.contains(file))
        .collect();
    assert!(
        missing.is_empty(),
        "files the README's layout map does not list: {missing:?}"
    );
}
