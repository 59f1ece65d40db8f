//! Fargate: the task's cpu/memory pair is one Fargate supports (for its operating system),
//! its network mode is awsvpc, and a Fargate target's platform version is one Fargate
//! still runs for that operating system and architecture. None of it applies to a task
//! placed on container instances (launch type EC2, Auto Scaling group capacity providers).

use serde_json::Value;

use super::{Outcome, Runs, TargetSpec};

/// The task's operating system and architecture, as `runtimePlatform` says (Fargate's
/// defaults: Linux, X86_64).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Platform {
    pub windows: bool,
    pub arm64: bool,
}

pub fn platform(body: Option<&Value>) -> Platform {
    let runtime = body.and_then(|b| b.get("runtimePlatform"));
    let field = |k: &str| runtime.and_then(|r| r.get(k)).and_then(Value::as_str);
    Platform {
        windows: field("operatingSystemFamily").is_some_and(|o| o.starts_with("WINDOWS")),
        arm64: field("cpuArchitecture") == Some("ARM64"),
    }
}

pub fn requires_fargate(body: &Value) -> bool {
    body.get("requiresCompatibilities")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|c| c.as_str() == Some("FARGATE")))
}

/// Task `cpu` in CPU units: `1024`, `"1024"`, `"1 vCPU"`, `"0.25 vcpu"`.
pub fn cpu_units(value: &Value) -> Option<u32> {
    amount(value, "vcpu")
}

/// Task `memory` in MiB: `2048`, `"2048"`, `"2 GB"`, `"2GB"`.
pub fn memory_mib(value: &Value) -> Option<u32> {
    amount(value, "gb")
}

/// A number, or a number with `unit` (case-insensitive) meaning ×1024.
fn amount(value: &Value, unit: &str) -> Option<u32> {
    if let Some(n) = value.as_u64() {
        return u32::try_from(n).ok();
    }
    let text = value.as_str()?.trim().to_ascii_lowercase();
    let (number, scale) = match text.strip_suffix(unit) {
        Some(n) => (n.trim(), 1024.0),
        None => (text.as_str(), 1.0),
    };
    let n: f64 = number.parse().ok()?;
    let units = n * scale;
    (units.fract() == 0.0 && units > 0.0 && units <= f64::from(u32::MAX)).then_some(units as u32)
}

/// Fargate's supported memory (MiB) for a task cpu (units): `(min, max, step)`, per the
/// ECS developer guide's table (8 and 16 vCPU need Linux platform version 1.4.0).
pub fn memory_range(cpu: u32) -> Option<(u32, u32, u32)> {
    match cpu {
        256 => Some((512, 2048, 512)),
        512 => Some((1024, 4096, 1024)),
        1024 => Some((2048, 8192, 1024)),
        2048 => Some((4096, 16384, 1024)),
        4096 => Some((8192, 30720, 1024)),
        8192 => Some((16384, 61440, 4096)),
        16384 => Some((32768, 122_880, 8192)),
        _ => None,
    }
}

/// Windows containers on Fargate take 1, 2 or 4 vCPU only, with the Linux memory of those
/// rows ("The CPU units cannot be less than 1 vCPU when you use Windows containers on
/// Fargate"; the table's "Linux, Windows" column):
/// <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-cpu-memory-error.html>.
const WINDOWS_CPU: [u32; 3] = [1024, 2048, 4096];

/// 256 takes 512, 1024 and 2048 only: not every 512 step (1536 is refused).
fn supported(cpu: u32, memory: u32) -> bool {
    match memory_range(cpu) {
        Some((min, max, _)) if cpu == 256 => [min, 1024, max].contains(&memory),
        Some((min, max, step)) => {
            memory >= min && memory <= max && (memory - min).is_multiple_of(step)
        }
        None => false,
    }
}

fn range_text(cpu: u32) -> String {
    match memory_range(cpu) {
        Some((_, _, _)) if cpu == 256 => "512, 1024 or 2048".to_string(),
        Some((min, max, step)) => format!("{min} to {max} in steps of {step}"),
        None => String::new(),
    }
}

/// The Fargate lines of one task definition.
pub fn task(body: &Value, on_fargate: bool) -> Vec<(String, Outcome)> {
    if !on_fargate {
        return Vec::new();
    }
    let mut out = Vec::new();
    let cpu = body.get("cpu");
    let memory = body.get("memory");
    let windows = platform(Some(body)).windows;
    let outcome = match (cpu.and_then(cpu_units), memory.and_then(memory_mib)) {
        (Some(c), Some(_)) if windows && !WINDOWS_CPU.contains(&c) => Outcome::fail(
            format!("Windows containers on Fargate have no task cpu {c}"),
            "set cpu to 1024, 2048 or 4096 (units), with a memory its row of the Fargate table allows",
        ),
        (Some(c), Some(m)) if supported(c, m) => Outcome::Ok,
        (Some(c), Some(m)) if memory_range(c).is_some() => Outcome::fail(
            format!("Fargate has no task size cpu {c} with memory {m}"),
            format!("for cpu {c} set memory to {} (MiB)", range_text(c)),
        ),
        (Some(c), Some(_)) => Outcome::fail(
            format!("Fargate has no task cpu {c}"),
            "set cpu to 256, 512, 1024, 2048, 4096, 8192 or 16384 (units), with a memory its row of the Fargate table allows",
        ),
        _ => Outcome::fail(
            "a Fargate task needs task-level cpu and memory",
            "set cpu and memory at the top of the template (e.g. \"cpu\": \"256\", \"memory\": \"512\")",
        ),
    };
    out.push(("cpu/memory".to_string(), outcome));
    let mode = body.get("networkMode").and_then(Value::as_str);
    out.push((
        "network mode".to_string(),
        if mode == Some("awsvpc") {
            Outcome::Ok
        } else {
            Outcome::fail(
                format!(
                    "Fargate needs networkMode awsvpc, not {}",
                    mode.unwrap_or("the default (bridge)")
                ),
                "set \"networkMode\": \"awsvpc\"",
            )
        },
    ));
    out
}

/// What Fargate does with a target's platform version, per operating system. Linux:
/// LATEST is 1.4.0; 1.0.0, 1.1.0 and 1.2.0 are deprecated and 1.3.0 was retired in 2026
/// ("you will not be able to launch new tasks … configured with platform version 1.3.0"):
/// <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/platform-versions-retired.html>.
/// Windows: 1.0.0 is the only one (LATEST is 1.0.0):
/// <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/platform-fargate.html>.
fn platform_outcome(version: &str, os: Platform) -> Outcome {
    let fix = if os.windows {
        "set PlatformVersion to LATEST or 1.0.0 (Windows)"
    } else {
        "set PlatformVersion to LATEST or 1.4.0"
    };
    match (os.windows, version) {
        (_, "LATEST") | (false, "1.4.0") | (true, "1.0.0") => Outcome::Ok,
        (false, "1.0.0" | "1.1.0" | "1.2.0" | "1.3.0") => Outcome::fail(
            format!("Fargate Linux platform version {version} is retired: RunTask refuses it"),
            fix,
        ),
        (true, "1.1.0" | "1.2.0" | "1.3.0" | "1.4.0") => Outcome::fail(
            format!(
                "Fargate runs Windows containers on platform version 1.0.0 only, not {version}"
            ),
            fix,
        ),
        // A version newer than this list may exist by now: not certain, a warning.
        _ => Outcome::Warn {
            problem: format!(
                "platform version {version} is not one jobdeploy knows for Fargate {} (LATEST, {}): check it exists",
                if os.windows { "Windows" } else { "Linux" },
                if os.windows { "1.0.0" } else { "1.4.0" }
            ),
        },
    }
}

/// The Fargate lines of one target: its platform version (for the task's operating
/// system), and whether Fargate Spot runs the task's platform. Only for a target that runs
/// on Fargate: a task placed on container instances has no platform version and no Spot.
pub fn target(target: &TargetSpec, runs: Runs, body: Option<&Value>) -> Vec<(String, Outcome)> {
    let mut out = Vec::new();
    if runs != Runs::Fargate {
        return out;
    }
    let os = platform(body);
    // "FARGATE_SPOT supports Linux tasks with the X86_64 architecture on platform version
    // 1.3.0 or later. FARGATE_SPOT supports Linux tasks with the ARM64 architecture on
    // platform version 1.4.0 or later." — Windows is not among them, and "Windows
    // containers on Fargate don't support the Fargate Spot capacity provider":
    // https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CapacityProviderStrategyItem.html,
    // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-capacity-providers.html.
    // ARM64 needs 1.4.0, which the platform version line checks (1.3.0 is retired).
    if target
        .capacity_providers
        .iter()
        .any(|c| c == "FARGATE_SPOT")
    {
        let only_spot = target
            .capacity_providers
            .iter()
            .all(|c| c == "FARGATE_SPOT");
        let outcome = match (os.windows, only_spot) {
            (false, _) => Outcome::Ok,
            (true, true) => Outcome::fail(
                "Fargate Spot does not run Windows containers: every task of this target is refused",
                "use the FARGATE capacity provider for this target",
            ),
            // Which provider a task lands on depends on base and weight: not certain.
            (true, false) => Outcome::Warn {
                problem: "Fargate Spot does not run Windows containers: a task the strategy places on FARGATE_SPOT is refused; give FARGATE_SPOT weight 0 or remove it".to_string(),
            },
        };
        out.push(("Fargate Spot platform".to_string(), outcome));
    }
    if let Some(version) = &target.platform_version {
        out.push((
            format!("platform version {version}"),
            platform_outcome(version, os),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sizes_in_units_and_words() {
        assert_eq!(cpu_units(&json!("0.25 vCPU")), Some(256));
        assert_eq!(cpu_units(&json!("1 vcpu")), Some(1024));
        assert_eq!(cpu_units(&json!(512)), Some(512));
        assert_eq!(memory_mib(&json!("2 GB")), Some(2048));
        assert_eq!(memory_mib(&json!("0.5GB")), Some(512));
        assert_eq!(memory_mib(&json!("3072")), Some(3072));
        assert_eq!(memory_mib(&json!("lots")), None);
    }

    #[test]
    fn the_fargate_table() {
        assert!(
            supported(256, 512)
                && supported(256, 2048)
                && !supported(256, 1536)
                && !supported(256, 4096)
        );
        assert!(supported(512, 3072) && !supported(512, 512));
        assert!(supported(1024, 8192) && !supported(1024, 9216));
        assert!(supported(2048, 16384) && !supported(2048, 4608));
        assert!(supported(4096, 30720) && !supported(4096, 32768));
        assert!(supported(8192, 16384) && supported(8192, 61440) && !supported(8192, 17408));
        assert!(supported(16384, 32768) && supported(16384, 122_880) && !supported(16384, 36864));
        assert!(!supported(3000, 8192));
    }

    #[test]
    fn an_unsupported_pair_names_the_row() {
        let body = json!({"requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "1024", "memory": "1024"});
        let out = task(&body, true);
        assert!(
            matches!(&out[0].1, Outcome::Fail { fix, .. } if fix == "for cpu 1024 set memory to 2048 to 8192 in steps of 1024 (MiB)")
        );
        assert_eq!(out[1].1, Outcome::Ok);
        let bridge = json!({"cpu": "256", "memory": "512"});
        let out = task(&bridge, true);
        assert_eq!(out[0].1, Outcome::Ok);
        assert!(matches!(&out[1].1, Outcome::Fail { fix, .. } if fix.contains("awsvpc")));
        assert!(task(&bridge, false).is_empty());
    }

    fn spec(version: &str) -> TargetSpec {
        TargetSpec {
            label: "default/hourly target a".into(),
            service: "events.amazonaws.com",
            family: "web".into(),
            role_arn: None,
            cluster: None,
            launch_type: Some("FARGATE".into()),
            capacity_providers: Vec::new(),
            platform_version: Some(version.into()),
            network: None,
            dead_letter: None,
            start: Default::default(),
        }
    }

    fn spot(version: &str) -> TargetSpec {
        let mut spot = spec(version);
        spot.launch_type = None;
        spot.capacity_providers = vec!["FARGATE_SPOT".into(), "FARGATE".into()];
        spot
    }

    /// "FARGATE_SPOT supports Linux tasks with the ARM64 architecture on platform version
    /// 1.4.0 or later":
    /// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CapacityProviderStrategyItem.html
    #[test]
    fn fargate_spot_arm64_on_1_4_0_is_not_a_failure() {
        let arm = json!({"cpu": "256", "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"}});
        for version in ["1.4.0", "LATEST"] {
            let out = target(&spot(version), Runs::Fargate, Some(&arm));
            assert!(out.iter().all(|(_, o)| *o == Outcome::Ok), "{out:?}");
        }
        let x86 = json!({"cpu": "256", "runtimePlatform": {"cpuArchitecture": "X86_64"}});
        assert_eq!(
            target(&spot("1.4.0"), Runs::Fargate, Some(&x86))[0].1,
            Outcome::Ok
        );
    }

    /// "Windows containers on Fargate don't support the Fargate Spot capacity provider":
    /// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-capacity-providers.html
    #[test]
    fn fargate_spot_windows_fails_alone_and_warns_beside_fargate() {
        let windows = json!({"cpu": "1024", "runtimePlatform": {"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE"}});
        let out = target(&spot("1.0.0"), Runs::Fargate, Some(&windows));
        assert!(matches!(&out[0].1, Outcome::Warn { .. }), "{out:?}");
        let mut only = spot("1.0.0");
        only.capacity_providers = vec!["FARGATE_SPOT".into()];
        let out = target(&only, Runs::Fargate, Some(&windows));
        assert!(
            matches!(&out[0].1, Outcome::Fail { problem, .. } if problem.contains("Windows")),
            "{out:?}"
        );
    }

    /// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/platform-versions-retired.html
    /// (Linux 1.0.0–1.3.0 retired) and
    /// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/platform-fargate.html
    /// (Windows: 1.0.0).
    #[test]
    fn platform_versions_per_operating_system() {
        let linux = json!({"cpu": "256"});
        let windows = json!({"cpu": "1024", "runtimePlatform": {"operatingSystemFamily": "WINDOWS_SERVER_2019_FULL"}});
        let outcome =
            |v: &str, body: &Value| target(&spec(v), Runs::Fargate, Some(body))[0].1.clone();
        assert_eq!(outcome("1.4.0", &linux), Outcome::Ok);
        assert_eq!(outcome("LATEST", &linux), Outcome::Ok);
        assert_eq!(outcome("1.0.0", &windows), Outcome::Ok);
        assert_eq!(outcome("LATEST", &windows), Outcome::Ok);
        for retired in ["1.0.0", "1.2.0", "1.3.0"] {
            assert!(
                matches!(outcome(retired, &linux), Outcome::Fail { problem, .. } if problem.contains("retired")),
                "{retired}"
            );
        }
        assert!(
            matches!(outcome("1.4.0", &windows), Outcome::Fail { fix, .. } if fix.contains("1.0.0"))
        );
        // A version newer than jobdeploy knows may exist: a warning, not a failure.
        assert!(matches!(outcome("1.5.0", &linux), Outcome::Warn { .. }));
    }

    /// Windows Fargate tasks take 1, 2 or 4 vCPU:
    /// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-cpu-memory-error.html
    #[test]
    fn windows_fargate_task_sizes() {
        let windows = |cpu: &str, memory: &str| {
            json!({"networkMode": "awsvpc", "cpu": cpu, "memory": memory,
                "runtimePlatform": {"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE", "cpuArchitecture": "X86_64"}})
        };
        assert_eq!(task(&windows("1024", "2048"), true)[0].1, Outcome::Ok);
        assert_eq!(task(&windows("4096", "8192"), true)[0].1, Outcome::Ok);
        for cpu in ["256", "512", "8192"] {
            assert!(
                matches!(&task(&windows(cpu, "16384"), true)[0].1, Outcome::Fail { problem, .. } if problem.contains("Windows")),
                "{cpu}"
            );
        }
    }

    /// A task placed on container instances has no Fargate platform version or Spot rule.
    #[test]
    fn ec2_targets_get_no_fargate_only_rules() {
        let mut ec2 = spec("1.2.0");
        ec2.launch_type = Some("EC2".into());
        assert!(target(&ec2, Runs::Instances, Some(&json!({}))).is_empty());
        assert!(target(&spot("1.2.0"), Runs::Unknown, Some(&json!({}))).is_empty());
    }
}
