//! Prometheus's number, time and string helpers for templates: the `humanize` family (exactly Prometheus's
//! strings, built on Go's `%.4g`), `toTime`, `toDuration`, `parseDuration`, `stripPort`, `stripDomain`,
//! `title` and the URL path behind `pathPrefix`.

use std::net::IpAddr;

use super::gotime::GoTime;
use super::strconv::{format_float, parse_float};
use super::value::Value;

/// Prometheus's `convertToFloat`: numbers as they are, strings through Go's `strconv.ParseFloat`.
pub(crate) fn to_float(v: &Value) -> Result<f64, String> {
    match v {
        Value::Float(f) => Ok(*f),
        Value::Int(i) => Ok(*i as f64),
        Value::Str(s) => parse_float(s).map_err(|e| e.message("ParseFloat", s)),
        other => Err(format!("can't convert {} to float", other.type_name())),
    }
}

fn g4(v: f64) -> String {
    format_float(v, b'g', 4)
}

/// `humanize`: metric prefixes, four significant digits.
pub(crate) fn humanize(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return g4(v);
    }
    let mut v = v;
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
    } else {
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if v.abs() >= 1.0 {
                break;
            }
            prefix = p;
            v *= 1000.0;
        }
    }
    format!("{}{prefix}", g4(v))
}

/// `humanize1024`: binary prefixes.
pub(crate) fn humanize_1024(v: f64) -> String {
    if v.abs() <= 1.0 || !v.is_finite() {
        return g4(v);
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{prefix}", g4(v))
}

/// `humanizeDuration`: `1d 2h 3m 4s` from a number of seconds, sub-second values with SI prefixes.
pub(crate) fn humanize_duration(v: f64) -> String {
    if !v.is_finite() {
        return g4(v);
    }
    if v == 0.0 {
        return format!("{}s", g4(v));
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        let v = v.abs();
        // Go's int64(v) truncates (and saturates here).
        let duration = v as i64;
        let seconds = duration % 60;
        let minutes = (duration / 60) % 60;
        let hours = (duration / 60 / 60) % 24;
        let days = duration / 60 / 60 / 24;
        if days != 0 {
            return format!("{sign}{days}d {hours}h {minutes}m {seconds}s");
        }
        if hours != 0 {
            return format!("{sign}{hours}h {minutes}m {seconds}s");
        }
        if minutes != 0 {
            return format!("{sign}{minutes}m {seconds}s");
        }
        return format!("{sign}{}s", g4(v));
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", g4(v))
}

/// `humanizePercentage`: a ratio as a percentage with four significant digits.
pub(crate) fn humanize_percentage(v: f64) -> String {
    format!("{}%", g4(v * 100.0))
}

/// Prometheus's `floatToTime`: seconds since the epoch, truncated to milliseconds as Prometheus's
/// `model.Time` does.
pub(crate) fn float_to_time(v: f64) -> Result<GoTime, String> {
    if !v.is_finite() {
        return Err("value is NaN or Inf".to_owned());
    }
    let timestamp = v * 1e9;
    // i64::MAX and i64::MIN as floats, as Go compares them.
    if !(-9.223_372_036_854_776e18..=9.223_372_036_854_776e18).contains(&timestamp) {
        let shown = format_float(v, b'g', -1);
        return Err(format!(
            "{shown} cannot be represented as a nanoseconds timestamp since it overflows int64"
        ));
    }
    let millis = (timestamp as i64) / 1_000_000;
    Ok(GoTime::unix(millis / 1000, (millis % 1000) * 1_000_000))
}

/// `humanizeTimestamp`: Go's `Time.String()` of the UTC time, or `%.4g` of NaN and infinities.
pub(crate) fn humanize_timestamp(v: f64) -> Result<String, String> {
    if !v.is_finite() {
        return Ok(g4(v));
    }
    Ok(float_to_time(v)?.to_go_string())
}

/// `toDuration`: a number of seconds as a Go `time.Duration` in nanoseconds.
pub(crate) fn to_duration(v: f64) -> i64 {
    (v * 1e9) as i64
}

/// `parseDuration`: a Prometheus duration (`1h30m`) in seconds. Prometheus parses it with `model.ParseDuration`,
/// as rule files' durations, so negative durations are refused.
pub(crate) fn parse_duration(s: &str) -> Result<f64, String> {
    let duration = crate::file::parse_duration(s).map_err(|error| error.to_string())?;
    Ok(duration.as_nanos() as f64 / 1e9)
}

/// Go's `net.SplitHostPort`.
fn split_host_port(hostport: &str) -> Option<(&str, &str)> {
    let i = hostport.rfind(':')?;
    let (host, inner_start, inner_end) = if hostport.starts_with('[') {
        let end = hostport.find(']')?;
        if end + 1 == hostport.len() || end + 1 != i {
            return None;
        }
        (&hostport[1..end], 1, end + 1)
    } else {
        let host = &hostport[..i];
        if host.contains(':') {
            return None;
        }
        (host, 0, 0)
    };
    if hostport[inner_start..].contains('[') || hostport[inner_end..].contains(']') {
        return None;
    }
    Some((host, &hostport[i + 1..]))
}

/// `stripPort`: the host of `host:port`, or the input if it is not one.
pub(crate) fn strip_port(hostport: &str) -> String {
    split_host_port(hostport).map_or(hostport, |(host, _)| host).to_owned()
}

/// `stripDomain`: the first label of a host name, keeping the port; IP addresses stay as they are.
pub(crate) fn strip_domain(hostport: &str) -> String {
    let (host, port) = split_host_port(hostport).unwrap_or((hostport, ""));
    if host.parse::<IpAddr>().is_ok() {
        return hostport.to_owned();
    }
    let host = host.split('.').next().unwrap_or(host);
    if port.is_empty() {
        return host.to_owned();
    }
    // Go's net.JoinHostPort.
    if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

/// `title`: the first letter of each word in upper case, the rest unchanged (golang.org/x/text's
/// `cases.Title` with `NoLower`). Words are runs of letters, digits and `_`, which `'`, `.` and `:`
/// between letters do not break.
pub(crate) fn title(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut in_word = false;
    for (i, &c) in chars.iter().enumerate() {
        let word_char = c.is_alphanumeric() || c == '_';
        let joins = matches!(c, '\'' | '.' | ':' | '\u{2019}')
            && in_word
            && chars.get(i + 1).is_some_and(|n| n.is_alphabetic())
            && i > 0
            && chars[i - 1].is_alphabetic();
        if word_char && !in_word {
            out.extend(upper(c));
        } else {
            out.push(c);
        }
        in_word = word_char || joins;
    }
    out
}

fn upper(c: char) -> impl Iterator<Item = char> {
    let mut mapped = c.to_uppercase();
    let single = if mapped.len() == 1 { mapped.next() } else { None };
    std::iter::once(single.unwrap_or(c))
}

/// Go's `strings.ToUpper`/`ToLower`: each character mapped on its own (no `ß` to `SS`).
pub(crate) fn map_chars(s: &str, to_upper: bool) -> String {
    s.chars()
        .map(|c| {
            let mut mapped: Vec<char> =
                if to_upper { c.to_uppercase().collect() } else { c.to_lowercase().collect() };
            if mapped.len() == 1 { mapped.pop().unwrap_or(c) } else { c }
        })
        .collect()
}

/// The path of a URL, as Go's `url.URL.Path` (unescaped).
pub(crate) fn url_path(url: &str) -> String {
    let rest = match url.find("://") {
        Some(i) => {
            let after = &url[i + 3..];
            after.find('/').map_or("", |j| &after[j..])
        }
        None => url,
    };
    let path = rest.split(['?', '#']).next().unwrap_or("");
    percent_decode(path)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok());
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(hi * 16 + lo);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests;
