//! Source text of repository files and mapping of fields and byte offsets to line:column.

use std::ops::Range;

use toml_edit::{ImDocument, Item, TableLike};

/// One segment of a field path: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// A table key (`core`, `count`).
    Key(String),
    /// An index into an array of tables (`clients[0]`).
    Index(usize),
}

/// Formats a path as `clients[0].min`.
pub fn field_name(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Builds a path from string keys (`&["core", "count"]`).
pub fn keys(keys: &[&str]) -> Vec<Seg> {
    keys.iter().map(|k| Seg::Key((*k).to_string())).collect()
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// A parsed TOML file kept with its spans so that any field can be located.
#[derive(Debug)]
pub struct TomlSource {
    /// The file's text as read.
    pub text: String,
    doc: Option<ImDocument<String>>,
}

impl TomlSource {
    /// Keeps `text` and its parsed document; a file that is not valid TOML can still be shown but
    /// locates nothing.
    pub fn new(text: String) -> Self {
        let doc = ImDocument::parse(text.clone()).ok();
        TomlSource { text, doc }
    }

    /// Position of the value at `path`, or of the nearest enclosing item that exists.
    pub fn locate(&self, path: &[Seg]) -> Option<(usize, usize)> {
        self.span(path).map(|span| line_col(&self.text, span.start))
    }

    fn span(&self, path: &[Seg]) -> Option<Range<usize>> {
        let doc = self.doc.as_ref()?;
        let mut node: &dyn TableLike = doc.as_table();
        let mut best: Option<Range<usize>> = None;
        let mut segs = path.iter().peekable();
        while let Some(seg) = segs.next() {
            let Seg::Key(key) = seg else { break };
            let Some((k, item)) = node.get_key_value(key) else {
                break;
            };
            // The key's own span is the most precise spot for a table entry.
            best = k.span().or(best);
            match (item, segs.peek()) {
                (Item::ArrayOfTables(array), Some(Seg::Index(i))) => {
                    segs.next();
                    let Some(table) = array.get(*i) else { break };
                    best = table.span().or(best);
                    node = table;
                }
                (Item::Value(toml_edit::Value::Array(array)), Some(Seg::Index(i))) => {
                    best = array.get(*i).and_then(|v| v.span()).or(best);
                    break;
                }
                (item, _) => match item.as_table_like() {
                    Some(table) => node = table,
                    None => break,
                },
            }
        }
        best
    }
}
