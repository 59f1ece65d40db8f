//! Command-line interface. Doc comments are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::report::Format;

#[derive(Debug, Parser)]
#[command(
    name = "jobdeploy",
    version,
    about = "Repoint every ECS scheduled batch job at the image tag your Kubernetes manifests run.",
    long_about = "Reads the image tag the Kubernetes manifest repo says is live, renders the task \
definition templates in taskdefs/, registers what changed and repoints every EventBridge rule \
target of ours at the new revisions — all or nothing.",
    after_help = "Examples:\n  jobdeploy plan                    # what the manifest's live tag would change\n  jobdeploy plan --exit-code        # exit 2 when there are changes\n  jobdeploy deploy                  # register and repoint\n  jobdeploy deploy --tag v1.4.2     # deploy a tag without reading the manifest repo\n  jobdeploy render web-batch        # the task definition as it would be registered"
)]
pub struct Cli {
    /// Path to jobdeploy.toml [default: ./jobdeploy.toml]
    #[arg(long, global = true, env = "JOBDEPLOY_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Deploy this image tag (or TAG@sha256:…) instead of reading the manifest repo
    #[arg(long, global = true, env = "JOBDEPLOY_TAG", value_name = "TAG")]
    pub tag: Option<String>,

    /// Output format of plan and deploy reports
    #[arg(long, global = true, value_enum, default_value_t = Format::Human, env = "JOBDEPLOY_FORMAT")]
    pub format: Format,

    /// Concurrent AWS requests (kept modest for AWS API quotas)
    #[arg(long, global = true, default_value_t = 8, env = "JOBDEPLOY_CONCURRENCY", value_parser = clap::value_parser!(u16).range(1..=64))]
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

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what a deploy would change; writes nothing
    ///
    /// Resolves the release, renders the templates, reads live task definitions and rule
    /// targets, and prints per family a diff and per target `family:old → family:new`.
    Plan(PlanArgs),
    /// Check the image, register changed task definitions, repoint every target
    ///
    /// All or nothing: if any target cannot be repointed, the ones already repointed are
    /// put back as they were and the exit code is 1.
    Deploy(DeployArgs),
    /// Print rendered task definitions as they would be registered
    Render(RenderArgs),
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
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Only this family [default: all]
    pub family: Option<String>,
}
