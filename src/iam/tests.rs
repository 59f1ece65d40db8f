use super::*;

#[test]
fn scoped_to_what_the_config_touches() {
    let scope = Scope {
        cluster_arn: "arn:aws:ecs:ap-northeast-1:123456789012:cluster/batch".into(),
        families: vec!["web".into()],
        event_buses: vec!["default".into(), "jobs".into()],
        schedule_groups: vec!["default".into()],
        ecr: Some(EcrRepository {
            account: "123456789012".into(),
            region: "ap-northeast-1".into(),
            repository: "web".into(),
        }),
        task_roles: ["arn:aws:iam::123456789012:role/web-task".to_string()].into(),
        execution_roles: BTreeSet::new(),
        rule_roles: BTreeSet::new(),
        schedule_roles: ["arn:aws:iam::123456789012:role/sched".to_string()].into(),
        prune: false,
        log_groups: BTreeSet::new(),
        parameters: ["arn:aws:ssm:ap-northeast-1:123456789012:parameter/web/db".to_string()].into(),
        secrets: BTreeSet::new(),
        dead_letter_queues: BTreeSet::new(),
    };
    let p = policy(&scope);
    let text = p.to_string();
    for expected in [
        "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/web:*",
        "arn:aws:events:ap-northeast-1:123456789012:rule/*",
        "arn:aws:events:ap-northeast-1:123456789012:rule/jobs/*",
        "arn:aws:scheduler:ap-northeast-1:123456789012:schedule/default/*",
        "arn:aws:ecr:ap-northeast-1:123456789012:repository/web",
        "ecs-tasks.amazonaws.com",
        "scheduler.amazonaws.com",
    ] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
    assert!(
        !text.contains("events.amazonaws.com"),
        "no rule roles: {text}"
    );
    assert!(!text.contains("PruneListsEveryBus"), "no prune: {text}");
    assert!(
        text.contains("\"events:ListRules\""),
        "rule states for the plan: {text}"
    );
    let sids: Vec<&str> = p["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["Sid"].as_str())
        .collect();
    assert_eq!(sids.len(), sids.iter().collect::<BTreeSet<_>>().len());
}

#[test]
fn verify_reads_are_scoped_and_never_read_secret_values() {
    let scope = Scope {
        cluster_arn: "arn:aws:ecs:us-east-1:123456789012:cluster/batch".into(),
        task_roles: ["arn:aws:iam::123456789012:role/exec".to_string()].into(),
        rule_roles: ["arn:aws:iam::123456789012:role/events".to_string()].into(),
        parameters: ["arn:aws:ssm:us-east-1:123456789012:parameter/web/db".to_string()].into(),
        secrets: ["arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf*".to_string()]
            .into(),
        ..Scope::default()
    };
    let p = policy(&scope);
    assert_eq!(
        grants(&p, "iam:GetRole"),
        BTreeSet::from([
            "arn:aws:iam::123456789012:role/events".to_string(),
            "arn:aws:iam::123456789012:role/exec".to_string()
        ])
    );
    assert_eq!(grants(&p, "ssm:GetParameters").len(), 1);
    assert_eq!(grants(&p, "secretsmanager:DescribeSecret").len(), 1);
    assert_eq!(
        grants(&p, "ec2:DescribeRouteTables"),
        BTreeSet::from(["*".to_string()])
    );
    assert!(!p.to_string().contains("GetSecretValue"));
}

#[test]
fn secret_resources_drop_selectors_and_suffixes() {
    let r = |v| secret_resource(v, "aws", "us-east-1", "123456789012");
    assert_eq!(
        r("/web/db:3"),
        "arn:aws:ssm:us-east-1:123456789012:parameter/web/db"
    );
    assert_eq!(r("db"), "arn:aws:ssm:us-east-1:123456789012:parameter/db");
    assert_eq!(
        r("arn:aws:ssm:eu-west-1:1:parameter/web/db:label"),
        "arn:aws:ssm:eu-west-1:1:parameter/web/db"
    );
    assert_eq!(
        r("arn:aws:secretsmanager:us-east-1:1:secret:db-AbCdEf:password::"),
        "arn:aws:secretsmanager:us-east-1:1:secret:db-AbCdEf*"
    );
}

fn scope(buses: &[&str], prune: bool) -> Scope {
    Scope {
        cluster_arn: "arn:aws:ecs:us-east-1:123456789012:cluster/batch".into(),
        families: vec!["web".into()],
        event_buses: buses.iter().map(|b| b.to_string()).collect(),
        schedule_groups: vec!["default".into(), "jobs".into()],
        prune,
        ..Scope::default()
    }
}

#[test]
fn run_may_start_our_families_on_the_cluster_watch_stop_and_read_their_logs() {
    let mut s = scope(&["default"], false);
    s.log_groups = [
        (None, "/ecs/web".to_string()),
        (Some("eu-west-1".to_string()), "/ecs/eu".to_string()),
    ]
    .into();
    let p = policy(&s);
    let ecs = "arn:aws:ecs:us-east-1:123456789012:";
    assert_eq!(
        grants(&p, "ecs:RunTask"),
        BTreeSet::from([format!("{ecs}task-definition/web:*")])
    );
    let run = p["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|st| st["Sid"] == "RunTasksOfTemplatedFamilies")
        .unwrap();
    assert_eq!(
        run["Condition"]["ArnEquals"]["ecs:cluster"],
        format!("{ecs}cluster/batch")
    );
    let tasks = BTreeSet::from([format!("{ecs}task/batch/*")]);
    assert_eq!(grants(&p, "ecs:StopTask"), tasks);
    assert_eq!(grants(&p, "ecs:DescribeTasks"), tasks);
    assert_eq!(
        grants(&p, "logs:GetLogEvents"),
        BTreeSet::from([
            "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/eu:log-stream:*".to_string(),
            "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/web:log-stream:*".to_string(),
        ])
    );
    // No awslogs in the templates: no logs statement at all.
    assert!(grants(&policy(&scope(&["default"], false)), "logs:GetLogEvents").is_empty());
}

/// `(action, resource)` for every statement that allows the action.
fn grants(policy: &Value, action: &str) -> BTreeSet<String> {
    policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Action"].as_array().unwrap().iter().any(|a| a == action))
        .flat_map(|s| s["Resource"].as_array().unwrap().clone())
        .map(|r| r.as_str().unwrap().to_string())
        .collect()
}

/// The bug: `rule/*` was listed twice (the repoint statement and prune's), and prune's
/// statement gave ListTargetsByRule again beside it.
#[test]
fn iam_policy_lists_each_rule_pattern_once_and_writes_only_configured_buses() {
    let rules = "arn:aws:events:us-east-1:123456789012:rule/";
    for (buses, prune) in [
        (&["default", "jobs", "jobs"][..], true),
        (&["jobs"][..], true),
        (
            &["arn:aws:events:us-east-1:123456789012:event-bus/jobs"][..],
            false,
        ),
        (&["default"][..], false),
    ] {
        let p = policy(&scope(buses, prune));
        // Once per condition: RunTask on a family's revisions is conditioned on the
        // cluster, so it cannot share TagResource's statement.
        let mut seen = Vec::new();
        for s in p["Statement"].as_array().unwrap() {
            for r in s["Resource"].as_array().unwrap() {
                let r = r.as_str().unwrap();
                if r != "*" {
                    let key = (r.to_string(), s["Condition"].to_string());
                    assert!(!seen.contains(&key), "{r} twice in {p:#}");
                    seen.push(key);
                }
            }
        }
        let writes = grants(&p, "events:PutTargets");
        let expected: BTreeSet<String> = buses
            .iter()
            .map(|b| match *b {
                "default" => format!("{rules}*"),
                _ => format!("{rules}jobs/*"),
            })
            .collect();
        assert_eq!(writes, expected, "{buses:?}");
        let reads = grants(&p, "events:ListTargetsByRule");
        if prune {
            assert_eq!(reads, BTreeSet::from([format!("{rules}*")]));
        } else {
            assert_eq!(reads, expected);
        }
        assert_eq!(grants(&p, "scheduler:UpdateSchedule").len(), 2, "{p:#}");
        assert!(
            !grants(&p, "events:ListRules").is_empty(),
            "plan reads rule states"
        );
        assert_eq!(!grants(&p, "events:ListEventBuses").is_empty(), prune);
    }
}

#[test]
fn a_secret_named_without_an_arn_is_granted_in_the_tasks_region_and_account() {
    assert_eq!(
        super::secrets_manager_resource("dockerhub", "aws", "us-east-1", "123456789012"),
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:dockerhub-*"
    );
    assert_eq!(
        super::secrets_manager_resource(
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf:password::",
            "aws",
            "us-east-1",
            "123456789012"
        ),
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf*"
    );
}

#[test]
fn runs_may_list_tasks_on_the_cluster_read_metrics_and_its_dead_letter_queues_only() {
    let mut s = scope(&["default"], false);
    let p = policy(&s);
    assert_eq!(
        grants(&p, "cloudwatch:GetMetricData"),
        BTreeSet::from(["*".to_string()])
    );
    let list = p["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|st| st["Sid"] == "RunsListTasksOnTheCluster")
        .unwrap();
    assert_eq!(
        list["Condition"]["ArnEquals"]["ecs:cluster"],
        "arn:aws:ecs:us-east-1:123456789012:cluster/batch"
    );
    // No dead-letter queue: no SQS grant at all.
    assert!(grants(&p, "sqs:GetQueueAttributes").is_empty());
    let dlq = "arn:aws:sqs:us-east-1:123456789012:jobs-dlq".to_string();
    s.dead_letter_queues = [dlq.clone()].into();
    assert_eq!(
        grants(&policy(&s), "sqs:GetQueueAttributes"),
        BTreeSet::from([dlq])
    );
}

/// verify simulates the targets' roles and the execution roles: iam-policy lets it, on
/// exactly those roles (not the task roles, which verify only reads).
#[test]
fn verify_may_simulate_exactly_the_target_and_execution_roles() {
    let role = |n: &str| format!("arn:aws:iam::123456789012:role/{n}");
    let scope = Scope {
        cluster_arn: "arn:aws:ecs:us-east-1:123456789012:cluster/batch".into(),
        task_roles: [role("exec"), role("web-task")].into(),
        execution_roles: [role("exec")].into(),
        rule_roles: [role("events")].into(),
        schedule_roles: [role("sched")].into(),
        ..Scope::default()
    };
    assert_eq!(
        grants(&policy(&scope), "iam:SimulatePrincipalPolicy"),
        BTreeSet::from([role("events"), role("exec"), role("sched")])
    );
    let none = Scope {
        cluster_arn: scope.cluster_arn.clone(),
        ..Scope::default()
    };
    assert!(grants(&policy(&none), "iam:SimulatePrincipalPolicy").is_empty());
}
