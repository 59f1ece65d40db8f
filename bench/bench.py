"""jobdeploy against the sequential loop teams script today, side by side, through a proxy
that delays every AWS call (default 50 ms) in front of moto. For each size it seeds a fresh
account (F families, R rules on the cluster), then measures:

  baseline  per family DescribeTaskDefinition + RegisterTaskDefinition, ListRuleNamesByTarget,
            per rule ListTargetsByRule + PutTargets, one call at a time (boto3)
  plan      jobdeploy plan --tag v3
  deploy    jobdeploy deploy --tag v3 (registers F families, repoints R rules)

wall time, AWS requests (counted at the proxy), peak RSS of the jobdeploy process (wait4),
and the request budget 3*F + 3*R + 20 (the first release also tags the F revisions it adopts). Prints a markdown table; --out writes RESULTS.md.

With --quota-sizes (default 200,500) it also runs the quota scenario: the proxy enforces AWS's
default request quotas per group (EventBridge 50/s burst 50, RegisterTaskDefinition 1/s burst
20, ...) and answers ThrottlingException above them. After the loop (to v2) and a first
jobdeploy release (v2), it times plan v3, deploy v3 and rollback previous (back to v2) and sets
each beside its quota floor, the least time the EventBridge calls can take at 50/s after a
burst of 50: (3 * rules + pages - 50) / 50 s for deploy and rollback (the plan's read, the
lost-update re-read, the put), (rules + pages - 50) / 50 s for plan.

    python bench/bench.py --jobdeploy target/release/jobdeploy --moto .venv/bin/moto_server
"""

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config

REGION = "us-east-1"
ACCOUNT = "123456789012"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/web"
HERE = Path(__file__).resolve().parent
CREDS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": REGION}

TEMPLATE = {
    "networkMode": "awsvpc",
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "256",
    "memory": "512",
    "containerDefinitions": [
        {
            "name": "app",
            "image": "{{ image }}",
            "essential": True,
            "command": ["bin/rake", "jobs:run"],
            "environment": [{"name": "RELEASE", "value": "{{ release }}"}],
        }
    ],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str) -> None:
    for _ in range(200):
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except Exception as e:  # noqa: BLE001 - any answer, even an error status, is up
            if hasattr(e, "code"):
                return
            time.sleep(0.05)
    raise SystemExit(f"{url} did not come up")


class Account:
    """A fresh moto server and a latency proxy in front of it."""

    def __init__(self, moto: str, latency: float, workdir: Path, quotas: bool = False):
        port = free_port()
        self.moto_url = f"http://127.0.0.1:{port}"
        self.moto = subprocess.Popen(
            [moto, "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_http(self.moto_url + "/moto-api/")
        port_file = workdir / f"proxy-{port}.port"
        self.proxy = subprocess.Popen(
            [sys.executable, str(HERE / "proxy.py"), self.moto_url, str(latency), str(port_file)]
            + (["quotas"] if quotas else [])
        )
        for _ in range(200):
            if port_file.exists() and port_file.read_text():
                break
            time.sleep(0.05)
        self.proxy_url = f"http://127.0.0.1:{port_file.read_text()}"

    def client(self, service: str, through_proxy: bool):
        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=self.proxy_url if through_proxy else self.moto_url,
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
            config=Config(retries={"mode": "standard", "max_attempts": 6}),
        )

    def stats(self, reset: bool = False) -> dict:
        if reset:
            urllib.request.urlopen(urllib.request.Request(self.proxy_url + "/__reset", method="POST"))
            return {}
        return json.load(urllib.request.urlopen(self.proxy_url + "/__stats"))

    def close(self) -> None:
        for p in (self.proxy, self.moto):
            p.terminate()
            p.wait()


# The scale scenario's account has no quotas: jobdeploy is told so, or it would pace itself to
# the defaults an account without raised quotas has.
NO_QUOTAS = "\n[aws.quotas]\n" + "".join(
    f"{group} = 100000\n" for group in ("eventbridge", "scheduler", "ecs_task_definition_writes", "ecs_reads", "ecr"))


def seed(account: Account, families: int, rules: int, app: Path, quotas: bool = False) -> str:
    ecs = account.client("ecs", False)
    ecr = account.client("ecr", False)
    events = account.client("events", False)
    cluster = ecs.create_cluster(clusterName="batch")["cluster"]["clusterArn"]
    ecr.create_repository(repositoryName="web")
    for tag in ("v1", "v2", "v3"):
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"digest": "sha256:" + tag.encode().hex().ljust(64, "0")},
                "layers": [],
            }
        )
        ecr.put_image(repositoryName="web", imageManifest=manifest, imageTag=tag)
    (app / "taskdefs").mkdir(parents=True)
    # The seeded world has no roles or subnets behind its targets, so verify's preflight would
    # refuse every deploy; the bench measures the release engine (as before verify existed),
    # and verify's own reads are measured in its tests.
    (app / "jobdeploy.toml").write_text(
        f'cluster = "batch"\n\n[manifest]\nimage = "{IMAGE}"\n\n[verify]\nbefore_deploy = false\n'
        + ("" if quotas else NO_QUOTAS)
    )
    arns = []
    for i in range(families):
        family = f"job-{i:02d}"
        body = json.loads(json.dumps(TEMPLATE))
        (app / "taskdefs" / f"{family}.json").write_text(json.dumps({"family": family, **body}, indent=2))
        body["containerDefinitions"][0]["image"] = f"{IMAGE}:v1"
        body["containerDefinitions"][0]["environment"][0]["value"] = "v1"
        arns.append(ecs.register_task_definition(family=family, **body)["taskDefinition"]["taskDefinitionArn"])
    network = {"awsvpcConfiguration": {"Subnets": ["subnet-0a1b2c3d"], "SecurityGroups": ["sg-0123abcd"], "AssignPublicIp": "DISABLED"}}
    for r in range(rules):
        name = f"batch-{r:03d}"
        events.put_rule(Name=name, ScheduleExpression="rate(1 hour)")
        target = {
            "Id": "job",
            "Arn": cluster,
            "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/events-ecs",
            "EcsParameters": {
                "TaskDefinitionArn": arns[r % families],
                "TaskCount": 1,
                "LaunchType": "FARGATE",
                "NetworkConfiguration": network,
            },
        }
        events.put_targets(Rule=name, Targets=[target])
    return cluster


READ_ONLY = ("taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities",
             "registeredAt", "registeredBy", "deregisteredAt")


def baseline(account: Account, families: int, cluster: str, tag: str) -> None:
    """The hand-written release loop: one call at a time."""
    ecs = account.client("ecs", True)
    events = account.client("events", True)
    new = {}
    for i in range(families):
        family = f"job-{i:02d}"
        td = ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
        for key in READ_ONLY:
            td.pop(key, None)
        td["containerDefinitions"][0]["image"] = f"{IMAGE}:{tag}"
        new[family] = ecs.register_task_definition(**td)["taskDefinition"]["taskDefinitionArn"]
    names, token = [], None
    while True:
        kwargs = {"TargetArn": cluster, **({"NextToken": token} if token else {})}
        page = events.list_rule_names_by_target(**kwargs)
        names += page["RuleNames"]
        token = page.get("NextToken")
        if not token:
            break
    for name in names:
        targets = events.list_targets_by_rule(Rule=name)["Targets"]
        for t in targets:
            family = t["EcsParameters"]["TaskDefinitionArn"].rsplit("/", 1)[1].split(":")[0]
            t["EcsParameters"]["TaskDefinitionArn"] = new[family]
        events.put_targets(Rule=name, Targets=targets)


def run_jobdeploy(binary: str, app: Path, account: Account, args: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one jobdeploy run; fails loudly on a non-zero exit."""
    env = {**os.environ, **CREDS, "AWS_ENDPOINT_URL": account.proxy_url, "NO_COLOR": "1",
           "JOBDEPLOY_CACHE_DIR": str(app / ".cache")}
    env.pop("GITHUB_ACTIONS", None)
    start = time.perf_counter()
    proc = subprocess.Popen([binary, *args, "--quiet"], cwd=app, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"jobdeploy {' '.join(args)} exited {code}\n{out.decode()}\n{err.decode()}")
    return elapsed, usage.ru_maxrss


def requests(stats: dict) -> int:
    """Requests answered by the proxy (throttled ones included), without its own counters."""
    return sum(v for k, v in stats.items() if not k.startswith("__"))


def check_all_on(account: Account, rules: int, revision: int) -> None:
    events = account.client("events", False)
    for r in range(rules):
        arn = events.list_targets_by_rule(Rule=f"batch-{r:03d}")["Targets"][0]["EcsParameters"]["TaskDefinitionArn"]
        if not arn.endswith(f":{revision}"):
            raise SystemExit(f"batch-{r:03d} is on {arn}, expected revision {revision}")


def measure(args, rules: int) -> dict:
    families = min(args.families, rules)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        app = work / "app"
        account = Account(args.moto, args.latency, work)
        try:
            cluster = seed(account, families, rules, app)
            account.stats(reset=True)
            start = time.perf_counter()
            baseline(account, families, cluster, "v2")
            base_time = time.perf_counter() - start
            base_requests = requests(account.stats())
            check_all_on(account, rules, 2)

            account.stats(reset=True)
            plan_time, plan_rss = run_jobdeploy(args.jobdeploy, app, account, ["plan", "--tag", "v3"])
            plan_requests = requests(account.stats())

            account.stats(reset=True)
            deploy_time, deploy_rss = run_jobdeploy(args.jobdeploy, app, account, ["deploy", "--tag", "v3"])
            deploy_stats = account.stats()
            check_all_on(account, rules, 3)
        finally:
            account.close()
    writes = sum(v for k, v in deploy_stats.items() if k.startswith(("Register", "Put", "Update", "TagResource")))
    return {
        "families": families,
        "rules": rules,
        # Per family a describe, a register and (first release only) the adoption tag.
        "budget": 3 * families + 3 * rules + 20,
        "baseline_s": base_time,
        "baseline_requests": base_requests,
        "plan_s": plan_time,
        "plan_requests": plan_requests,
        "plan_rss_mib": plan_rss / 1024,
        "deploy_s": deploy_time,
        "deploy_requests": requests(deploy_stats),
        "deploy_writes": writes,
        "deploy_rss_mib": deploy_rss / 1024,
        "speedup": base_time / deploy_time,
        "deploy_calls": deploy_stats,
    }


def measure_quotas(args, rules: int) -> dict:
    """The quota scenario: every phase starts with full buckets, as separate release jobs do."""
    families = min(args.families, rules)
    pages = -(-rules // 100)  # ListRuleNamesByTarget answers 100 names a page
    result = {"families": families, "rules": rules}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        app = work / "app"
        account = Account(args.moto, args.latency, work, quotas=True)
        try:
            cluster = seed(account, families, rules, app, quotas=True)
            account.stats(reset=True)
            start = time.perf_counter()
            baseline(account, families, cluster, "v2")
            stats = account.stats()
            result["loop"] = (time.perf_counter() - start, requests(stats), stats.get("__throttled", 0))
            check_all_on(account, rules, 2)

            account.stats(reset=True)
            run_jobdeploy(args.jobdeploy, app, account, ["deploy", "--tag", "v2"])
            check_all_on(account, rules, 3)
            for phase, argv, revision, floor_calls in (
                ("plan", ["plan", "--tag", "v3"], 3, rules + pages),
                ("deploy", ["deploy", "--tag", "v3"], 4, 3 * rules + pages),
                ("rollback", ["rollback", "previous"], 3, 3 * rules + pages),
            ):
                account.stats(reset=True)
                elapsed, _ = run_jobdeploy(args.jobdeploy, app, account, argv)
                stats = account.stats()
                check_all_on(account, rules, revision)
                floor = max(0, floor_calls - 50) / 50
                eventbridge = sum(v for k, v in stats.items() if k in EVENTBRIDGE_ACTIONS)
                result[phase] = (elapsed, requests(stats), stats.get("__throttled", 0), floor, eventbridge)
                print(f"  {phase}: {elapsed:.2f}s {dict(sorted(stats.items()))}", file=sys.stderr)
        finally:
            account.close()
    return result


EVENTBRIDGE_ACTIONS = {"ListRuleNamesByTarget", "ListTargetsByRule", "PutTargets", "ListRules",
                       "DescribeRule", "RemoveTargets"}


def quota_table(results: list[dict]) -> str:
    lines = [
        "| families | rules | loop | plan (floor) | deploy (floor) | rollback (floor) | requests loop / plan / deploy / rollback | EventBridge calls per rule plan / deploy / rollback | throttles loop / plan / deploy / rollback |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        phases = [r[p] for p in ("plan", "deploy", "rollback")]
        lines.append(
            f"| {r['families']} | {r['rules']} | {r['loop'][0]:.1f} s "
            + "".join(f"| {t:.1f} s ({f:.1f} s) " for t, _, _, f, _ in phases)
            + f"| {r['loop'][1]} / " + " / ".join(str(q) for _, q, _, _, _ in phases)
            + " | " + " / ".join(f"{e / r['rules']:.2f}" for _, _, _, _, e in phases)
            + f" | {r['loop'][2]} / " + " / ".join(str(t) for _, _, t, _, _ in phases) + " |"
        )
    return "\n".join(lines)


def quota_failures(results: list[dict]) -> list[str]:
    failures = []
    for r in results:
        for phase in ("plan", "deploy", "rollback"):
            elapsed, reqs, throttled, floor, _ = r[phase]
            if elapsed > 1.2 * floor + 0.5:
                failures.append(f"quotas, {r['rules']} rules: {phase} {elapsed:.1f}s > 1.2 x floor {floor:.1f}s + 0.5s")
            if throttled > 0.02 * reqs:
                failures.append(f"quotas, {r['rules']} rules: {phase} drew {throttled} throttles in {reqs} requests (> 2%)")
    return failures


def table(results: list[dict]) -> str:
    lines = [
        "| families | rules | baseline | deploy | speed-up | plan | deploy requests (budget) | plan requests | peak RSS deploy / plan |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['families']} | {r['rules']} | {r['baseline_s']:.2f} s ({r['baseline_requests']} req) "
            f"| {r['deploy_s']:.2f} s | {r['speedup']:.1f}× | {r['plan_s']:.2f} s "
            f"| {r['deploy_requests']} ({r['budget']}) | {r['plan_requests']} "
            f"| {r['deploy_rss_mib']:.1f} / {r['plan_rss_mib']:.1f} MiB |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobdeploy", required=True)
    parser.add_argument("--moto", required=True)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--families", type=int, default=20)
    parser.add_argument("--sizes", default="10,50,100,200,500", help="rules in the scale scenario; empty to skip")
    parser.add_argument("--quota-sizes", default="200,500", help="rules in the quota scenario; empty to skip")
    parser.add_argument("--out")
    args = parser.parse_args()
    args.jobdeploy = str(Path(args.jobdeploy).resolve())
    results = []
    for rules in [int(s) for s in args.sizes.split(",") if s]:
        r = measure(args, rules)
        print(f"{r['rules']:>4} rules: baseline {r['baseline_s']:.2f}s, deploy {r['deploy_s']:.2f}s "
              f"({r['speedup']:.1f}x), plan {r['plan_s']:.2f}s, {r['deploy_requests']} requests "
              f"(budget {r['budget']}): {r['deploy_calls']}", file=sys.stderr)
        results.append(r)
    text = table(results) if results else ""
    print(text)
    quota_results = []
    for rules in [int(s) for s in args.quota_sizes.split(",") if s]:
        r = measure_quotas(args, rules)
        print(f"{rules:>4} rules under quotas: " + ", ".join(
            f"{p} {r[p][0]:.2f}s (floor {r[p][3]:.1f}s, {r[p][1]} requests, {r[p][2]} throttled)"
            for p in ("plan", "deploy", "rollback")) + f"; loop {r['loop'][0]:.2f}s", file=sys.stderr)
        quota_results.append(r)
    quota_text = quota_table(quota_results) if quota_results else ""
    print(quota_text)
    failures = quota_failures(quota_results)
    for r in results:
        if r["deploy_requests"] > r["budget"]:
            failures.append(f"{r['rules']} rules: {r['deploy_requests']} requests > budget {r['budget']}")
        if r["plan_requests"] > r["budget"] - r["deploy_writes"]:
            failures.append(f"{r['rules']} rules: plan made {r['plan_requests']} requests > {r['budget'] - r['deploy_writes']}")
        if max(r["deploy_rss_mib"], r["plan_rss_mib"]) >= 60:
            failures.append(f"{r['rules']} rules: peak RSS {max(r['deploy_rss_mib'], r['plan_rss_mib']):.1f} MiB >= 60")
        if r["families"] == 20 and r["rules"] == 200:
            if r["speedup"] < 15:
                failures.append(f"20 families / 200 rules: {r['speedup']:.1f}x < 15x")
            if r["plan_s"] >= 1.5:
                failures.append(f"20 families / 200 rules: plan {r['plan_s']:.2f}s >= 1.5s")
    if args.out:
        cpu = platform.processor() or platform.machine()
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        out = Path(args.out)
        # The hand-written reading of the numbers below the tables is kept.
        notes = ""
        if out.exists() and "\n## Reading the numbers" in out.read_text():
            notes = out.read_text()[out.read_text().index("\n## Reading the numbers"):]
        out.write_text(
            "# Benchmark results\n\n"
            f"Measured {time.strftime('%Y-%m-%d')} on {platform.system()} {platform.release()}, "
            f"{os.cpu_count()} CPUs ({cpu}), with `bench/run` "
            f"({int(args.latency * 1000)} ms added to every AWS call by `bench/proxy.py` in front of moto; "
            "release build; default `--concurrency`).\n\n"
            + (("## Scale, no quotas\n\n" + text
                + "\n\nbaseline: the sequential loop (per family describe + register, list rules by target, "
                "per rule list targets + put targets) through the same proxy. speed-up: baseline / deploy. "
                "budget: 3·families + 3·rules + 20 requests (the first release also tags the revisions it adopts). Peak RSS: `wait4` of the jobdeploy process.\n\n")
               if text else "")
            + (("## Under AWS's default request quotas\n\n" + quota_text
                + "\n\nThe proxy enforces one token bucket per quota group (EventBridge 50/s burst 50, "
                "Scheduler 50/s, RegisterTaskDefinition 1/s burst 20, ECS reads 20/s burst 50, ECR 10/s) "
                "and answers ThrottlingException above them; buckets are full at the start of each phase. "
                "loop: the same sequential loop (boto3, standard retries) to v2; then a first jobdeploy "
                "release of v2 (untimed), and the timed plan v3, deploy v3, rollback previous (to v2). "
                "floor: (3·rules + pages − 50) / 50 s for deploy and rollback, (rules + pages − 50) / 50 s "
                "for plan. Goal: each ≤ 1.2 × floor + 0.5 s with ≤ 2% throttles.\n\n")
               if quota_text else "")
            + ("Goals: all met.\n" if not failures else "Goals missed:\n" + "".join(f"- {f}\n" for f in failures))
            + notes
        )
    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
