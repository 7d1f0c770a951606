//! Shell completion. kubectl (>= 1.26) completes `kubectl vmimage …` by running
//! `kubectl_complete-vmimage` with the words typed so far and reading Cobra's
//! `__complete` answer: one candidate per line (`name<TAB>description`), then
//! `:<directive>`. The same answer serves `kubectl-vmimage __complete …`, which the
//! scripts of `completion bash|zsh|fish` call for the standalone binary.

mod line;
mod scripts;
mod values;

use crate::{
    cli::{CompleteArgs, CompletionArgs, Global},
    error::Result,
};
use line::Want;
use std::{io::Write, process::ExitCode};

/// Cobra's ShellCompDirective bits that vmimage uses (1, error, is the other one), which
/// kubectl passes on to its shell scripts.
pub mod directive {
    /// Do not add a space after the candidate (`-o jsonpath=` wants its template next).
    pub const NO_SPACE: u8 = 2;
    /// Do not fall back to file names when there is no candidate.
    pub const NO_FILE_COMP: u8 = 4;
    /// The candidates are file extensions to filter file names by.
    pub const FILTER_FILE_EXT: u8 = 8;
    /// Complete directory names only.
    pub const FILTER_DIRS: u8 = 16;
    /// Keep the candidates in the given order.
    pub const KEEP_ORDER: u8 = 32;
    /// Let the shell complete file names (no bits set).
    pub const FILES: u8 = 0;
}

/// What the completer answers: candidates (name, description) and a directive.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Answer {
    /// Candidates, each with an optional description.
    pub candidates: Vec<(String, String)>,
    /// Cobra's directive.
    pub directive: u8,
}

impl Answer {
    fn words(candidates: impl IntoIterator<Item = (String, String)>) -> Self {
        Self {
            candidates: candidates.into_iter().collect(),
            directive: directive::NO_FILE_COMP,
        }
    }

    fn nothing() -> Self {
        Self::words([])
    }

    /// Keeps only candidates starting with what is typed (shells filter too; this keeps
    /// the answer short on big clusters), dropping duplicates.
    fn filtered(mut self, partial: &str) -> Self {
        if self.directive & (directive::FILTER_FILE_EXT | directive::FILTER_DIRS) == 0 {
            let mut seen = std::collections::HashSet::new();
            self.candidates
                .retain(|(c, _)| c.starts_with(partial) && seen.insert(c.clone()));
            if !self.candidates.is_empty() && self.candidates.iter().all(|(c, _)| c.ends_with('=')) {
                self.directive |= directive::NO_SPACE;
            }
        }
        self
    }
}

pub fn script(args: CompletionArgs) -> Result<ExitCode> {
    std::io::stdout().write_all(scripts::script(args.shell).as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// `__complete WORDS…`: prints the candidates for the last word. Never fails: whatever
/// goes wrong (no cluster, no rights) means fewer candidates, never an error in the
/// middle of a command line.
pub async fn candidates(global: &Global, args: CompleteArgs) -> Result<ExitCode> {
    let mut words = args.words;
    if words.is_empty() {
        words.push(String::new());
    }
    let answer = answer(global, &words).await;
    let mut out = std::io::stdout().lock();
    for (name, help) in &answer.candidates {
        if help.is_empty() {
            writeln!(out, "{name}")?;
        } else {
            writeln!(out, "{name}\t{help}")?;
        }
    }
    writeln!(out, ":{}", answer.directive)?;
    Ok(ExitCode::SUCCESS)
}

/// The answer for the last of `words` (the arguments after `kubectl vmimage`).
pub async fn answer(global: &Global, words: &[String]) -> Answer {
    let mut root = crate::cli::command();
    root.build();
    let at = line::position(&root, words);
    let global = values::effective_global(global, &at.values);
    let answer = match &at.want {
        Want::Flag => Answer::words(flags(at.command, &at.given)),
        Want::Value(arg) => values::for_flag(&global, arg).await,
        Want::Positional(arg) => {
            let mut answer = match arg {
                Some(arg) => values::for_positional(&global, &at, arg).await,
                None => Answer::nothing(),
            };
            if at.positionals == 0 && answer.directive & directive::FILTER_FILE_EXT == 0 {
                answer.candidates.splice(0..0, subcommands(at.command));
            }
            answer
        }
    };
    answer.filtered(&at.partial)
}

/// The subcommands of `command` a user may type (never the hidden `__complete`).
fn subcommands(command: &clap::Command) -> Vec<(String, String)> {
    command
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| (s.get_name().to_string(), first_line(s.get_about())))
        .collect()
}

/// The flags of `command` not given yet (repeatable ones always), long names first.
fn flags(command: &clap::Command, given: &[String]) -> Vec<(String, String)> {
    let mut long = Vec::new();
    let mut short = Vec::new();
    for arg in command.get_arguments() {
        if arg.is_positional() || arg.is_hide_set() {
            continue;
        }
        let repeatable = matches!(arg.get_action(), clap::ArgAction::Append | clap::ArgAction::Count);
        if !repeatable && given.iter().any(|g| g == arg.get_id().as_str()) {
            continue;
        }
        let help = first_line(arg.get_help());
        if let Some(l) = arg.get_long() {
            long.push((format!("--{l}"), help.clone()));
        }
        if let Some(s) = arg.get_short() {
            short.push((format!("-{s}"), help));
        }
    }
    long.extend(short);
    long
}

fn first_line(text: Option<&clap::builder::StyledStr>) -> String {
    text.map(|t| {
        t.to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .trim_end_matches('.')
            .to_string()
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn offline(words: &[&str]) -> Answer {
        // A kubeconfig that cannot exist: cluster-backed candidates come up empty.
        let global = Global {
            kubeconfig: Some("/nonexistent/kubeconfig".into()),
            ..Default::default()
        };
        let words: Vec<String> = words.iter().map(|s| s.to_string()).collect();
        answer(&global, &words).await
    }

    fn names(a: &Answer) -> Vec<&str> {
        a.candidates.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[tokio::test]
    async fn the_hidden_subcommand_is_never_offered() {
        let a = offline(&[""]).await;
        assert!(
            names(&a).contains(&"resolve") && names(&a).contains(&"publish"),
            "{a:?}"
        );
        assert!(!names(&a).iter().any(|n| n.starts_with("__")), "{a:?}");
        assert_eq!(names(&offline(&["__"]).await), Vec::<&str>::new());
    }

    #[tokio::test]
    async fn output_formats_are_those_of_the_command() {
        let resolve = offline(&["resolve", "x", "-o", ""]).await;
        assert_eq!(names(&resolve)[..5], ["table", "json", "yaml", "name", "id"]);
        assert!(names(&resolve).contains(&"jsonpath=") && !names(&resolve).contains(&"wide"));
        // A template format wants its template right after the `=`.
        let template = offline(&["resolve", "x", "-o", "jsonp"]).await;
        assert_eq!(names(&template), ["jsonpath=", "jsonpath-file="]);
        assert_eq!(template.directive & directive::NO_SPACE, directive::NO_SPACE);
        assert_eq!(resolve.directive & directive::NO_SPACE, 0);
        let list = offline(&["list", "-o", "w"]).await;
        assert_eq!(names(&list), ["wide"]);
        assert_eq!(list.directive, directive::NO_FILE_COMP | directive::KEEP_ORDER);
        let check = offline(&["check", "-f", "vm.yaml", "--output="]).await;
        assert_eq!(names(&check), ["table", "json", "yaml"]);
    }

    #[tokio::test]
    async fn manifests_complete_as_files_and_the_kubeconfig_as_any_file() {
        let f = offline(&["pin", "-f", ""]).await;
        assert_eq!(f.directive, directive::FILTER_FILE_EXT);
        assert_eq!(names(&f), ["yaml", "yml", "json"]);
        assert_eq!(
            offline(&["--catalog", ""]).await.directive,
            directive::FILTER_FILE_EXT
        );
        let kc = offline(&["list", "--kubeconfig", ""]).await;
        assert_eq!((kc.directive, kc.candidates.len()), (directive::FILES, 0));
    }

    #[tokio::test]
    async fn flags_are_offered_once_with_their_help() {
        let a = offline(&["list", "-A", "--"]).await;
        assert!(
            names(&a).contains(&"--selector") && names(&a).contains(&"--namespace"),
            "{a:?}"
        );
        assert!(!names(&a).contains(&"--all-namespaces"), "{a:?}");
        let help = &a.candidates.iter().find(|(n, _)| n == "--ready").unwrap().1;
        assert_eq!(help, "Only Ready images");
        assert!(names(&offline(&["check", "-f", "a", "--"]).await).contains(&"--filename"));
    }

    #[tokio::test]
    async fn the_reports_complete_their_flags_files_and_names() {
        let flags = offline(&["outdated", "--"]).await;
        assert!(
            names(&flags).contains(&"--vms") && names(&flags).contains(&"--all-namespaces"),
            "{flags:?}"
        );
        let vms = offline(&["outdated", "--vms", ""]).await;
        assert_eq!(vms.directive, directive::FILTER_FILE_EXT);
        assert_eq!(names(&vms), ["yaml", "yml", "json"]);
        assert!(names(&offline(&["where", "x", "--"]).await).contains(&"--selector"));
        let catalog = concat!(env!("CARGO_MANIFEST_DIR"), "/../manifests/samples/catalog.yaml");
        let refs = offline(&["where", "--catalog", catalog, "-n", "dev", "debian"]).await;
        assert_eq!(names(&refs), ["debian-12"]);
        assert_eq!(refs.candidates[0].1, "ambiguous: 2 images");
    }

    #[tokio::test]
    async fn shells_and_dry_run_modes_come_from_the_cli() {
        assert_eq!(
            names(&offline(&["completion", ""]).await),
            ["bash", "zsh", "fish"]
        );
        assert_eq!(names(&offline(&["publish", "--dry-run=s"]).await), ["server"]);
    }
}
