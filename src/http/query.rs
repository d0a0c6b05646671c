//! A request's query string, read from the URL the runtime gives as text: the name/value pairs
//! of `application/x-www-form-urlencoded` (`+` is a space, `%XX` a byte, invalid UTF-8
//! replaced), as the `url` crate's `query_pairs` reads them. Reading it here rather than parsing
//! the whole URL keeps the `url` crate (and its IDNA tables) out of the storefront's bundle.

/// The query's pairs, in order; an empty or absent query has none.
pub fn pairs(url: &str) -> Vec<(String, String)> {
    let Some((_, rest)) = url.split_once('?') else {
        return Vec::new();
    };
    let query = rest.split('#').next().unwrap_or("");
    query
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            (decode(name), decode(value))
        })
        .collect()
}

/// One name or value: `+` is a space, `%XX` the byte XX (a `%` not followed by two hex digits
/// stays as it is), then UTF-8 with invalid sequences replaced.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len()
                && hex(bytes[i + 1]).is_some()
                && hex(bytes[i + 2]).is_some() =>
            {
                out.push(hex(bytes[i + 1]).unwrap_or(0) * 16 + hex(bytes[i + 2]).unwrap_or(0));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::pairs;

    #[test]
    fn the_query_reads_as_the_url_crate_reads_it() {
        let cases = [
            "https://x.example/v1/products",
            "https://x.example/v1/products?",
            "https://x.example/v1/products?limit=2&cursor=abc",
            "https://x.example/a?q=caf%C3%A9+cr%C3%A8me&q=second",
            "https://x.example/a?flag&empty=&=novalue&&x=%zz&y=%4&z=%41%42",
            "https://x.example/a?bad=%FF%FE&plus=a%2Bb",
            "https://x.example/a?q=1#fragment",
        ];
        for case in cases {
            let expected: Vec<(String, String)> = url::Url::parse(case)
                .unwrap()
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            assert_eq!(pairs(case), expected, "{case}");
        }
    }
}
