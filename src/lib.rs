//! jobdeploy: the second half of a release — every ECS scheduled batch job onto the image
//! tag the Kubernetes manifest repo runs.
//!
//! The data flows one way, one module per step:
//! [`config`] → [`manifest`] (the release) → [`render`] → [`live`] (AWS) → [`plan`] →
//! [`apply`] → [`report`].

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
pub mod live;
pub mod manifest;
pub mod normalize;
pub mod plan;
pub mod progress;
pub mod prune;
pub mod render;
pub mod report;
pub mod secrets;
pub mod verify;
