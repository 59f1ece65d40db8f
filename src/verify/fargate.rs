//! Fargate: the task's cpu/memory pair is one Fargate supports, its network mode is
//! awsvpc, and a target's platform version exists.

use serde_json::Value;

use super::{Outcome, TargetSpec};

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
    let outcome = match (cpu.and_then(cpu_units), memory.and_then(memory_mib)) {
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

/// Fargate platform versions that exist (Linux, and Windows' 1.0.0).
const PLATFORM_VERSIONS: [&str; 4] = ["LATEST", "1.4.0", "1.3.0", "1.0.0"];

/// The Fargate lines of one target: its platform version, and whether an awsvpc task has
/// the network configuration RunTask requires.
pub fn target(target: &TargetSpec, body: Option<&Value>) -> Vec<(String, Outcome)> {
    let mut out = Vec::new();
    if !target.fargate() {
        return out;
    }
    if target
        .capacity_providers
        .iter()
        .any(|c| c == "FARGATE_SPOT")
    {
        let runtime = body.and_then(|b| b.get("runtimePlatform"));
        let field = |k: &str| runtime.and_then(|r| r.get(k)).and_then(Value::as_str);
        let arm = field("cpuArchitecture") == Some("ARM64");
        let windows = field("operatingSystemFamily").is_some_and(|o| o != "LINUX");
        let outcome = if arm || windows {
            Outcome::fail(
                format!(
                    "Fargate Spot runs Linux X86_64 tasks only, and this task is {}",
                    if arm { "ARM64" } else { "Windows" }
                ),
                "use the FARGATE capacity provider for this target, or build the task for Linux X86_64",
            )
        } else {
            Outcome::Ok
        };
        out.push(("Fargate Spot platform".to_string(), outcome));
    }
    if let Some(version) = &target.platform_version {
        let big = body
            .and_then(|b| b.get("cpu"))
            .and_then(cpu_units)
            .is_some_and(|c| c >= 8192);
        let outcome = if !PLATFORM_VERSIONS.contains(&version.as_str()) {
            Outcome::fail(
                format!("Fargate has no platform version {version}"),
                "set PlatformVersion to LATEST or 1.4.0",
            )
        } else if big && version == "1.3.0" {
            Outcome::fail(
                "8 and 16 vCPU tasks need platform version 1.4.0",
                "set PlatformVersion to LATEST or 1.4.0",
            )
        } else {
            Outcome::Ok
        };
        out.push((format!("platform version {version}"), outcome));
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
            launch_type: Some("FARGATE".into()),
            capacity_providers: Vec::new(),
            platform_version: Some(version.into()),
            network: None,
            start: Default::default(),
        }
    }

    /// Fargate Spot does not run ARM64 or Windows tasks: RunTask refuses them when the
    /// schedule fires.
    #[test]
    fn fargate_spot_runs_linux_x86_only() {
        let mut spot = spec("1.4.0");
        spot.launch_type = None;
        spot.capacity_providers = vec!["FARGATE_SPOT".into(), "FARGATE".into()];
        let arm = json!({"cpu": "256", "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"}});
        let out = target(&spot, Some(&arm));
        assert!(
            matches!(&out[0].1, Outcome::Fail { problem, .. } if problem.contains("ARM64")),
            "{out:?}"
        );
        let x86 = json!({"cpu": "256", "runtimePlatform": {"cpuArchitecture": "X86_64"}});
        assert_eq!(target(&spot, Some(&x86))[0].1, Outcome::Ok);
        // On FARGATE, ARM64 is fine: no Spot line.
        assert!(
            target(&spec("1.4.0"), Some(&arm))
                .iter()
                .all(|(check, _)| !check.contains("Spot"))
        );
    }

    #[test]
    fn platform_versions() {
        let small = json!({"cpu": "256"});
        assert_eq!(target(&spec("1.4.0"), Some(&small))[0].1, Outcome::Ok);
        assert!(matches!(
            &target(&spec("1.5.0"), Some(&small))[0].1,
            Outcome::Fail { .. }
        ));
        let big = json!({"cpu": "8 vCPU"});
        assert!(
            matches!(&target(&spec("1.3.0"), Some(&big))[0].1, Outcome::Fail { problem, .. } if problem.contains("1.4.0"))
        );
    }
}
