//! Tessera's application core: what the services do with their stores, with no HTTP in it.
//! Each service's handlers call in here and render the results on their own surface.
//!
//! * [`revocation`]: revoking tokens durably (database first in importance, short-lived store
//!   first in time) and checking them in one round trip.

pub mod revocation;
