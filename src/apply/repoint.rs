//! Repointing: every target's rule or schedule written by compare-and-swap read–modify–write,
//! each write read back, and on failure every written slot put back as it was.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::{StreamExt, stream};
use serde_json::Value;

use super::{Repointed, rerun};
use crate::aws::Aws;
use crate::aws::owner::{self, find, slot_id, task_definition_label, with_task_definition};
use crate::error::{Error, Result};
use crate::model::{Owner, TaskDefRef, Trigger};
use crate::plan::{Plan, TargetPlan};
use crate::progress::Progress;

pub(super) struct Move<'a> {
    pub(super) target: &'a TargetPlan,
    pub(super) to: String,
}

/// A rule or schedule that was written: each slot as it was and as we wrote it.
struct Written {
    owner: Owner,
    changes: Vec<Change>,
}

struct Change {
    original: Value,
    written: Value,
}

impl Written {
    /// How messages name one of its slots: `rule R (bus B) target T`, or `schedule G/N`.
    fn describe(&self, slot: &Value) -> String {
        Trigger {
            owner: self.owner.clone(),
            target_id: slot_id(&self.owner, slot).map(str::to_string),
        }
        .describe()
    }
}

enum WriteFailure {
    /// Nothing of this rule or schedule was written.
    Untouched(Error),
    /// The write may have applied, or applied in part (FailedEntryCount); put the originals
    /// back too.
    Partial(Error, Written),
}

/// The targets of the first rule or schedule to change (the claim), and the others.
pub(super) fn split_claim(targets: Vec<&TargetPlan>) -> (Vec<&TargetPlan>, Vec<&TargetPlan>) {
    let first = targets.iter().map(|t| &t.at.owner).min().cloned();
    targets
        .into_iter()
        .partition(|t| Some(&t.at.owner) == first.as_ref())
}

/// Repoints the claim (the moves of one rule or schedule, see [`split_claim`]) alone and
/// reads it back before any other write; `rest` gives the other moves. It is started once
/// the claim is written and runs while the claim settles: a deploy registers its other
/// families then. With no claim there is nothing to change, and `rest` gives no moves.
pub(super) async fn repoint_all<'a, R>(
    aws: &Aws,
    plan: &Plan,
    claim: Vec<Move<'a>>,
    rest: R,
    progress: &Progress,
) -> Result<Vec<Repointed>>
where
    R: std::future::Future<Output = Result<Vec<Move<'a>>>>,
{
    let announce = |moves: &[&Move<'_>]| {
        for m in moves {
            progress.line(format!(
                "repointed {}: {} → {}",
                m.target.at.describe(),
                m.target.from.label(),
                TaskDefRef::parse(&m.to).label()
            ));
        }
    };
    let mut written = Vec::new();
    let mut failures = Vec::new();
    let mut others = Vec::new();
    // Where the claim's write is in `written`, once made: read back below.
    let mut claim_written = None;
    // The first rule or schedule is written alone and read back before any other: of two
    // deploys racing, the one whose write did not stick stops here, having changed nothing
    // else. The read-back waits until a racing deploy's write has landed (see
    // `settle_time`), so that two deploys cannot both see their own write.
    match claim.first().map(|m| m.target.at.owner.clone()) {
        None => match rest.await {
            Ok(moves) => others = moves,
            Err(e) => failures.push(e),
        },
        Some(owner) => {
            let claim_moves: Vec<&Move<'_>> = claim.iter().collect();
            let claimed = std::time::Instant::now();
            match repoint(aws, &owner, &claim_moves).await {
                Ok(w) => {
                    announce(&claim_moves);
                    let settle = tokio::time::sleep(settle_time(claimed.elapsed()));
                    let ((), later) = futures::future::join(settle, rest).await;
                    match later {
                        Ok(moves) => others = moves,
                        Err(e) => failures.push(e),
                    }
                    claim_written = Some(written.len());
                    written.push(w);
                }
                Err(WriteFailure::Untouched(e)) => failures.push(e),
                Err(WriteFailure::Partial(e, w)) => {
                    failures.push(e);
                    written.push(w);
                }
            }
        }
    }
    if failures.is_empty() {
        let mut by_owner: BTreeMap<&Owner, Vec<&Move<'_>>> = BTreeMap::new();
        for m in &others {
            by_owner.entry(&m.target.at.owner).or_default().push(m);
        }
        // The claim is read back beside the other rules' compare-and-swap reads, and none of
        // them is written before the read-back says the claim stuck: each write still follows
        // its own read by a round trip, as it would one after the other.
        let (claimed, confirmed) = tokio::sync::watch::channel(None::<bool>);
        let read_back = async {
            let result = match claim_written.and_then(|i| written.get(i)) {
                Some(w) => confirm(aws, w).await,
                None => Ok(()),
            };
            claimed.send_replace(Some(result.is_ok()));
            result
        };
        let abort = AtomicBool::new(false);
        let repointing = stream::iter(&by_owner)
            .map(|(owner, moves)| {
                let abort = &abort;
                let mut confirmed = confirmed.clone();
                async move {
                    if abort.load(Ordering::SeqCst) {
                        return None;
                    }
                    let prepared = prepare(aws, owner, moves).await;
                    let stuck = confirmed
                        .wait_for(Option::is_some)
                        .await
                        .is_ok_and(|c| *c == Some(true));
                    if !stuck || (prepared.is_ok() && abort.load(Ordering::SeqCst)) {
                        return None;
                    }
                    let result = match prepared {
                        Ok(p) => commit(aws, p).await,
                        Err(e) => Err(e),
                    };
                    if result.is_err() {
                        abort.store(true, Ordering::SeqCst);
                    }
                    Some((*owner, result))
                }
            })
            .buffer_unordered(aws.concurrency)
            .collect::<Vec<Option<(&Owner, Result<Written, WriteFailure>)>>>();
        let (read_back, mut results) = futures::future::join(read_back, repointing).await;
        failures.extend(read_back.err());
        // Completion order is the network's; report in rule and schedule order.
        results.sort_by(|a, b| a.as_ref().map(|r| r.0).cmp(&b.as_ref().map(|r| r.0)));
        for (owner, result) in results.into_iter().flatten() {
            match result {
                Ok(w) => {
                    announce(by_owner.get(owner).map_or(&[], Vec::as_slice));
                    written.push(w);
                }
                Err(WriteFailure::Untouched(e)) => failures.push(e),
                Err(WriteFailure::Partial(e, w)) => {
                    failures.push(e);
                    written.push(w);
                }
            }
        }
    }
    // No read-back of every write: each was compare-and-swapped right before, PutTargets
    // reports refused entries, and the first write's read-back settled any race. Reading
    // all back again would cost a request per rule for a window of milliseconds.
    if failures.is_empty() {
        // In the plan's order.
        let by_target: BTreeMap<&Trigger, &Move<'_>> = claim
            .iter()
            .chain(&others)
            .map(|m| (&m.target.at, m))
            .collect();
        return Ok(plan
            .targets
            .iter()
            .filter_map(|t| by_target.get(&t.at))
            .map(|m| Repointed {
                at: m.target.at.clone(),
                from: m.target.from.arn.clone(),
                to: m.to.clone(),
            })
            .collect());
    }
    Err(revert(aws, plan, &written, failures, progress).await)
}

async fn repoint(aws: &Aws, owner: &Owner, moves: &[&Move<'_>]) -> Result<Written, WriteFailure> {
    commit(aws, prepare(aws, owner, moves).await?).await
}

/// The compare-and-swap read: the rule or schedule read again, each slot still what the plan
/// saw, and what to write in its place.
async fn prepare(aws: &Aws, owner: &Owner, moves: &[&Move<'_>]) -> Result<Written, WriteFailure> {
    let current = owner::read(aws, owner)
        .await
        .map_err(WriteFailure::Untouched)?;
    let mut changes = Vec::new();
    for m in moves {
        let at = &m.target.at;
        match find(owner, &current, at.target_id.as_deref()) {
            Some(now) if *now == m.target.raw => changes.push(Change {
                original: now.clone(),
                written: with_task_definition(owner, now, &m.to),
            }),
            Some(_) => {
                return Err(WriteFailure::Untouched(
                    Error::new(format!(
                        "{} changed since the plan was made; another deploy may be running",
                        at.describe()
                    ))
                    .hint("serialise releases with a GitHub Actions `concurrency:` group, then run `jobdeploy plan` again"),
                ));
            }
            None => {
                return Err(WriteFailure::Untouched(Error::new(format!(
                    "{} disappeared since the plan was made",
                    at.describe()
                ))));
            }
        }
    }
    Ok(Written {
        owner: owner.clone(),
        changes,
    })
}

/// The write of what [`prepare`] read.
async fn commit(aws: &Aws, written: Written) -> Result<Written, WriteFailure> {
    let updated: Vec<Value> = written.changes.iter().map(|c| c.written.clone()).collect();
    match owner::write(aws, &written.owner, &updated).await {
        Ok(()) => Ok(written),
        // FailedEntryCount may leave part of a rule written, and a call that errored may
        // still have been applied (a timeout after the write): both are reverted.
        Err(e) => {
            let e = e.context(written.owner.describe());
            Err(WriteFailure::Partial(e, written))
        }
    }
}

/// How long the claim's read-back waits after its write.
///
/// EventBridge and Scheduler have no conditional write, so compare-and-swap leaves a window:
/// a racing deploy that read the rule before our write landed writes its own value after.
/// Its write lands within its own read→write time of our write; reading back later than
/// that, we see it (and stop), and it sees ours or its own, never both winning. Our own
/// read→write time (`claim`) measures the network the other deploy shares; three times it,
/// at least half a second, bounds theirs.
pub(crate) fn settle_time(claim: std::time::Duration) -> std::time::Duration {
    const FLOOR: std::time::Duration = std::time::Duration::from_millis(500);
    const CEILING: std::time::Duration = std::time::Duration::from_secs(10);
    (claim * 3).clamp(FLOOR, CEILING)
}

/// Reads a written rule or schedule back: every slot we wrote must be there exactly as
/// written. A difference means someone else wrote it meanwhile (another deploy).
async fn confirm(aws: &Aws, w: &Written) -> Result<()> {
    let now = owner::read(aws, &w.owner).await?;
    for c in &w.changes {
        let id = slot_id(&w.owner, &c.written);
        if find(&w.owner, &now, id) != Some(&c.written) {
            return Err(Error::new(format!(
                "{}: read back does not match what was written; another deploy may be running",
                w.describe(&c.written)
            ))
            .hint("serialise releases with a GitHub Actions `concurrency:` group"));
        }
    }
    Ok(())
}

/// How putting one rule or schedule back went.
enum Reverted {
    /// Every target we changed is as it was (`true`: we wrote to put some back).
    Restored(bool),
    /// Some targets hold neither our write nor the original: another writer's. Left alone.
    /// (`true`: we put the others back.)
    ChangedByOthers(Vec<String>, bool),
    /// Putting back failed: the error, hints and all.
    Failed(Error),
}

/// Puts back every slot still holding what we wrote (compare-and-swap again: a slot
/// someone else wrote since is theirs now and left alone).
async fn revert_one(aws: &Aws, w: &Written) -> Reverted {
    let now = match owner::read(aws, &w.owner).await {
        Ok(now) => now,
        Err(e) => return Reverted::Failed(e),
    };
    let mut restore = Vec::new();
    let mut others = Vec::new();
    for c in &w.changes {
        let id = slot_id(&w.owner, &c.original);
        match find(&w.owner, &now, id) {
            Some(t) if *t == c.original => {}
            Some(t) if *t == c.written => restore.push(c.original.clone()),
            Some(t) => others.push(format!(
                "{} is now on {} (written by someone else; left alone)",
                w.describe(&c.original),
                task_definition_label(&w.owner, t)
            )),
            // Deleted meanwhile; putting it back would resurrect what someone removed.
            None => others.push(format!(
                "{} was removed by someone else; left alone",
                w.describe(&c.original)
            )),
        }
    }
    if !restore.is_empty()
        && let Err(e) = owner::write(aws, &w.owner, &restore).await
    {
        return Reverted::Failed(e);
    }
    if others.is_empty() {
        Reverted::Restored(!restore.is_empty())
    } else {
        Reverted::ChangedByOthers(others, !restore.is_empty())
    }
}

/// Puts back every written target. Returns the error to report, which says what failed,
/// what state things are in now, and what to run.
async fn revert(
    aws: &Aws,
    plan: &Plan,
    written: &[Written],
    failures: Vec<Error>,
    progress: &Progress,
) -> Error {
    let mut results: Vec<(&Written, Reverted)> = stream::iter(written)
        .map(|w| async move { (w, revert_one(aws, w).await) })
        .buffer_unordered(aws.concurrency)
        .collect()
        .await;
    results.sort_by(|a, b| a.0.owner.cmp(&b.0.owner));
    for (w, r) in &results {
        if matches!(
            r,
            Reverted::Restored(true) | Reverted::ChangedByOthers(_, true)
        ) {
            progress.line(format!("reverted {}", w.owner.describe()));
        }
    }
    let verb = plan.kind.verb();
    let mut message = String::new();
    for f in &failures {
        message.push_str(&format!("\n  {}", f.message()));
    }
    let others: Vec<&String> = results
        .iter()
        .filter_map(|(_, r)| match r {
            Reverted::ChangedByOthers(o, _) => Some(o),
            _ => None,
        })
        .flatten()
        .collect();
    let stuck: Vec<(&Written, &Error)> = results
        .iter()
        .filter_map(|(w, r)| match r {
            Reverted::Failed(e) => Some((*w, e)),
            _ => None,
        })
        .collect();
    if stuck.is_empty() {
        let mut text = format!("{verb} failed, nothing was left half-done:{message}");
        if others.is_empty() {
            text.push_str("\nEvery target is back on the revision it had before.");
        } else {
            text.push_str(
                "\nEvery target this run changed is back as it was, except where another writer took over:",
            );
            for o in &others {
                text.push_str(&format!("\n  {o}"));
            }
        }
        let mut err =
            Error::new(text).hint(format!("fix the cause and run `{}` again", rerun(plan)));
        for f in &failures {
            for h in f.hints() {
                err = err.hint(h.clone());
            }
        }
        return err;
    }
    // Putting back failed too: say, for every target this run touched, where it is.
    let mut text = format!("{verb} failed, and putting targets back failed too:{message}");
    text.push_str("\nTargets this run changed, and where they are now:");
    for (w, result) in &results {
        for c in &w.changes {
            let label = |slot: &Value| task_definition_label(&w.owner, slot);
            let state = match result {
                Reverted::Restored(_) => format!("{} (put back)", label(&c.original)),
                Reverted::ChangedByOthers(..) => "see above".to_string(),
                Reverted::Failed(e) => format!(
                    "{} as written, or still {} (unknown: putting back failed: {})",
                    label(&c.written),
                    label(&c.original),
                    e.message()
                ),
            };
            text.push_str(&format!("\n  {}: {state}", w.describe(&c.original)));
        }
    }
    for o in &others {
        text.push_str(&format!("\n  {o}"));
    }
    let mut err = Error::new(text)
        .hint(format!(
            "run `{}` again: it converges from any mix of old and new",
            rerun(plan)
        ))
        .split();
    for f in &failures {
        for h in f.hints() {
            err = err.hint(h.clone());
        }
    }
    // Why putting back failed says what to do about it too (once, when a failure said it).
    for (_, e) in &stuck {
        for h in e.hints() {
            if !err.hints().contains(h) {
                err = err.hint(h.clone());
            }
        }
    }
    err
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::settle_time;

    #[test]
    fn the_claim_waits_three_times_its_own_round_trip_within_bounds() {
        assert_eq!(
            settle_time(Duration::from_millis(20)),
            Duration::from_millis(500)
        );
        assert_eq!(
            settle_time(Duration::from_millis(400)),
            Duration::from_millis(1200)
        );
        assert_eq!(
            settle_time(Duration::from_secs(30)),
            Duration::from_secs(10)
        );
    }
}
