//! Enums that are known by a fixed name: stored, sent and shown as that name.

/// Declares such an enum from one table of variants and names: `ALL`, `as_str`, `parse`, `Display`, and
/// serde under the same names, so no direction can disagree with another. With `unknown`, also `FromStr`,
/// whose error for a name that is not in the table `unknown` builds. Exported for the store's own enums.
#[macro_export]
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident = $text:literal,)+
        }
        $(unknown = $unknown:expr;)?
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$variant_meta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            pub const ALL: [$name; [$($text),+].len()] = [$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The variant `raw` names, if any.
            pub fn parse(raw: &str) -> Option<Self> {
                Self::ALL.into_iter().find(|v| v.as_str() == raw)
            }
        }

        // Written by hand rather than derived: a derive does not see the `rename` above through the
        // macro's literal, and would document the Rust variant names instead of the names on the wire.
        impl $crate::utoipa::PartialSchema for $name {
            fn schema() -> $crate::utoipa::openapi::RefOr<$crate::utoipa::openapi::schema::Schema> {
                $crate::utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type($crate::utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        impl $crate::utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        $(
            impl std::str::FromStr for $name {
                type Err = $crate::ValidationError;
                fn from_str(s: &str) -> Result<Self, Self::Err> {
                    let unknown: fn(&str) -> $crate::ValidationError = $unknown;
                    Self::parse(s).ok_or_else(|| unknown(s))
                }
            }
        )?
    };
}
