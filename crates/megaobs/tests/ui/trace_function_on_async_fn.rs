#[megaobs::trace_function]
async fn is_async() -> u32 {
    1
}

fn main() {}
