use super::*;
use chrono::TimeZone;

#[test]
fn search_text_can_name_a_platform_or_a_date_in_the_viewers_zone() {
    let s = interpret_search("Insta", 0);
    assert_eq!(s.text, "insta");
    assert_eq!(s.platforms, vec![Platform::Instagram]);
    assert_eq!(interpret_search("x", 0).platforms, vec![Platform::X]);
    assert!(
        interpret_search("ma", 0).platforms.is_empty(),
        "two letters are a name fragment, not a platform"
    );

    let day = interpret_search("Aug 25 2025", 120).created;
    assert_eq!(
        day,
        vec![(
            Utc.with_ymd_and_hms(2025, 8, 24, 22, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2025, 8, 25, 22, 0, 0).unwrap()
        )]
    );
    let minute = interpret_search("Aug 25 2025, 09:16", 0).created;
    assert_eq!(
        minute[0].0,
        Utc.with_ymd_and_hms(2025, 8, 25, 9, 16, 0).unwrap()
    );
    assert_eq!(interpret_search("2025-08-25", 0).created.len(), 1);
    let month = interpret_search("Aug 2025", 0).created;
    assert_eq!(
        month[0].1,
        Utc.with_ymd_and_hms(2025, 9, 1, 0, 0, 0).unwrap()
    );
    assert!(interpret_search("carter", 0).created.is_empty());
}
