//! End to end: what plan and deploy print — JSON and markdown plans, the GitHub Actions
//! summary, outputs and masking, deterministic progress, `--quiet`.

use crate::common::*;
use crate::deploy::tag_config;
use aws_sdk_eventbridge::types::RuleState;

#[test]
fn json_and_markdown_plans() {
    let w = World::new();
    w.hourly_web_job();
    let app = App::new(&tag_config(), &["web"]);
    let json = w
        .run(&app, &["plan", "--tag", "v2", "--format", "json"])
        .ok();
    let plan: serde_json::Value = serde_json::from_str(&json.stdout).expect("plan JSON");
    assert_eq!(plan["release"]["id"], "v2");
    assert_eq!(plan["families"][0]["change"], "register");
    assert_eq!(plan["targets"][0]["kind"], "rule");
    assert_eq!(plan["targets"][0]["rule"], "hourly");
    assert_eq!(plan["targets"][0]["target_id"], "batch");
    assert_eq!(plan["targets"][0]["from"]["revision"], 1);
    assert_eq!(plan["targets"][0]["to"]["expected_revision"], 2);
    assert_eq!(plan["summary"]["targets_to_repoint"], 1);
    let md = w
        .run(&app, &["plan", "--tag", "v2", "--format", "markdown"])
        .ok();
    assert!(md.stdout.contains("```diff"), "{}", md.stdout);
    assert!(
        md.stdout
            .contains("| `default/hourly` | `batch` | `web:1` | `web:2 (new)` |"),
        "{}",
        md.stdout
    );
}

#[test]
fn github_actions_summary_outputs_and_masking() {
    let w = World::new();
    let app = App::new(&tag_config(), &["web"]);
    app.write(
        "taskdefs/web.json",
        &APP_TEMPLATE.replace("FAMILY", "web").replace(
            r#"{"name": "RELEASE", "value": "{{ release }}"}"#,
            r#"{"name": "RELEASE", "value": "{{ release }}"}, {"name": "API_TOKEN", "value": "{{ env('SERVICE_TOKEN') }}"}"#,
        ),
    );
    let summary = app.path().join("summary.md");
    let output = app.path().join("output.txt");
    let run = app
        .run_env(
            &w.proxy.url,
            &["deploy", "--tag", "v2"],
            &[
                ("GITHUB_ACTIONS", "true"),
                ("GITHUB_STEP_SUMMARY", summary.to_str().expect("path")),
                ("GITHUB_OUTPUT", output.to_str().expect("path")),
                ("SERVICE_TOKEN", "hunter2-secret-value"),
            ],
        )
        .ok();
    let summary = std::fs::read_to_string(summary).expect("summary written");
    let output = std::fs::read_to_string(output).expect("outputs written");
    assert!(
        summary.contains("### jobdeploy plan: release `v2`"),
        "{summary}"
    );
    assert!(
        output.contains("release=v2\n") && output.contains("changed=true\n"),
        "{output}"
    );
    // The runner is told to mask it (that line is swallowed by the runner), once; no other
    // line shows it.
    let mask_lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("::add-mask::"))
        .collect();
    assert_eq!(mask_lines, ["::add-mask::hunter2-secret-value"]);
    let stderr: String = run
        .stderr
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect();
    for text in [&run.stdout, &stderr, &summary] {
        assert!(!text.contains("hunter2"), "secret leaked: {text}");
    }
    assert!(run.stdout.contains("****"), "{}", run.stdout);
    // The registered definition has the real value: masking is for output only.
    let rendered = app
        .run_env(
            &w.proxy.url,
            &["render", "web", "--tag", "v2"],
            &[("SERVICE_TOKEN", "hunter2-secret-value")],
        )
        .ok();
    assert!(!rendered.stdout.contains("hunter2"), "{}", rendered.stdout);

    let failing = app.run_env(
        &w.proxy.url,
        &["deploy", "--tag", "v9"],
        &[("GITHUB_ACTIONS", "true"), ("SERVICE_TOKEN", "x")],
    );
    assert_eq!(failing.code, 1);
    assert!(
        failing.stderr.contains("::error title=jobdeploy::"),
        "{}",
        failing.stderr
    );
}

/// Three families at v1, run by seven targets on six rules, and a schedule.
fn seeded_for_output() -> World {
    let w = World::new();
    let mut arns = Vec::new();
    for family in ["alpha", "beta", "gamma"] {
        arns.push(w.aws.register(family, "v1"));
    }
    for (i, rule) in ["r1", "r2", "r3", "r4", "r5"].iter().enumerate() {
        w.aws.rule(
            rule,
            "default",
            RuleState::Enabled,
            vec![ecs_target(&w.aws.net, "t", &w.cluster, &arns[i % 3])],
        );
    }
    w.aws.rule(
        "r6",
        "default",
        RuleState::Enabled,
        vec![
            ecs_target(&w.aws.net, "a", &w.cluster, &arns[0]),
            ecs_target(&w.aws.net, "b", &w.cluster, &arns[1]),
        ],
    );
    w.aws.schedule("default", "nightly", &w.cluster, &arns[2]);
    w
}

fn deploy_output(args: &[&str]) -> Run {
    let w = seeded_for_output();
    let app = App::new(&tag_config(), &["alpha", "beta", "gamma"]);
    // An empty NO_COLOR does not turn colour off; stdout being a pipe must.
    app.run_env(&w.proxy.url, args, &[("NO_COLOR", "")])
}

/// The bugs: progress lines came in the order the calls finished (two runs did not diff
/// cleanly), and every move was printed three times (plan, progress, outcome).
#[test]
fn deploy_output_is_deterministic_says_each_thing_once_and_has_no_escapes() {
    for args in [
        &["deploy", "--tag", "v2"][..],
        &["deploy", "--tag", "v2", "-v"][..],
    ] {
        let first = deploy_output(args).ok();
        let second = deploy_output(args).ok();
        assert_eq!(first.stdout, second.stdout, "{args:?}");
        assert_eq!(first.stderr, second.stderr, "{args:?}");
        for text in [&first.stdout, &first.stderr] {
            assert!(!text.contains('\x1b'), "{args:?}: {text}");
        }
        let mut seen = std::collections::BTreeSet::new();
        for line in first.stdout.lines().chain(first.stderr.lines()) {
            // Diff bodies repeat by nature (three families, one template).
            if line.trim().is_empty() || line.starts_with("      ") {
                continue;
            }
            assert!(
                seen.insert(line),
                "{args:?}: `{line}` twice in\n{}\n{}",
                first.stdout,
                first.stderr
            );
        }
        // Each move twice: planned (stdout), done (stderr) — not a third time in the result.
        let r1 = first
            .stdout
            .lines()
            .chain(first.stderr.lines())
            .filter(|l| l.contains("r1 target t") || l.contains("rule r1 "))
            .count();
        assert_eq!(r1, 2, "{}\n{}", first.stdout, first.stderr);
        let registered: Vec<&str> = first
            .stderr
            .lines()
            .filter(|l| l.starts_with("registered "))
            .collect();
        assert_eq!(
            registered,
            [
                "registered alpha:2",
                "registered beta:2",
                "registered gamma:2"
            ]
        );
        let repointed: Vec<&str> = first
            .stderr
            .lines()
            .filter(|l| l.starts_with("repointed "))
            .collect();
        assert_eq!(repointed.len(), 8, "{}", first.stderr);
        let mut sorted = repointed.clone();
        sorted.sort();
        assert_eq!(repointed, sorted, "{}", first.stderr);
        assert!(
            first.stdout.ends_with(
                "Deployed release v2: registered alpha:2, beta:2, gamma:2; repointed 8 targets.\n"
            ),
            "{}",
            first.stdout
        );
    }
}

/// The bug: `--quiet` still printed the whole plan and every repointed target.
#[test]
fn quiet_prints_only_the_one_line_result() {
    let w = seeded_for_output();
    let app = App::new(&tag_config(), &["alpha", "beta", "gamma"]);
    let plan = w.run(&app, &["plan", "--tag", "v2", "--quiet"]).ok();
    assert_eq!(
        plan.stdout,
        "Plan: release v2: 3 families to register, 0 unchanged; 8 targets to repoint, 0 already current.\n"
    );
    assert_eq!(plan.stderr, "");
    let deploy = w.run(&app, &["deploy", "--tag", "v2", "--quiet"]).ok();
    assert_eq!(
        deploy.stdout,
        "Deployed release v2: registered alpha:2, beta:2, gamma:2; repointed 8 targets.\n"
    );
    assert_eq!(deploy.stderr, "");
    let again = w.run(&app, &["deploy", "--tag", "v2", "-q"]).ok();
    assert_eq!(
        again.stdout,
        "Release v2 was already live; nothing changed.\n"
    );
    assert_eq!(again.stderr, "");
    // Errors still come through.
    let failed = w.run(&app, &["deploy", "--tag", "v9", "--quiet"]).fails();
    assert!(failed.stderr.starts_with("Error: "), "{}", failed.stderr);
    // JSON is data: printed whole.
    let json = w
        .run(&app, &["plan", "--tag", "v2", "-q", "--format", "json"])
        .ok();
    assert!(json.stdout.trim_start().starts_with('{'), "{}", json.stdout);
}
