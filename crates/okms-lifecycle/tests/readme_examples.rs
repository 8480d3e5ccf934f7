//! The README shows the embedding example as it is: each block after a
//! `<!-- examples/PATH -->` marker is that file, byte for byte.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

const README: &str = include_str!("../README.md");

fn block_after(marker: &str) -> &'static str {
    let start = README
        .find(marker)
        .unwrap_or_else(|| panic!("README has no {marker}"));
    // `rs`, not `rust`: GitHub highlights it as Rust, and rustdoc does not run it as a
    // doctest (the example needs its sibling module and the emulator: `cargo xtask examples`
    // runs it), where `rust,ignore` would count as a skipped test.
    let fence = README[start..].find("```rs\n").unwrap() + start;
    let body = README[fence..].find('\n').unwrap() + fence + 1;
    let end = README[body..].find("\n```\n").unwrap() + body + 1;
    &README[body..end]
}

#[test]
fn the_readme_shows_the_async_example_as_it_is() {
    assert_eq!(
        block_after("<!-- examples/embed_async.rs -->"),
        include_str!("../examples/embed_async.rs"),
        "copy examples/embed_async.rs into the README"
    );
    assert_eq!(
        block_after("<!-- examples/embed/flow.rs -->"),
        include_str!("../examples/embed/flow.rs"),
        "copy examples/embed/flow.rs into the README"
    );
}
