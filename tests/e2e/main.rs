//! The end-to-end suite, one test binary (one link of the dependency graph): the built
//! `jobdeploy` against a moto server per test, through a recording and fault-injecting proxy,
//! with real git repos. Run one file's tests with e.g. `cargo test --test e2e deploy::`.

mod common;

mod action;
mod bad_input;
mod cli;
mod deploy;
mod faults;
mod init;
mod k8s_gate;
mod manifest;
mod output;
mod quotas;
mod release_ids;
mod releases;
mod revert;
mod run;
mod schedules;
mod smoke;
mod verify;
