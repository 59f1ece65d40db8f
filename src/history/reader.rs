//! Reads revisions from ECS, newest first, only as far back as a question needs.

use super::*;

/// What a command needs read before it can answer.
pub struct Want {
    /// Read every family back to this time; `None`: keep reading (the answer is not in
    /// sight yet); infinity: nothing more.
    pub horizon: Option<f64>,
}

/// Reads revisions newest first, a batch per family per round, until the question is
/// answered. Listing (ACTIVE and INACTIVE, merged by revision number) is paginated lazily too.
pub struct Reader<'a> {
    aws: &'a Aws,
    cursors: BTreeMap<String, Cursor>,
    pub history: History,
}

const BATCH: usize = 8;

impl<'a> Reader<'a> {
    pub fn new(aws: &'a Aws, families: &[String]) -> Self {
        Self {
            aws,
            cursors: families
                .iter()
                .map(|f| (f.clone(), Cursor::new(f)))
                .collect(),
            history: History {
                families: families
                    .iter()
                    .map(|f| (f.clone(), FamilyLog::default()))
                    .collect(),
            },
        }
    }

    /// Reads rounds until `want` says the history read so far is enough.
    pub async fn read_until(&mut self, want: impl Fn(&History) -> Want) -> Result<()> {
        loop {
            let horizon = want(&self.history).horizon;
            let behind: BTreeSet<String> = self
                .history
                .families
                .iter()
                .filter(|(_, log)| !log.complete && horizon.is_none_or(|t| !log.reached_time(t)))
                .map(|(f, _)| f.clone())
                .collect();
            if behind.is_empty() {
                return Ok(());
            }
            self.read_round(&behind).await?;
        }
    }

    /// Reads one round of every family: the part of the history any question needs, so a
    /// command can read it beside the live targets instead of after them.
    pub async fn read_first_round(&mut self) -> Result<()> {
        let families: BTreeSet<String> = self
            .history
            .families
            .iter()
            .filter(|(_, log)| !log.complete && log.revisions.is_empty())
            .map(|(f, _)| f.clone())
            .collect();
        if families.is_empty() {
            return Ok(());
        }
        self.read_round(&families).await
    }

    async fn read_round(&mut self, families: &BTreeSet<String>) -> Result<()> {
        let ecs = &self.aws.ecs;
        let batches: Vec<(String, Vec<i64>)> = stream::iter(
            self.cursors
                .iter_mut()
                .filter(|(f, _)| families.contains(*f)),
        )
        .map(|(family, cursor)| async move {
            let batch = cursor.next(ecs, BATCH).await?;
            Ok::<_, crate::error::Error>((family.clone(), batch))
        })
        .buffer_unordered(self.aws.concurrency)
        .try_collect()
        .await?;
        let wanted: Vec<(String, i64)> = batches
            .iter()
            .flat_map(|(f, revs)| revs.iter().map(move |r| (f.clone(), *r)))
            .collect();
        let described: Vec<(String, Option<LiveTaskDef>)> = stream::iter(wanted)
            .map(|(family, revision)| async move {
                let td = ecs::describe(ecs, &format!("{family}:{revision}")).await?;
                Ok::<_, crate::error::Error>((family, td))
            })
            .buffered(self.aws.concurrency)
            .try_collect()
            .await?;
        for (family, batch) in &batches {
            if let Some(log) = self.history.families.get_mut(family)
                && batch.is_empty()
            {
                log.complete = true;
            }
        }
        // Described in order: newest first within each family.
        for (family, td) in described {
            if let (Some(log), Some(td)) = (self.history.families.get_mut(&family), td) {
                log.revisions.push(RevisionInfo::from_live(&td));
            }
        }
        Ok(())
    }

    /// Per family, every ACTIVE revision number older than those read (for prune, which
    /// needs to know what exists, not what each one is). Listed, not described.
    pub async fn older_active(&mut self) -> Result<BTreeMap<String, Vec<i64>>> {
        let ecs = &self.aws.ecs;
        stream::iter(self.cursors.iter_mut())
            .map(|(family, cursor)| async move {
                let mut older = Vec::new();
                loop {
                    cursor.active.fill(ecs, family).await?;
                    match cursor.active.buffer.pop_front() {
                        Some(n) => older.push(n),
                        None => return Ok::<_, crate::error::Error>((family.clone(), older)),
                    }
                }
            })
            .buffer_unordered(self.aws.concurrency)
            .try_collect()
            .await
    }
}

/// A family's revision numbers, newest first, from the ACTIVE and INACTIVE listings.
struct Cursor {
    family: String,
    active: Listing,
    inactive: Listing,
}

struct Listing {
    status: TaskDefinitionStatus,
    buffer: VecDeque<i64>,
    token: Option<String>,
    done: bool,
}

impl Listing {
    fn new(status: TaskDefinitionStatus) -> Self {
        Self {
            status,
            buffer: VecDeque::new(),
            token: None,
            done: false,
        }
    }

    async fn fill(
        &mut self,
        ecs: &crate::aws::pace::Paced<aws_sdk_ecs::Client>,
        family: &str,
    ) -> Result<()> {
        while self.buffer.is_empty() && !self.done {
            let (revisions, next) =
                ecs::list_revisions(ecs, family, self.status.clone(), self.token.take()).await?;
            self.buffer.extend(revisions);
            self.done = next.is_none();
            self.token = next;
        }
        Ok(())
    }
}

impl Cursor {
    fn new(family: &str) -> Self {
        Self {
            family: family.to_string(),
            active: Listing::new(TaskDefinitionStatus::Active),
            inactive: Listing::new(TaskDefinitionStatus::Inactive),
        }
    }

    async fn next(
        &mut self,
        ecs: &crate::aws::pace::Paced<aws_sdk_ecs::Client>,
        n: usize,
    ) -> Result<Vec<i64>> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            self.active.fill(ecs, &self.family).await?;
            self.inactive.fill(ecs, &self.family).await?;
            let from = match (self.active.buffer.front(), self.inactive.buffer.front()) {
                (None, None) => break,
                (Some(a), Some(i)) if i > a => &mut self.inactive,
                (Some(_), _) => &mut self.active,
                (None, Some(_)) => &mut self.inactive,
            };
            if let Some(revision) = from.buffer.pop_front() {
                out.push(revision);
            }
        }
        Ok(out)
    }
}
