//! The request an error happened in, as the caller describes it.

/// The request an error happened in. Only the fields you set are sent.
///
/// ```
/// use monlight_std::RequestContext;
/// use serde_json::json;
///
/// let context = RequestContext::new()
///     .url("/api/users")
///     .method("POST")
///     .header("Content-Type", "application/json")
///     .header("Authorization", "Bearer t") // stripped before sending
///     .user_id(42)
///     .extra(json!({"booking_id": 123}));
/// assert_eq!(context.user_id.as_deref(), Some("42"));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestContext {
    /// `request_url`.
    pub url: Option<String>,
    /// `request_method`.
    pub method: Option<String>,
    /// `request_headers`; sensitive ones are stripped when the report is
    /// encoded.
    pub headers: Option<Vec<(String, String)>>,
    /// `user_id`, as a string.
    pub user_id: Option<String>,
    /// `extra`: any JSON.
    pub extra: Option<serde_json::Value>,
    /// The route template the request matched (`/users/{id}`): the
    /// `endpoint` label of `errors_total` (see
    /// [`ErrorClientBuilder::count_errors`](crate::ErrorClientBuilder::count_errors)),
    /// not part of the report. The axum layer sets it.
    pub route: Option<String>,
}

impl RequestContext {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the request URL.
    #[must_use]
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// Sets the request method.
    #[must_use]
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into());
        self
    }

    /// Adds one request header.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers
            .get_or_insert_with(Vec::new)
            .push((name.into(), value.into()));
        self
    }

    /// Adds request headers.
    #[must_use]
    pub fn headers<K: Into<String>, V: Into<String>>(
        mut self,
        headers: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.headers
            .get_or_insert_with(Vec::new)
            .extend(headers.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Sets the user id; anything displayable, sent as a string.
    #[must_use]
    pub fn user_id(mut self, user_id: impl std::fmt::Display) -> Self {
        self.user_id = Some(user_id.to_string());
        self
    }

    /// Sets `extra`.
    #[must_use]
    pub fn extra(mut self, extra: serde_json::Value) -> Self {
        self.extra = Some(extra);
        self
    }

    /// Each field of `self`, or `other`'s where `self` has none.
    pub(crate) fn or(self, other: RequestContext) -> RequestContext {
        RequestContext {
            url: self.url.or(other.url),
            method: self.method.or(other.method),
            headers: self.headers.or(other.headers),
            user_id: self.user_id.or(other.user_id),
            extra: self.extra.or(other.extra),
            route: self.route.or(other.route),
        }
    }

    /// Sets the route template (see [`RequestContext::route`]).
    #[must_use]
    pub fn route(mut self, route: impl Into<String>) -> Self {
        self.route = Some(route.into());
        self
    }
}
