//! The pure plan on a large estate: 50 families, 5,000 targets (rules and schedules), half of
//! them on an old revision. `cargo bench --bench plan`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use jobdeploy::image::ImageRef;
use jobdeploy::live::{LiveState, LiveTarget};
use jobdeploy::manifest::Release;
use jobdeploy::model::{LiveTaskDef, TaskDefRef, Trigger};
use jobdeploy::plan::Plan;
use jobdeploy::render::Rendered;
use serde_json::{Value, json};

const ACCOUNT: &str = "arn:aws:ecs:us-east-1:123456789012";
const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web";
const FAMILIES: usize = 50;
const TARGETS: usize = 5_000;

fn body(family: &str, tag: &str) -> Value {
    json!({
        "family": family,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{
            "name": "app",
            "image": format!("{IMAGE}:{tag}"),
            "command": ["bin/rake", format!("jobs:{family}")],
            "environment": [
                {"name": "RELEASE", "value": tag},
                {"name": "RAILS_ENV", "value": "production"},
                {"name": "QUEUE", "value": family}
            ],
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": format!("/ecs/{family}"), "awslogs-region": "us-east-1", "awslogs-stream-prefix": "app"}}
        }]
    })
}

fn inputs() -> (Release, Vec<Rendered>, LiveState) {
    let release = ImageRef::parse(IMAGE)
        .ok()
        .and_then(|image| Release::from_tag("v2", &image).ok())
        .expect("release");
    let mut rendered = Vec::new();
    let mut families = BTreeMap::new();
    for f in 0..FAMILIES {
        let family = format!("job-{f:02}");
        rendered.push(Rendered {
            family: family.clone(),
            path: PathBuf::from(format!("taskdefs/{family}.json")),
            body: body(&family, "v2"),
            warnings: vec![],
            secrets: vec![],
        });
        // Half the families already match the release; the other half are on v1.
        let tag = if f % 2 == 0 { "v2" } else { "v1" };
        let mut live = body(&family, tag);
        live["containerDefinitions"][0]["cpu"] = json!(0);
        live["containerDefinitions"][0]["essential"] = json!(true);
        families.insert(
            family.clone(),
            Some(LiveTaskDef {
                arn: format!("{ACCOUNT}:task-definition/{family}:7"),
                family: family.clone(),
                revision: 7,
                status: "ACTIVE".into(),
                registered_at: None,
                body: live,
            }),
        );
    }
    let targets = (0..TARGETS)
        .map(|t| {
            let family = format!("job-{:02}", t % FAMILIES);
            let revision = if t % 2 == 0 { 7 } else { 6 };
            let at = if t % 10 == 0 {
                Trigger::schedule("default", &format!("schedule-{t:04}"))
            } else {
                Trigger::rule_target("default", &format!("rule-{t:04}"), "job")
            };
            LiveTarget {
                at,
                task_definition: TaskDefRef::parse(&format!(
                    "{ACCOUNT}:task-definition/{family}:{revision}"
                )),
                raw: json!({"Id": "job", "Arn": format!("{ACCOUNT}:cluster/batch")}),
            }
        })
        .collect();
    let state = LiveState {
        cluster_arn: format!("{ACCOUNT}:cluster/batch"),
        families,
        targets,
        skipped: vec![],
        ..Default::default()
    };
    (release, rendered, state)
}

fn plan(c: &mut Criterion) {
    let (release, rendered, state) = inputs();
    c.bench_function("plan: 50 families, 5,000 targets", |b| {
        b.iter(|| Plan::compute(black_box(&release), black_box(&rendered), black_box(&state)))
    });
}

criterion_group!(benches, plan);
criterion_main!(benches);
