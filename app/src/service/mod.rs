//! Services: the operations behind the server functions and the REST API, so that both go
//! through one implementation. Server side only.

pub mod audit;
pub mod followup;
pub mod patients;
