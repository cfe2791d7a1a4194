//! Property: any request, encoded to OTLP/JSON in any allowed style, decodes back to itself.

use proptest::prelude::*;

use crate::decode::json::{logs_from_json, metrics_from_json, traces_from_json};
use crate::encode::{self, Style};
use crate::otlp::arbitrary::{logs_request, metrics_request, traces_request};

fn style() -> impl Strategy<Value = Style> {
    any::<(bool, bool, bool, bool, bool)>().prop_map(
        |(snake_case, ints_as_strings, int64_as_strings, upper_hex, enum_names)| Style {
            snake_case,
            ints_as_strings,
            int64_as_strings,
            upper_hex,
            enum_names,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn logs_round_trip(request in logs_request(), style in style()) {
        let body = serde_json::to_vec(&encode::logs(&style, &request)).unwrap();
        prop_assert_eq!(logs_from_json(&body).unwrap(), request);
    }

    #[test]
    fn traces_round_trip(request in traces_request(), style in style()) {
        let body = serde_json::to_vec(&encode::traces(&style, &request)).unwrap();
        prop_assert_eq!(traces_from_json(&body).unwrap(), request);
    }

    #[test]
    fn metrics_round_trip(request in metrics_request(), style in style()) {
        let body = serde_json::to_vec(&encode::metrics(&style, &request)).unwrap();
        prop_assert_eq!(metrics_from_json(&body).unwrap(), request);
    }
}
