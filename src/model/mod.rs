//! The bottom layer: the nouns every other module shares — task definitions and their
//! revisions (as ECS describes them and as releases see them), triggers and the AWS objects
//! that own them, jobdeploy's tags, times — and nothing else. It imports nothing of ours and
//! does no I/O, so any module may use it without forming an import cycle (src/layers.rs
//! checks that no cycle exists at all).

mod revision;
mod tags;
mod taskdef;
mod time;
mod trigger;

pub use revision::RevisionInfo;
pub use tags::{
    ADOPTED, READ_ONLY_FIELDS, TAG_IMAGE_DIGEST, TAG_MANIFEST_COMMIT, TAG_PREFIX,
    TAG_REGISTERED_AT, TAG_RELEASE, TAG_SOURCE_COMMIT, split_tags, tags_json,
};
pub use taskdef::{EcsStatus, LiveTaskDef, TaskDefRef};
pub use time::{display_time, format_time, parse_duration, parse_time, short_duration};
pub use trigger::{Owner, Trigger};

/// `1 family`, `2 families`.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plural_picks_the_word_by_count() {
        assert_eq!(plural(0, "family", "families"), "0 families");
        assert_eq!(plural(1, "family", "families"), "1 family");
        assert_eq!(plural(2, "family", "families"), "2 families");
    }
}
