//! Cursor pagination of v2 lists: request headers `X-Pagination-Cursor` and
//! `X-Pagination-Size`, response header `X-Pagination-Cursor-Next` (absent on the last page).
//! The cursor is opaque to clients; here it names the last item returned, so deletions between
//! pages neither skip nor repeat items.

use axum::http::{HeaderMap, HeaderValue};
use base64ct::{Base64UrlUnpadded, Encoding};

use crate::error_answers::ApiError;

/// The request's paging parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Page {
    /// Return items strictly after this sequence number.
    pub after: Option<u64>,
    /// Page size.
    pub size: usize,
}

const PREFIX: &str = "okms-emulator:";

/// Encodes a cursor pointing after `seq` in the list `kind`.
pub(crate) fn cursor(kind: &str, seq: u64) -> String {
    Base64UrlUnpadded::encode_string(format!("{PREFIX}{kind}:{seq}").as_bytes())
}

/// Reads the paging headers. `cursor_class` is the error class for a bad cursor.
pub(crate) fn parse(
    headers: &HeaderMap,
    kind: &str,
    cursor_class: &str,
    default_size: usize,
    max_size: usize,
) -> Result<Page, ApiError> {
    let size = match headers.get("x-pagination-size") {
        None => default_size,
        Some(v) => {
            let n = v
                .to_str()
                .ok()
                .and_then(|s| s.trim().parse::<usize>().ok())
                .filter(|n| *n >= 1)
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "",
                        "Invalid X-Pagination-Size header: expected a positive integer",
                    )
                })?;
            n.min(max_size)
        }
    };
    let after = match headers.get("x-pagination-cursor") {
        None => None,
        Some(v) => {
            let bad = || {
                ApiError::bad_request(
                    cursor_class,
                    "Invalid X-Pagination-Cursor: use the value of X-Pagination-Cursor-Next \
                     from the previous page",
                )
            };
            let text = v.to_str().map_err(|_| bad())?;
            if text.is_empty() {
                None
            } else {
                let raw = Base64UrlUnpadded::decode_vec(text.trim()).map_err(|_| bad())?;
                let raw = String::from_utf8(raw).map_err(|_| bad())?;
                let seq = raw
                    .strip_prefix(PREFIX)
                    .and_then(|r| r.strip_prefix(kind))
                    .and_then(|r| r.strip_prefix(':'))
                    .and_then(|r| r.parse::<u64>().ok())
                    .ok_or_else(bad)?;
                Some(seq)
            }
        }
    };
    Ok(Page { after, size })
}

/// Cuts one page out of `items` (sorted by sequence) and sets the next-cursor header.
pub(crate) fn paginate<T>(
    items: Vec<(u64, T)>,
    page: Page,
    kind: &str,
    headers: &mut HeaderMap,
) -> Vec<T> {
    let mut rest: Vec<(u64, T)> = items
        .into_iter()
        .filter(|(seq, _)| page.after.is_none_or(|a| *seq > a))
        .collect();
    let more = rest.len() > page.size;
    rest.truncate(page.size);
    if more
        && let Some((last, _)) = rest.last()
        && let Ok(v) = HeaderValue::from_str(&cursor(kind, *last))
    {
        headers.insert("x-pagination-cursor-next", v);
    }
    rest.into_iter().map(|(_, t)| t).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn walks_all_pages() {
        let items: Vec<(u64, u64)> = (1..=5).map(|i| (i, i * 10)).collect();
        let mut headers = HeaderMap::new();
        let mut page = Page {
            after: None,
            size: 2,
        };
        let mut seen = Vec::new();
        loop {
            let mut out = HeaderMap::new();
            seen.extend(paginate(items.clone(), page, "k", &mut out));
            let Some(next) = out.get("x-pagination-cursor-next") else {
                break;
            };
            headers.insert("x-pagination-cursor", next.clone());
            page = parse(&headers, "k", "X", 2, 10).unwrap();
        }
        assert_eq!(seen, [10, 20, 30, 40, 50]);
    }

    #[test]
    fn bad_cursor_and_size() {
        let mut h = HeaderMap::new();
        h.insert("x-pagination-cursor", HeaderValue::from_static("garbage!"));
        assert_eq!(
            parse(&h, "k", "Cls", 2, 10).unwrap_err().class,
            "Client::BadRequest::Cls"
        );
        h.insert(
            "x-pagination-cursor",
            HeaderValue::from_str(&cursor("other", 1)).unwrap(),
        );
        assert!(parse(&h, "k", "Cls", 2, 10).is_err());
        let mut h = HeaderMap::new();
        h.insert("x-pagination-size", HeaderValue::from_static("0"));
        assert!(parse(&h, "k", "Cls", 2, 10).is_err());
        h.insert("x-pagination-size", HeaderValue::from_static("500"));
        assert_eq!(parse(&h, "k", "Cls", 2, 10).unwrap().size, 10);
    }
}
