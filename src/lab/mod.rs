//! The lab file: parsing, validation and planning. Nothing here needs root.

pub mod addr;
pub mod cables;
pub mod diagnostic;
pub mod dkim;
pub mod duration;
pub mod load;
pub mod model;
pub mod model_agents;
pub mod model_checks;
pub mod model_dns;
pub mod model_mail_auth;
pub mod model_tls;
pub mod netem;
pub mod network;
pub mod path_walk;
pub mod plan;
pub mod plan_routing;
pub mod raw;
pub mod routing;
pub mod schema;
pub mod shape;
pub mod topology;
pub mod validate;
pub mod zones;
