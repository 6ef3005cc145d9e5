//! The `area!` macro: declares one area of the protocol from a list of operations and their
//! reply types, so an operation, its place in the request enum and its reply can't drift apart.

/// For each `Op { fields } => Reply;`: a `pub struct Op` (serde), a variant `Op(Op)` in the
/// area's request enum and `Op(Reply)` in its reply enum, and `impl Operation for Op`.
macro_rules! area {
    (
        $(#[$area_doc:meta])*
        $area:ident: $request:ident / $reply:ident {
            $(
                $(#[$doc:meta])*
                $op:ident { $($(#[$field_meta:meta])* $field:ident : $ty:ty),* $(,)? } => $answer:ty;
            )*
        }
    ) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
            pub struct $op {
                $($(#[$field_meta])* pub $field: $ty,)*
            }

            impl From<$op> for super::TenantRequest {
                fn from(op: $op) -> Self {
                    super::TenantRequest::$area($request::$op(op))
                }
            }

            impl super::Operation for $op {
                type Reply = $answer;

                fn respond(reply: $answer) -> super::TenantResponse {
                    super::TenantResponse::$area($reply::$op(reply))
                }

                fn reply(response: super::TenantResponse) -> Option<$answer> {
                    match response {
                        super::TenantResponse::$area($reply::$op(reply)) => Some(reply),
                        _ => None,
                    }
                }
            }
        )*

        $(#[$area_doc])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub enum $request {
            $($op($op),)*
        }

        /// The replies of this area, one variant per operation.
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub enum $reply {
            $($op($answer),)*
        }
    };
}

pub(crate) use area;
