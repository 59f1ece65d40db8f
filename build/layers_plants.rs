//! Imports planted into the real source for the layers check's tests (src/layers.rs): build.rs
//! adds each line to its file and records the graph it then reads. One per import form the
//! parser must read, and one of things that are not imports. `(name, file under src/, line)`.

pub const PLANTS: &[(&str, &str, &str)] = &[
    // The two imports that made a cycle the line-by-line check did not see (issue 23).
    (
        "super_super",
        "model/time.rs",
        "use super::super::apply::Repointed;",
    ),
    (
        "wrapped_group",
        "model/time.rs",
        "use crate::{\n    apply::Repointed,\n};",
    ),
    // aws/pace.rs is the bottom of aws/: re-exporting an adapter reaches up.
    (
        "pub_use_super",
        "aws/pace.rs",
        "pub use super::ecs::describe;",
    ),
    (
        "expression",
        "model/time.rs",
        "fn planted() { crate::apply::f(); }",
    ),
    (
        "macro_tokens",
        "model/time.rs",
        "fn planted() { assert!(crate::plan::f()); }",
    ),
    // aws/mod.rs names its adapter relatively: aws → aws::ecs, whose adapters name aws back.
    (
        "relative_child",
        "aws/mod.rs",
        "fn planted() { ecs::describe(); }",
    ),
    ("self_path", "aws/mod.rs", "use self::scheduler::update;"),
    (
        "through_a_use",
        "model/time.rs",
        "use crate::aws;\nfn planted() { aws::ecs::describe(); }",
    ),
    (
        "not_imports",
        "model/time.rs",
        "// crate::apply::f() in a comment\n/// [`crate::apply`] in a doc link\n\
         pub(in crate::model) fn planted(apply: u8) -> u8 { let s = \"crate::apply::f\"; let _ = s; apply }\n\
         pub(super) fn g() {}",
    ),
];
