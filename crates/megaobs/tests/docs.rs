//! The README stays true to the code.

#[test]
fn readme_metric_table_is_the_catalogue() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let table = megaobs::metrics::catalog::markdown_table();
    assert!(
        readme.contains(&table),
        "README's metric table differs from the code: regenerate it with `cargo run -p megaobs-cli -- metrics`"
    );
}

#[test]
fn readme_shows_the_two_commands() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    assert!(readme.contains("cargo run --release -p megaobs --example observability_example"));
    assert!(readme.contains("scripts/test.sh"));
}
