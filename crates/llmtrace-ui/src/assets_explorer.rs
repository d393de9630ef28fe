//! The explorer's styles and script: themes, the phone layout, local times, filter
//! suggestions, the trace toolbar (zoom, errors, filters, copy) and list auto-refresh.

/// Styles of the explorer (appended to [`crate::assets::STYLE`]).
pub(crate) const STYLE: &str = r#"
"#;

/// Script of the explorer (appended to [`crate::assets::SCRIPT`]).
pub(crate) const SCRIPT: &str = r#"
"#;
