//! The interfaces that only declare types.

use crate::runtime::HostState;
use crate::runtime::bindings::host::vigil::plugin::{capability_types, types};

impl types::Host for HostState {}
impl capability_types::Host for HostState {}
