//! The signed-in user's own account: identity, roles, sites, and sign-out.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::shell::CurrentUser;

#[component]
pub fn ProfilePage() -> impl IntoView {
    let CurrentUser(user) = expect_context::<CurrentUser>();
    view! {
        <Title text="Profile" />
        <h1>"Profile"</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                user.await.ok().flatten().map(|user| view! {
                    <dl class="facts" data-testid="profile">
                        <dt>"Name"</dt><dd>{user.display_name.clone()}</dd>
                        <dt>"Username"</dt><dd><code>{user.username.clone()}</code></dd>
                        <dt>"Roles"</dt>
                        <dd>{user.roles.iter().map(|r| view! { <span class="tag">{r.label()}</span> }).collect_view()}</dd>
                        <dt>"Sites"</dt>
                        <dd>{user.sites.iter().map(|s| view! { <span class="tag">{format!("{} ({})", s.name, s.code)}</span> }).collect_view()}</dd>
                    </dl>
                    <form method="post" action="/logout">
                        <button type="submit" class="button">"Sign out"</button>
                    </form>
                })
            })}
        </Suspense>
    }
}
