//! A request's URI and headers, copied into one buffer when it arrives
//! (`uri\n`, then `name:value\n` per header; HTTP allows no line feed in
//! either, nor a colon in a name) and read back as a report's context only
//! if a report needs it. One allocation and a copy: cloning the URI and
//! each header instead costs an allocation more and two atomic operations
//! per piece.

use crate::RequestContext;

/// See the [module docs](self).
pub(crate) struct HeadText(Vec<u8>);

impl HeadText {
    /// The buffer, starting with the request URI (its path and query).
    pub(crate) fn new(uri: &str, headers: usize) -> Self {
        // Room for typical headers; a long one (a cookie) grows it.
        let mut text = Vec::with_capacity(uri.len() + 1 + 64 * headers);
        text.extend_from_slice(uri.as_bytes());
        text.push(b'\n');
        Self(text)
    }

    /// Appends one header.
    pub(crate) fn header(&mut self, name: &str, value: &[u8]) {
        self.0.extend_from_slice(name.as_bytes());
        self.0.push(b':');
        self.0.extend_from_slice(value);
        self.0.push(b'\n');
    }

    /// The report context: URL, `method`, headers and `route`.
    pub(crate) fn context(&self, method: &str, route: Option<&str>) -> RequestContext {
        let mut lines = self.0.split(|&b| b == b'\n');
        let uri = lines.next().unwrap_or_default();
        let headers = lines.filter_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            Some((
                String::from_utf8_lossy(&line[..colon]).into_owned(),
                String::from_utf8_lossy(&line[colon + 1..]).into_owned(),
            ))
        });
        let context = RequestContext::new()
            .url(String::from_utf8_lossy(uri))
            .method(method)
            .headers(headers);
        match route {
            Some(route) => context.route(route),
            None => context,
        }
    }
}
