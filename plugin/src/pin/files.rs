//! Reading `-f` inputs: files, directories (recursively, *.yaml/*.yml/*.json) and stdin.

use crate::error::{Error, Result};
use std::{io::Read, path::PathBuf};

/// One input file.
#[derive(Debug, Clone)]
pub struct Input {
    /// Its path, or `None` for stdin.
    pub path: Option<PathBuf>,
    /// Its text.
    pub text: String,
}

impl Input {
    /// How messages name it.
    pub fn name(&self) -> String {
        self.path
            .as_ref()
            .map_or_else(|| "<stdin>".to_string(), |p| p.display().to_string())
    }
}

/// Reads every input named by `-f`.
pub fn read_inputs(names: &[String]) -> Result<Vec<Input>> {
    let mut inputs = Vec::new();
    for name in names {
        if name == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| Error::Usage(format!("reading stdin: {e}")))?;
            inputs.push(Input { path: None, text });
            continue;
        }
        let path = PathBuf::from(name);
        let meta = std::fs::metadata(&path).map_err(|e| Error::Usage(format!("{name}: {e}")))?;
        let mut paths = Vec::new();
        if meta.is_dir() {
            walk(&path, &mut paths)?;
            paths.sort();
        } else {
            paths.push(path);
        }
        for p in paths {
            let text =
                std::fs::read_to_string(&p).map_err(|e| Error::Usage(format!("{}: {e}", p.display())))?;
            inputs.push(Input { path: Some(p), text });
        }
    }
    Ok(inputs)
}

fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::Usage(format!("{}: {e}", dir.display())))?;
    for entry in entries {
        let path = entry
            .map_err(|e| Error::Usage(format!("{}: {e}", dir.display())))?
            .path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path
            .extension()
            .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
        {
            out.push(path);
        }
    }
    Ok(())
}
