//! What AWS says about a task definition and moto does not: when it was registered and by
//! whom. ECS's RegisterTaskDefinition and DescribeTaskDefinition answers carry `registeredAt`
//! (a timestamp, which the JSON protocol sends as epoch seconds with a fraction) and
//! `registeredBy` (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_TaskDefinition.html);
//! moto omits both, which left jobdeploy's history ordering only ever running its
//! `jobdeploy:registered-at` tag fallback. The proxy in front of moto (every moto has one,
//! see `moto.rs`) notes the time of each registration and adds both fields to every answer
//! that lacks them, so the product reads them as it reads AWS.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use hyper::body::Bytes;
use serde_json::{Value, json};

use crate::common::ACCOUNT;

/// Who registered, as AWS reports it for the test credentials' caller.
pub fn registered_by() -> String {
    format!("arn:aws:iam::{ACCOUNT}:user/moto")
}

#[derive(Default)]
pub struct Registrations {
    at: BTreeMap<String, f64>,
    last: f64,
}

impl Registrations {
    /// The answer to `action` with `registeredAt`/`registeredBy` added, when it is a task
    /// definition that lacks them; `None`: leave the answer as it is.
    pub fn stamp(&mut self, action: &str, body: &[u8]) -> Option<Bytes> {
        if !matches!(action, "RegisterTaskDefinition" | "DescribeTaskDefinition") {
            return None;
        }
        let mut answer: Value = serde_json::from_slice(body).ok()?;
        let td = answer.get_mut("taskDefinition")?.as_object_mut()?;
        if td.contains_key("registeredAt") {
            return None;
        }
        let arn = td.get("taskDefinitionArn")?.as_str()?.to_string();
        let at = match action {
            "RegisterTaskDefinition" => {
                let at = self.now();
                self.at.insert(arn, at);
                at
            }
            _ => *self.at.get(&arn)?,
        };
        td.insert("registeredAt".into(), json!(at));
        td.insert("registeredBy".into(), json!(registered_by()));
        Some(Bytes::from(answer.to_string()))
    }

    /// Now in epoch seconds to the millisecond, as AWS reports it; strictly after the last
    /// registration, so two in one millisecond are still ordered.
    fn now(&mut self) -> f64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| (d.as_millis() as f64) / 1000.0)
            .unwrap_or_default();
        self.last = now.max(self.last + 0.001);
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrations_are_stamped_and_described_with_their_time() {
        let mut r = Registrations::default();
        let registered = json!({"taskDefinition": {"taskDefinitionArn": "arn:td/web:1"}});
        let stamped = r
            .stamp("RegisterTaskDefinition", registered.to_string().as_bytes())
            .expect("stamped");
        let stamped: Value = serde_json::from_slice(&stamped).expect("json");
        let at = stamped["taskDefinition"]["registeredAt"]
            .as_f64()
            .expect("a number");
        assert!(at > 1.7e9, "epoch seconds: {at}");
        let second = r
            .stamp(
                "RegisterTaskDefinition",
                json!({"taskDefinition": {"taskDefinitionArn": "arn:td/web:2"}})
                    .to_string()
                    .as_bytes(),
            )
            .expect("stamped");
        let second: Value = serde_json::from_slice(&second).expect("json");
        assert!(second["taskDefinition"]["registeredAt"].as_f64() > Some(at));

        let described = r
            .stamp("DescribeTaskDefinition", registered.to_string().as_bytes())
            .expect("stamped");
        let described: Value = serde_json::from_slice(&described).expect("json");
        assert_eq!(
            described["taskDefinition"]["registeredAt"].as_f64(),
            Some(at)
        );
        assert_eq!(described["taskDefinition"]["registeredBy"], registered_by());
        // Unknown revisions, answers that have the field, other calls: untouched.
        let unknown = json!({"taskDefinition": {"taskDefinitionArn": "arn:td/api:1"}});
        assert!(
            r.stamp("DescribeTaskDefinition", unknown.to_string().as_bytes())
                .is_none()
        );
        assert!(
            r.stamp("DescribeTaskDefinition", described.to_string().as_bytes())
                .is_none()
        );
        assert!(r.stamp("ListTaskDefinitions", b"{}").is_none());
    }
}
