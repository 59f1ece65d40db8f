//! One module per subcommand. The shared pipeline — config → release → rendered → live →
//! plan — lives here so every command reads the same state the same way.

pub mod deploy;
pub mod history;
pub mod iam_policy;
pub mod init;
pub mod plan;
pub mod prune;
pub mod render;
pub mod rollback;
pub mod run;
pub mod runs;
pub mod status;
pub mod verify;

use std::collections::BTreeMap;
use std::process::ExitCode;

use crate::aws::Aws;
use crate::cli::{Cli, Command};
use crate::config::{AwsConfig, LoadedConfig};
use crate::error::Result;
use crate::live::{self, LiveState};
use crate::manifest::Release;
use crate::model::{LiveTaskDef, Owner};
use crate::plan::Plan;
use crate::progress::Progress;
use crate::render::{RenderContext, Rendered, load_templates, render};
use crate::report::{Format, Style};
use crate::secrets::{self, Masker};

pub async fn run(cli: Cli) -> Result<ExitCode> {
    let ctx = &Context::new(&cli);
    match &cli.command {
        Command::Plan(args) => plan::run(ctx, args).await,
        Command::Deploy(args) => deploy::run(ctx, args).await,
        Command::Render(args) => render::run(ctx, args),
        Command::History(args) => history::run(ctx, args).await,
        Command::Status(args) => status::run(ctx, args).await,
        Command::Rollback(args) => rollback::run(ctx, args).await,
        Command::Prune(args) => prune::run(ctx, args).await,
        Command::Init(args) => init::run(ctx, args).await,
        Command::Run(args) => run::run(ctx, args).await,
        Command::Runs(args) => runs::run(ctx, args).await,
        Command::Verify => verify::run(ctx).await,
        Command::IamPolicy => iam_policy::run(ctx).await,
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut out = std::io::stdout().lock();
            clap_complete::generate(*shell, &mut command, "jobdeploy", &mut out);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// What every command runs with, built once in [`run`]: the flags, where progress lines go,
/// the output format and its style. The config and the AWS clients are built through it,
/// once, by the one of [`Context::local`], [`Context::plan`], [`Context::account`] or
/// [`Context::connect`] the command calls: `init` has no config yet, `render` and
/// `iam-policy`'s config needs no AWS, and a bad template is reported before AWS is asked.
pub struct Context<'a> {
    pub cli: &'a Cli,
    pub progress: Progress,
    pub format: Format,
    pub style: Style,
}

impl<'a> Context<'a> {
    pub fn new(cli: &'a Cli) -> Self {
        Self {
            cli,
            progress: Progress::new(cli.quiet),
            format: cli.format,
            style: Style::detect(),
        }
    }

    /// Config, release and rendered templates: everything before AWS.
    pub fn local(&self) -> Result<Local> {
        load_local(self.cli, &self.progress)
    }

    /// The local state, AWS, and the plan from them.
    pub async fn plan(&self, preflight: Preflight) -> Result<Planned> {
        make_plan(self, preflight).await
    }

    /// The local state, AWS, and every target of ours, without a plan: what `verify` and
    /// `iam-policy` start from.
    pub async fn local_with_targets(&self) -> Result<(Local, Aws, LiveState)> {
        let local = self.local()?;
        let aws = self
            .connect(
                local.config.config.region.as_deref(),
                &local.config.config.aws,
            )
            .await?;
        let families: Vec<String> = local.rendered.iter().map(|r| r.family.clone()).collect();
        let state = live::read_targets(&aws, &local.config, &families).await?;
        Ok((local, aws, state))
    }

    /// Config, templated families and AWS, for the release commands.
    pub async fn account(&self) -> Result<Account> {
        Account::open(self).await
    }

    /// The AWS clients, with `--concurrency`.
    pub async fn connect(&self, region: Option<&str>, settings: &AwsConfig) -> Result<Aws> {
        Aws::connect(region, usize::from(self.cli.concurrency), settings).await
    }

    /// `--quiet` with the human format: only the one-line result goes to stdout. JSON and
    /// markdown are data and are printed whole.
    pub fn quiet_human(&self) -> bool {
        self.cli.quiet && self.format == Format::Human
    }
}

/// Config, release and rendered templates: everything before AWS.
pub struct Local {
    pub config: LoadedConfig,
    pub release: Release,
    pub rendered: Vec<Rendered>,
    pub masker: Masker,
}

fn load_local(cli: &Cli, progress: &Progress) -> Result<Local> {
    let config = LoadedConfig::load(cli.config.as_deref())?;
    let release = match &cli.tag {
        Some(tag) => Release::from_tag(tag, config.image_name()?)?,
        None => Release::from_manifest(&config)?,
    };
    let templates = load_templates(&config.taskdefs_dir())?;
    let ctx = RenderContext::new(&release, &config.config.vars);
    let mut rendered = Vec::with_capacity(templates.len());
    let mut secret_values = Vec::new();
    for template in &templates {
        let r = render(template, &ctx)?;
        for w in &r.warnings {
            progress.warn(w);
        }
        secret_values.extend(r.secrets.iter().cloned());
        secrets::collect(&r.body, &mut secret_values);
        rendered.push(r);
    }
    let unique: std::collections::BTreeSet<&String> = secret_values.iter().collect();
    for secret in unique {
        crate::github::mask(secret);
    }
    Ok(Local {
        config,
        release,
        rendered,
        masker: Masker::new(secret_values),
    })
}

pub struct Planned {
    pub local: Local,
    pub aws: Aws,
    pub plan: Plan,
    /// What verify's checks read, when the preflight asked for them: read beside the plan's
    /// own reads, checked against the plan by `verify::of_plan`.
    pub facts: Option<crate::verify::Facts>,
}

/// What a plan also checks before it is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preflight {
    /// Reads only what the plan shows.
    None,
    /// `plan` and `deploy`: the image must exist (read-only), checked beside the live reads,
    /// so that a PR's plan catches a tag that was never pushed; with `verify` (and unless
    /// `[verify] before_deploy = false`), verify's reads run beside them too: the gate of
    /// `deploy`, the notes of `plan`.
    Image { verify: bool },
}

async fn make_plan(ctx: &Context<'_>, preflight: Preflight) -> Result<Planned> {
    let mut local = ctx.local()?;
    let aws = ctx
        .connect(
            local.config.config.region.as_deref(),
            &local.config.config.aws,
        )
        .await?;
    let families: Vec<String> = local.rendered.iter().map(|r| r.family.clone()).collect();
    let (state, earlier_ids, facts) = match preflight {
        Preflight::None => (
            live::read(&aws, &local.config, &families).await?,
            None,
            None,
        ),
        Preflight::Image { verify } => {
            let verify = verify && local.config.config.verify.before_deploy;
            // Budgets side by side: the targets (EventBridge, Scheduler), then verify's reads
            // of their roles and networks; the families, the image (ECR), then verify's reads
            // of what the families that will register use, and, when the new release's
            // number needs them, older revisions (ECS). Nothing waits on verify but the plan
            // at the very end.
            let tag = local.release.tag.clone();
            let rendered = &local.rendered;
            let region = aws.region.clone();
            let aws = &aws;
            let numbering = async {
                let (newest, image) = futures::future::try_join(
                    live::describe_families(aws, &families),
                    crate::apply::preflight(aws, &local.release),
                )
                .await?;
                let older = async {
                    let ids = match image.pushed_at {
                        Some(pushed_at) if needs_older_revisions(&newest, &tag, pushed_at) => {
                            Some(release_ids_since(aws, &families, pushed_at).await?)
                        }
                        _ => None,
                    };
                    Ok::<_, crate::error::Error>(ids)
                };
                let family_facts = async {
                    if !verify {
                        return Ok(crate::verify::Facts::default());
                    }
                    let registering = rendered
                        .iter()
                        .filter(|r| {
                            crate::plan::registers(
                                r,
                                newest.get(&r.family).and_then(Option::as_ref),
                            )
                        })
                        .map(|r| (r.family.as_str(), &r.body))
                        .collect();
                    crate::verify::gather::gather(
                        aws,
                        &crate::verify::Scope {
                            families: registering,
                            targets: Vec::new(),
                            bodies: BTreeMap::new(),
                            region: region.clone(),
                        },
                    )
                    .await
                };
                let (ids, family_facts) = futures::future::try_join(older, family_facts).await?;
                Ok::<_, crate::error::Error>((newest, image, ids, family_facts))
            };
            let targets = async {
                let spec = |t: &live::LiveTarget| {
                    crate::verify::TargetSpec::of(&t.at, &t.raw, &t.task_definition.family)
                };
                let gather = |targets: Vec<crate::verify::TargetSpec>, known| {
                    let region = region.clone();
                    async move {
                        let scope = crate::verify::Scope {
                            families: Vec::new(),
                            targets,
                            bodies: BTreeMap::new(),
                            region,
                        };
                        crate::verify::gather::gather_beyond(aws, &scope, &known).await
                    }
                };
                // Verify's reads of the first target's role and network start as soon as
                // its rule is read, beside the rest of the scan; in the usual estate every
                // target shares them, and nothing is left to read once the scan is over.
                let first = std::sync::OnceLock::new();
                let seen = tokio::sync::Notify::new();
                let scan = async {
                    let targets = live::read_targets_tapped(aws, &local.config, &families, &|t| {
                        if verify && first.get().is_none() && first.set(spec(t)).is_ok() {
                            seen.notify_one();
                        }
                    })
                    .await;
                    seen.notify_one();
                    targets
                };
                let early = async {
                    if !verify {
                        return Ok(None);
                    }
                    seen.notified().await;
                    match first.get() {
                        Some(s) => {
                            let specs = vec![s.clone()];
                            let facts = gather(specs.clone(), Default::default()).await?;
                            let keys = crate::verify::gather::TargetKeys::read(&specs, &facts);
                            Ok(Some((keys, facts)))
                        }
                        None => Ok::<_, crate::error::Error>(None),
                    }
                };
                let (targets, early) = futures::future::try_join(scan, early).await?;
                let facts = if verify {
                    // Every target of ours: which of them repoint is known only with the
                    // plan. After the scan, only what the first target did not have is read.
                    let specs: Vec<_> = targets.targets.iter().map(spec).collect();
                    match early {
                        Some((keys, facts))
                            if keys.covers(&crate::verify::gather::TargetKeys::of(&specs)) =>
                        {
                            facts
                        }
                        Some((keys, facts)) => facts.merge(gather(specs, keys).await?),
                        None => gather(specs, Default::default()).await?,
                    }
                } else {
                    crate::verify::Facts::default()
                };
                Ok::<_, crate::error::Error>((targets, facts))
            };
            let ((newest, image, ids, family_facts), (targets, target_facts)) =
                futures::future::try_join(numbering, targets).await?;
            if local.release.digest.is_none() {
                local.release.digest = image.digest;
            }
            let state = LiveState {
                families: newest,
                ..targets
            };
            let facts = verify.then(|| family_facts.merge(target_facts));
            (state, ids, facts)
        }
    };
    report_skipped(ctx, &state);
    let mut plan = Plan::compute(&local.release, &local.rendered, &state);
    let registers = plan
        .families
        .iter()
        .any(|f| f.change == crate::plan::FamilyChange::Register);
    if let Some(ids) = earlier_ids
        && registers
    {
        plan.release.id =
            crate::history::next_release_id(&plan.release.tag, ids.iter().map(String::as_str));
    }
    let facts = match facts {
        Some(mut facts) => {
            self::verify::simulate_plan(&aws, &plan, &mut facts).await?;
            Some(facts)
        }
        None => None,
    };
    Ok(Planned {
        local,
        aws,
        plan,
        facts,
    })
}

/// The plan numbers a new release from the tags of each family's newest revision. When the
/// tag is on none of them but some were registered after the image was pushed (a tag
/// deployed again after another one: a manifest revert), an earlier release of the tag may
/// be further back: revisions are read back to the push, no further — no release of the tag
/// can be older than its image.
fn needs_older_revisions(
    newest: &BTreeMap<String, Option<LiveTaskDef>>,
    tag: &str,
    pushed_at: f64,
) -> bool {
    use crate::history::release_tag;
    use crate::model::RevisionInfo;
    let newest: Vec<RevisionInfo> = newest
        .values()
        .flatten()
        .map(RevisionInfo::from_live)
        .collect();
    let known = newest.iter().any(|r| {
        r.release
            .as_deref()
            .is_some_and(|id| release_tag(id) == tag)
    });
    let newer = newest
        .iter()
        // ECS reports every revision's registeredAt; a revision without a time (an emulator
        // that does not, and not registered by jobdeploy, which tags the time) is older.
        .any(|r| r.registered_at.is_some_and(|t| t > pushed_at));
    !known && newer
}

/// The release ids on the families' revisions registered since `pushed_at`.
async fn release_ids_since(aws: &Aws, families: &[String], pushed_at: f64) -> Result<Vec<String>> {
    let mut reader = crate::history::Reader::new(aws, families);
    reader
        .read_until(|_| crate::history::Want {
            horizon: Some(pushed_at),
        })
        .await?;
    Ok(reader
        .history
        .families
        .values()
        .flat_map(|log| log.revisions.iter().filter_map(|r| r.release.clone()))
        .collect())
}

/// What the release commands (history, status, rollback, prune) start from: the config,
/// the templated families and AWS. No manifest repo, no rendering.
pub struct Account {
    pub config: LoadedConfig,
    /// `(family, template file)`, sorted by family.
    pub families: Vec<(String, String)>,
    pub aws: Aws,
}

impl Account {
    async fn open(ctx: &Context<'_>) -> Result<Self> {
        let config = LoadedConfig::load(ctx.cli.config.as_deref())?;
        let templates = load_templates(&config.taskdefs_dir())?;
        let mut families: Vec<(String, String)> = templates
            .iter()
            .map(|t| (t.family.clone(), t.path.display().to_string()))
            .collect();
        families.sort();
        let aws = ctx
            .connect(config.config.region.as_deref(), &config.config.aws)
            .await?;
        Ok(Self {
            config,
            families,
            aws,
        })
    }

    pub fn family_names(&self) -> Vec<String> {
        self.families.iter().map(|(f, _)| f.clone()).collect()
    }

    /// The targets of ours (families are not described: the history reader does that).
    pub async fn targets(&self, ctx: &Context<'_>) -> Result<LiveState> {
        let live = live::read_targets(&self.aws, &self.config, &self.family_names()).await?;
        report_skipped(ctx, &live);
        Ok(live)
    }
}

/// Runs an apply (`deploy` or `rollback`) in a GitHub Actions log group and reports it the
/// same way for both: the calls it made (`-v`), the outcome, the job summary.
pub async fn finish_apply(
    ctx: &Context<'_>,
    aws: &Aws,
    plan: &Plan,
    masker: &Masker,
    k8s_line: Option<&str>,
    apply: impl std::future::Future<Output = Result<crate::apply::Outcome>>,
) -> Result<ExitCode> {
    let group = crate::github::Group::start(&format!(
        "jobdeploy {} {}",
        plan.kind.verb(),
        plan.release.id
    ));
    let outcome = apply.await;
    drop(group);
    report_calls(ctx, aws, plan);
    let outcome = outcome?;
    // Human: the plan printed before already lists every move, so the result is its one line.
    crate::progress::print(&masker.mask(&crate::report::outcome(&outcome, ctx.format)));
    let changed = !outcome.registered.is_empty() || !outcome.repointed.is_empty();
    let k8s = k8s_line.map_or(String::new(), |l| format!("{l}\n\n"));
    crate::github::publish(
        &masker.mask(&format!(
            "{k8s}{}\n{}",
            crate::report::plan_markdown(plan, masker),
            crate::report::outcome_markdown(&outcome)
        )),
        &outcome.release,
        changed,
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `--wait-for-k8s[=DURATION]`: `None` without the flag, `Some(None)` without a duration. A
/// bad duration is exit 1 naming the flag.
pub fn wait_for_k8s(flag: Option<&Option<String>>) -> Result<Option<Option<std::time::Duration>>> {
    match flag {
        None => Ok(None),
        Some(None) => Ok(Some(None)),
        Some(Some(text)) => match crate::model::parse_duration(text) {
            Ok(d) if !d.is_zero() => Ok(Some(Some(d))),
            Ok(_) => Err(crate::error::Error::new(format!(
                "--wait-for-k8s={text}: must be longer than 0s"
            ))),
            Err(e) => Err(crate::error::Error::new(format!("--wait-for-k8s: {e}"))),
        },
    }
}

/// `--wait-for-k8s` needs `[k8s]` to say what to look at.
pub fn require_k8s(config: &LoadedConfig, asked: bool) -> Result<()> {
    if asked && config.k8s.is_none() {
        return Err(crate::error::Error::new(format!(
            "--wait-for-k8s: {} has no [k8s] table, so there is nothing to wait for",
            config.path.display()
        ))
        .hint("add [k8s.argocd] (server, apps) or [k8s.api] (workloads) to jobdeploy.toml; README \"Release coherence\""));
    }
    Ok(())
}

/// With `-v`: what the run asked of AWS, with EventBridge requests per rule of the plan.
pub fn report_calls(ctx: &Context<'_>, aws: &Aws, plan: &Plan) {
    if ctx.cli.verbose == 0 {
        return;
    }
    let rules: std::collections::BTreeSet<&Owner> = plan
        .targets
        .iter()
        .map(|t| &t.at.owner)
        .filter(|o| matches!(o, Owner::Rule { .. }))
        .collect();
    ctx.progress.line(crate::report::calls::summary(
        &aws.pacer.stats(),
        rules.len(),
    ));
}

/// With `-v`: every target seen and left alone, and why.
fn report_skipped(ctx: &Context<'_>, state: &LiveState) {
    if ctx.cli.verbose == 0 {
        return;
    }
    // In rule and schedule order, whatever order the listing came back in.
    let mut skipped: Vec<_> = state.skipped.iter().collect();
    skipped.sort_by(|a, b| a.at.cmp(&b.at));
    for s in skipped {
        ctx.progress
            .line(format!("left alone: {}: {}", s.at.label(), s.reason));
    }
}
