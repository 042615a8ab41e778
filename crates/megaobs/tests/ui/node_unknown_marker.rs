#[megaobs::trace_workflow_node("search", tools)]
fn search() {}

fn main() {}
