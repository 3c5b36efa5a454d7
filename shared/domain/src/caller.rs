//! Who is calling a dashboard route: a signed-in member of one clinic, with their roles.

use std::collections::BTreeSet;

use crate::{
    error::DomainError,
    ids::{ClinicId, StaffUserId},
};

/// What a sign-in may do, from its Cognito groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Finds patients and messages them (group `staff`).
    Staff,
    /// Also the clinic's settings, templates and chats (group `clinic-admin`).
    ClinicAdmin,
    /// Reads the audit trail, and nothing else (group `privacy-officer`).
    PrivacyOfficer,
    /// The platform's operator: onboards clinics, and belongs to none (group `operator`).
    Operator,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Staff,
        Role::ClinicAdmin,
        Role::PrivacyOfficer,
        Role::Operator,
    ];

    /// The Cognito group that grants the role.
    pub fn group(self) -> &'static str {
        match self {
            Role::Staff => "staff",
            Role::ClinicAdmin => "clinic-admin",
            Role::PrivacyOfficer => "privacy-officer",
            Role::Operator => "operator",
        }
    }

    pub fn of_group(group: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.group() == group)
    }

    /// Why a sign-in without the role is refused, and what to do.
    fn refusal(self) -> &'static str {
        match self {
            Role::Staff => {
                "this route is for the clinic's staff: ask your clinic's administrator to add you to the staff group"
            }
            Role::ClinicAdmin => {
                "this route is for the clinic's administrators: ask one to make the change, or to add you to the clinic-admin group"
            }
            Role::PrivacyOfficer => {
                "the audit trail is for the clinic's privacy officer: ask them, or your administrator to add you to the privacy-officer group"
            }
            Role::Operator => "onboarding clinics is for the platform's operator",
        }
    }

    /// The roles that may use a route for this one: a clinic admin does what staff do.
    fn granted_by(self) -> &'static [Role] {
        match self {
            Role::Staff => &[Role::Staff, Role::ClinicAdmin],
            Role::ClinicAdmin => &[Role::ClinicAdmin],
            Role::PrivacyOfficer => &[Role::PrivacyOfficer],
            Role::Operator => &[Role::Operator],
        }
    }
}

/// A signed-in member of a clinic. The clinic comes only from the verified sign-in, never
/// from the path, query or body, so a clinic cannot ask for another clinic's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub clinic_id: ClinicId,
    pub user: StaffUserId,
    pub roles: BTreeSet<Role>,
}

impl Caller {
    /// A staff member of `clinic_id` (the role of every dashboard route before roles).
    pub fn staff(clinic_id: ClinicId, user: StaffUserId) -> Caller {
        Caller {
            clinic_id,
            user,
            roles: BTreeSet::from([Role::Staff]),
        }
    }

    /// Refuses (403) a caller whose roles do not grant `role`.
    pub fn require(&self, role: Role) -> Result<(), DomainError> {
        if role
            .granted_by()
            .iter()
            .any(|granting| self.roles.contains(granting))
        {
            Ok(())
        } else {
            Err(DomainError::Forbidden {
                reason: role.refusal(),
            })
        }
    }
}

/// The platform's operator: a sign-in of the `operator` group, which belongs to no clinic
/// and may onboard clinics, nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub user: StaffUserId,
}

impl Operator {
    /// Refuses (403) a sign-in whose roles do not include the operator's.
    pub fn of(user: StaffUserId, roles: &BTreeSet<Role>) -> Result<Operator, DomainError> {
        if roles.contains(&Role::Operator) {
            Ok(Operator { user })
        } else {
            Err(DomainError::Forbidden {
                reason: Role::Operator.refusal(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_operator_group_onboards() {
        let user = StaffUserId::parse("op").unwrap();
        assert!(Operator::of(user.clone(), &BTreeSet::from([Role::Operator])).is_ok());
        for roles in [
            vec![],
            vec![Role::ClinicAdmin],
            vec![Role::Staff, Role::PrivacyOfficer],
        ] {
            let refused = Operator::of(user.clone(), &roles.into_iter().collect());
            assert!(matches!(refused, Err(DomainError::Forbidden { .. })));
        }
    }

    fn with_roles(roles: &[Role]) -> Caller {
        Caller {
            clinic_id: ClinicId::parse("c1").unwrap(),
            user: StaffUserId::parse("u1").unwrap(),
            roles: roles.iter().copied().collect(),
        }
    }

    #[test]
    fn each_role_reaches_its_own_routes_and_an_admin_also_the_staffs() {
        let granted = |caller: &Caller| -> Vec<Role> {
            Role::ALL
                .into_iter()
                .filter(|role| caller.require(*role).is_ok())
                .collect()
        };
        assert_eq!(granted(&with_roles(&[Role::Staff])), [Role::Staff]);
        assert_eq!(
            granted(&with_roles(&[Role::ClinicAdmin])),
            [Role::Staff, Role::ClinicAdmin]
        );
        assert_eq!(
            granted(&with_roles(&[Role::PrivacyOfficer])),
            [Role::PrivacyOfficer]
        );
        assert_eq!(granted(&with_roles(&[])), []);
    }

    #[test]
    fn a_refusal_is_forbidden_and_names_the_group_to_ask_for() {
        let refused = with_roles(&[Role::Staff]).require(Role::ClinicAdmin);
        match refused {
            Err(DomainError::Forbidden { reason }) => assert!(reason.contains("clinic-admin")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn groups_name_their_roles() {
        for role in Role::ALL {
            assert_eq!(Role::of_group(role.group()), Some(role));
        }
        assert_eq!(Role::of_group("Staff"), None);
    }
}
