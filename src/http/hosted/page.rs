//! Rendering one hosted page: the template, the tenant's name, the headers every page
//! sends (strict CSP, `no-store`) and the cookies it sets.

use std::sync::OnceLock;

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::{context, Environment, Value};

/// The templates, parsed once; autoescaping is on for every `.html` template.
fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        let sources = [
            ("layout.html", include_str!("templates/layout.html")),
            ("fields.html", include_str!("templates/fields.html")),
            ("sign_in.html", include_str!("templates/sign_in.html")),
            ("mfa.html", include_str!("templates/mfa.html")),
            ("consent.html", include_str!("templates/consent.html")),
            ("new_password.html", include_str!("templates/new_password.html")),
            ("confirm.html", include_str!("templates/confirm.html")),
            ("message.html", include_str!("templates/message.html")),
        ];
        for (name, source) in sources {
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "a hosted page template does not parse");
            }
        }
        env
    })
}

/// Whose page it is: the tenant's name and logo (`auth_config.logo_url`), or the node's.
pub struct Brand<'a> {
    name: &'a str,
    logo_url: Option<&'a str>,
}

impl<'a> From<&'a crate::store::Tenant> for Brand<'a> {
    fn from(tenant: &'a crate::store::Tenant) -> Self {
        Self {
            name: &tenant.name,
            logo_url: tenant.auth_config.logo_url.as_deref(),
        }
    }
}

impl<'a> From<&'a str> for Brand<'a> {
    fn from(name: &'a str) -> Self {
        Self { name, logo_url: None }
    }
}

/// One page to render: its template, title and values, status and cookies.
pub struct Page {
    template: &'static str,
    status: StatusCode,
    values: Value,
    cookies: Vec<String>,
    /// Origins the page's forms may lead to besides our own (the client's redirect URI).
    form_targets: Vec<String>,
}

impl Page {
    /// A page of `template` for a tenant (its name and logo) or for the node, titled `title`.
    pub fn new<'a>(template: &'static str, brand: impl Into<Brand<'a>>, title: &str) -> Self {
        let Brand {
            name: tenant_name,
            logo_url,
        } = brand.into();
        Self {
            template,
            status: StatusCode::OK,
            values: context! { tenant_name, logo_url, title },
            cookies: Vec::new(),
            form_targets: Vec::new(),
        }
    }

    /// A plain message page.
    pub fn message<'a>(brand: impl Into<Brand<'a>>, title: &str, body: &str) -> Self {
        Self::new("message.html", brand, title).with(context! { body })
    }

    /// Adds values (later ones win).
    pub fn with(mut self, values: Value) -> Self {
        self.values = context! { ..values, ..self.values };
        self
    }

    /// Sets the status.
    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// Sets a cookie along with the page.
    pub fn cookie(mut self, set_cookie: Option<String>) -> Self {
        self.cookies.extend(set_cookie);
        self
    }

    /// Lets the page's forms end in a redirect to `origin`.
    pub fn form_target(mut self, origin: Option<String>) -> Self {
        self.form_targets.extend(origin);
        self
    }

    fn csp(&self) -> String {
        let mut targets = String::from("'self'");
        for target in &self.form_targets {
            targets.push(' ');
            targets.push_str(target);
        }
        format!(
            "default-src 'none'; style-src 'self'; img-src 'self' https: data:; form-action {targets}; \
             frame-ancestors 'none'; base-uri 'none'"
        )
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let html = templates()
            .get_template(self.template)
            .and_then(|t| t.render(&self.values));
        let html = match html {
            Ok(html) => html,
            Err(e) => {
                tracing::error!(template = self.template, error = %e, "a hosted page failed to render");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        };
        let mut response = (self.status, html).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Ok(csp) = HeaderValue::from_str(&self.csp()) {
            headers.insert("content-security-policy", csp);
        }
        for cookie in self.cookies {
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                headers.append(SET_COOKIE, value);
            }
        }
        response
    }
}

/// A `303 See Other` to `location`, setting `cookies` (after a form post, the browser GETs it).
pub fn redirect(location: &str, cookies: Vec<String>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(location) {
        headers.insert(LOCATION, value);
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            headers.append(SET_COOKIE, value);
        }
    }
    response
}

/// The origin (`scheme://host[:port]`) of a URL, for CSP `form-action`; a private-use
/// scheme (`com.example.app:/cb`) as `scheme:`.
pub fn origin_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    match parsed.origin() {
        url::Origin::Tuple(..) => Some(parsed.origin().ascii_serialization()),
        url::Origin::Opaque(_) => Some(format!("{}:", parsed.scheme())),
    }
}
