//! Who is signed in: the user the server's authentication layer attaches to each request.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::language::Language;
use crate::domain::roles::Role;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteRef {
    pub id: Uuid,
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUser {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub sites: Vec<SiteRef>,
    /// The interface language chosen in the profile (`None`: the browser's).
    pub language: Option<Language>,
    /// Signed in with a temporary password: until they choose their own, the session reaches
    /// only `/account/password` (the server's guard enforces it).
    #[serde(default)]
    pub must_change_password: bool,
}

impl SessionUser {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn has_any_role(&self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.has_role(*r))
    }

    /// The sites whose patients this user may see: `None` (all) for administrators, otherwise
    /// the user's own sites.
    pub fn site_scope(&self) -> Option<Vec<Uuid>> {
        (!self.has_role(Role::Admin)).then(|| self.sites.iter().map(|s| s.id).collect())
    }

    /// Whether a record of `site` is within this user's sites (administrators see every site;
    /// a record without a site is visible to administrators only).
    pub fn may_see_site(&self, site: Option<Uuid>) -> bool {
        match self.site_scope() {
            None => true,
            Some(sites) => site.is_some_and(|site| sites.contains(&site)),
        }
    }
}
