//! Authentication and authorization: who the request is from, and whether they may do it.
//! Pure of HTTP state: the guard in front of every route and the sign-in flow that use these
//! live in `routes`.

pub mod csrf;
pub mod identity;
pub mod password;
pub mod policy;
pub mod tokens;
