//! Shell completion: static scripts from clap, and dynamic candidates (display names and
//! IDs from the cluster) for kubectl's plugin completion, which runs
//! `kubectl_complete-vmimage` and expects Cobra's `__complete` output: one candidate per
//! line, then `:<directive>` (4 = do not complete file names).

use crate::{
    cli::{Cli, CompleteArgs, CompletionArgs, Global},
    error::Result,
    source::{Scope, Source},
};
use clap::CommandFactory;
use std::io::Write;
use std::{collections::BTreeSet, process::ExitCode};

const NO_FILE_COMP: u8 = 4;

pub fn script(args: CompletionArgs) -> Result<ExitCode> {
    let mut cmd = Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "kubectl-vmimage", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}

/// Subcommands whose positional arguments are image references.
const TAKES_REFS: [&str; 4] = ["resolve", "get", "describe", "versions"];

pub async fn candidates(global: &Global, args: CompleteArgs) -> Result<ExitCode> {
    let words = args.words;
    let current = words.last().cloned().unwrap_or_default();
    let mut out = BTreeSet::new();
    // Global flags may stand before the subcommand; the first bare word is the verb.
    let verb = first_bare_word(&words[..words.len().saturating_sub(1)]);
    match verb.as_deref() {
        None => {
            for sub in Cli::command().get_subcommands().filter(|s| !s.is_hide_set()) {
                out.insert(sub.get_name().to_string());
            }
        }
        Some(v) if TAKES_REFS.contains(&v) && !current.starts_with('-') => {
            let global = with_flags_from(global, &words);
            if let Ok((source, ns)) = Source::open(&global).await
                && let Ok(images) = source.images(&Scope::VisibleFrom(ns)).await
            {
                for image in images.index.iter() {
                    out.insert(image.name.to_string());
                    if let Some(d) = &image.display_name {
                        out.insert(d.to_string());
                    }
                }
            }
        }
        Some(_) => {}
    }
    let mut stdout = std::io::stdout().lock();
    for c in out.into_iter().filter(|c| c.starts_with(&current)) {
        writeln!(stdout, "{c}")?;
    }
    writeln!(stdout, ":{NO_FILE_COMP}")?;
    Ok(ExitCode::SUCCESS)
}

/// Flags that take a separate value, whose value is not the verb.
const VALUE_FLAGS: [&str; 8] = [
    "-n",
    "--namespace",
    "--context",
    "--kubeconfig",
    "--catalog",
    "--request-timeout",
    "-o",
    "--output",
];

/// The first word that is neither a flag nor a flag's value.
fn first_bare_word(words: &[String]) -> Option<String> {
    let mut it = words.iter();
    while let Some(w) = it.next() {
        if VALUE_FLAGS.contains(&w.as_str()) {
            it.next();
        } else if !w.starts_with('-') {
            return Some(w.clone());
        }
    }
    None
}

/// Picks `-n`, `--context` and `--kubeconfig` out of the words being completed.
fn with_flags_from(global: &Global, words: &[String]) -> Global {
    let mut g = global.clone();
    let mut it = words.iter();
    while let Some(w) = it.next() {
        let take = |slot: &mut Option<String>, flag: &str| {
            if let Some(v) = w.strip_prefix(&format!("{flag}=")) {
                *slot = Some(v.to_string());
            } else if w == flag {
                *slot = it.clone().next().cloned();
            }
        };
        take(&mut g.namespace, "-n");
        take(&mut g.namespace, "--namespace");
        take(&mut g.context, "--context");
        let mut kc = None;
        take(&mut kc, "--kubeconfig");
        if let Some(kc) = kc {
            g.kubeconfig = Some(kc.into());
        }
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verb_is_found_after_global_flags_and_their_values() {
        let words: Vec<String> = ["--context", "prod", "-n", "dev", "resolve"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(first_bare_word(&words).as_deref(), Some("resolve"));
        assert_eq!(first_bare_word(&words[..4]), None);
    }
}
