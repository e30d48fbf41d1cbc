//! Any message, traceback, type, project, URL and headers, encoded into an
//! output buffer of any size: the result is valid JSON within the limits
//! with sensitive headers stripped, or a typed error.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use monlight_core::limits::MAX_ERROR_BODY;
use monlight_core::{ErrorReport, HeaderFilter, RequestContext, encode_error_report};

#[derive(Arbitrary, Debug)]
struct Input {
    project: String,
    exception_type: String,
    message: String,
    traceback: String,
    url: Option<String>,
    headers: Vec<(String, String)>,
    out_len: u16,
}

fuzz_target!(|input: Input| {
    let headers: Vec<(&str, &str)> = input
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let report = ErrorReport {
        project: &input.project,
        environment: Some("prod"),
        exception_type: &input.exception_type,
        message: &input.message,
        traceback: &input.traceback,
        context: RequestContext::<()> {
            url: input.url.as_deref(),
            headers: Some(&headers),
            ..RequestContext::default()
        },
        header_filter: HeaderFilter::default(),
    };
    let mut out = vec![0u8; usize::from(input.out_len) * 8];
    if let Ok(len) = encode_error_report(&report, &mut out) {
        assert!(len <= out.len() && len <= MAX_ERROR_BODY);
        let body: serde_json::Value = serde_json::from_slice(&out[..len]).expect("valid JSON");
        assert_eq!(body["project"], input.project.as_str());
        for name in body["request_headers"]
            .as_object()
            .into_iter()
            .flat_map(|h| h.keys())
        {
            assert!(!HeaderFilter::default().is_excluded(name), "{name} leaked");
        }
    }
});
