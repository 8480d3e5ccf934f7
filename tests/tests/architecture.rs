//! Layering checks that keep the renovation's targets true: no import circles between modules,
//! no source file longer than [`LINE_LIMIT`] lines, xtask builds without okms-cli, and
//! ARCHITECTURE.md stays short enough to read whole.
//!
//! A module's edges are the `crate::`, `super::`, `self::` and child-module paths its code names
//! (in `use` items, in code, and inside macro invocations), resolved through `use` re-exports
//! (`crate::Client` counts as an edge to the module defining `Client`, not to the crate root).
//! Not counted: doc comments (an intra-doc link couples no code), `#[cfg(test)]` items (tests may
//! reach anywhere), and a module naming its own ancestors (a parent module is its children's
//! container, so `super::helper` is how Rust shares within a family). A circle is a strongly
//! connected component of that graph; each one fails the test, named with its edges.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;

/// Crates whose modules must form no circle. Adding a crate is one line.
const ACYCLIC_CRATES: &[&str] = &[
    "okms-api",
    "okms-pkcs11",
    "okms-csr",
    "okms-lifecycle",
    "okms-cli",
    "okms-broker",
    // "okms-emulator", // `auth` and `routes` still import each other
];

/// Crates none of whose `src` files may exceed [`LINE_LIMIT`] lines. Adding a crate is one line.
const LINE_LIMITED_CRATES: &[&str] = &[
    "okms-api",
    "okms-lifecycle",
    "okms-pkcs11",
    "okms-csr",
    "okms-emulator",
    "okms-cli",
    "okms-web",
    "okms-test-support",
    "okms-broker",
];

/// Longest a source file may be: past it, a file holds more than one concept.
const LINE_LIMIT: usize = 700;

#[test]
fn library_modules_form_no_import_circle() {
    let mut report = String::new();
    for krate in ACYCLIC_CRATES {
        let graph = ModuleGraph::of_crate(&crate_src(krate));
        for circle in graph.circles() {
            report.push_str(&graph.describe(krate, &circle));
        }
    }
    assert!(report.is_empty(), "import circles:\n{report}");
}

/// ARCHITECTURE.md is read whole by every newcomer: at most this many words...
const ARCHITECTURE_WORDS: usize = 2000;
/// ...and lines no wider than the code's.
const ARCHITECTURE_COLUMNS: usize = 100;

#[test]
fn architecture_md_stays_short() {
    let text = fs::read_to_string(workspace_root().join("ARCHITECTURE.md")).unwrap();
    let words = text.split_whitespace().count();
    assert!(
        words <= ARCHITECTURE_WORDS,
        "ARCHITECTURE.md has {words} words; keep it at most {ARCHITECTURE_WORDS}"
    );
    let wide: Vec<String> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.chars().count() > ARCHITECTURE_COLUMNS)
        .map(|(n, l)| format!("line {}: {} columns", n + 1, l.chars().count()))
        .collect();
    assert!(
        wide.is_empty(),
        "ARCHITECTURE.md lines over {ARCHITECTURE_COLUMNS} columns:\n{}",
        wide.join("\n")
    );
}

/// xtask renders man pages by running the okms-cli binary, so `cargo xtask fuzz` or `web`
/// never compile okms-cli's HTTP, PKCS#11 and TLS stack first.
#[test]
fn xtask_does_not_depend_on_okms_cli() {
    let manifest = fs::read_to_string(workspace_root().join("xtask/Cargo.toml")).unwrap();
    let deps: Vec<&str> = manifest
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("okms-cli") || l.starts_with("okms_cli"))
        .collect();
    assert!(
        deps.is_empty(),
        "xtask/Cargo.toml depends on okms-cli: {deps:?}"
    );
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn library_source_files_stay_short() {
    let mut too_long = Vec::new();
    for krate in LINE_LIMITED_CRATES {
        for file in rust_files(&crate_src(krate)) {
            let lines = fs::read_to_string(&file).unwrap().lines().count();
            if lines > LINE_LIMIT {
                too_long.push(format!("{} has {lines} lines", file.display()));
            }
        }
    }
    assert!(
        too_long.is_empty(),
        "files over {LINE_LIMIT} lines:\n{}",
        too_long.join("\n")
    );
}

#[test]
fn the_graph_sees_reexports_macros_and_relative_paths() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    let write = |name: &str, text: &str| fs::write(src.join(name), text).unwrap();
    write(
        "lib.rs",
        "mod a; mod b; mod c; mod d; pub use a::Thing; use d::helper;",
    );
    write(
        "a.rs",
        "pub struct Thing; fn f() { format!(\"{}\", crate::b::x()); }",
    );
    write(
        "b.rs",
        "/// [`crate::a`] is only a doc link.\npub fn x() -> crate::Thing { crate::Thing }",
    );
    write(
        "c.rs",
        "#[cfg(test)]\nmod tests { use crate::a::Thing; }\nfn g() { crate::helper(); }",
    );
    write("d.rs", "pub fn helper() {}");

    let graph = ModuleGraph::of_crate(src);
    let edges = |m: &str| graph.edges[m].keys().cloned().collect::<Vec<_>>();
    assert_eq!(edges("a"), ["b"], "a path inside a macro is an edge");
    assert_eq!(
        edges("b"),
        ["a"],
        "crate::Thing resolves to a, not to the root"
    );
    assert_eq!(
        edges("c"),
        ["d"],
        "private re-exports resolve; tests are skipped"
    );
    assert_eq!(graph.circles(), [vec!["a".to_owned(), "b".to_owned()]]);
}

fn crate_src(krate: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crates")
        .join(krate)
        .join("src")
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// A module path inside the crate, `a::b` as `["a", "b"]`; the root is empty.
type ModPath = Vec<String>;

/// A name a `use` item brings into a module: (that module, the name).
type Alias = (ModPath, String);

/// The module of a file under `src` (the library tree only: `main.rs` and `bin/` are other
/// crates, whose `crate::` is not this one).
fn module_of(src: &Path, file: &Path) -> Option<ModPath> {
    let rel = file.strip_prefix(src).ok()?.with_extension("");
    let mut parts: ModPath = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts == ["main"] || parts.first().is_some_and(|p| p == "bin") {
        return None;
    }
    if parts
        .last()
        .is_some_and(|p| p == "mod" || (p == "lib" && parts.len() == 1))
    {
        parts.pop();
    }
    Some(parts)
}

struct ModuleGraph {
    /// Edges by module name (`a::b`), each with one path that makes it, for the report.
    edges: BTreeMap<String, BTreeMap<String, String>>,
}

impl ModuleGraph {
    fn of_crate(src: &Path) -> Self {
        let mut scans: Vec<Scan> = Vec::new();
        for file in rust_files(src) {
            let Some(module) = module_of(src, &file) else {
                continue;
            };
            let text = fs::read_to_string(&file).unwrap();
            let ast = syn::parse_file(&text)
                .unwrap_or_else(|e| panic!("{} does not parse: {e}", file.display()));
            let mut scan = Scan {
                file_module: module.clone(),
                inner: module,
                paths: Vec::new(),
                aliases: Vec::new(),
                inline_modules: Vec::new(),
                test_files: Vec::new(),
            };
            scan.visit_file(&ast);
            scans.push(scan);
        }
        let mut modules: BTreeSet<ModPath> = scans.iter().map(|s| s.file_module.clone()).collect();
        for scan in &scans {
            modules.extend(scan.inline_modules.iter().cloned());
        }
        let files: BTreeSet<ModPath> = scans.iter().map(|s| s.file_module.clone()).collect();
        let test_files: Vec<ModPath> = scans.iter().flat_map(|s| s.test_files.clone()).collect();
        scans.retain(|s| !test_files.iter().any(|t| s.file_module.starts_with(t)));
        let mut resolver = Resolver {
            modules,
            files,
            aliases: BTreeMap::new(),
        };
        // A `use` may name what another `use` brought in: resolve until nothing changes.
        for _ in 0..4 {
            for scan in &scans {
                for (key, (scope, path)) in &scan.aliases {
                    if let Some(target) = resolver.absolute(scope, path) {
                        resolver.aliases.insert(key.clone(), target);
                    }
                }
            }
        }

        let mut edges: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for scan in &scans {
            let from = scan.file_module.clone();
            let entry = edges.entry(from.join("::")).or_default();
            for (scope, path) in &scan.paths {
                let Some(absolute) = resolver.absolute(scope, path) else {
                    continue;
                };
                let to = resolver.file_module(&resolver.follow_aliases(absolute));
                let is_ancestor = to.len() <= from.len() && from.starts_with(&to);
                if !to.is_empty() && !is_ancestor {
                    entry
                        .entry(to.join("::"))
                        .or_insert_with(|| path.join("::"));
                }
            }
        }
        ModuleGraph { edges }
    }

    /// Strongly connected components of more than one module (Tarjan), each sorted.
    fn circles(&self) -> Vec<Vec<String>> {
        struct Tarjan<'g> {
            graph: &'g ModuleGraph,
            index: BTreeMap<&'g str, usize>,
            low: BTreeMap<&'g str, usize>,
            stack: Vec<&'g str>,
            circles: Vec<Vec<String>>,
        }
        impl<'g> Tarjan<'g> {
            fn visit(&mut self, v: &'g str) {
                let i = self.index.len();
                self.index.insert(v, i);
                self.low.insert(v, i);
                self.stack.push(v);
                for w in self.graph.edges.get(v).into_iter().flat_map(|e| e.keys()) {
                    let w = w.as_str();
                    if !self.index.contains_key(w) {
                        self.visit(w);
                        let low = self.low[v].min(self.low[w]);
                        self.low.insert(v, low);
                    } else if self.stack.contains(&w) {
                        let low = self.low[v].min(self.index[w]);
                        self.low.insert(v, low);
                    }
                }
                if self.low[v] == self.index[v] {
                    let at = self.stack.iter().rposition(|&x| x == v).unwrap();
                    let mut circle: Vec<String> =
                        self.stack.drain(at..).map(str::to_owned).collect();
                    if circle.len() > 1 {
                        circle.sort();
                        self.circles.push(circle);
                    }
                }
            }
        }
        let mut t = Tarjan {
            graph: self,
            index: BTreeMap::new(),
            low: BTreeMap::new(),
            stack: Vec::new(),
            circles: Vec::new(),
        };
        for v in self.edges.keys() {
            if !t.index.contains_key(v.as_str()) {
                t.visit(v);
            }
        }
        t.circles.sort();
        t.circles
    }

    fn describe(&self, krate: &str, circle: &[String]) -> String {
        let mut s = format!(
            "{krate}: {} modules in a circle: {circle:?}\n",
            circle.len()
        );
        for from in circle {
            for (to, via) in &self.edges[from] {
                if circle.contains(to) {
                    s.push_str(&format!("    {from} -> {to}  (via {via})\n"));
                }
            }
        }
        s
    }
}

struct Resolver {
    /// Every module, file or inline.
    modules: BTreeSet<ModPath>,
    /// The modules that are files: the graph's nodes.
    files: BTreeSet<ModPath>,
    /// `use` items: (module, name it brings in) → the absolute path it names.
    aliases: BTreeMap<Alias, ModPath>,
}

impl Resolver {
    /// `path` as written in module `scope`, made absolute; `None` when it leaves the crate.
    fn absolute(&self, scope: &ModPath, path: &[String]) -> Option<ModPath> {
        let (first, rest) = path.split_first()?;
        let mut base = match first.as_str() {
            "crate" => Vec::new(),
            "self" => scope.clone(),
            "super" => {
                let mut b = scope.clone();
                b.pop();
                b
            }
            name => {
                let mut child = scope.clone();
                child.push(name.to_owned());
                if self.modules.contains(&child) {
                    child.extend(rest.iter().cloned());
                    return Some(child);
                }
                // A name a `use` brought in; anything else is outside the crate or local.
                let mut target = self.aliases.get(&(scope.clone(), name.to_owned()))?.clone();
                target.extend(rest.iter().cloned());
                return Some(target);
            }
        };
        let mut rest = rest;
        while let Some((s, r)) = rest.split_first() {
            if s != "super" {
                break;
            }
            base.pop();
            rest = r;
        }
        base.extend(rest.iter().cloned());
        Some(base)
    }

    /// Replaces a prefix brought in by a `use` with what it names, until none applies.
    fn follow_aliases(&self, mut path: ModPath) -> ModPath {
        for _ in 0..16 {
            let module_len = (0..=path.len())
                .rev()
                .find(|&k| self.modules.contains(&path[..k]))
                .unwrap_or(0);
            let Some(name) = path.get(module_len) else {
                return path;
            };
            let Some(target) = self
                .aliases
                .get(&(path[..module_len].to_vec(), name.clone()))
            else {
                return path;
            };
            let mut next = target.clone();
            next.extend(path[module_len + 1..].iter().cloned());
            path = next;
        }
        path
    }

    /// The file module holding `path`: its longest prefix that is a file module.
    fn file_module(&self, path: &[String]) -> ModPath {
        (0..=path.len())
            .rev()
            .map(|k| path[..k].to_vec())
            .find(|p| self.files.contains(p))
            .unwrap_or_default()
    }
}

/// What one file names: paths (with the inline module they are written in) and `use` aliases.
struct Scan {
    file_module: ModPath,
    /// The (inline) module being visited.
    inner: ModPath,
    paths: Vec<(ModPath, Vec<String>)>,
    /// `use` items: (module, name brought in) → (that module, the path as written).
    aliases: Vec<(Alias, (ModPath, Vec<String>))>,
    inline_modules: Vec<ModPath>,
    /// File modules declared under `#[cfg(test)]`.
    test_files: Vec<ModPath>,
}

fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| match &a.meta {
        syn::Meta::List(l) => l.path.is_ident("cfg") && l.tokens.to_string().trim() == "test",
        _ => false,
    })
}

impl Scan {
    fn flatten_use(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.flatten_use(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => self.record_use(prefix, &n.ident.to_string(), &n.ident),
            syn::UseTree::Rename(r) => self.record_use(prefix, &r.ident.to_string(), &r.rename),
            syn::UseTree::Glob(_) => self.paths.push((self.inner.clone(), prefix.clone())),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.flatten_use(prefix, t);
                }
            }
        }
    }

    fn record_use(&mut self, prefix: &[String], name: &str, alias: &syn::Ident) {
        let mut path = prefix.to_vec();
        if name != "self" {
            path.push(name.to_owned());
        }
        self.paths.push((self.inner.clone(), path.clone()));
        let alias = if name == "self" {
            prefix.last().cloned().unwrap_or_default()
        } else {
            alias.to_string()
        };
        // Resolved once every module is known.
        self.aliases
            .push(((self.inner.clone(), alias), (self.inner.clone(), path)));
    }

    fn scan_tokens(&mut self, tokens: TokenStream) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < trees.len() {
            if let TokenTree::Group(g) = &trees[i] {
                self.scan_tokens(g.stream());
            }
            if let TokenTree::Ident(id) = &trees[i] {
                let word = id.to_string();
                if matches!(word.as_str(), "crate" | "super" | "self") {
                    let mut path = vec![word];
                    let mut j = i + 1;
                    while let (
                        Some(TokenTree::Punct(a)),
                        Some(TokenTree::Punct(b)),
                        Some(TokenTree::Ident(next)),
                    ) = (trees.get(j), trees.get(j + 1), trees.get(j + 2))
                    {
                        if a.as_char() != ':' || b.as_char() != ':' {
                            break;
                        }
                        path.push(next.to_string());
                        j += 3;
                    }
                    if path.len() > 1 {
                        self.paths.push((self.inner.clone(), path));
                    }
                    i = j;
                    continue;
                }
            }
            i += 1;
        }
    }
}

impl<'ast> Visit<'ast> for Scan {
    fn visit_attribute(&mut self, _: &'ast syn::Attribute) {}

    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs = match item {
            syn::Item::Mod(m) => &m.attrs,
            syn::Item::Fn(f) => &f.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Use(u) => &u.attrs,
            syn::Item::Const(c) => &c.attrs,
            syn::Item::Struct(s) => &s.attrs,
            syn::Item::Enum(e) => &e.attrs,
            syn::Item::Static(s) => &s.attrs,
            syn::Item::Trait(t) => &t.attrs,
            syn::Item::Type(t) => &t.attrs,
            syn::Item::Macro(m) => &m.attrs,
            _ => return syn::visit::visit_item(self, item),
        };
        if !is_cfg_test(attrs) {
            syn::visit::visit_item(self, item);
        } else if let syn::Item::Mod(m) = item
            && m.content.is_none()
        {
            let mut file = self.inner.clone();
            file.push(m.ident.to_string());
            self.test_files.push(file);
        }
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        self.inner.push(m.ident.to_string());
        if m.content.is_some() {
            self.inline_modules.push(self.inner.clone());
            syn::visit::visit_item_mod(self, m);
        }
        self.inner.pop();
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.flatten_use(&mut Vec::new(), &u.tree);
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let path: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        if path.len() > 1 {
            self.paths.push((self.inner.clone(), path));
        }
        syn::visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.visit_path(&m.path);
        self.scan_tokens(m.tokens.clone());
    }
}
