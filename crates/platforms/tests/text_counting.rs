//! The counting table shared with the Posts page's script (the browser test runs the same cases there):
//! each case's count, as the server's checks count it.

use iquivity_platforms::TextCounting;

#[derive(serde::Deserialize)]
struct Case {
    counting: String,
    text: String,
    count: usize,
    what: String,
}

#[test]
fn every_case_of_the_shared_table_counts_as_written() {
    let cases: Vec<Case> = serde_json::from_str(include_str!("text_counting.json")).unwrap();
    assert!(cases.len() > 20);
    for case in cases {
        let counted = match case.counting.as_str() {
            "x_weighted" => TextCounting::XWeighted.count(&case.text),
            "code_points" => TextCounting::CodePoints.count(&case.text),
            "hashtags" => iquivity_platforms::hashtags(&case.text),
            other => panic!("unknown counting {other}"),
        };
        assert_eq!(counted, case.count, "{}: {:?}", case.what, case.text);
    }
}
