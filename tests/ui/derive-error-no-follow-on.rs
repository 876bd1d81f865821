// After a mistake, #[derive(Model)] and #[derive(DbEnum)] still implement
// their traits, so that the uses of the types below type-check: only the
// derives' own errors are reported, not `User: Model is not satisfied` at
// every use; and a real mistake in the uses (the last one) is still found.

use orm_core::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    #[orm(related_name = "author")]
    posts: Reverse<Post>,
    name: String,
    tags: ManyToMany<Tag>,
}

#[derive(Model)]
struct Tag {
    #[orm(primary_key)]
    id: Option<i64>,
    label: String,
}

#[derive(Model)]
struct Post {
    #[orm(primary_key)]
    id: i64,
    author: ForeignKey<User>,
    tag: Option<ForeignKey<Tag>>,
    role: Role,
    level: Option<Level>,
    title: String,
}

#[derive(DbEnum, Debug, Clone, Copy)]
enum Role {
    #[orm(renam = "admin")]
    Admin,
    Member,
}

#[derive(DbEnum, Debug, Clone, Copy)]
struct Level(u8);

#[derive(Model)]
enum Kind {
    Admin,
}

async fn uses() -> Result<()> {
    let user = User::get(q!(name__icontains = "x", pk = 1)).await?;
    let _ = user.posts().filter(q!(title = "t"));
    let _ = user.tags().add(&[]).await?;
    let _ = User::filter(User::fields().name.eq("x"));
    let _ = Post::filter(q!(author__name = "x", author_id = 1, tag__label = "x"));
    let _ = Post::filter(q!(role = Role::Admin, level = None));
    let _ = Tag::filter(q!(label = "x", pk = 1)).count().await?;
    let _ = Kind::all().count().await?;
    let _ = Post::filter(q!(author__id__icontains = "1"));
    Ok(())
}

fn main() {
    let _ = uses();
}
