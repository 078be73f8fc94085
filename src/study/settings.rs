//! A setting of an experiment document by its path (`model.final_time`, `train.seeds.init`,
//! `train.optimizer.lr`): read where it is in the RON text and replaced there, so that a study
//! varies a document without knowing its types. The document is then parsed and checked as
//! any experiment file; the engine never sees a study.
//!
//! Only the structure RON needs for that is read: structures `(name: value, ...)` (anonymous,
//! named `Experiment(...)`, or enum variants with fields `Adam(lr: 0.02)`); every other value
//! (numbers, strings, lists, tuples, unit variants) is a span of text.

use std::ops::Range;

use thiserror::Error;

/// Why a setting could not be placed in a document.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum SettingError {
    /// The document is not RON this reader understands (it is checked again by the parser).
    #[error("the document cannot be read at byte {at}: {message}")]
    Syntax {
        /// Byte offset.
        at: usize,
        /// What was expected.
        message: String,
    },
    /// A path that is empty or has an empty part (`model..width`).
    #[error("`{0}` is not a setting path (names separated by dots, e.g. model.final_time)")]
    BadPath(String),
    /// A part of the path leads into a value that has no settings (`model.constraint.max` while
    /// the constraint is `None`).
    #[error("`{path}` has no setting `{name}`: its value is `{value}`, which has no settings")]
    NotAStructure {
        /// The path up to the value.
        path: String,
        /// The name looked for.
        name: String,
        /// The value's text.
        value: String,
    },
}

/// `text` with the setting at `path` set to `value` (RON text). A setting the document leaves
/// out (a default) is written in; so is a missing structure on the way (`train.seeds` for
/// `train.seeds.init`). Whether the name exists and the value fits is for the parser to say.
pub fn set(text: &str, path: &str, value: &str) -> Result<String, SettingError> {
    let names: Vec<&str> = path.split('.').collect();
    if names.iter().any(|n| n.is_empty()) {
        return Err(SettingError::BadPath(path.to_owned()));
    }
    let mut reader = Reader { text, at: 0 };
    let root = reader.value()?;
    reader.skip_space()?;
    if reader.at < text.len() {
        return Err(reader.error("the end of the document"));
    }
    let mut node = &root;
    for (depth, name) in names.iter().enumerate() {
        let Node::Structure { fields, open, .. } = node else {
            return Err(SettingError::NotAStructure {
                path: names[..depth].join("."),
                name: (*name).to_owned(),
                value: text[node.span()].trim().to_owned(),
            });
        };
        let rest = &names[depth + 1..];
        match fields.iter().find(|f| f.name == *name) {
            Some(field) if rest.is_empty() => {
                let span = field.value.span();
                return Ok(format!(
                    "{}{value}{}",
                    &text[..span.start],
                    &text[span.end..]
                ));
            }
            Some(field) => node = &field.value,
            None => {
                // Write the missing setting (and the structures on its way) first in the
                // structure: `name: (rest: (...: value)), `.
                let mut inserted = value.to_owned();
                for inner in rest.iter().rev() {
                    inserted = format!("({inner}: {inserted})");
                }
                return Ok(format!(
                    "{}{name}: {inserted}, {}",
                    &text[..*open],
                    &text[*open..]
                ));
            }
        }
    }
    Err(SettingError::BadPath(path.to_owned()))
}

/// Every setting path of a document, structures included (`model`, `model.width`, ...), in
/// the order they are written.
pub fn paths(text: &str) -> Result<Vec<String>, SettingError> {
    let mut reader = Reader { text, at: 0 };
    let root = reader.value()?;
    let mut found = Vec::new();
    collect_paths(&root, "", &mut found);
    Ok(found)
}

fn collect_paths(node: &Node, prefix: &str, found: &mut Vec<String>) {
    if let Node::Structure { fields, .. } = node {
        for field in fields {
            let path = if prefix.is_empty() {
                field.name.clone()
            } else {
                format!("{prefix}.{}", field.name)
            };
            found.push(path.clone());
            collect_paths(&field.value, &path, found);
        }
    }
}

/// A value of the document.
#[derive(Debug)]
enum Node {
    /// `(name: value, ...)`, possibly after a name; `open` is the byte just after `(`.
    Structure {
        fields: Vec<Field>,
        open: usize,
        span: Range<usize>,
    },
    /// Any other value.
    Text(Range<usize>),
}

impl Node {
    fn span(&self) -> Range<usize> {
        match self {
            Node::Structure { span, .. } | Node::Text(span) => span.clone(),
        }
    }
}

#[derive(Debug)]
struct Field {
    name: String,
    value: Node,
}

/// A reader of RON text: values with their spans, comments and strings skipped.
struct Reader<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Reader<'a> {
    fn error(&self, expected: &str) -> SettingError {
        SettingError::Syntax {
            at: self.at,
            message: format!("expected {expected}"),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    /// Skips whitespace and comments (`// ...`, nested `/* ... */`).
    fn skip_space(&mut self) -> Result<(), SettingError> {
        loop {
            let rest = self.rest();
            let trimmed = rest.trim_start();
            self.at += rest.len() - trimmed.len();
            if trimmed.starts_with("//") {
                self.at += trimmed.find('\n').unwrap_or(trimmed.len());
            } else if trimmed.starts_with("/*") {
                let mut depth = 0_usize;
                loop {
                    let rest = self.rest();
                    if rest.starts_with("/*") {
                        depth += 1;
                        self.at += 2;
                    } else if rest.starts_with("*/") {
                        depth -= 1;
                        self.at += 2;
                        if depth == 0 {
                            break;
                        }
                    } else if let Some(c) = rest.chars().next() {
                        self.at += c.len_utf8();
                    } else {
                        return Err(self.error("the end of a comment"));
                    }
                }
            } else {
                return Ok(());
            }
        }
    }

    /// An identifier (`model`, `r#type`), if one starts here.
    fn identifier(&mut self) -> Option<String> {
        let rest = self.rest();
        let raw = rest.starts_with("r#");
        let body = if raw { &rest[2..] } else { rest };
        let first = body.chars().next()?;
        if !(first.is_alphabetic() || first == '_') {
            return None;
        }
        let len = body
            .char_indices()
            .find(|&(_, c)| !(c.is_alphanumeric() || c == '_'))
            .map_or(body.len(), |(i, _)| i);
        let name = body[..len].to_owned();
        self.at += len + if raw { 2 } else { 0 };
        Some(name)
    }

    /// One value and its span.
    fn value(&mut self) -> Result<Node, SettingError> {
        self.skip_space()?;
        let start = self.at;
        match self.peek() {
            None => Err(self.error("a value")),
            Some(b'(') => self.parenthesised(start),
            Some(b'[' | b'{') => {
                self.skip_group()?;
                Ok(Node::Text(start..self.at))
            }
            Some(b'"') => {
                self.skip_string()?;
                Ok(Node::Text(start..self.at))
            }
            Some(b'\'') => {
                self.skip_char()?;
                Ok(Node::Text(start..self.at))
            }
            Some(b'r') if self.rest().starts_with("r\"") || self.rest().starts_with("r#\"") => {
                self.skip_raw_string()?;
                Ok(Node::Text(start..self.at))
            }
            Some(_) => {
                if self.identifier().is_some() {
                    let after_name = self.at;
                    self.skip_space()?;
                    if self.peek() == Some(b'(') {
                        return self.parenthesised(start);
                    }
                    self.at = after_name;
                    return Ok(Node::Text(start..self.at));
                }
                // A number or another bare token: up to a delimiter.
                let len = self
                    .rest()
                    .find(|c: char| c.is_whitespace() || ",)]}:/".contains(c))
                    .unwrap_or(self.rest().len());
                if len == 0 {
                    return Err(self.error("a value"));
                }
                self.at += len;
                Ok(Node::Text(start..self.at))
            }
        }
    }

    /// `(` ... `)` at `self.at` (a name, if any, read from `start`): a structure when it holds
    /// `name: value` pairs, text otherwise (a tuple, a newtype variant).
    fn parenthesised(&mut self, start: usize) -> Result<Node, SettingError> {
        let paren = self.at;
        self.at += 1;
        let open = self.at;
        self.skip_space()?;
        let checkpoint = self.at;
        let is_structure = if self.peek() == Some(b')') {
            true
        } else if self.identifier().is_some() {
            self.skip_space()?;
            self.rest().starts_with(':') && !self.rest().starts_with("::")
        } else {
            false
        };
        self.at = checkpoint;
        if !is_structure {
            self.at = paren;
            self.skip_group()?;
            return Ok(Node::Text(start..self.at));
        }
        let mut fields = Vec::new();
        loop {
            self.skip_space()?;
            if self.peek() == Some(b')') {
                self.at += 1;
                break;
            }
            let name = self
                .identifier()
                .ok_or_else(|| self.error("a setting name"))?;
            self.skip_space()?;
            if self.peek() != Some(b':') {
                return Err(self.error("`:` after a setting name"));
            }
            self.at += 1;
            let value = self.value()?;
            fields.push(Field { name, value });
            self.skip_space()?;
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b')') => {}
                _ => return Err(self.error("`,` or `)`")),
            }
        }
        Ok(Node::Structure {
            fields,
            open,
            span: start..self.at,
        })
    }

    /// A bracketed group `(..)`, `[..]` or `{..}` with everything nested in it.
    fn skip_group(&mut self) -> Result<(), SettingError> {
        let mut closers = Vec::new();
        loop {
            self.skip_space()?;
            let Some(byte) = self.peek() else {
                return Err(self.error("a closing bracket"));
            };
            match byte {
                b'(' => closers.push(b')'),
                b'[' => closers.push(b']'),
                b'{' => closers.push(b'}'),
                b')' | b']' | b'}' => {
                    if closers.pop() != Some(byte) {
                        return Err(self.error("matching brackets"));
                    }
                    if closers.is_empty() {
                        self.at += 1;
                        return Ok(());
                    }
                }
                b'"' => {
                    self.skip_string()?;
                    continue;
                }
                b'\'' => {
                    self.skip_char()?;
                    continue;
                }
                _ => {}
            }
            let c = self.rest().chars().next().map_or(1, char::len_utf8);
            self.at += c;
        }
    }

    fn skip_string(&mut self) -> Result<(), SettingError> {
        self.at += 1;
        loop {
            let Some(c) = self.rest().chars().next() else {
                return Err(self.error("the end of a string"));
            };
            self.at += c.len_utf8();
            match c {
                '\\' => {
                    let escaped = self.rest().chars().next().map_or(0, char::len_utf8);
                    self.at += escaped;
                }
                '"' => return Ok(()),
                _ => {}
            }
        }
    }

    fn skip_char(&mut self) -> Result<(), SettingError> {
        self.at += 1;
        if self.peek() == Some(b'\\') {
            self.at += 1;
        }
        let c = self.rest().chars().next().map_or(0, char::len_utf8);
        self.at += c;
        if self.peek() != Some(b'\'') {
            return Err(self.error("the end of a character"));
        }
        self.at += 1;
        Ok(())
    }

    fn skip_raw_string(&mut self) -> Result<(), SettingError> {
        self.at += 1;
        let hashes = self.rest().len() - self.rest().trim_start_matches('#').len();
        self.at += hashes + 1;
        let close = format!("\"{}", "#".repeat(hashes));
        match self.rest().find(&close) {
            Some(i) => {
                self.at += i + close.len();
                Ok(())
            }
            None => Err(self.error("the end of a raw string")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"// a comment (with: parens)
Experiment(
    name: "a (tricky: \"name\")",
    model: (width: 2, layers: 8, constraint: SpectralNorm(max: 1.0), lift: Pad),
    integrator: ImplicitMidpoint(tolerance: 1e-12, max_iterations: 30),
    train: (optimizer: Adam(lr: 0.02), /* seeds later */ iterations: 10),
    list: [(a: 1), (b: 2)],
    tuple: (1, 2),
)"#;

    #[test]
    fn replaces_top_level_and_nested_settings() {
        let text = set(DOC, "model.layers", "16").unwrap();
        assert!(text.contains("layers: 16,"), "{text}");
        let text = set(&text, "integrator", "Rk4").unwrap();
        assert!(text.contains("integrator: Rk4,"), "{text}");
        let text = set(&text, "train.optimizer.lr", "0.5").unwrap();
        assert!(text.contains("optimizer: Adam(lr: 0.5)"), "{text}");
        let text = set(&text, "model.constraint.max", "3.0").unwrap();
        assert!(text.contains("SpectralNorm(max: 3.0)"), "{text}");
        // Nothing else moved.
        assert!(text.contains("name: \"a (tricky: \\\"name\\\")\""));
        assert!(text.contains("list: [(a: 1), (b: 2)]"));
    }

    #[test]
    fn writes_settings_a_document_leaves_out() {
        let text = set(DOC, "train.seeds.init", "7").unwrap();
        assert!(
            text.contains("train: (seeds: (init: 7), optimizer"),
            "{text}"
        );
        let text = set(&text, "train.seeds.batch", "3").unwrap();
        assert!(text.contains("seeds: (batch: 3, init: 7)"), "{text}");
        let text = set(&text, "model.hidden", "4").unwrap();
        assert!(text.contains("model: (hidden: 4, width: 2"), "{text}");
    }

    #[test]
    fn refuses_paths_into_values_without_settings() {
        assert_eq!(
            set(DOC, "model.lift.kind", "1"),
            Err(SettingError::NotAStructure {
                path: "model.lift".into(),
                name: "kind".into(),
                value: "Pad".into()
            })
        );
        assert!(matches!(
            set(DOC, "tuple.a", "1"),
            Err(SettingError::NotAStructure { .. })
        ));
        assert!(matches!(
            set(DOC, "model..x", "1"),
            Err(SettingError::BadPath(_))
        ));
        assert!(matches!(
            set("(a: [1, 2", "a", "1"),
            Err(SettingError::Syntax { .. })
        ));
    }

    #[test]
    fn lists_every_path() {
        let found = paths(DOC).unwrap();
        for path in [
            "name",
            "model.width",
            "model.constraint.max",
            "integrator.tolerance",
            "train.optimizer.lr",
            "train.iterations",
        ] {
            assert!(found.iter().any(|p| p == path), "{path} in {found:?}");
        }
        assert!(!found.iter().any(|p| p.starts_with("list.")));
    }
}
