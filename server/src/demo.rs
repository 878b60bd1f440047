//! Demo mode: a living program for a newcomer. Demo sites and one user per role, all with the
//! demo password. Idempotent: running it again resets the demo users' passwords and roles.

use app::domain::roles::Role;
use serde_json::json;

use crate::auth::password::{Hasher, Password};

pub const SITES: &[(&str, &str)] = &[("DEMO-GH", "Demo General Hospital"), ("DEMO-RC", "Riverside Clinic")];

/// (username, display name, roles, site codes)
pub const USERS: &[(&str, &str, &[Role], &[&str])] = &[
    ("admin", "Ada Admin", &[Role::Admin], &["DEMO-GH", "DEMO-RC"]),
    ("coordinator", "Cora Coordinator", &[Role::Coordinator], &["DEMO-GH"]),
    ("surgeon", "Sam Surgeon", &[Role::Surgeon], &["DEMO-GH"]),
    ("radiologist", "Ravi Radiologist", &[Role::Radiologist], &["DEMO-GH", "DEMO-RC"]),
];

pub async fn seed(pool: &sqlx::PgPool, hasher: &Hasher, password: &str) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    let mut site_ids = Vec::new();
    for (code, name) in SITES {
        site_ids.push((*code, elysium_db::sites::ensure(&mut tx, code, name).await?.id));
    }
    for (username, display_name, roles, sites) in USERS {
        let hash = hasher.hash(Password::new(password.to_owned())).await?;
        let roles: Vec<String> = roles.iter().map(|r| r.as_str().to_owned()).collect();
        let sites: Vec<uuid::Uuid> =
            site_ids.iter().filter(|(code, _)| sites.contains(code)).map(|(_, id)| *id).collect();
        elysium_db::users::upsert_demo(&mut tx, username, display_name, &hash, &roles, &sites).await?;
    }
    let event = elysium_db::audit::NewAuditEvent {
        action: "demo.seed".into(),
        outcome: "success",
        detail: json!({ "users": USERS.iter().map(|u| u.0).collect::<Vec<_>>() }),
        ..Default::default()
    };
    elysium_db::audit::record(&mut tx, &event).await?;
    tx.commit().await?;
    Ok(())
}
