struct Opaque;

#[megaobs::trace_function]
fn f() -> Result<(), Opaque> {
    Err(Opaque)
}

fn main() {}
