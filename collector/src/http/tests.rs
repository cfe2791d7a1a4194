use std::io::Write;

use axum::body::Body;
use http::{HeaderMap, HeaderValue, header};

use super::Encoding;
use super::body::read;
use crate::Error;

fn headers(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
    pairs.iter().map(|(name, value)| (name.clone(), HeaderValue::from_static(value))).collect()
}

#[test]
fn content_type_parameters_and_case_do_not_change_the_encoding() {
    let json = headers(&[(header::CONTENT_TYPE, "Application/JSON; charset=utf-8")]);
    assert_eq!(Encoding::of(&json).ok(), Some(Encoding::Json));
    let protobuf = headers(&[(header::CONTENT_TYPE, "application/x-protobuf")]);
    assert_eq!(Encoding::of(&protobuf).ok(), Some(Encoding::Protobuf));
    assert!(matches!(Encoding::of(&HeaderMap::new()), Err(Error::UnsupportedContentType(_))));
}

#[tokio::test]
async fn deflate_is_accepted_zlib_wrapped_and_raw() {
    let data = b"otlp payload ".repeat(100);
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    zlib.write_all(&data).expect("compress");
    let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    raw.write_all(&data).expect("compress");
    let deflate = headers(&[(header::CONTENT_ENCODING, "deflate")]);
    for compressed in [zlib.finish().expect("zlib"), raw.finish().expect("raw")] {
        let (body, wire) =
            read(Body::from(compressed.clone()), &deflate, 1 << 20).await.expect("read");
        assert_eq!((body, wire), (data.clone(), compressed.len()));
    }
}

#[tokio::test]
async fn the_limit_applies_after_decompression_and_to_the_wire() {
    let data = vec![0u8; 10_000];
    let compressed = zstd::encode_all(&data[..], 3).expect("zstd");
    let zstd = headers(&[(header::CONTENT_ENCODING, "zstd")]);
    assert!(matches!(
        read(Body::from(compressed.clone()), &zstd, 9_999).await,
        Err(Error::TooLarge { .. })
    ));
    assert_eq!(read(Body::from(compressed), &zstd, 10_000).await.expect("read").0, data);
    let plain = HeaderMap::new();
    assert!(matches!(
        read(Body::from(vec![1u8; 101]), &plain, 100).await,
        Err(Error::TooLarge { .. })
    ));
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_refused_before_reading() {
    let declared = headers(&[(header::CONTENT_LENGTH, "1000000")]);
    assert!(matches!(
        read(Body::from(vec![0u8; 10]), &declared, 100).await,
        Err(Error::TooLarge { .. })
    ));
}

mod receiver {
    use std::sync::Arc;

    use axum::body::Body;
    use http::{Request, StatusCode, header};
    use prometheus_client::registry::Registry;
    use prost::Message;
    use sightline_storage::sink::{BatchSink, WriteFuture};
    use sightline_storage::{Error as StorageError, TableBatch};
    use tower::ServiceExt;

    use crate::auth::IngestAuth;
    use crate::http::{HttpSettings, router};
    use crate::ingest::Pipeline;
    use crate::metrics::CollectorMetrics;
    use crate::otlp::ExportLogsServiceRequest;
    use crate::otlp::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use crate::redact::Redactor;
    use crate::validate::Limits;

    /// Storage that refuses every write, as it does while shutting down.
    struct ClosedSink;

    impl BatchSink for ClosedSink {
        fn write(&self, _batches: Vec<TableBatch>) -> WriteFuture<'_> {
            Box::pin(async { Err(StorageError::Closed) })
        }
    }

    #[tokio::test]
    async fn storage_refusing_a_write_is_503_with_retry_after() {
        let pipeline = Pipeline::new(
            Arc::new(ClosedSink),
            IngestAuth::default(),
            Redactor::with_defaults(),
            Limits::default(),
            CollectorMetrics::register(&mut Registry::default()),
            None,
        );
        let request = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs {
                    log_records: vec![LogRecord::default()],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let response = router(pipeline, HttpSettings::default())
            .oneshot(
                Request::post("/v1/logs")
                    .header(header::CONTENT_TYPE, "application/x-protobuf")
                    .body(Body::from(request.encode_to_vec()))
                    .expect("request"),
            )
            .await
            .expect("response");
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }

    /// Storage whose write buffer is full: it says so before any write.
    struct FullSink;

    impl BatchSink for FullSink {
        fn write(&self, _batches: Vec<TableBatch>) -> WriteFuture<'_> {
            unreachable!("a request is refused before it reaches a full storage")
        }

        fn refusal(&self) -> Option<StorageError> {
            Some(StorageError::Backpressure {
                what: "the write buffer is full",
                retry_after: std::time::Duration::from_secs(1),
            })
        }
    }

    /// What a full storage would refuse is refused before the body is read: even a body that is not protobuf
    /// gets 503 with Retry-After, not 400, because nothing decoded it. A request without a valid token still
    /// gets its 401, and learns nothing of the storage.
    #[tokio::test]
    async fn a_full_storage_refuses_an_authorized_request_before_it_is_decoded() {
        let auth = IngestAuth::new(vec![crate::auth::IngestToken {
            name: "app".into(),
            secret: "s3cret".into(),
            signals: crate::otlp::Signal::ALL.to_vec(),
        }]);
        let pipeline = Pipeline::new(
            Arc::new(FullSink),
            auth,
            Redactor::with_defaults(),
            Limits::default(),
            CollectorMetrics::register(&mut Registry::default()),
            None,
        );
        let app = router(pipeline, HttpSettings::default());
        let send = |token: &'static str| {
            app.clone().oneshot(
                Request::post("/v1/logs")
                    .header(header::CONTENT_TYPE, "application/x-protobuf")
                    .header(header::AUTHORIZATION, token)
                    .body(Body::from(vec![0xff; 64]))
                    .expect("request"),
            )
        };
        let response = send("Bearer s3cret").await.expect("response");
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        let response = send("Bearer wrong").await.expect("response");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
}
