#[megaobs::trace_function(label = "x")]
fn f() {}

fn main() {}
