//! jobdeploy: the second half of a release — every ECS scheduled batch job onto the image
//! tag the Kubernetes manifest repo runs.
//!
//! Layers, bottom up; no module imports one that imports it back (checked by a unit test
//! over the source, `layers.rs`):
//! - [`model`]: the shared nouns (task definitions, triggers, tags, times); imports nothing
//!   of ours, no I/O.
//! - The pipeline, one module per step: [`config`] → [`manifest`] (the release) →
//!   [`render`] → [`live`] (AWS reads) → [`plan`] → [`apply`] (AWS writes) → [`report`];
//!   releases in [`history`] and [`prune`]; [`init`]'s pure half.
//! - [`aws`]: the SDK adapters, every call paced and every error mapped in one place.
//! - [`commands`]: one module per subcommand, run with one [`commands::Context`].
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
pub mod secrets;
pub mod verify;
