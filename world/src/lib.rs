//! The mock appliance's data plane (being built).
