//! Smithy RPC v2 CBOR, which the Rust SDK speaks to CloudWatch (`POST
//! /service/GraniteServiceVersion20100801/operation/GetMetricData`, `smithy-protocol:
//! rpc-v2-cbor`) and moto 5.2.5 (the newest) does not: the proxy turns such a request into
//! AWS JSON 1.0 for moto (`X-Amz-Target: GraniteServiceVersion20100801.GetMetricData`) and
//! moto's answer back into CBOR — timestamps as CBOR tag 1 (epoch seconds), errors as a CBOR
//! map with `__type` and `message` — as CloudWatch answers.

use ciborium::Value as Cbor;
use serde_json::Value as Json;

/// `(service, operation)` of an RPC v2 CBOR request path.
pub fn call(path: &str) -> Option<(String, String)> {
    let rest = path.strip_prefix("/service/")?;
    let (service, operation) = rest.split_once("/operation/")?;
    Some((service.to_string(), operation.to_string()))
}

/// A CBOR body as JSON: tag 1 (a timestamp) becomes its epoch seconds.
pub fn to_json(body: &[u8]) -> Json {
    if body.is_empty() {
        return Json::Object(Default::default());
    }
    ciborium::from_reader::<Cbor, _>(body)
        .map(|v| json_of(&v))
        .unwrap_or(Json::Null)
}

fn json_of(value: &Cbor) -> Json {
    match value {
        Cbor::Integer(i) => {
            let n: i128 = (*i).into();
            i64::try_from(n).map_or(Json::Null, Json::from)
        }
        Cbor::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Cbor::Text(t) => Json::String(t.clone()),
        Cbor::Bool(b) => Json::Bool(*b),
        Cbor::Null => Json::Null,
        Cbor::Tag(_, inner) => json_of(inner),
        Cbor::Array(items) => Json::Array(items.iter().map(json_of).collect()),
        Cbor::Map(pairs) => Json::Object(
            pairs
                .iter()
                .filter_map(|(k, v)| Some((k.as_text()?.to_string(), json_of(v))))
                .collect(),
        ),
        Cbor::Bytes(b) => Json::String(String::from_utf8_lossy(b).into_owned()),
        _ => Json::Null,
    }
}

/// The members that are timestamps in CloudWatch's answers.
const TIMESTAMPS: [&str; 5] = [
    "Timestamps",
    "Timestamp",
    "StateUpdatedTimestamp",
    "AlarmConfigurationUpdatedTimestamp",
    "LastUpdated",
];

/// A JSON answer as CBOR, timestamps (epoch seconds, or ISO 8601 text as moto may write
/// them) as tag 1.
pub fn from_json(value: &Json) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = ciborium::into_writer(&cbor_of(value, false), &mut out);
    out
}

fn timestamp(value: &Json) -> Cbor {
    let seconds = match value {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => parse_iso(s),
        _ => None,
    };
    match seconds {
        Some(s) => Cbor::Tag(1, Box::new(Cbor::Float(s))),
        None => cbor_of(value, false),
    }
}

/// `2026-03-06T12:00:00Z` / `2026-03-06T12:00:00.000000+00:00` / `2026-03-06 12:00:00+00:00`.
fn parse_iso(text: &str) -> Option<f64> {
    let text = text.replace(' ', "T").replace("+00:00", "Z");
    let text = if text.ends_with('Z') {
        text
    } else {
        format!("{text}Z")
    };
    aws_smithy_types::DateTime::from_str(&text, aws_smithy_types::date_time::Format::DateTime)
        .ok()
        .map(|d| d.as_secs_f64())
}

fn cbor_of(value: &Json, is_timestamp: bool) -> Cbor {
    if is_timestamp {
        return match value {
            Json::Array(items) => Cbor::Array(items.iter().map(timestamp).collect()),
            other => timestamp(other),
        };
    }
    match value {
        Json::Null => Cbor::Null,
        Json::Bool(b) => Cbor::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Cbor::Integer(i.into()),
            None => Cbor::Float(n.as_f64().unwrap_or(0.0)),
        },
        Json::String(s) => Cbor::Text(s.clone()),
        Json::Array(items) => Cbor::Array(items.iter().map(|v| cbor_of(v, false)).collect()),
        Json::Object(fields) => Cbor::Map(
            fields
                .iter()
                .map(|(k, v)| {
                    (
                        Cbor::Text(k.clone()),
                        cbor_of(v, TIMESTAMPS.contains(&k.as_str())),
                    )
                })
                .collect(),
        ),
    }
}

/// An RPC v2 CBOR error: a map with `__type` and `message`.
pub fn error(code: &str, message: &str) -> Vec<u8> {
    from_json(&serde_json::json!({"__type": code, "message": message}))
}

/// A moto JSON error's `(code, message)`; moto writes `__type` as `Code` or
/// `namespace#Code`.
pub fn json_error(body: &Json) -> (String, String) {
    let code = body
        .get("__type")
        .and_then(Json::as_str)
        .unwrap_or("InternalFailure");
    let code = code.rsplit('#').next().unwrap_or(code).to_string();
    let message = body
        .get("message")
        .or_else(|| body.get("Message"))
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_string();
    (code, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_rpc_v2_cbor_path_names_service_and_operation() {
        assert_eq!(
            call("/service/GraniteServiceVersion20100801/operation/GetMetricData"),
            Some((
                "GraniteServiceVersion20100801".into(),
                "GetMetricData".into()
            ))
        );
        assert_eq!(call("/"), None);
    }

    #[test]
    fn a_cbor_request_becomes_json_with_timestamps_as_epoch_seconds() {
        let request = Cbor::Map(vec![
            (
                Cbor::Text("StartTime".into()),
                Cbor::Tag(1, Box::new(Cbor::Integer(1_772_712_000_i64.into()))),
            ),
            (
                Cbor::Text("MetricDataQueries".into()),
                Cbor::Array(vec![Cbor::Map(vec![
                    (Cbor::Text("Id".into()), Cbor::Text("m0_0".into())),
                    (Cbor::Text("ReturnData".into()), Cbor::Bool(true)),
                ])]),
            ),
        ]);
        let mut body = Vec::new();
        ciborium::into_writer(&request, &mut body).expect("encode");
        assert_eq!(
            to_json(&body),
            serde_json::json!({"StartTime": 1_772_712_000, "MetricDataQueries": [{"Id": "m0_0", "ReturnData": true}]})
        );
        assert_eq!(to_json(&[]), serde_json::json!({}));
    }

    #[test]
    fn a_json_answer_becomes_cbor_with_timestamps_tagged_as_cloudwatch_sends_them() {
        let answer = serde_json::json!({"MetricDataResults": [{
            "Id": "m0_0",
            "Timestamps": ["2026-03-06T12:00:00Z", 1_772_798_460.0],
            "Values": [1.0, 2.5],
            "StatusCode": "Complete"
        }]});
        let decoded: Cbor = ciborium::from_reader(from_json(&answer).as_slice()).expect("decode");
        let result = decoded.as_map().expect("map")[0]
            .1
            .as_array()
            .expect("results")[0]
            .as_map()
            .expect("result")
            .clone();
        let field = |name: &str| {
            result
                .iter()
                .find(|(k, _)| k.as_text() == Some(name))
                .map(|(_, v)| v.clone())
                .expect(name)
        };
        assert_eq!(
            field("Timestamps"),
            Cbor::Array(vec![
                Cbor::Tag(1, Box::new(Cbor::Float(1_772_798_400.0))),
                Cbor::Tag(1, Box::new(Cbor::Float(1_772_798_460.0))),
            ])
        );
        assert_eq!(
            field("Values"),
            Cbor::Array(vec![Cbor::Float(1.0), Cbor::Float(2.5)])
        );
        assert_eq!(field("Id"), Cbor::Text("m0_0".into()));
    }

    #[test]
    fn errors_are_cbor_maps_with_the_bare_code() {
        let (code, message) = json_error(&serde_json::json!({
            "__type": "com.amazonaws.cloudwatch#InvalidParameterValueException",
            "message": "bad"
        }));
        assert_eq!(
            (code.as_str(), message.as_str()),
            ("InvalidParameterValueException", "bad")
        );
        let decoded: Cbor =
            ciborium::from_reader(error(&code, &message).as_slice()).expect("decode");
        assert_eq!(
            decoded,
            Cbor::Map(vec![
                (
                    Cbor::Text("__type".into()),
                    Cbor::Text("InvalidParameterValueException".into())
                ),
                (Cbor::Text("message".into()), Cbor::Text("bad".into())),
            ])
        );
    }
}
