//! Who is calling a dashboard route: a signed-in staff member of one clinic.

use crate::ids::{ClinicId, StaffUserId};

/// A signed-in staff member. The clinic comes only from the verified sign-in, never from
/// the path, query or body, so a clinic cannot ask for another clinic's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub clinic_id: ClinicId,
    pub user: StaffUserId,
}
