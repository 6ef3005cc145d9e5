//! Sessions: listing, reading and revoking them.

use super::areas::area;
use crate::store::{Page, PageRequest, Session, SessionFilter};

area! {
    /// Sessions; a signed-in caller sees and revokes only their own.
    Sessions: SessionOp / SessionReply {
        ListSessions { filter: SessionFilter, page: PageRequest } => Page<Session>;
        GetSession { session_id: String } => Box<Session>;
        RevokeSession { session_id: String } => ();
        RevokeUserSessions { user_id: String } => ();
    }
}
