//! jobdeploy: the second half of a release — every ECS scheduled batch job onto the image
//! tag the Kubernetes manifest repo runs.
//!
//! Layers, bottom up. A module names only modules below it, never one that names it back;
//! build.rs parses the source with `syn` and resolves every `use` and path, and `layers.rs` (a
//! unit test) fails on a cycle or on an edge its table `layers::ALLOWED` (this list, as a
//! table) lacks:
//! - Leaves: [`model`], the shared nouns (task definitions, triggers, tags, times), importing
//!   nothing of ours, no I/O; [`error`], [`image`] (image references), [`secrets`] (masking),
//!   [`github`] (Actions annotations), [`progress`] (progress lines).
//! - [`aws`]: the pacer and the raw-JSON interceptor, then `aws/mod.rs` (clients, the one error
//!   mapper, the paginator), then one adapter per service; every call paced.
//! - The pipeline, one module per step: [`config`] → [`live`] (AWS reads) → [`history`]
//!   (releases: a pure model, and a reader over live's types) → [`manifest`] (the release)
//!   → [`render`] → [`plan`] (with [`normalize`]) → [`apply`] (AWS writes); [`prune`]'s
//!   decisions over history; [`init`]'s pure half over the leaves.
//! - Beside the pipeline, over the same model and adapters: [`run`] (the task runner, which
//!   `deploy --smoke` runs on a plan's new revisions), [`verify`] (the preflight), [`iam`]
//!   (the policy, from verify's lists); `k8s` (the Kubernetes side; signs EKS tokens with
//!   aws/'s credentials) and `runs` (what a release's jobs did, reads like verify's).
//! - [`report`]: the only place English is produced, from every step's result; [`cli`].
//! - [`commands`]: one module per subcommand, run with one [`commands::Context`]; nothing
//!   names it.
//!
//! I/O: AWS calls are made in [`aws`] but driven from [`live`], [`apply`], `history::Reader`
//! and [`commands`]; git in `manifest::git`; files read in [`config`], [`render`] and
//! [`commands`]. [`model`], [`plan`], [`normalize`], [`prune`], [`init`] and [`report`] are
//! pure (but `report::Style::detect`, which asks whether stdout is a terminal).

pub mod apply;
pub mod aws;
pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod github;
pub mod history;
pub mod iam;
pub mod image;
pub mod init;
pub mod k8s;
#[cfg(test)]
mod layers;
pub mod live;
pub mod manifest;
pub mod model;
pub mod normalize;
pub mod plan;
pub mod progress;
pub mod prune;
pub mod render;
pub mod report;
pub mod run;
pub mod runs;
pub mod secrets;
pub mod verify;
