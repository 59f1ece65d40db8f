//! An SDK interceptor that sends a caller-supplied JSON body and keeps the raw JSON response.
//! The SDK still signs, retries, resolves endpoints and parses errors; only the payload is
//! ours. ECS and EventBridge speak awsJson1.1, whose wire shape is exactly the CLI's
//! `--cli-input-json` shape that templates are written in.

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use serde_json::Value;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Default)]
pub struct RawJson {
    request: Option<Arc<Vec<u8>>>,
    response: Arc<Mutex<Option<Vec<u8>>>>,
}

impl RawJson {
    /// Keeps the response body only.
    pub fn capture() -> Self {
        Self::default()
    }

    /// Replaces the request body with `body`, and keeps the response body.
    pub fn send(body: &Value) -> Self {
        Self {
            request: Some(Arc::new(body.to_string().into_bytes())),
            response: Arc::default(),
        }
    }

    /// The response body of the last attempt, parsed.
    pub fn response(&self, operation: &str) -> Result<Value> {
        let bytes = self
            .response
            .lock()
            .ok()
            .and_then(|mut b| b.take())
            .ok_or_else(|| Error::new(format!("{operation}: response body was not captured")))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::new(format!("{operation}: response is not JSON: {e}")))
    }
}

impl Intercept for RawJson {
    fn name(&self) -> &'static str {
        "jobdeploy::RawJson"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(body) = &self.request {
            let request = context.request_mut();
            *request.body_mut() = SdkBody::from(body.as_slice().to_vec());
            request
                .headers_mut()
                .insert("content-length", body.len().to_string());
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(bytes) = context.response().body().bytes()
            && let Ok(mut slot) = self.response.lock()
        {
            *slot = Some(bytes.to_vec());
        }
        Ok(())
    }
}
