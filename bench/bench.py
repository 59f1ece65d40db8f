"""jobdeploy against the sequential loop teams script today, side by side, through a proxy
that delays every AWS call (default 50 ms) in front of moto. For each size it seeds a fresh
account (F families, R rules on the cluster), then measures:

  baseline  per family DescribeTaskDefinition + RegisterTaskDefinition, ListRuleNamesByTarget,
            per rule ListTargetsByRule + PutTargets, one call at a time (boto3)
  plan      jobdeploy plan --tag v3
  deploy    jobdeploy deploy --tag v3 (registers F families, repoints R rules)

wall time, AWS requests (counted at the proxy), peak RSS of the jobdeploy process (its
ru_maxrss, taken by a bare launcher: see SPAWN), and the request budget the code meets (see
`budget`). Prints a markdown table; --out writes RESULTS.md.

With --quota-sizes (default 200,500) it also runs the quota scenario: the proxy enforces AWS's
default request quotas per group (EventBridge 50/s burst 50, RegisterTaskDefinition 1/s burst
20, ...) and answers ThrottlingException above them. After the loop (to v2) and a first
jobdeploy release (v2), it times plan v3, deploy v3 and rollback previous (back to v2) and sets
each beside its quota floor, the least time its calls can take at the default quotas: the
busiest quota group's answered calls past its burst, at its sustained rate (`quota_floor`).
For deploy and rollback that is EventBridge's (3 * rules + pages - 50) / 50 s (the plan's
read, the lost-update re-read, the put); for this plan, which reads the revisions since the
image's push to number the release, ECS reads' (calls - 50) / 20 s.

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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from ecr_images import push_images  # noqa: E402

REGION = "us-east-1"
ACCOUNT = "123456789012"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/web"
HERE = Path(__file__).resolve().parent
CREDS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": REGION}

EXEC_ROLE = f"arn:aws:iam::{ACCOUNT}:role/jobs-exec"
RULE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/events-ecs"
LOG_GROUP = "/ecs/jobs"
PARAMETER = "/jobs/db"

# A job as teams write it: an execution role, a secret from Parameter Store, awslogs; the
# seeded account has each of them, so deploy's verify gate (on, as by default) passes.
TEMPLATE = {
    "executionRoleArn": EXEC_ROLE,
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
            "secrets": [{"name": "DATABASE_URL", "valueFrom": PARAMETER}],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {"awslogs-group": LOG_GROUP, "awslogs-region": REGION, "awslogs-stream-prefix": "job"},
            },
        }
    ],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str) -> None:
    # Up to a minute: moto starts slowly on a loaded machine.
    for _ in range(1200):
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

    def quotas(self) -> dict:
        """The default quotas the proxy enforces: group -> (rate per second, burst)."""
        return json.load(urllib.request.urlopen(self.proxy_url + "/__quotas"))

    def stats(self, reset: bool = False) -> dict:
        if reset:
            urllib.request.urlopen(urllib.request.Request(self.proxy_url + "/__reset", method="POST"))
            return {}
        return json.load(urllib.request.urlopen(self.proxy_url + "/__stats"))

    def throttle_once(self, action: str, nth: int) -> None:
        urllib.request.urlopen(urllib.request.Request(
            f"{self.proxy_url}/__throttle_once?action={action}&nth={nth}", method="POST"))

    def close(self) -> None:
        for p in (self.proxy, self.moto):
            p.terminate()
            p.wait()


# The scale scenario's account has no quotas: jobdeploy is told so, or it would pace itself to
# the defaults an account without raised quotas has.
NO_QUOTAS = "\n[aws.quotas]\n" + "".join(
    f"{group} = 100000\n" for group in ("eventbridge", "scheduler", "ecs_task_definition_writes", "ecs_reads",
                                        "ecs_tagging", "ecr", "logs", "iam", "ssm", "secrets_manager", "ec2"))


def arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


def seed_verified(account: Account) -> dict:
    """What verify checks behind the template and the targets: the execution role (pulls the
    image, writes the log group, reads the parameter) and the rules' role (runs the revisions,
    passes the execution role to ECS tasks), each with its trust and permission policy; the
    log group; the parameter; two private subnets whose default route is a NAT gateway, and a
    security group. Returns the targets' awsvpcConfiguration."""
    iam = account.client("iam", False)
    for name, service, statements in (
        ("jobs-exec", "ecs-tasks.amazonaws.com", [
            {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
            {"Effect": "Allow", "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
             "Resource": arn("ecr", "repository/web")},
            {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": arn("logs", f"log-group:{LOG_GROUP}:*")},
            {"Effect": "Allow", "Action": "ssm:GetParameters", "Resource": arn("ssm", f"parameter{PARAMETER}")},
        ]),
        ("events-ecs", "events.amazonaws.com", [
            {"Effect": "Allow", "Action": "ecs:RunTask", "Resource": arn("ecs", "task-definition/*:*")},
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": EXEC_ROLE,
             "Condition": {"StringLike": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}},
            {"Effect": "Allow", "Action": "ecs:TagResource", "Resource": arn("ecs", "task/*")},
        ]),
    ):
        trust = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
        iam.put_role_policy(RoleName=name, PolicyName="jobs",
                            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    account.client("logs", False).create_log_group(logGroupName=LOG_GROUP)
    account.client("ssm", False).put_parameter(Name=PARAMETER, Value="postgres://...", Type="SecureString")
    ec2 = account.client("ec2", False)
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    public = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.255.0/24")["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    public_table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.associate_route_table(RouteTableId=public_table, SubnetId=public)
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=public, AllocationId=eip)["NatGateway"]["NatGatewayId"]
    private_table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=private_table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    subnets = []
    for cidr in ("10.9.1.0/24", "10.9.2.0/24"):
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr)["Subnet"]["SubnetId"]
        ec2.associate_route_table(RouteTableId=private_table, SubnetId=subnet)
        subnets.append(subnet)
    group = ec2.create_security_group(GroupName="jobs", Description="jobs", VpcId=vpc)["GroupId"]
    return {"Subnets": subnets, "SecurityGroups": [group], "AssignPublicIp": "DISABLED"}


def seed(account: Account, families: int, rules: int, app: Path, quotas: bool = False) -> str:
    ecs = account.client("ecs", False)
    ecr = account.client("ecr", False)
    events = account.client("events", False)
    cluster = ecs.create_cluster(clusterName="batch")["cluster"]["clusterArn"]
    awsvpc = seed_verified(account)
    ecr.create_repository(repositoryName="web")
    push_images(ecr, "web", ("v1", "v2", "v3"))
    (app / "taskdefs").mkdir(parents=True)
    # The default config: deploy's verify gate is on.
    (app / "jobdeploy.toml").write_text(
        f'cluster = "batch"\n\n[manifest]\nimage = "{IMAGE}"\n' + ("" if quotas else NO_QUOTAS)
    )
    arns = []
    for i in range(families):
        family = f"job-{i:02d}"
        body = json.loads(json.dumps(TEMPLATE))
        (app / "taskdefs" / f"{family}.json").write_text(json.dumps({"family": family, **body}, indent=2))
        body["containerDefinitions"][0]["image"] = f"{IMAGE}:v1"
        body["containerDefinitions"][0]["environment"][0]["value"] = "v1"
        arns.append(ecs.register_task_definition(family=family, **body)["taskDefinition"]["taskDefinitionArn"])
    network = {"awsvpcConfiguration": awsvpc}
    for r in range(rules):
        name = f"batch-{r:03d}"
        events.put_rule(Name=name, ScheduleExpression="rate(1 hour)")
        target = {
            "Id": "job",
            "Arn": cluster,
            "RoleArn": RULE_ROLE,
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


# verify's reads of the seeded account (gate on). For the families that register, one call
# per distinct: execution or task role (GetRole), ECR image (BatchGetImage), region with
# parameters (GetParameters, 10 names a call; DescribeParameters, 50 names a call, for the
# SecureStrings' KMS keys), secret (DescribeSecret), log group (DescribeLogGroups), and once
# the plan is known one SimulatePrincipalPolicy per execution role; every template here has
# the same ones: 1 + 1 + 2 + 0 + 1 + 1. For every target of ours (read beside the plan,
# before it says which repoint): one GetRole per distinct target role, DescribeSubnets and
# DescribeSecurityGroups once each, a DescribeRouteTables per distinct subnet, a
# DescribeVpcEndpoints per VPC, one DescribeClusters for the targets' clusters (capacity),
# and for the role of the targets that repoint one SimulatePrincipalPolicy per request
# context: RunTask (ecs:cluster) and PassRole (iam:PassedToService) apart, the bench's
# targets tagging nothing: 1 + 2 + 2 + 1 + 1 + 2. (The bench proxy answers the simulations
# AccessDenied, moto having no simulator: one request per role and context either way.)
VERIFY_FAMILY_READS = 6
VERIFY_TARGET_READS = 9


def budget(command: str, families: int, rules: int, adopt: bool = False, history: int = 0,
           registers: bool = True) -> int:
    """The most requests a run of `command` makes in the bench's account (F families, R rules
    with one target each, every target on the cluster, P = ceil(R / 100) pages), derived from
    the code:

    scan      DescribeClusters + P ListRuleNamesByTarget + P ListRules (states) + R
              ListTargetsByRule + 1 ListSchedules                  = R + 2P + 2
    plan      scan + F DescribeTaskDefinition + 1 DescribeImages + verify's reads
              (VERIFY_FAMILY_READS when a family registers, VERIFY_TARGET_READS) + history
    deploy    plan + F RegisterTaskDefinition (when they change) + F TagResource (the first
              release tags the revisions it adopts) + 2R (compare-and-swap ListTargetsByRule,
              PutTargets) + 1 (the first write's read-back)
    rollback  history + scan + 2R + 1 (no plan of templates: no DescribeTaskDefinition of the
              newest, no image check, no verify); its history reads go back to the release it
              returns to

    history: when the release number needs earlier revisions (plan/deploy of a tag whose image
    is older than the newest revision) or a rollback looks for the release before, `history`
    revisions per family are read: rounds of a ListTaskDefinitions page and up to 8
    DescribeTaskDefinition, and one more ListTaskDefinitions that finds the end; the bench's
    families have at most 4 revisions, so F * (2 + history).
    """
    pages = -(-rules // 100)
    scan = rules + 2 * pages + 2
    hist = families * (2 + history) if history else 0
    verify = (VERIFY_FAMILY_READS if registers else 0) + VERIFY_TARGET_READS
    plan = scan + families + 1 + verify + hist
    writes = 2 * rules + 1
    if command == "plan":
        return plan
    if command == "deploy":
        return plan + (families if registers else 0) + (families if adopt else 0) + writes
    if command == "rollback":
        return families * (2 + history) + scan + writes
    raise ValueError(command)


BUDGET_TEXT = ("budget: the request counts the code makes in this account, checked for every "
               "run (see `budget` in bench/bench.py): a plan makes R + 2P + 2 scan reads + F + 1 + "
               f"{VERIFY_FAMILY_READS + VERIFY_TARGET_READS} verify reads (+ history when the release "
               "number needs it), a deploy adds F registers, F adoption tags on the first release, "
               "2R compare-and-swap reads and puts and 1 read-back; P = ⌈R/100⌉.")


def run_jobdeploy(binary: str, app: Path, account: Account, args: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one jobdeploy run; fails loudly on a non-zero exit."""
    env = {**os.environ, **CREDS, "AWS_ENDPOINT_URL": account.proxy_url, "NO_COLOR": "1",
           "JOBDEPLOY_CACHE_DIR": str(app / ".cache")}
    env.pop("GITHUB_ACTIONS", None)
    rss_file = app / ".maxrss"
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", SPAWN, str(rss_file), binary, *args, "--quiet"],
                            cwd=app, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    code = proc.returncode
    elapsed = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"jobdeploy {' '.join(args)} exited {code}\n{out.decode()}\n{err.decode()}")
    return elapsed, int(rss_file.read_text())


# Peak RSS needs a small parent. Linux keeps a process's high-water RSS across execve, and a
# child forked (or vforked) from this interpreter starts at its RSS (~85 MiB with boto3
# loaded): wait4 of a direct child reports the benchmark's memory, not jobdeploy's. This bare
# interpreter (~10 MiB, less than any jobdeploy run) spawns jobdeploy and writes its
# ru_maxrss (KiB) to the file it is given; the exit code passes through.
SPAWN = """
import os, sys
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
open(sys.argv[1], "w").write(str(usage.ru_maxrss))
if os.WIFSIGNALED(status):
    sys.exit(f"killed by signal {os.WTERMSIG(status)}")
sys.exit(os.WEXITSTATUS(status))
"""


def default_concurrency(binary: str) -> str:
    """`--concurrency`'s default, as the binary's --help says it."""
    text = subprocess.run([binary, "--help"], capture_output=True, text=True, check=True).stdout
    block = text.split("--concurrency", 1)[-1]
    marker = "[default: "
    return block.split(marker, 1)[1].split("]", 1)[0] if marker in block else "?"


def quota_floor(stats: dict, quotas: dict) -> float:
    """The least time a run's answered calls can take under the default quotas (`quotas`:
    group -> (rate, burst), as the proxy enforces them): its busiest group's answered calls
    past the burst, at the sustained rate. The proxy counts the answered calls per group."""
    floors = [0.0]
    for group, (rate, burst) in quotas.items():
        floors.append(max(0.0, stats.get(f"__answered:{group}", 0) - burst) / rate)
    return max(floors)


def spawn_floor() -> float:
    """The launcher's own peak RSS (MiB): the least any measured run can show."""
    with tempfile.TemporaryDirectory() as tmp:
        rss_file = Path(tmp) / "maxrss"
        subprocess.run([sys.executable, "-I", "-S", "-c", SPAWN, str(rss_file), "/bin/true"], check=True)
        return int(rss_file.read_text()) / 1024


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
            plan_stats = account.stats()

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
        # The deploy is jobdeploy's first release (the loop made v2): it tags the adopted
        # revisions; no release of v3 is older than its image, so no history is read.
        "budget": budget("deploy", families, rules, adopt=True),
        "plan_budget": budget("plan", families, rules),
        "baseline_s": base_time,
        "baseline_requests": base_requests,
        "plan_s": plan_time,
        "plan_requests": requests(plan_stats),
        "plan_calls": plan_stats,
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
            # The deploy of v3 is not the first release, and v3's image is older than the v2
            # release: its number needs the revisions registered since the push (history).
            # The second deploy of v3 registers nothing; the second rollback meets one
            # ThrottlingException, on the PutTargets halfway through.
            for phase, argv, revision, limit in (
                # Revisions 1 (seed), 2 (loop), 3 (v2) before v3 registers 4.
                ("plan", ["plan", "--tag", "v3"], 3, budget("plan", families, rules, history=3)),
                ("deploy", ["deploy", "--tag", "v3"], 4, budget("deploy", families, rules, history=3)),
                ("rollback", ["rollback", "previous"], 3, budget("rollback", families, rules, history=4)),
                ("redeploy", ["deploy", "--tag", "v3"], 4, budget("deploy", families, rules, registers=False)),
                ("rollback_throttled", ["rollback", "previous"], 3,
                 budget("rollback", families, rules, history=4) + 1),
            ):
                account.stats(reset=True)
                if phase == "rollback_throttled":
                    account.throttle_once("PutTargets", rules // 2)
                elapsed, _ = run_jobdeploy(args.jobdeploy, app, account, argv)
                stats = account.stats()
                check_all_on(account, rules, revision)
                floor = quota_floor(stats, account.quotas())
                eventbridge = sum(v for k, v in stats.items() if k in EVENTBRIDGE_ACTIONS)
                result[phase] = (elapsed, requests(stats), stats.get("__throttled", 0), floor, eventbridge, limit)
                result[phase + "_calls"] = stats
                print(f"  {phase}: {elapsed:.2f}s {dict(sorted(stats.items()))}", file=sys.stderr)
        finally:
            account.close()
    return result


EVENTBRIDGE_ACTIONS = {"ListRuleNamesByTarget", "ListTargetsByRule", "PutTargets", "ListRules",
                       "DescribeRule", "RemoveTargets"}

QUOTA_PHASES = ("plan", "deploy", "rollback", "rollback_throttled")


def quota_table(results: list[dict]) -> str:
    lines = [
        "| families | rules | loop | plan (floor) | deploy (floor) | rollback (floor) | rollback, one throttle | requests (budget) loop / plan / deploy / rollback | EventBridge calls per rule plan / deploy / rollback | throttles loop / plan / deploy / rollback |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        phases = [r[p] for p in ("plan", "deploy", "rollback")]
        lines.append(
            f"| {r['families']} | {r['rules']} | {r['loop'][0]:.1f} s "
            + "".join(f"| {p[0]:.1f} s ({p[3]:.1f} s) " for p in phases)
            + f"| {r['rollback_throttled'][0]:.1f} s "
            + f"| {r['loop'][1]} / " + " / ".join(f"{p[1]} ({p[5]})" for p in phases)
            + " | " + " / ".join(f"{p[4] / r['rules']:.2f}" for p in phases)
            + f" | {r['loop'][2]} / " + " / ".join(str(p[2]) for p in phases) + " |"
        )
    return "\n".join(lines)


def quota_failures(results: list[dict]) -> list[str]:
    failures = []
    for r in results:
        for phase in QUOTA_PHASES + ("redeploy",):
            elapsed, reqs, throttled, floor, _, limit = r[phase]
            # A throttled request is sent again: the budget counts the answered ones.
            if reqs - throttled > limit:
                failures.append(f"quotas, {r['rules']} rules: {phase} made {reqs - throttled} answered requests > budget {limit}")
            if phase in ("plan", "deploy", "rollback") and elapsed > 1.1 * floor + 0.5:
                failures.append(f"quotas, {r['rules']} rules: {phase} {elapsed:.1f}s > 1.1 x floor {floor:.1f}s + 0.5s")
            injected = 1 if phase == "rollback_throttled" else 0
            if throttled - injected > 0.02 * reqs:
                failures.append(f"quotas, {r['rules']} rules: {phase} drew {throttled - injected} throttles in {reqs} requests (> 2%)")
        lone = r["rollback_throttled"][0] - r["rollback"][0]
        if lone > 0.5:
            failures.append(f"quotas, {r['rules']} rules: one throttle made the rollback {lone:.1f}s slower (> 0.5 s)")
    return failures


def table(results: list[dict]) -> str:
    lines = [
        "| families | rules | baseline | deploy | speed-up | plan | deploy requests (budget) | plan requests (budget) | peak RSS deploy / plan |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['families']} | {r['rules']} | {r['baseline_s']:.2f} s ({r['baseline_requests']} req) "
            f"| {r['deploy_s']:.2f} s | {r['speedup']:.1f}× | {r['plan_s']:.2f} s "
            f"| {r['deploy_requests']} ({r['budget']}) | {r['plan_requests']} ({r['plan_budget']}) "
            f"| {r['deploy_rss_mib']:.1f} / {r['plan_rss_mib']:.1f} MiB |"
        )
    return "\n".join(lines)


def scale_failures(results: list[dict]) -> list[str]:
    failures = []
    for r in results:
        if r["deploy_requests"] > r["budget"]:
            failures.append(f"{r['rules']} rules: deploy made {r['deploy_requests']} requests > budget {r['budget']}")
        if r["plan_requests"] > r["plan_budget"]:
            failures.append(f"{r['rules']} rules: plan made {r['plan_requests']} requests > budget {r['plan_budget']}")
        if max(r["deploy_rss_mib"], r["plan_rss_mib"]) >= 60:
            failures.append(f"{r['rules']} rules: peak RSS {max(r['deploy_rss_mib'], r['plan_rss_mib']):.1f} MiB >= 60")
        if r["families"] == 20 and r["rules"] == 200:
            if r["plan_s"] > 1.3:
                failures.append(f"20 families / 200 rules: plan {r['plan_s']:.2f}s > 1.3s")
            if r["deploy_s"] > 3.3:
                failures.append(f"20 families / 200 rules: deploy {r['deploy_s']:.2f}s > 3.3s")
            if r["speedup"] < 15:
                failures.append(f"20 families / 200 rules: {r['speedup']:.1f}x < 15x (blocked since issue 7: "
                                "moto answers one request at a time, so the deploy's requests cannot overlap "
                                "there as they do against AWS)")
    return failures


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} (1 min) / {five:.1f} (5 min)"


def scale_sentences(results: list[dict]) -> str:
    """The sentences under the scale table: every number from this run."""
    out = []
    for r in results:
        if r["families"] == 20 and r["rules"] == 200:
            out.append(
                f"At 20 families / 200 rules the deploy took {r['deploy_s']:.2f} s ({r['speedup']:.1f}× faster than the "
                f"loop's {r['baseline_s']:.2f} s) and the plan {r['plan_s']:.2f} s, with verify's reads (gate on) "
                f"beside the scan: goals plan ≤ 1.3 s ({'met' if r['plan_s'] <= 1.3 else 'missed'}) and deploy ≤ 3.3 s "
                f"({'met' if r['deploy_s'] <= 3.3 else 'missed'}).")
    over = [r for r in results if r["deploy_requests"] > r["budget"] or r["plan_requests"] > r["plan_budget"]]
    out.append("Every size stayed within its request budgets." if not over else
               "Over budget: " + ", ".join(f"{r['rules']} rules" for r in over) + ".")
    rss = [max(r["deploy_rss_mib"], r["plan_rss_mib"]) for r in results]
    out.append(f"Peak RSS {min(rss):.1f}–{max(rss):.1f} MiB from {results[0]['rules']} to {results[-1]['rules']} rules.")
    return " ".join(out)


def quota_sentences(results: list[dict]) -> str:
    out = []
    for r in results:
        ratios = ", ".join(f"{p} {r[p][0]:.1f} s = {r[p][0] / r[p][3]:.2f} × its floor {r[p][3]:.1f} s"
                           for p in ("plan", "deploy", "rollback") if r[p][3] > 0)
        lone = r["rollback_throttled"][0] - r["rollback"][0]
        out.append(
            f"{r['rules']} rules: {ratios}. One ThrottlingException injected on the PutTargets halfway through a "
            f"rollback made it {r['rollback_throttled'][0]:.1f} s instead of {r['rollback'][0]:.1f} s "
            f"({lone:+.1f} s; {r['rollback_throttled'][2]} throttled in {r['rollback_throttled'][1]} requests).")
    return " ".join(out)


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
    loads = [f"start {load()}"]
    results = []
    for rules in [int(s) for s in args.sizes.split(",") if s]:
        r = measure(args, rules)
        print(f"{r['rules']:>4} rules: baseline {r['baseline_s']:.2f}s, deploy {r['deploy_s']:.2f}s "
              f"({r['speedup']:.1f}x), plan {r['plan_s']:.2f}s, {r['deploy_requests']} requests "
              f"(budget {r['budget']}): {r['deploy_calls']}; plan {r['plan_requests']} (budget {r['plan_budget']}): "
              f"{r['plan_calls']}", file=sys.stderr)
        results.append(r)
        loads.append(f"after {rules} rules {load()}")
    text = table(results) if results else ""
    print(text)
    quota_results = []
    for rules in [int(s) for s in args.quota_sizes.split(",") if s]:
        r = measure_quotas(args, rules)
        print(f"{rules:>4} rules under quotas: " + ", ".join(
            f"{p} {r[p][0]:.2f}s (floor {r[p][3]:.1f}s, {r[p][1]} requests (budget {r[p][5]}), {r[p][2]} throttled)"
            for p in QUOTA_PHASES) + f"; loop {r['loop'][0]:.2f}s", file=sys.stderr)
        quota_results.append(r)
        loads.append(f"after {rules} rules under quotas {load()}")
    quota_text = quota_table(quota_results) if quota_results else ""
    print(quota_text)
    failures = scale_failures(results) + quota_failures(quota_results)
    if args.out:
        cpu = platform.processor() or platform.machine()
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        # Written whole from this run's data: nothing is carried over from an earlier file.
        Path(args.out).write_text(
            "# Benchmark results\n\n"
            "Written by `bench/run` from its own measurements; edit `bench/bench.py`, not this file.\n\n"
            f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.system()} {platform.release()}, "
            f"{os.cpu_count()} CPUs ({cpu}), {'release' if '/release/' in args.jobdeploy else 'debug'} build "
            f"(`{Path(args.jobdeploy).name}`), default `--concurrency` ({default_concurrency(args.jobdeploy)}), "
            f"{int(args.latency * 1000)} ms added to every AWS call by `bench/proxy.py` in front of moto. "
            "Deploy's verify gate is on (the default config): the seeded account has the roles, log group, "
            "parameter and private subnets behind a NAT gateway that verify checks.\n\n"
            f"Load average: {'; '.join(loads)}. Wall times on a machine whose load exceeds its "
            f"{os.cpu_count()} CPUs are stretched by CPU contention (moto, the proxy and jobdeploy wait for a CPU); "
            "request counts and the budget checks are not.\n\n"
            + (("## Scale, quotas raised\n\n" + text + "\n\n" + scale_sentences(results) + "\n\n"
                "baseline: the sequential loop (per family describe + register, list rules by target, "
                "per rule list targets + put targets) through the same proxy. speed-up: baseline / deploy. "
                "`[aws.quotas]` is set to 100000 for every group, so the pacer never waits. "
                f"{BUDGET_TEXT} Peak RSS: jobdeploy's `ru_maxrss`, taken by a bare Python launcher whose own "
                f"peak ({spawn_floor():.1f} MiB) is the least a run can show; a direct child of the benchmark "
                "would report the benchmark's own ~85 MiB, which Linux carries across execve.\n\n")
               if text else "")
            + (("## Under AWS's default request quotas\n\n" + quota_text + "\n\n" + quota_sentences(quota_results)
                + "\n\nThe proxy enforces one token bucket per quota group (EventBridge 50/s burst 50, "
                "Scheduler 50/s, RegisterTaskDefinition 1/s burst 20, ECS reads 20/s burst 50, ECR 10/s, IAM 10/s, "
                "SSM 40/s, Logs 10/s, EC2 20/s burst 100) and answers ThrottlingException above them; buckets are "
                "full at the start of each phase. loop: the same sequential loop (boto3, standard retries) to v2; "
                "then a first jobdeploy release of v2 (untimed), and the timed plan v3, deploy v3, rollback previous "
                "(to v2); then deploy v3 again (untimed) and rollback previous with one ThrottlingException "
                "injected. floor: the least time the run's answered calls can take at these quotas, its busiest "
                "group's calls past the burst at the sustained rate (see `quota_floor`): EventBridge's "
                "(3·rules + pages − 50) / 50 s for deploy and rollback; for the plan, which reads the revisions "
                "registered since the image's push to number the release (a ListTaskDefinitions and three "
                "DescribeTaskDefinition per family), ECS reads' (calls − 50) / 20 s when that is more than "
                "EventBridge's (rules + pages − 50) / 50 s. Goals: each ≤ 1.1 × floor + 0.5 s with ≤ 2% throttles; a lone throttle costs ≤ 0.5 s; "
                "every phase within its request budget (in brackets).\n\n")
               if quota_text else "")
            + ("Goals: all met.\n" if not failures else "Goals missed:\n" + "".join(f"- {f}\n" for f in failures))
        )
    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
