//! `display` (OpenID Connect Core §3.1.2.1): how the Authorization Server shows
//! its pages: `page`, `popup`, `touch` or `wap`, the whole list the
//! specification defines. Each is accepted and gets the same pages, which are
//! built for any width ("The Authorization Server MAY also attempt to detect the
//! capabilities of the User Agent and present an appropriate display"). Another
//! value is not a `display` of the specification, whose usage the server "MUST
//! verify" (§3.1.2.2), and unlike `ui_locales` no text lets it be ignored: it is
//! `invalid_request`.

/// The `display` values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Display {
    #[default]
    Page,
    Popup,
    Touch,
    Wap,
}

/// Parses a `display` value; `None` when it is not one of the four.
pub fn parse_display(value: &str) -> Option<Display> {
    match value {
        "page" => Some(Display::Page),
        "popup" => Some(Display::Popup),
        "touch" => Some(Display::Touch),
        "wap" => Some(Display::Wap),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_four_display_values_parse_and_nothing_else() {
        assert_eq!(parse_display("page"), Some(Display::Page));
        assert_eq!(parse_display("popup"), Some(Display::Popup));
        assert_eq!(parse_display("touch"), Some(Display::Touch));
        assert_eq!(parse_display("wap"), Some(Display::Wap));
        for bad in ["", "PAGE", "page popup", "embedded", " page"] {
            assert_eq!(parse_display(bad), None, "{bad}");
        }
    }
}
