//! CloudWatch GetMetricData: the sums of many metrics over one window, up to 500 queries a
//! call (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html>).
//! The SDK speaks Smithy RPC v2 CBOR to CloudWatch.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use aws_smithy_types::DateTime;

use super::pace::{Group, Paced};
use super::{Lookup, failed, is_denied, next_token};
use crate::error::Result;

/// GetMetricData takes at most 500 queries a call.
pub const QUERIES_PER_CALL: usize = 500;

/// One metric to sum: `id` names it in the answer (`[a-z][a-zA-Z0-9_]*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricQuery {
    pub id: String,
    pub namespace: &'static str,
    pub metric: &'static str,
    pub dimensions: Vec<(&'static str, String)>,
}

/// The sum of every datapoint of each query between `start` and `end` (Unix seconds), at
/// `period` seconds. A query with no datapoint is absent from the map (AWS sends none for
/// zero). `Denied` when the caller may not read metrics.
pub async fn sums(
    cloudwatch: &Paced<aws_sdk_cloudwatch::Client>,
    queries: &[MetricQuery],
    start: i64,
    end: i64,
    period: i32,
) -> Result<Lookup<BTreeMap<String, f64>>> {
    let mut sums = BTreeMap::new();
    for batch in queries.chunks(QUERIES_PER_CALL) {
        let batch: Vec<MetricDataQuery> = batch.iter().map(|q| query(q, period)).collect();
        let mut token: Option<String> = None;
        loop {
            let out = cloudwatch
                .call(Group::Cloudwatch, "GetMetricData", || {
                    cloudwatch
                        .get_metric_data()
                        .start_time(DateTime::from_secs(start))
                        .end_time(DateTime::from_secs(end))
                        .set_metric_data_queries(Some(batch.clone()))
                        .set_next_token(token.clone())
                        .send()
                })
                .await;
            let out = match out {
                Ok(out) => out,
                Err(e) if is_denied(&e) => return Ok(Lookup::Denied("cloudwatch:GetMetricData")),
                Err(e) => return Err(failed("GetMetricData", "", &e)),
            };
            for result in out.metric_data_results() {
                let Some(id) = result.id() else { continue };
                let values = result.values();
                if !values.is_empty() {
                    *sums.entry(id.to_string()).or_insert(0.0) += values.iter().sum::<f64>();
                }
            }
            token = next_token(out.next_token());
            if token.is_none() {
                break;
            }
        }
    }
    Ok(Lookup::Found(sums))
}

fn query(q: &MetricQuery, period: i32) -> MetricDataQuery {
    let dimensions = q
        .dimensions
        .iter()
        .map(|(name, value)| Dimension::builder().name(*name).value(value).build())
        .collect();
    let metric = Metric::builder()
        .namespace(q.namespace)
        .metric_name(q.metric)
        .set_dimensions(Some(dimensions))
        .build();
    MetricDataQuery::builder()
        .id(&q.id)
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(period)
                .stat("Sum")
                .build(),
        )
        .return_data(true)
        .build()
}
