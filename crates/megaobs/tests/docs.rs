//! The docs stay true to the code.

#[test]
fn docs_metric_table_is_the_catalogue() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/metrics.md"
    ))
    .unwrap();
    let table = megaobs::metrics::catalog::markdown_table();
    assert!(
        doc.contains(&table),
        "docs/metrics.md's metric table differs from the code: regenerate it with `cargo run -p megaobs-cli -- metrics`"
    );
}

#[test]
fn readme_shows_the_two_commands() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    assert!(readme.contains("cargo run --release -p megaobs --example observability_example"));
    assert!(readme.contains("scripts/test.sh"));
}
