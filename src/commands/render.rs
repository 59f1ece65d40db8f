use std::process::ExitCode;

use super::Context;
use crate::cli::RenderArgs;
use crate::error::{Error, Result};

/// Prints `{ family: body }` for all families, or the one body when a family is named.
pub fn run(ctx: &Context<'_>, args: &RenderArgs) -> Result<ExitCode> {
    let local = ctx.local()?;
    let value = match &args.family {
        Some(family) => local
            .rendered
            .iter()
            .find(|r| &r.family == family)
            .map(|r| r.body.clone())
            .ok_or_else(|| {
                let known: Vec<&str> = local.rendered.iter().map(|r| r.family.as_str()).collect();
                Error::new(format!("no template for family `{family}`"))
                    .hint(format!("families with templates: {}", known.join(", ")))
            })?,
        None => serde_json::Value::Object(
            local
                .rendered
                .iter()
                .map(|r| (r.family.clone(), r.body.clone()))
                .collect(),
        ),
    };
    let text = serde_json::to_string_pretty(&value).unwrap_or_default();
    super::print(&(local.masker.mask(&text) + "\n"));
    Ok(ExitCode::SUCCESS)
}
