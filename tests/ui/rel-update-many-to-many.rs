use orm_core::prelude::*;

#[derive(Model)]
struct Tag {
    #[orm(primary_key)]
    id: i64,
}

#[derive(Model)]
struct Post {
    #[orm(primary_key)]
    id: i64,
    tags: ManyToMany<Tag>,
}

async fn run() -> Result<u64> {
    Post::all().update(q!(tags = 1)).await
}

fn main() {
    let _ = run();
}
