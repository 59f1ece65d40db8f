//! Command-line interface. Doc comments are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::report::Format;

#[derive(Debug, Parser)]
#[command(
    name = "jobdeploy",
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("JOBDEPLOY_COMMIT"), ")"),
    about = "Repoint every ECS scheduled batch job at the image tag your Kubernetes manifests run.",
    long_about = "Reads the image tag the Kubernetes manifest repo says is live, renders the task \
definition templates in taskdefs/, registers what changed and repoints every EventBridge rule \
target and Scheduler schedule of ours at the new revisions — all or nothing.",
    after_help = "Examples:\n  jobdeploy plan                    # what the manifest's live tag would change\n  jobdeploy plan --exit-code        # exit 2 when there are changes\n  jobdeploy deploy                  # register and repoint\n  jobdeploy deploy --tag v1.4.2     # deploy a tag without reading the manifest repo\n  jobdeploy render web-batch        # the task definition as it would be registered\n  jobdeploy history                 # releases, newest first, and which one is live\n  jobdeploy status                  # every target: revision, release, drift\n  jobdeploy rollback previous       # back to the release before the live one\n  jobdeploy prune --keep 10 --dry-run\n  jobdeploy run nightly-report      # run a rule's task now, wait, exit with its code\n  jobdeploy init --cluster batch --image 123456789012.dkr.ecr.us-east-1.amazonaws.com/web\n  jobdeploy verify                  # read-only preflight: roles, images, secrets, logs, network, Fargate
  jobdeploy runs --exit-code        # what last night's jobs did; 2 when one failed
  jobdeploy iam-policy --tag v1.4.2 > policy.json\n  jobdeploy completions zsh > ~/.zfunc/_jobdeploy"
)]
pub struct Cli {
    /// Path to jobdeploy.toml [default: ./jobdeploy.toml]
    #[arg(long, global = true, env = "JOBDEPLOY_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Deploy this image tag (or TAG@sha256:…) instead of reading the manifest repo
    #[arg(long, global = true, env = "JOBDEPLOY_TAG", value_name = "TAG")]
    pub tag: Option<String>,

    /// Output format of plan, deploy, rollback, history, status, prune, verify and runs reports
    #[arg(long, global = true, value_enum, default_value_t = Format::Human, env = "JOBDEPLOY_FORMAT")]
    pub format: Format,

    /// Concurrent AWS requests in flight (their rate is paced to the account's quotas)
    #[arg(long, global = true, default_value_t = 16, env = "JOBDEPLOY_CONCURRENCY", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,

    /// Show more: targets left alone and why
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Only data on stdout and errors on stderr; no progress lines
    #[arg(short, long, global = true, env = "JOBDEPLOY_QUIET")]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// The parser. The global flags only the release commands read (`--config`, `--tag`,
/// `--format`) are hidden from `init --help` and `completions --help`: clap copies a global
/// flag into a subcommand only when the subcommand has none of that name, so these get a
/// hidden copy of their own (still accepted, and ignored).
pub fn command() -> clap::Command {
    const RELEASE_ONLY: [&str; 3] = ["config", "tag", "format"];
    let command = <Cli as clap::CommandFactory>::command();
    let hidden: Vec<clap::Arg> = command
        .get_arguments()
        .filter(|a| RELEASE_ONLY.contains(&a.get_id().as_str()))
        .map(|a| a.clone().hide(true))
        .collect();
    command.mut_subcommands(|sub| match sub.get_name() {
        "init" | "completions" => sub.args(hidden.iter().cloned()),
        _ => sub,
    })
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what a deploy would change; writes nothing
    ///
    /// Resolves the release, renders the templates, reads live task definitions and rule
    /// targets, and prints per family a diff and per target `family:old → family:new`.
    #[command(
        after_help = "Examples:\n  jobdeploy plan\n  jobdeploy plan --tag v1.4.2 --format markdown > plan.md\n  jobdeploy plan --exit-code || [ $? -eq 2 ]   # 2: changes pending"
    )]
    Plan(PlanArgs),
    /// Check the image, register changed task definitions, repoint every target
    ///
    /// All or nothing: if any target cannot be repointed, the ones already repointed are
    /// put back as they were and the exit code is 1.
    #[command(
        after_help = "Examples:\n  jobdeploy deploy\n  jobdeploy deploy --wait-for-k8s=20m  # first wait until k8s runs the release\n  jobdeploy deploy --tag v1.4.2        # a hotfix tag, without the manifest repo\n  JOBDEPLOY_CONCURRENCY=4 jobdeploy deploy"
    )]
    Deploy(DeployArgs),
    /// Print rendered task definitions as they would be registered
    #[command(
        after_help = "Examples:\n  jobdeploy render --tag v1.4.2\n  jobdeploy render web-batch --tag v1.4.2 | jq .containerDefinitions"
    )]
    Render(RenderArgs),
    /// Releases newest first: time, commits, family → revision, which one is live
    ///
    /// Derived from the tags jobdeploy puts on the revisions it registers; a family a release
    /// did not change keeps its earlier revision. Reads only as far back as needed.
    #[command(
        after_help = "Examples:\n  jobdeploy history\n  jobdeploy history --limit 3 --format json"
    )]
    History(HistoryArgs),
    /// Every target of ours: revision, release, and drift
    ///
    /// Drift: targets on different releases, floating family-only targets, targets on
    /// INACTIVE or missing revisions, ECS targets on the cluster whose family has no template.
    #[command(
        after_help = "Examples:\n  jobdeploy status\n  jobdeploy status --exit-code   # 2 on drift, for a scheduled check"
    )]
    Status(StatusArgs),
    /// Repoint every target at the revisions an earlier release had; registers nothing
    ///
    /// `previous` is the release before the live one. The same plan, compare-and-swap and
    /// all-or-nothing revert as deploy. A release with an INACTIVE revision is refused.
    #[command(
        after_help = "Examples:\n  jobdeploy rollback previous --dry-run\n  jobdeploy rollback v1.4.1\n  jobdeploy rollback 3f2a9c1      # the release made from this manifest commit\n  jobdeploy rollback adopted      # what the rules ran before jobdeploy's first release"
    )]
    Rollback(RollbackArgs),
    /// Deregister old revisions of our families
    ///
    /// Never one that any rule or schedule in the account points at (ours or not, any
    /// cluster, any bus), never a family's newest, never one of the last N releases'.
    #[command(
        after_help = "Examples:\n  jobdeploy prune --keep 10 --dry-run\n  jobdeploy prune --keep 10"
    )]
    Prune(PruneArgs),
    /// Write jobdeploy.toml and taskdefs/ from the live account
    ///
    /// Finds every EventBridge rule (any bus) and Scheduler schedule (any group) that runs an
    /// ECS task on the cluster, and writes taskdefs/<family>.json from the revision they run:
    /// read-only fields dropped, the image's tag turned into `{{ image }}`. Right after init,
    /// `jobdeploy plan --tag <live tag>` shows no change. Never overwrites without --force.
    #[command(
        after_help = "Examples:\n  jobdeploy init --cluster batch --image 123456789012.dkr.ecr.us-east-1.amazonaws.com/web\n  jobdeploy init --cluster batch --image ghcr.io/acme/web --manifest-repo https://github.com/acme/k8s.git --manifest-path apps/web --dir app"
    )]
    Init(InitArgs),
    /// Run the task a rule or schedule runs, now; wait, follow its logs, exit with its code
    ///
    /// RunTask is built from the live target field for field: cluster, task definition,
    /// launch type or capacity providers, network configuration, platform version, group,
    /// placement, tags, execute command, reference id, and the target's Input as overrides.
    /// Exit code: the essential container's (or --container's); 1 when the task never
    /// started; 124 when --timeout passes; 130 when interrupted (the task is stopped).
    #[command(
        after_help = "Examples:\n  jobdeploy run nightly-report                 # a rule on a configured bus, or a schedule\n  jobdeploy run default/nightly-report --dry-run\n  jobdeploy run jobs/export --latest --env DRY_RUN=1\n  jobdeploy run nightly-report --release v1.4.1     # last release's revision\n  jobdeploy run nightly-report --override-command 'bin/rake reports:one[42]' --timeout 30m\n  jobdeploy run nightly-report --no-wait"
    )]
    Run(RunArgs),
    /// Check, read-only, what would make the jobs fail when they run
    ///
    /// For every rendered task definition and every target of ours: roles exist and trust
    /// ECS / EventBridge / Scheduler; images exist in ECR for the task's platform; secrets,
    /// parameters and log groups exist; subnets and security groups exist in one VPC with a
    /// route to ECR; Fargate cpu/memory and platform version are supported. Every check
    /// runs; exit 1 if any failed. A read without permission is a warning, not a failure.
    #[command(
        after_help = "Examples:\n  jobdeploy verify\n  jobdeploy verify --tag v1.4.2 --format markdown >> \"$GITHUB_STEP_SUMMARY\""
    )]
    Verify,
    /// What the jobs did: invocations, failures, tasks, dead letters, next firing
    ///
    /// For every rule and schedule of ours: its state, schedule expression and next firing
    /// time (UTC and the schedule's zone); invocations and failed invocations in the window
    /// from CloudWatch (per rule; Scheduler meters per schedule group only); the tasks of
    /// our families ECS still shows (stopped ones for about an hour) with exit code, stop
    /// reason, start-up and run time; the depth of each dead-letter queue. A refused read
    /// is a warning naming the permission.
    #[command(
        after_help = "Examples:\n  jobdeploy runs\n  jobdeploy runs --since 7d --format json\n  jobdeploy runs --exit-code   # 2 when anything failed in the window, for a morning check\n  jobdeploy runs --format markdown >> \"$GITHUB_STEP_SUMMARY\""
    )]
    Runs(RunsArgs),
    /// Print the least-privilege IAM policy this config needs
    ///
    /// Scoped to the cluster, the templated families, the rules' buses, the schedule groups
    /// and the image's ECR repository; `iam:PassRole` for the task and execution roles in the
    /// templates and the roles of the rule targets and schedules found. Reads AWS only.
    #[command(
        after_help = "Examples:\n  jobdeploy iam-policy --tag v1.4.2 > policy.json\n  aws iam put-role-policy --role-name jobdeploy --policy-name jobdeploy --policy-document file://policy.json"
    )]
    IamPolicy,
    /// Print a shell completion script
    #[command(
        after_help = "Examples:\n  jobdeploy completions bash > /etc/bash_completion.d/jobdeploy\n  jobdeploy completions zsh > ~/.zfunc/_jobdeploy\n  jobdeploy completions fish > ~/.config/fish/completions/jobdeploy.fish"
    )]
    Completions {
        /// bash, zsh, fish, elvish or powershell
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// ECS cluster name or ARN
    #[arg(long)]
    pub cluster: String,
    /// The image whose tag is the release, without tag (e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/web)
    #[arg(long, value_name = "IMAGE_NAME")]
    pub image: String,
    /// The Kubernetes manifest repo (URL or local path), recorded in jobdeploy.toml
    #[arg(long, value_name = "URL")]
    pub manifest_repo: Option<String>,
    /// Path in the manifest repo of the kustomization or workload, recorded in jobdeploy.toml
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<String>,
    /// AWS region, recorded in jobdeploy.toml [default: AWS_REGION / the profile's]
    #[arg(long)]
    pub region: Option<String>,
    /// Where to write jobdeploy.toml and taskdefs/
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    /// Overwrite existing files
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// How many releases to show
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..))]
    pub limit: u16,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Exit 2 when there is drift, 0 when there is none
    #[arg(long)]
    pub exit_code: bool,
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    /// The window to report: a positive number and s, m, h or d (30m, 24h, 7d)
    // Hyphen values reach the parser, so `--since -3h` is jobdeploy's exit 1 naming the flag,
    // not clap's usage error (exit 2, which belongs to `--exit-code`).
    #[arg(
        long,
        default_value = "24h",
        value_name = "DURATION",
        allow_hyphen_values = true
    )]
    pub since: String,
    /// Exit 2 when anything failed in the window (a failed invocation, a task that ended
    /// non-zero or never started, a message in a dead-letter queue), 0 otherwise
    #[arg(long)]
    pub exit_code: bool,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// Release id (as `jobdeploy history` lists it: `v1.4.2`, `v1.4.2+2`, `adopted`), an
    /// image tag (its newest release), `previous`, or the manifest commit a release was made
    /// from (a hex prefix of at least 7 characters)
    pub release: String,
    /// Only print the plan
    #[arg(long)]
    pub dry_run: bool,
    /// Before repointing, wait until k8s runs the rolled-back release's image (`[k8s]`
    /// sources), at most DURATION (default: `[k8s] timeout`); without it rollback never waits
    #[arg(long, value_name = "DURATION", num_args = 0..=1, require_equals = true)]
    pub wait_for_k8s: Option<Option<String>>,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Keep the revisions of the last N releases
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub keep: u16,
    /// Only print what would be deregistered
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Exit 2 when the plan has changes, 0 when there are none
    #[arg(long)]
    pub exit_code: bool,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Only print the plan (same as `jobdeploy plan`)
    #[arg(long)]
    pub dry_run: bool,
    /// Do not run `verify`'s checks before writing (also `[verify] before_deploy = false`)
    #[arg(long)]
    pub no_verify: bool,
    /// After registering and before repointing anything, run this rule's (or schedule's)
    /// task on the new revision; repoint only if it exits 0 (repeatable; adds to `smoke` in
    /// jobdeploy.toml)
    #[arg(long, value_name = "RULE")]
    pub smoke: Vec<String>,
    /// Before writing, wait until k8s runs the release (`[k8s]` sources), at most DURATION
    /// (default: `[k8s] timeout`); turns the gate on for this run even with `gate = "off"`
    #[arg(long, value_name = "DURATION", num_args = 0..=1, require_equals = true, conflicts_with = "no_k8s_gate")]
    pub wait_for_k8s: Option<Option<String>>,
    /// Do not ask k8s whether it runs the release (`[k8s] gate = "off"` for this run)
    #[arg(long)]
    pub no_k8s_gate: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// `[bus/]rule` or `[group/]schedule` with an ECS target on the cluster
    pub name: String,
    /// The rule target's Id, when the rule has several ECS targets on the cluster
    #[arg(long, value_name = "ID")]
    pub target: Option<String>,
    /// Run the family's newest ACTIVE revision instead of the one the target points at
    #[arg(long, conflicts_with = "release")]
    pub latest: bool,
    /// Run the family's revision of this release (as `jobdeploy history` lists it, or an
    /// image tag: its newest release) instead of the one the target points at; the global
    /// `--tag TAG` does the same
    #[arg(long, value_name = "ID")]
    pub release: Option<String>,
    /// Replace the container's command: words split on spaces, or a JSON array
    #[arg(long, value_name = "COMMAND")]
    pub override_command: Option<String>,
    /// Set an environment variable in the container (repeatable)
    #[arg(long = "env", value_name = "K=V")]
    pub env: Vec<String>,
    /// The container whose exit code is the result, and that overrides apply to
    /// [default: the first essential container]
    #[arg(long, value_name = "NAME")]
    pub container: Option<String>,
    /// The event a rule driven by an event pattern would match (a JSON file, as EventBridge
    /// delivers events): its target's InputTransformer or InputPath is applied to it. A
    /// scheduled rule's target gets the Scheduled Event EventBridge would send now
    #[arg(long, value_name = "FILE")]
    pub event: Option<PathBuf>,
    /// Print the RunTask request (secrets masked) and start nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Print the task ARN and console URL and exit 0 without waiting
    #[arg(long)]
    pub no_wait: bool,
    /// Do not follow the task's CloudWatch logs
    #[arg(long)]
    pub no_logs: bool,
    /// Stop waiting after this long (the task keeps running) and exit 124: 90s, 30m, 1h
    #[arg(long, default_value = "1h", value_name = "DURATION")]
    pub timeout: String,
    /// On Ctrl-C or SIGTERM leave the task running instead of stopping it
    #[arg(long)]
    pub detach_on_interrupt: bool,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Only this family [default: all]
    pub family: Option<String>,
}
