//! Authentication and authorization: who the request is from, and whether they may do it.

pub mod csrf;
pub mod guard;
pub mod identity;
pub mod password;
pub mod policy;
pub mod signin;
pub mod tokens;
