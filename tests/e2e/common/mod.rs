//! Test harness: a moto server per test, a recording proxy in front of it, real git repos,
//! AWS SDK clients for seeding and checking, and the built binary.
//!
//! `world.rs` seeds the account (`World`: moto from `moto.rs`, the proxy, a cluster, images),
//! `aws/` holds the SDK clients that seed and check it, `app.rs` the app repo and the binary
//! run in it (`App`, `Run`, `config`), `git.rs` the manifest repos; `proxy/`, `scenario.rs`
//! and `tasks.rs` are the recording, fault-injecting proxy, its fault builder and the ECS
//! task lifecycle it plays.

mod app;
pub mod argocd;
pub mod aws;
mod git;
mod moto;
pub mod proxy;
pub mod scenario;
pub mod tasks;
mod world;

use std::sync::{Mutex, MutexGuard, PoisonError};

pub use app::{APP_TEMPLATE, App, Run, config};
pub use aws::{ecs_target, full_schedule, full_target, sqs_target, td_arn};
pub use git::ManifestRepo;
pub use world::World;

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";
pub const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web";

/// Held by the heavy, timing-sensitive tests (the quota runs, whose throttle counts and
/// durations assume a machine that is not saturated, and the fault sweeps, which run a
/// deploy per request index) for as long as they run. The suite is one test binary whose
/// tests run in parallel threads, so without it they would run beside one another.
static HEAVY: Mutex<()> = Mutex::new(());

/// Waits until no other heavy test runs; the guard keeps the others waiting until dropped.
/// A heavy test that failed (poisoned the lock) does not fail the ones after it.
pub fn heavy_test() -> MutexGuard<'static, ()> {
    HEAVY.lock().unwrap_or_else(PoisonError::into_inner)
}
