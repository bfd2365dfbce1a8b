//! Who acts: a resident, a staff member (tenant, division, role) or a network server's
//! integration token. Types only, below every capability: they all name the actor, and
//! `accounts` is where actors sign in.

use kencho_core::application::Role;

#[derive(Debug, Clone)]
pub struct Resident {
    pub id: i64,
    pub email: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct Staff {
    pub id: i64,
    pub tenant_id: i64,
    pub tenant_code: String,
    pub tenant_name: String,
    pub division_id: i64,
    pub division_code: String,
    pub division_name: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub totp_enabled: bool,
}

#[derive(Debug, Clone)]
pub enum Principal {
    Resident(Resident),
    Staff(Staff),
    /// A network server's integration token (scope `iot_uplink`): it acts for its tenant only,
    /// and may only post uplinks.
    Integration {
        token_id: i64,
        tenant_id: i64,
    },
}
