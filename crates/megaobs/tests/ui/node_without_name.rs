#[megaobs::trace_workflow_node]
fn analyze() {}

fn main() {}
