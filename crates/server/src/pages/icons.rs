//! Platform icons drawn for this project: simple marks in each platform's colour (from its descriptor),
//! inline SVG.

use iquivity_domain::Platform;
use iquivity_platforms::descriptor;
use maud::{html, Markup, PreEscaped};

/// The icon of a platform, labelled for screen readers.
pub fn platform_icon(platform: Platform, size: u32) -> Markup {
    let icon = descriptor(platform).icon;
    html! {
        svg class="platform-icon" width=(size) height=(size) viewBox="0 0 24 24" role="img" aria-label=(platform.display_name()) {
            title { (platform.display_name()) }
            rect width="24" height="24" rx="6" fill=(icon.background) {}
            (PreEscaped(icon.mark))
        }
    }
}

/// The icon of a platform where its name is also written next to it: hidden from screen readers, so the
/// name is announced once.
pub fn platform_mark(platform: Platform, size: u32) -> Markup {
    let icon = descriptor(platform).icon;
    html! {
        svg class="platform-icon" width=(size) height=(size) viewBox="0 0 24 24" aria-hidden="true" focusable="false" {
            rect width="24" height="24" rx="6" fill=(icon.background) {}
            (PreEscaped(icon.mark))
        }
    }
}
