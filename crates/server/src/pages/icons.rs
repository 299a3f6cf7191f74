//! Platform icons drawn for this project: simple marks in each platform's colour, inline SVG.

use iquivity_domain::Platform;
use maud::{html, Markup, PreEscaped};

/// The icon of a platform, labelled for screen readers.
pub fn platform_icon(platform: Platform, size: u32) -> Markup {
    let (background, mark) = match platform {
        Platform::Facebook => (
            "#1877f2",
            r##"<path d="M13.5 21v-7h2.4l.4-2.8h-2.8V9.4c0-.8.3-1.4 1.4-1.4h1.5V5.5c-.3 0-1.2-.1-2.2-.1-2.2 0-3.6 1.3-3.6 3.7v2.1H8.2V14h2.4v7z" fill="#fff"/>"##,
        ),
        Platform::Instagram => (
            "#d62976",
            r##"<rect x="6" y="6" width="12" height="12" rx="3.5" fill="none" stroke="#fff" stroke-width="1.8"/><circle cx="12" cy="12" r="2.9" fill="none" stroke="#fff" stroke-width="1.8"/><circle cx="15.6" cy="8.4" r="1" fill="#fff"/>"##,
        ),
        Platform::X => (
            "#000000",
            r##"<path d="M6.5 6h3.2l8 12h-3.2z" fill="#fff"/><path d="M16.8 6h1.3l-5.2 5.9-.7-1zM6.4 18l5.3-6 .7 1L7.7 18z" fill="#fff"/>"##,
        ),
        Platform::Linkedin => (
            "#0a66c2",
            r##"<rect x="6.3" y="10" width="2.6" height="7.7" fill="#fff"/><circle cx="7.6" cy="7.4" r="1.5" fill="#fff"/><path d="M10.8 10h2.5v1.1c.4-.7 1.3-1.3 2.6-1.3 2.4 0 2.8 1.5 2.8 3.5v4.4h-2.6v-3.9c0-.9 0-2.1-1.3-2.1s-1.5 1-1.5 2v4h-2.5z" fill="#fff"/>"##,
        ),
        Platform::Tiktok => (
            "#111111",
            r##"<path d="M13.2 5.5h2.3c.2 1.6 1.2 2.7 2.8 2.9v2.3c-1.1 0-2-.3-2.8-.8v4.6a3.9 3.9 0 1 1-3.9-3.9c.2 0 .4 0 .6.1v2.4a1.6 1.6 0 1 0 1 1.5z" fill="#25f4ee" transform="translate(-.5 .3)"/><path d="M13.2 5.5h2.3c.2 1.6 1.2 2.7 2.8 2.9v2.3c-1.1 0-2-.3-2.8-.8v4.6a3.9 3.9 0 1 1-3.9-3.9c.2 0 .4 0 .6.1v2.4a1.6 1.6 0 1 0 1 1.5z" fill="#fe2c55" transform="translate(.5 -.3)"/><path d="M13.2 5.5h2.3c.2 1.6 1.2 2.7 2.8 2.9v2.3c-1.1 0-2-.3-2.8-.8v4.6a3.9 3.9 0 1 1-3.9-3.9c.2 0 .4 0 .6.1v2.4a1.6 1.6 0 1 0 1 1.5z" fill="#fff"/>"##,
        ),
    };
    html! {
        svg class="platform-icon" width=(size) height=(size) viewBox="0 0 24 24" role="img" aria-label=(platform.display_name()) {
            title { (platform.display_name()) }
            rect width="24" height="24" rx="6" fill=(background) {}
            (PreEscaped(mark))
        }
    }
}
