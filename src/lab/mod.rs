//! The lab file: parsing, validation and planning. Nothing here needs root.

pub mod addr;
pub mod cables;
pub mod diagnostic;
pub mod load;
pub mod model;
pub mod model_agents;
pub mod model_checks;
pub mod model_dns;
pub mod netem;
pub mod plan;
pub mod plan_routing;
pub mod raw;
pub mod routing;
pub mod schema;
pub mod shape;
pub mod topology;
pub mod validate;
pub mod zones;
