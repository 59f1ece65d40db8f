//! Bad input fails before the first AWS write: exit 1, a message naming the culprit, and the
//! proxy in front of moto saw no write. One seeded account, one app dir per case.

use crate::common::*;

/// What a case changes from a good app: the config, files, arguments, environment.
struct Case {
    name: &'static str,
    config: String,
    files: Vec<(&'static str, String)>,
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
    /// Every one of these must be in stderr.
    culprit: Vec<String>,
}

fn case(name: &'static str, culprit: &[&str]) -> Case {
    Case {
        name,
        config: config("batch", ""),
        files: Vec::new(),
        args: ["deploy", "--tag", "v2"].map(String::from).to_vec(),
        env: Vec::new(),
        culprit: culprit.iter().map(|s| s.to_string()).collect(),
    }
}

impl Case {
    fn config(mut self, text: &str) -> Self {
        self.config = text.to_string();
        self
    }
    fn file(mut self, path: &'static str, text: &str) -> Self {
        self.files.push((path, text.to_string()));
        self
    }
    fn args(mut self, args: &[&str]) -> Self {
        self.args = args.iter().map(|s| s.to_string()).collect();
        self
    }
    fn env(mut self, key: &'static str, value: &str) -> Self {
        self.env.push((key, value.to_string()));
        self
    }
}

fn manifest_config(repo: &str, extra: &str) -> String {
    config(
        "batch",
        &format!("repo = \"{repo}\"\npath = \"apps/web\"\n{extra}"),
    )
}

fn template(edit: impl Fn(&str) -> String) -> String {
    edit(&APP_TEMPLATE.replace("FAMILY", "web"))
}

#[test]
fn bad_input_names_the_culprit_and_writes_nothing() {
    let w = World::new();
    // Released before any rule ran it, so no release is older than v2, not even `adopted`
    // (what rules ran before jobdeploy's first release).
    w.aws.register("web", "v1");
    w.run(
        &App::new(&config("batch", ""), &["web"]),
        &["deploy", "--tag", "v2"],
    )
    .ok();
    w.aws.rule(
        "hourly",
        "default",
        aws_sdk_eventbridge::types::RuleState::Enabled,
        vec![ecs_target(
            &w.aws.net,
            "batch",
            &w.cluster,
            &td_arn("web", 2),
        )],
    );

    let manifests = ManifestRepo::new();
    manifests.release("v3");
    let repo = manifests.url();
    let two_tags = ManifestRepo::new();
    two_tags.commit(
        &[(
            "apps/web/deploy.yaml",
            &format!(
                "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - name: a\n          image: {IMAGE}:v1\n        - name: b\n          image: {IMAGE}:v2\n"
            ),
        )],
        "two tags",
    );
    let no_image = ManifestRepo::new();
    no_image.release("v3");
    no_image.commit(
        &[(
            "apps/web/kustomization.yaml",
            "images:\n  - name: other/image\n    newTag: v1\n",
        )],
        "other image",
    );
    let bad_tag = ManifestRepo::new();
    bad_tag.commit(
        &[(
            "apps/web/kustomization.yaml",
            &format!("images:\n  - name: {IMAGE}\n    newTag: \"v1;rm -rf\"\n"),
        )],
        "bad tag",
    );

    let cases = vec![
        case("unknown config key", &["clustr", "jobdeploy.toml"])
            .config("clustr = \"batch\"\ncluster = \"batch\"\n[manifest]\nimage = \"x/y\"\n"),
        case("wrong type", &["cluster", "jobdeploy.toml"]).config("cluster = 5\n"),
        case("invalid TOML", &["jobdeploy.toml"]).config("cluster = \"batch\n"),
        case("missing cluster", &["cluster", "jobdeploy.toml"])
            .config(&format!("[manifest]\nimage = \"{IMAGE}\"\n")),
        case("unknown key in a table", &["exclud"])
            .config(&format!("{}\n[rules]\nexclud = []\n", config("batch", ""))),
        case("bad exclude glob", &["exclude", "[a"])
            .config(&format!("{}\n[rules]\nexclude = [\"[a\"]\n", config("batch", ""))),
        case("config file missing", &["nope.toml"]).args(&["deploy", "--tag", "v2", "--config", "nope.toml"]),
        case("template not JSON", &["taskdefs/web.json"]).file("taskdefs/web.json", "{ not json"),
        case("template not an object", &["taskdefs/web.json", "JSON object"])
            .file("taskdefs/web.json", "[1, 2]"),
        case("undefined template variable", &["taskdefs/web.json", "vars.nope"])
            .file("taskdefs/web.json", &template(|t| t.replace("{{ release }}", "{{ vars.nope }}"))),
        case("template syntax error", &["taskdefs/web.json", "$.containerDefinitions[0].image"])
            .file("taskdefs/web.json", &template(|t| t.replace("{{ image }}", "{{ image "))),
        case("missing env variable", &["taskdefs/web.json", "NOPE_VAR"])
            .file("taskdefs/web.json", &template(|t| t.replace("{{ release }}", "{{ env(\\\"NOPE_VAR\\\") }}"))),
        case("family differs from file name", &["taskdefs/web.json", "api"])
            .file("taskdefs/web.json", &template(|t| t.replace("\"family\": \"web\"", "\"family\": \"api\""))),
        case("read-only field of another family", &["taskdefs/web.json", "$.taskDefinitionArn", "api"])
            .file(
                "taskdefs/web.json",
                &template(|t| t.replacen('{', "{\"taskDefinitionArn\": \"arn:aws:ecs:us-east-1:123456789012:task-definition/api:3\",", 1)),
            ),
        case("manifest repo unreachable", &["/nonexistent/manifests"])
            .config(&manifest_config("/nonexistent/manifests", ""))
            .args(&["deploy"]),
        case("manifest ref missing", &["no-such-branch"])
            .config(&manifest_config(&repo, "ref = \"no-such-branch\"\n"))
            .args(&["deploy"]),
        case("manifest path missing", &["apps/nope"])
            .config(&config("batch", &format!("repo = \"{repo}\"\npath = \"apps/nope\"\n")))
            .args(&["deploy"]),
        case("image absent from the manifest", &[IMAGE, "apps/web"])
            .config(&manifest_config(&no_image.url(), ""))
            .args(&["deploy"]),
        case("two tags for one image", &["v1", "v2"])
            .config(&manifest_config(&two_tags.url(), ""))
            .args(&["deploy"]),
        case("tag with shell characters in the manifest", &["v1;rm -rf"])
            .config(&manifest_config(&bad_tag.url(), ""))
            .args(&["deploy"]),
        case("malformed image name in config", &["manifest.image", "Web:"])
            .config("cluster = \"batch\"\n[manifest]\nimage = \"Web:\"\n"),
        case("tag with spaces", &["--tag", "v1 2"]).args(&["deploy", "--tag", "v1 2"]),
        case("tag with shell characters", &["--tag", "$(id)"]).args(&["deploy", "--tag", "$(id)"]),
        case("tag missing in ECR", &["v9", "ECR"]).args(&["deploy", "--tag", "v9"]),
        case("cluster missing", &["nope"]).config(&config("nope", "")),
        case("no AWS region", &["region"]).env("AWS_REGION", ""),
        case("no credentials", &["credentials"])
            .env("AWS_ACCESS_KEY_ID", "")
            .env("AWS_SECRET_ACCESS_KEY", ""),
        case("endpoint unreachable", &["cannot reach http://127.0.0.1:9", "Connection refused"])
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .env("AWS_MAX_ATTEMPTS", "1"),
        case("bad AWS_MAX_ATTEMPTS", &["AWS_MAX_ATTEMPTS"]).env("AWS_MAX_ATTEMPTS", "lots"),
        case("unknown release for rollback", &["release `v9` not found"]).args(&["rollback", "v9"]),
        case("no release before the live one", &["no older release"]).args(&["rollback", "previous"]),
    ];
    // Exactly these cases, each once: `>= 25` guarded 31 and would not notice six going.
    assert_eq!(cases.len(), 31);
    let names: std::collections::BTreeSet<&str> = cases.iter().map(|c| c.name).collect();
    assert_eq!(names.len(), cases.len(), "a case name is used twice");

    let mut failures = Vec::new();
    for c in &cases {
        let app = App::new(&c.config, &["web"]);
        for (path, text) in &c.files {
            app.write(path, text);
        }
        w.proxy.clear();
        let args: Vec<&str> = c.args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = c.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let run = app.run_env(&w.proxy.url, &args, &env);
        let writes = w.proxy.writes();
        let missing: Vec<&String> = c
            .culprit
            .iter()
            .filter(|s| !run.stderr.contains(*s))
            .collect();
        if run.code != 1
            || !missing.is_empty()
            || !writes.is_empty()
            || run.stderr.contains("panicked")
        {
            failures.push(format!(
                "{}: exit {}, missing {missing:?}, writes {writes:?}\n{}",
                c.name, run.code, run.stderr
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n---\n"));
}

/// AWS ignores members it does not know, so a typo registered a revision without the field
/// and the plan never converged. Now `render`, `plan` and `deploy` refuse the template before
/// any AWS call, listing every problem with the file, the JSON path and the nearest key.
#[test]
fn typos_in_templates_are_silently_dropped() {
    let w = World::new();
    w.hourly_web_job();
    let app = App::new(&config("batch", ""), &["web"]);
    let typos = template(|t| {
        // The template's own logConfiguration makes way for the broken ones below.
        t.replace(
            ",\n      \"logConfiguration\": {\n        \"logDriver\": \"awslogs\",\n        \"options\": {\"awslogs-group\": \"/ecs/jobs\", \"awslogs-region\": \"us-east-1\", \"awslogs-stream-prefix\": \"web\"}\n      }",
            "",
        )
        .replace("\"memory\": \"512\"", "\"memoryy\": \"512\"")
            .replace("\"cpu\": \"0.25 vCPU\"", "\"cpu\": 256")
            .replace("\"awsvpc\"", "\"awsvpcc\"")
            .replace(
                "\"image\": \"{{ image }}\",",
                "\"image\": \"{{ image }}\", \"logConfiguraton\": {\"logDriver\": \"awslogs\"}, \"logConfiguration\": {\"options\": {\"awslogs-group\": 5}},",
            )
            .replace("\"environment\"", "\"enviroment\"")
    });
    app.write("taskdefs/web.json", &typos);
    let expected = [
        "$.networkMode: `awsvpcc` is not one of `bridge`, `host`, `awsvpc`, `none`; did you mean `awsvpc`?",
        "$.cpu: expected a string, found the number 256",
        "$.memoryy: unknown key (AWS would silently ignore it); did you mean `memory`?",
        "$.containerDefinitions[0].logConfiguraton: unknown key (AWS would silently ignore it); did you mean `logConfiguration`?",
        "$.containerDefinitions[0].logConfiguration.options.awslogs-group: expected a string, found the number 5",
        "$.containerDefinitions[0].logConfiguration.logDriver: is required",
        "$.containerDefinitions[0].enviroment: unknown key (AWS would silently ignore it); did you mean `environment`?",
    ];
    for args in [
        &["render", "--tag", "v2"][..],
        &["plan", "--tag", "v2"],
        &["deploy", "--tag", "v2"],
    ] {
        w.proxy.clear();
        let run = w.run(&app, args).fails();
        let errors: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| l.contains("taskdefs/web.json: $."))
            .collect();
        assert_eq!(errors.len(), expected.len(), "{args:?}\n{}", run.stderr);
        for (line, want) in errors.iter().zip(expected) {
            assert!(line.contains(want), "{args:?}: `{line}` lacks `{want}`");
        }
        assert!(
            run.stderr
                .contains("Hint: keys and types are those of RegisterTaskDefinition"),
            "{}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
        assert_eq!(w.proxy.actions(), Vec::<String>::new(), "{args:?}");
    }
    assert_eq!(w.aws.revisions("web").len(), 1);

    // Fixed, the same template deploys.
    app.write("taskdefs/web.json", &template(|t| t.to_string()));
    w.run(&app, &["deploy", "--tag", "v2"]).ok();
    assert_eq!(w.aws.revisions("web").len(), 2);
}
