//! Reading a partly typed command line against clap's own definition of the CLI, so
//! every flag and subcommand the parser knows is completed without a second list.

use clap::{Arg, Command};
use std::collections::HashMap;

/// What the word under the cursor is.
#[derive(Debug)]
pub enum Want<'c> {
    /// A flag name (the word starts with `-`).
    Flag,
    /// The value of this flag.
    Value(&'c Arg),
    /// A positional argument of the innermost subcommand (or one of its subcommands);
    /// `None` when the command takes no more positionals.
    Positional(Option<&'c Arg>),
}

/// Where the cursor is.
#[derive(Debug)]
pub struct Position<'c> {
    /// The innermost command typed.
    pub command: &'c Command,
    /// What is being completed.
    pub want: Want<'c>,
    /// The part of the current word to complete (after `=` for `--flag=value`).
    pub partial: String,
    /// Flag values already typed, by argument id (the last one wins).
    pub values: HashMap<String, String>,
    /// Ids of the flags already given, to offer each only once.
    pub given: Vec<String>,
    /// Positionals already typed for the innermost command.
    pub positionals: usize,
}

/// Reads `words` (the arguments after the program name; the last is being completed)
/// against `root`, which must have been built (`Command::build`) so that global flags
/// are visible on every subcommand.
pub fn position<'c>(root: &'c Command, words: &[String]) -> Position<'c> {
    let (current, typed) = match words.split_last() {
        Some((last, rest)) => (last.as_str(), rest),
        None => ("", &[][..]),
    };
    let mut command = root;
    let mut values = HashMap::new();
    let mut given = Vec::new();
    let mut positionals = 0;
    let mut only_positionals = false;
    let mut pending: Option<&Arg> = None;
    for word in typed {
        if let Some(arg) = pending.take() {
            values.insert(arg.get_id().to_string(), word.clone());
            continue;
        }
        if only_positionals || word == "-" || !word.starts_with('-') {
            let sub = (positionals == 0 && !only_positionals)
                .then(|| command.find_subcommand(word))
                .flatten();
            match sub {
                Some(sub) => {
                    command = sub;
                    positionals = 0;
                }
                None => positionals += 1,
            }
            continue;
        }
        if word == "--" {
            only_positionals = true;
            continue;
        }
        match flag(command, word) {
            Some((arg, Some(value))) => {
                given.push(arg.get_id().to_string());
                values.insert(arg.get_id().to_string(), value);
            }
            Some((arg, None)) => {
                given.push(arg.get_id().to_string());
                if takes_separate_value(arg) {
                    pending = Some(arg);
                }
            }
            None => {}
        }
    }
    let (want, partial) = if let Some(arg) = pending {
        (Want::Value(arg), current.to_string())
    } else if !only_positionals && current.starts_with("--") && current.contains('=') {
        match flag(command, current) {
            Some((arg, Some(value))) => (Want::Value(arg), value),
            _ => (Want::Flag, current.to_string()),
        }
    } else if !only_positionals && current.starts_with('-') {
        (Want::Flag, current.to_string())
    } else {
        let arg = command
            .get_positionals()
            .filter(|a| !a.is_hide_set())
            .enumerate()
            .find(|(i, a)| *i == positionals || (*i < positionals && repeats(a)))
            .map(|(_, a)| a);
        (Want::Positional(arg), current.to_string())
    };
    Position {
        command,
        want,
        partial,
        values,
        given,
        positionals,
    }
}

/// The flag `word` names in `command`, and its value when written in the same word
/// (`--context=prod`, `-ndev`).
fn flag<'c>(command: &'c Command, word: &str) -> Option<(&'c Arg, Option<String>)> {
    if let Some(long) = word.strip_prefix("--") {
        let (name, value) = match long.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (long, None),
        };
        let arg = command.get_arguments().find(|a| {
            a.get_long() == Some(name) || a.get_all_aliases().is_some_and(|al| al.contains(&name))
        })?;
        return Some((arg, value));
    }
    // Short flags may be bundled (`-Ai`); the first one that takes a value ends the
    // bundle and the rest of the word is its value.
    let mut last = None;
    for (at, c) in word.strip_prefix('-')?.char_indices() {
        let arg = command.get_arguments().find(|a| a.get_short() == Some(c))?;
        if arg.get_action().takes_values() {
            let rest = &word[1 + at + c.len_utf8()..];
            let rest = rest.strip_prefix('=').unwrap_or(rest);
            return Some((arg, (!rest.is_empty()).then(|| rest.to_string())));
        }
        last = Some(arg);
    }
    last.map(|a| (a, None))
}

/// Whether the word after the flag is its value (`--dry-run` takes one only with `=`).
fn takes_separate_value(arg: &Arg) -> bool {
    arg.get_action().takes_values() && arg.get_num_args().is_none_or(|n| n.min_values() > 0)
}

/// Whether a positional takes any number of values (`resolve REF...`).
fn repeats(arg: &Arg) -> bool {
    arg.get_num_args().is_some_and(|n| n.max_values() > 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(words: &[&str]) -> (String, String, String) {
        let mut root = crate::cli::command();
        root.build();
        let words: Vec<String> = words.iter().map(|s| s.to_string()).collect();
        let p = position(&root, &words);
        let want = match &p.want {
            Want::Flag => "flag".to_string(),
            Want::Value(a) => format!("value {}", a.get_id()),
            Want::Positional(a) => format!("positional {}", a.map(|a| a.get_id().as_str()).unwrap_or("-")),
        };
        (p.command.get_name().to_string(), want, p.partial)
    }

    #[test]
    fn global_flags_before_the_verb_are_skipped_with_their_values() {
        let (cmd, want, _) = at(&["--context", "prod", "-n", "dev", "resolve", ""]);
        assert_eq!((cmd.as_str(), want.as_str()), ("resolve", "positional refs"));
    }

    #[test]
    fn a_flag_value_is_wanted_after_the_flag_and_after_equals() {
        assert_eq!(at(&["-n", ""]).1, "value namespace");
        assert_eq!(at(&["list", "-o", "w"]).1, "value output");
        let (_, want, partial) = at(&["resolve", "--context=pr"]);
        assert_eq!((want.as_str(), partial.as_str()), ("value context", "pr"));
        assert_eq!(at(&["pin", "-f", ""]).1, "value files");
    }

    #[test]
    fn subcommands_nest_and_positionals_count() {
        assert_eq!(at(&["publish", ""]).1, "positional vm");
        let (cmd, want, _) = at(&["publish", "status", ""]);
        assert_eq!((cmd.as_str(), want.as_str()), ("status", "positional name"));
        assert_eq!(at(&["resolve", "a", "b", ""]).1, "positional refs");
        assert_eq!(at(&["get", "a", ""]).1, "positional -");
        assert_eq!(at(&["resolve", "-"]).1, "flag");
    }

    #[test]
    fn an_optional_value_is_taken_only_with_equals() {
        assert_eq!(at(&["publish", "--dry-run", ""]).1, "positional vm");
        assert_eq!(at(&["publish", "--dry-run="]).1, "value dry_run");
    }
}
