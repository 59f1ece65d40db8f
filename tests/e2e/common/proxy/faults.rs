//! What the proxy answers instead of forwarding, and when.

/// What the proxy answers instead of forwarding.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 with `FailedEntryCount: 1` for the first target in the request.
    FailedEntry,
    /// An AWS JSON error with this HTTP status and `__type`.
    Error(u16, &'static str),
    /// 200 with this JSON body: what another writer would make the state look like.
    Json(serde_json::Value),
    /// 200 with this XML body, for a query-protocol service (CloudFormation, IAM, EC2) where
    /// moto answers otherwise than AWS.
    Xml(String),
    /// Forward the request, then close the connection instead of answering: the call took
    /// effect but the caller cannot know.
    LoseResponse,
}

/// Replies instead of forwarding when the action matches and the body names the rule.
#[derive(Debug, Clone)]
pub struct Fault {
    /// The action, or `*` for every request.
    pub action: &'static str,
    pub rule: Option<&'static str>,
    /// Matching requests forwarded untouched before the fault starts.
    pub skip: usize,
    /// How many requests it hits once started; `None`: every one after.
    pub times: Option<usize>,
    pub reply: Reply,
}

/// Makes hyper close the connection without a response.
#[derive(Debug)]
pub struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by the test proxy")
    }
}

impl std::error::Error for Dropped {}
