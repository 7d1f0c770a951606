//! Command-line interface: kubectl's global flags plus one subcommand per verb.

use crate::output::{Output, jsonpath::Path, outputs};
use clap::{Args, Parser, Subcommand, ValueEnum, ValueHint};
use std::path::PathBuf;

/// Resolve, inspect, pin, check and publish VM Operator images.
///
/// Display names (status.name) are not unique; VMI IDs are. Every command resolves names
/// exactly as VM Operator does, and says which images to choose from when a name is
/// ambiguous.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl vmimage",
    bin_name = "kubectl vmimage",
    version,
    propagate_version = true
)]
pub struct Cli {
    /// Global kubectl-style flags.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Global flags that mean nothing to a subcommand, by id, long name and short name.
type Flag = (&'static str, &'static str, Option<char>);
const CLUSTER_FLAGS: [Flag; 5] = [
    ("kubeconfig", "kubeconfig", None),
    ("context", "context", None),
    ("namespace", "namespace", Some('n')),
    ("request_timeout", "request-timeout", None),
    ("catalog", "catalog", None),
];
const NOT_FOR: [(&str, &[Flag]); 3] = [
    ("publish", &[("catalog", "catalog", None)]),
    ("id", &CLUSTER_FLAGS),
    ("completion", &CLUSTER_FLAGS),
];

/// The CLI, with the global flags a subcommand does not use left out of its `--help`
/// and refused with a reason when given (a subcommand's own argument of the same id
/// takes the place of the propagated global one).
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    for (sub, flags) in NOT_FOR {
        cmd = cmd.mut_subcommand(sub, |mut command| {
            for &(id, long, short) in flags {
                let refuse = move |_: &str| -> Result<String, String> {
                    Err(format!("`kubectl vmimage {sub}` does not use --{long}"))
                };
                let mut arg = clap::Arg::new(id).long(long).hide(true).value_parser(refuse);
                if let Some(short) = short {
                    arg = arg.short(short);
                }
                command = command.arg(arg);
            }
            command
        });
    }
    cmd
}

/// Parses the process's arguments with [`command`], exiting as clap does on an error.
pub fn parse() -> Cli {
    use clap::FromArgMatches;
    let mut matches = command().get_matches();
    Cli::from_arg_matches_mut(&mut matches).unwrap_or_else(|e| e.exit())
}

/// Flags every subcommand accepts, spelled as kubectl spells them.
#[derive(Debug, Args, Clone, Default)]
pub struct Global {
    /// Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, global = true, help_heading = "Global flags", value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long, global = true, help_heading = "Global flags", value_name = "NAME")]
    pub context: Option<String>,
    /// The namespace of the VM (default: the context's namespace, else "default").
    #[arg(
        short = 'n',
        long,
        global = true,
        help_heading = "Global flags",
        value_name = "NS"
    )]
    pub namespace: Option<String>,
    /// How long to wait for one API request, e.g. 30s or 2m (0: no limit).
    #[arg(long, global = true, help_heading = "Global flags", value_name = "DURATION", value_parser = parse_duration)]
    pub request_timeout: Option<std::time::Duration>,
    /// Read images from this file instead of the cluster ("-" for stdin): what
    /// `kubectl get vmi,cvmi -A -o yaml` prints. Works offline.
    #[arg(long, global = true, help_heading = "Global flags", value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub catalog: Option<String>,
}

/// Output formats, as kubectl names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
#[value(rename_all = "lowercase")]
pub enum Format {
    /// Aligned columns (the default).
    #[default]
    Table,
    /// Columns with extra details.
    Wide,
    /// JSON.
    Json,
    /// YAML.
    Yaml,
    /// `kind.group/name`, one per line.
    Name,
    /// The bare VMI ID, one per line (for scripts).
    Id,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Resolve display names or IDs to the one image VM Operator would use.
    #[command(
        after_help = "Examples:\n  kubectl vmimage resolve ubuntu-24.04 -n dev\n  kubectl vmimage resolve ubuntu-24.04 rhel-9.4 -n dev -o id\n  kubectl vmimage resolve debian-12 --newest -n dev\n  kubectl vmimage resolve ubuntu-24.04 --catalog images.yaml -n dev\n  kubectl vmimage resolve ubuntu-24.04 rhel-9.4 -o jsonpath={[*].name}\n  kubectl vmimage resolve team-lib/ubuntu-24.04 -n dev\n  kubectl vmimage resolve --selector os.image.vmoperator.vmware.com/id=ubuntu64Guest --version '>=22.04, <24' -n dev"
    )]
    // NB: `--version` is the image version constraint here, not the plugin's version.
    #[command(disable_version_flag = true)]
    Resolve(ResolveArgs),
    /// List the images visible from a namespace (both scopes).
    #[command(visible_alias = "ls")]
    #[command(
        after_help = "Examples:\n  kubectl vmimage list -n dev\n  kubectl vmimage list -A -o wide\n  kubectl vmimage list -A --ready --type OVF -l os.image.vmoperator.vmware.com/id=ubuntu64Guest\n  kubectl vmimage list -n dev --sort-by=.status.productInfo.version -L os.image.vmoperator.vmware.com/id\n  kubectl vmimage list -A -o jsonpath={.items[*].metadata.name}\n  kubectl vmimage list -n dev -w"
    )]
    List(ListArgs),
    /// Show one image (or every candidate of an ambiguous name).
    #[command(
        after_help = "Examples:\n  kubectl vmimage get vmi-0a0044d7c690bcbea -o yaml\n  kubectl vmimage get debian-12 -n dev\n  kubectl vmimage get ubuntu-24.04 -o custom-columns=ID:.metadata.name,HW:.status.hardwareVersion --no-headers"
    )]
    Get(GetArgs),
    /// Describe one image (or every candidate) in full, with the VMs that use it.
    #[command(after_help = "Examples:\n  kubectl vmimage describe rhel-9.4 -n dev")]
    Describe(DescribeArgs),
    /// Rewrite VirtualMachine manifests so they name images by VMI ID (for GitOps).
    #[command(
        after_help = "Examples:\n  kubectl vmimage pin -f vm.yaml -n dev > vm.pinned.yaml\n  kubectl vmimage pin -f manifests/ --in-place\n  kubectl vmimage pin -f vm.yaml --dry-run --context prod\n  kubectl vmimage pin -f vms/ --selector os.image.vmoperator.vmware.com/id=ubuntu64Guest --version '>=22.04'"
    )]
    #[command(disable_version_flag = true)]
    Pin(PinArgs),
    /// Check VirtualMachine manifests against image policies (for CI); exit 1 if any is denied.
    #[command(
        after_help = "Examples:\n  kubectl vmimage check -f vms/\n  kubectl vmimage check -f vms/ --catalog images.yaml --policy policies/ -o json"
    )]
    Check(CheckArgs),
    /// Every version of an image: same display name or same OS family, newest first.
    #[command(after_help = "Examples:\n  kubectl vmimage versions ubuntu-24.04 -n dev")]
    Versions(VersionsArgs),
    /// VirtualMachines whose image has a newer Ready version in its family (for CI);
    /// exit 1 if any.
    #[command(
        after_help = "Examples:\n  kubectl vmimage outdated -A\n  kubectl vmimage outdated -n dev -o json\n  kubectl vmimage outdated --catalog images.yaml --vms vms/\n  kubectl vmimage outdated -A -o name"
    )]
    Outdated(OutdatedArgs),
    /// What a name resolves to in every namespace, namespaces with the same outcome grouped.
    #[command(
        after_help = "Examples:\n  kubectl vmimage where ubuntu-22.04\n  kubectl vmimage where ubuntu-22.04 -l team=payments -o yaml\n  kubectl vmimage where debian-12 --catalog images.yaml -n staging"
    )]
    Where(WhereArgs),
    /// Export images as a catalog snapshot usable by every --catalog flag.
    #[command(after_help = "Examples:\n  kubectl vmimage catalog export -A > images.yaml")]
    Catalog(CatalogArgs),
    /// Compare how display names resolve in two clusters or snapshots.
    #[command(
        after_help = "Examples:\n  kubectl vmimage compare staging prod\n  kubectl vmimage compare images-before.yaml images-after.yaml"
    )]
    Compare(CompareArgs),
    /// Print the VMI ID of Content Library item UUIDs.
    #[command(after_help = "Examples:\n  kubectl vmimage id e1968c25-dd84-4506-8dc7-9beacb6b688e")]
    Id(IdArgs),
    /// Publish a VirtualMachine as a new image (VirtualMachinePublishRequest).
    #[command(
        after_help = "Examples:\n  kubectl vmimage publish web-1 -n dev --wait\n  kubectl vmimage publish web-1 -n dev --item-name web-golden --library prod-lib\n  kubectl vmimage publish list -n dev\n  kubectl vmimage publish status web-1-publish -n dev\n  kubectl vmimage publish status web-1-publish -n dev -w"
    )]
    Publish(PublishArgs),
    /// Print a shell completion script for the kubectl-vmimage binary.
    ///
    /// Under kubectl, `kubectl vmimage <TAB>` is completed by kubectl's own completion
    /// (`source <(kubectl completion bash)`), which runs `kubectl_complete-vmimage` from
    /// PATH: a copy of, or link to, this binary.
    #[command(
        after_help = "Examples:\n  source <(kubectl vmimage completion bash)\n  kubectl vmimage completion zsh > \"${fpath[1]}/_kubectl-vmimage\"\n  kubectl vmimage completion fish > ~/.config/fish/completions/kubectl-vmimage.fish"
    )]
    Completion(CompletionArgs),
    /// Completion candidates for kubectl's plugin completion (kubectl_complete-vmimage).
    #[command(name = "__complete", hide = true)]
    Complete(CompleteArgs),
}

/// `resolve`.
#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// Display names, VMI IDs or <content library>/<display name>.
    #[arg(
        required_unless_present = "selector",
        conflicts_with = "selector",
        value_name = "REF"
    )]
    pub refs: Vec<String>,
    /// Instead of REFs: the newest Ready image whose labels match this selector
    /// (kubectl's -l syntax), as the vmimage.io/image-selector annotation picks it.
    #[arg(long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// With --selector: only versions satisfying this constraint, e.g. ">=22.04, <24".
    #[arg(long, value_name = "CONSTRAINT", requires = "selector")]
    pub version: Option<String>,
    /// Output format: table, json, yaml, name, id, jsonpath=…, custom-columns=… or
    /// go-template=… (templates see what -o json prints).
    #[arg(short = 'o', long, default_value = "table", value_parser = outputs(&["table", "json", "yaml", "name", "id"]))]
    pub output: Output,
    /// Print tables and custom columns without their header line.
    #[arg(long)]
    pub no_headers: bool,
    /// Settle an ambiguous display name by picking the newest Ready candidate (opt-in;
    /// VM Operator itself refuses ambiguity).
    #[arg(long)]
    pub newest: bool,
}

/// `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// List images in every namespace.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Only images with exactly this display name.
    #[arg(long, value_name = "NAME")]
    pub display_name: Option<String>,
    /// Only images whose labels match this selector (k=v, k!=v, k, !k; comma-separated).
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// Only Ready images.
    #[arg(long)]
    pub ready: bool,
    /// Only images of this type (OVF, ISO, VM).
    #[arg(long = "type", value_name = "TYPE")]
    pub image_type: Option<String>,
    /// Output format: table, wide, json, yaml, name, id, jsonpath=…, custom-columns=… or
    /// go-template=… (templates see the List that -o json prints).
    #[arg(short = 'o', long, default_value = "table", value_parser = outputs(IMAGE_FORMATS))]
    pub output: Output,
    /// After listing, print a row for each image added, changed or deleted (a watch; Ctrl-C ends it).
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// kubectl's printing flags.
    #[command(flatten)]
    pub print: PrintFlags,
}

/// What `list` and `get` print.
const IMAGE_FORMATS: &[&str] = &["table", "wide", "json", "yaml", "name", "id"];

/// `get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// A display name or VMI ID.
    #[arg(value_name = "REF")]
    pub reference: String,
    /// Output format: table, wide, json, yaml, name, id, jsonpath=…, custom-columns=… or
    /// go-template=…; one image prints as the object, an ambiguous name as a List.
    #[arg(short = 'o', long, default_value = "table", value_parser = outputs(IMAGE_FORMATS))]
    pub output: Output,
    /// After printing, print the image (or each candidate) again each time it changes or is
    /// deleted, as `kubectl get NAME -w` (a watch; Ctrl-C ends it).
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// kubectl's printing flags.
    #[command(flatten)]
    pub print: PrintFlags,
}

/// `describe`.
#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// A display name or VMI ID.
    #[arg(value_name = "REF")]
    pub reference: String,
}

/// `versions`.
#[derive(Debug, Args)]
pub struct VersionsArgs {
    /// A display name or VMI ID.
    #[arg(value_name = "REF")]
    pub reference: String,
    /// Output format: table, json, yaml, name, id, jsonpath=…, custom-columns=… or
    /// go-template=… (templates see what -o json prints).
    #[arg(short = 'o', long, default_value = "table", value_parser = outputs(&["table", "json", "yaml", "name", "id"]))]
    pub output: Output,
    /// Print tables and custom columns without their header line.
    #[arg(long)]
    pub no_headers: bool,
}

/// `outdated`.
#[derive(Debug, Args)]
pub struct OutdatedArgs {
    /// Check the VirtualMachines of every namespace (live), not only -n's.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Read VirtualMachines from manifests instead of the cluster: a file, a directory
    /// (recursive, *.yaml/*.yml/*.json) or "-" for stdin; repeatable. A manifest without
    /// a namespace is in -n's. With --catalog, works offline.
    #[arg(long, value_name = "FILE|DIR", value_hint = ValueHint::AnyPath)]
    pub vms: Vec<String>,
    /// Output format: table, json, yaml, name, jsonpath=…, custom-columns=… or
    /// go-template=… (templates see the List that -o json prints).
    #[arg(short = 'o', long, default_value = "table", value_parser = outputs(&["table", "json", "yaml", "name"]))]
    pub output: Output,
    /// Print tables and custom columns without their header line.
    #[arg(long)]
    pub no_headers: bool,
}

/// `where`.
#[derive(Debug, Args)]
pub struct WhereArgs {
    /// A display name, VMI ID or <library>/<display name>.
    #[arg(value_name = "NAME")]
    pub reference: String,
    /// Only namespaces whose labels match this selector (k=v, k!=v, k, !k, k in (a,b);
    /// comma-separated). Offline, a namespace has only its kubernetes.io/metadata.name label.
    #[arg(short = 'l', long = "selector", value_name = "SELECTOR")]
    pub namespace_selector: Option<String>,
    /// Output format: a table, or the groups with each namespace's answer as data.
    #[arg(short = 'o', long, default_value = "table", value_parser = formats(&["table", "json", "yaml"]))]
    pub output: Format,
}

/// kubectl's flags that shape how objects are printed (`kubectl get`'s spelling).
#[derive(Debug, Args, Clone, Default)]
pub struct PrintFlags {
    /// Print tables and custom columns without their header line.
    #[arg(long)]
    pub no_headers: bool,
    /// Sort by a JSONPath expression on each object, e.g. '{.status.name}' or
    /// .metadata.creationTimestamp (numbers by value, text in natural order).
    #[arg(long, value_name = "JSONPATH", value_parser = parse_sort_by)]
    pub sort_by: Option<Path>,
    /// Show all labels as the last column.
    #[arg(long)]
    pub show_labels: bool,
    /// Show these labels as columns (comma-separated, repeatable), e.g. -L os.image.vmoperator.vmware.com/id.
    #[arg(
        short = 'L',
        long = "label-columns",
        value_name = "KEY",
        value_delimiter = ','
    )]
    pub label_columns: Vec<String>,
    /// Keep metadata.managedFields in json, yaml and templates.
    #[arg(long)]
    pub show_managed_fields: bool,
}

impl PrintFlags {
    /// The printer's options.
    pub fn options(&self) -> crate::output::Options {
        crate::output::Options {
            no_headers: self.no_headers,
            sort_by: self.sort_by.clone(),
            show_labels: self.show_labels,
            label_columns: self.label_columns.clone(),
        }
    }
}

fn parse_sort_by(s: &str) -> Result<Path, String> {
    crate::output::Template::relaxed(s).map_err(|e| e.to_string())
}

/// `pin`.
#[derive(Debug, Args)]
pub struct PinArgs {
    /// Manifest file, directory (recursive) or "-" for stdin; repeatable.
    #[arg(short = 'f', long = "filename", required = true, value_name = "PATH", value_hint = ValueHint::AnyPath)]
    pub files: Vec<String>,
    /// Rewrite the files instead of printing the result.
    #[arg(long, short = 'i')]
    pub in_place: bool,
    /// Only report what would change.
    #[arg(long)]
    pub dry_run: bool,
    /// Pin an ambiguous display name to its newest Ready candidate instead of failing.
    #[arg(long)]
    pub newest: bool,
    /// For VMs that name no image (and carry no vmimage.io/image-selector of their own):
    /// pin the newest Ready image whose labels match this selector (kubectl's -l syntax).
    #[arg(long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// With --selector: only versions satisfying this constraint, e.g. ">=22.04, <24".
    #[arg(long, value_name = "CONSTRAINT", requires = "selector")]
    pub version: Option<String>,
}

/// `publish`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct PublishArgs {
    /// List or inspect existing requests instead of creating one.
    #[command(subcommand)]
    pub action: Option<PublishAction>,
    /// The VirtualMachine to publish.
    #[arg(value_name = "VM", required = true)]
    pub vm: Option<String>,
    /// Library item name, which becomes the image's display name (default: <vm>-image).
    #[arg(long, value_name = "NAME")]
    pub item_name: Option<String>,
    /// Library item description.
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// ContentLibrary to publish into (default: the namespace's library labelled
    /// imageregistry.vmware.com/default).
    #[arg(long, value_name = "LIB")]
    pub library: Option<String>,
    /// Name of the VirtualMachinePublishRequest (default: the item name).
    #[arg(long, value_name = "NAME")]
    pub request_name: Option<String>,
    /// Delete the request this many seconds after it finishes.
    #[arg(long, value_name = "SECONDS")]
    pub ttl: Option<i64>,
    /// Publish even if an image with the item name is already visible (the name becomes
    /// ambiguous for every VM that uses it).
    #[arg(long)]
    pub allow_duplicate_name: bool,
    /// Follow the request until it completes or fails.
    #[arg(long)]
    pub wait: bool,
    /// Give up waiting after this long, e.g. 10m (the request goes on).
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
    /// Print the request instead of a summary.
    #[arg(short = 'o', long, value_parser = formats(&["yaml", "json", "name"]))]
    pub output: Option<Format>,
    /// Only show the request: `client` builds it locally, `server` also asks the apiserver
    /// to validate it without persisting.
    #[arg(long, value_name = "MODE", num_args = 0..=1, default_missing_value = "client")]
    pub dry_run: Option<DryRun>,
}

/// `publish list` / `publish status`.
#[derive(Debug, Subcommand)]
pub enum PublishAction {
    /// Requests in the namespace with their stage, attempts, age and resulting image.
    List(PublishListArgs),
    /// One request in detail.
    Status(PublishStatusArgs),
}

/// What `publish list` and `publish status` print.
const REQUEST_FORMATS: &[&str] = &["table", "json", "yaml", "name"];

/// `publish list`.
#[derive(Debug, Args)]
pub struct PublishListArgs {
    /// Output format: table, json, yaml, name, jsonpath=…, custom-columns=… or
    /// go-template=… (templates see the List that -o json prints).
    #[arg(short = 'o', long, default_value = "table", value_parser = outputs(REQUEST_FORMATS))]
    pub output: Output,
    /// After listing, print a row for each request added, changed or deleted (a watch;
    /// Ctrl-C ends it, never the requests).
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// kubectl's printing flags.
    #[command(flatten)]
    pub print: PrintFlags,
}

/// `publish status`.
#[derive(Debug, Args)]
pub struct PublishStatusArgs {
    /// The request's name.
    pub name: String,
    /// Print the request instead of the summary: table, json, yaml, name, jsonpath=…,
    /// custom-columns=… or go-template=….
    #[arg(short = 'o', long, value_parser = outputs(REQUEST_FORMATS))]
    pub output: Option<Output>,
    /// Print the request as a table row, then a row each time it changes (a watch; Ctrl-C
    /// ends it, never the request).
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// kubectl's printing flags.
    #[command(flatten)]
    pub print: PrintFlags,
}

/// `--dry-run` modes, as kubectl names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DryRun {
    /// Build the request locally.
    Client,
    /// Validate on the server without persisting.
    Server,
}

/// `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Manifest file, directory (recursive) or "-" for stdin; repeatable.
    #[arg(short = 'f', long = "filename", required = true, value_name = "PATH", value_hint = ValueHint::AnyPath)]
    pub files: Vec<String>,
    /// VMImagePolicy file(s) to check against instead of the cluster's policies.
    #[arg(long, value_name = "FILE", value_hint = ValueHint::AnyPath)]
    pub policy: Vec<String>,
    /// Output format: a table (text), or the verdicts as data.
    #[arg(short = 'o', long, default_value = "table", value_parser = formats(&["table", "json", "yaml"]))]
    pub output: Format,
}

/// `catalog`.
#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: CatalogAction,
}

/// `catalog` actions.
#[derive(Debug, Subcommand)]
pub enum CatalogAction {
    /// Write the images visible from the namespace (or all, with -A) as YAML to stdout.
    Export {
        /// Every namespace.
        #[arg(short = 'A', long)]
        all_namespaces: bool,
        /// Output format.
        #[arg(short = 'o', long, default_value = "yaml", value_parser = formats(&["yaml", "json"]))]
        output: Format,
    },
}

/// `compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The first side: a catalog file, or a kubeconfig context.
    #[arg(value_name = "A")]
    pub a: String,
    /// The second side: a catalog file, or a kubeconfig context.
    #[arg(value_name = "B")]
    pub b: String,
    /// Output format.
    #[arg(short = 'o', long, default_value = "table", value_parser = formats(&["table", "json", "yaml"]))]
    pub output: Format,
    /// Show only names that do not resolve to the same ID on both sides.
    #[arg(long)]
    pub differences: bool,
}

/// `id`.
#[derive(Debug, Args)]
pub struct IdArgs {
    /// Content Library item UUIDs.
    #[arg(required = true, value_name = "UUID")]
    pub uuids: Vec<String>,
}

/// `completion`.
#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell.
    pub shell: Shell,
}

/// Shells `completion` writes a script for (kubectl's own completion covers the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// Bash (bash-completion optional).
    Bash,
    /// Zsh.
    Zsh,
    /// Fish.
    Fish,
}

/// `__complete`: the words typed so far.
#[derive(Debug, Args)]
pub struct CompleteArgs {
    /// Arguments after `kubectl vmimage`, the last one being completed.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub words: Vec<String>,
}

/// A `-o` parser that takes only the formats a command can print, so clap refuses the
/// rest and `--help` and completion list exactly these.
fn formats(allowed: &'static [&'static str]) -> impl clap::builder::TypedValueParser<Value = Format> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(allowed).try_map(|s| Format::from_str(&s, true))
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    vmimage_shared::duration::parse(s).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn global_flags_a_subcommand_does_not_use_are_hidden_and_refused() {
        for (sub, flag) in [
            ("publish", "--catalog"),
            ("id", "--namespace"),
            ("completion", "--kubeconfig"),
        ] {
            let mut cmd = super::command();
            let help = cmd
                .find_subcommand_mut(sub)
                .expect("subcommand")
                .render_long_help()
                .to_string();
            assert!(!help.contains(flag), "{sub} --help lists {flag}:\n{help}");
            let args = match sub {
                "publish" => vec!["kubectl-vmimage", sub, "web", flag, "x"],
                "id" => vec![
                    "kubectl-vmimage",
                    sub,
                    flag,
                    "x",
                    "e1968c25-dd84-4506-8dc7-9beacb6b688e",
                ],
                _ => vec!["kubectl-vmimage", sub, flag, "x", "bash"],
            };
            let err = super::command().try_get_matches_from(args).unwrap_err();
            assert!(
                err.to_string()
                    .contains(&format!("`kubectl vmimage {sub}` does not use {flag}")),
                "{err}"
            );
        }
        let help = super::command()
            .find_subcommand_mut("resolve")
            .expect("resolve")
            .render_long_help()
            .to_string();
        assert!(help.contains("--catalog"), "{help}");
    }

    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn each_command_takes_only_the_formats_it_prints() {
        for (argv, ok) in [
            (&["check", "-f", "x", "-o", "name"][..], false),
            (&["check", "-f", "x", "-o", "json"][..], true),
            (&["resolve", "x", "-o", "wide"][..], false),
            (&["resolve", "x", "-o", "id"][..], true),
            (&["list", "-o", "wide"][..], true),
            (&["catalog", "export", "-o", "table"][..], false),
            (&["resolve", "x", "-o", "jsonpath={.name}"][..], true),
            (&["versions", "x", "-o", "wide"][..], false),
            (&["get", "x", "-o", "custom-columns=N:.metadata.name"][..], true),
            (
                &["list", "-o", "go-template={{.kind}}", "--sort-by", ".status.name"][..],
                true,
            ),
            (&["list", "--sort-by", "{.a"][..], false),
            (
                &[
                    "list",
                    "-L",
                    "a,b",
                    "-L",
                    "c",
                    "--show-labels",
                    "--no-headers",
                    "-w",
                ][..],
                true,
            ),
            (&["describe", "x", "-o", "yaml"][..], false),
            (&["outdated", "-A", "-o", "name"][..], true),
            (&["outdated", "-o", "id"][..], false),
            (
                &["outdated", "--vms", "a", "--vms", "b", "-o", "jsonpath={.items}"][..],
                true,
            ),
            (&["where", "x", "-l", "team=a", "-o", "yaml"][..], true),
            (&["where", "x", "-o", "name"][..], false),
            (&["where", "-o", "json"][..], false),
            (&["publish", "list", "-o", "id"][..], false),
            (
                &["publish", "status", "r", "-w", "-o", "jsonpath={.status}"][..],
                true,
            ),
        ] {
            let parsed = Cli::try_parse_from(std::iter::once("kubectl-vmimage").chain(argv.iter().copied()));
            assert_eq!(parsed.is_ok(), ok, "{argv:?}");
        }
    }

    #[test]
    fn every_help_example_parses() {
        let mut checked = 0;
        for sub in Cli::command().get_subcommands() {
            let Some(help) = sub.get_after_help() else {
                continue;
            };
            for line in help.to_string().lines() {
                let Some(args) = line.trim().strip_prefix("kubectl vmimage ") else {
                    continue;
                };
                let args = args.split(['>', '|']).next().unwrap_or_default();
                let argv = std::iter::once("kubectl-vmimage").chain(args.split_whitespace());
                if let Err(e) = Cli::try_parse_from(argv) {
                    panic!("{line:?} does not parse: {e}");
                }
                checked += 1;
            }
        }
        assert!(checked >= 20, "{checked}");
    }

    #[test]
    fn durations_parse_like_kubectl() {
        assert_eq!(parse_duration("30s").unwrap().as_secs(), 30);
        assert_eq!(parse_duration("2m").unwrap().as_secs(), 120);
        assert_eq!(parse_duration("5").unwrap().as_secs(), 5);
        assert!(parse_duration("abc").is_err());
        assert!(parse_duration("3d").is_err());
        assert!(parse_duration("99999999999999999999999999h").is_err());
    }
}
