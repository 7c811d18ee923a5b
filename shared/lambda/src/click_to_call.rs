//! Click-to-call over HTTP: plain HTML pages for the manager's browser (no script), JSON for
//! everything else (`Accept` without `text/html`). One path, and GET never dials:
//!
//! | Request | Answer |
//! |---|---|
//! | `GET ?enrol=<manager>&exp=…&sig=…` (a personal set-up link) | the set-up page, whose button posts the same fields |
//! | `POST step=enrol&manager=…&exp=…&sig=…` | the browser credential, as an `HttpOnly` cookie |
//! | `GET ?phone=…` (the CRM button; the cookie names the manager) | the confirmation page |
//! | `GET ?manager=…&phone=…&exp=…&sig=…` (a call link an integration signed) | the confirmation page |
//! | `POST step=call&manager=…&phone=…&exp=…&nonce=…&sig=…` (the confirmation's button) | the call |
//!
//! A request that carries a token (`?token=`, `X-Bridge-Token`, `Authorization: Bearer`) is
//! refused: click-to-call has no shared secret, and the webhook token opens nothing here. A
//! POST a browser sends from another site is refused too (`Sec-Fetch-Site`, `Origin`), and the
//! pages may not be framed. Every attempt is logged once: step, manager, masked number and
//! decision.

use std::time::Duration;

use bridge_domain::activity::Language;
use bridge_domain::phone::{PhoneNumber, mask_long_numbers};
use bridge_domain::ports::ringostat::RingostatApiError;
use bridge_domain::ringostat::Fields;
use bridge_domain::ringostat::fields::{Field, MAX_PHONE_CHARS, capped};
use bridge_domain::services::click_to_call::policy::readable;
use bridge_domain::services::{
    ClickToCall, ClickToCallError, Confirmation, DeviceCredential, Signed,
};
use bridge_domain::staff::StaffMember;
use bridge_domain::telemetry;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde_json::json;

use crate::answer::{error_response, json_response};
use crate::auth::{MAX_BODY_BYTES, allow_methods, presents_token};
use crate::call_event::log_body_format;
use crate::request::{content_type, deadline_of, raw_query};
use crate::routes::CLICK_TO_CALL_METHODS;

/// The browser credential's cookie. `__Host-`: only ever set by this host, over HTTPS, for
/// the whole host, so no neighbouring site can plant one.
pub const DEVICE_COOKIE: &str = "__Host-ringostat-bridge-click-to-call";

bridge_domain::field!(STEP, "step");
bridge_domain::field!(ENROL, "enrol");
bridge_domain::field!(MANAGER, "manager");
bridge_domain::field!(PHONE, "phone", "number", "client", "destination");
bridge_domain::field!(EXPIRES_AT, "exp");
bridge_domain::field!(SIGNATURE, "sig");
bridge_domain::field!(NONCE, "nonce");

/// What click-to-call needs.
pub struct ClickToCallApp {
    pub service: ClickToCall,
    /// Language of the pages.
    pub language: Language,
    /// Time the call request may take when the Lambda deadline is unknown.
    pub budget: Duration,
}

/// Which request of the flow this is (logs).
#[derive(Debug, Clone, Copy)]
enum Step {
    EnrolPage,
    Enrol,
    Confirm,
    Call,
    Refused,
}

impl Step {
    fn as_str(self) -> &'static str {
        match self {
            Self::EnrolPage => "enrol_page",
            Self::Enrol => "enrol",
            Self::Confirm => "confirm",
            Self::Call => "call",
            Self::Refused => "refused",
        }
    }
}

/// One attempt's log line, filled as the request goes.
struct Attempt {
    step: Step,
    manager: String,
    phone: String,
}

pub async fn click_to_call(app: &ClickToCallApp, request: Request) -> Response<Body> {
    let reply = Reply {
        html: wants_html(&request),
        language: app.language,
    };
    let mut attempt = Attempt {
        step: Step::Refused,
        manager: String::new(),
        phone: String::new(),
    };
    let response = answer(app, &request, &reply, &mut attempt).await;
    let status = response.status().as_u16();
    let decision = response
        .headers()
        .get("x-bridge-decision")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    telemetry::click_to_call(&decision);
    if status < 400 {
        tracing::info!(
            event = "click_to_call",
            step = attempt.step.as_str(),
            manager = %attempt.manager,
            phone = %attempt.phone,
            decision = %decision,
            status,
            "click-to-call attempt"
        );
    } else {
        tracing::warn!(
            event = "click_to_call",
            step = attempt.step.as_str(),
            manager = %attempt.manager,
            phone = %attempt.phone,
            decision = %decision,
            status,
            "click-to-call attempt refused"
        );
    }
    response
}

async fn answer(
    app: &ClickToCallApp,
    request: &Request,
    reply: &Reply,
    attempt: &mut Attempt,
) -> Response<Body> {
    if let Err(response) = allow_methods(CLICK_TO_CALL_METHODS, request) {
        return decided(response, "method_not_allowed");
    }
    let is_post = request.method().as_str() == "POST";
    if presents_token(request) {
        return reply.error(
            StatusCode::UNAUTHORIZED,
            "token_not_accepted",
            None,
            "click-to-call takes no token: it uses signed links. Replace the CRM button with \
             the new one (setup guide, section 4)",
        );
    }
    if request.body().len() > MAX_BODY_BYTES {
        return reply.error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            None,
            &format!("the body is over {MAX_BODY_BYTES} bytes"),
        );
    }
    if is_post && let Some(site) = cross_site(request) {
        return reply.error(
            StatusCode::FORBIDDEN,
            "cross_site",
            None,
            &format!("a form from another site ({site}) cannot start a call"),
        );
    }
    let query = raw_query(request);
    let content_type = content_type(request);
    let fields = match Fields::read_request(content_type, request.body().as_ref(), query.as_deref())
    {
        Ok((fields, format)) => {
            log_body_format("click_to_call", content_type, format);
            fields
        }
        Err(error) => {
            return reply.error(
                StatusCode::BAD_REQUEST,
                "invalid_payload",
                None,
                &error.to_string(),
            );
        }
    };
    let value = |field: &Field| fields.get(field).unwrap_or_default().to_owned();
    let signed = |manager: String| Signed {
        manager,
        phone: value(&PHONE),
        expires_at: value(&EXPIRES_AT),
        signature: value(&SIGNATURE),
        nonce: value(&NONCE),
    };
    attempt.manager = capped(&value(&MANAGER), 80);
    attempt.phone = masked(&value(&PHONE));
    let service = &app.service;
    if !is_post {
        if let Some(manager) = fields.get(&ENROL) {
            attempt.step = Step::EnrolPage;
            attempt.manager = capped(manager, 80);
            return match service.enrol(&signed(manager.to_owned())) {
                Ok(member) => reply.enrol_page(member, &signed(manager.to_owned()), service),
                Err(error) => reply.refusal(&error),
            };
        }
        attempt.step = Step::Confirm;
        let member = if fields.get(&SIGNATURE).is_some() {
            service.call_link(&signed(value(&MANAGER)))
        } else {
            service.device_manager(device_cookie(request).as_deref())
        };
        let member = match member {
            Ok(member) => member,
            Err(error) => return reply.refusal(&error),
        };
        attempt.manager = member.crm_user.id.clone();
        return match service.confirm(member, &value(&PHONE)) {
            Ok(confirmation) => {
                attempt.phone = confirmation.phone.masked();
                reply.confirmation_page(&confirmation)
            }
            Err(error) => reply.refusal(&error),
        };
    }
    match fields.get(&STEP) {
        Some("enrol") => {
            attempt.step = Step::Enrol;
            let link = signed(value(&MANAGER));
            match service.enrol(&link) {
                Ok(member) => {
                    attempt.manager = member.crm_user.id.clone();
                    reply.enrolled(member, &service.device_credential(link.manager.trim()))
                }
                Err(error) => reply.refusal(&error),
            }
        }
        Some("call") => {
            attempt.step = Step::Call;
            let deadline = deadline_of(request, app.budget);
            match service.dial(&signed(value(&MANAGER)), deadline).await {
                Ok(calling) => {
                    attempt.phone = calling.phone.masked();
                    reply.calling(&calling.manager, &calling.phone)
                }
                Err(error) => reply.refusal(&error),
            }
        }
        _ => reply.error(
            StatusCode::BAD_REQUEST,
            "missing_field",
            Some("step"),
            "`step` must be `call` (the confirmation's button) or `enrol` (the set-up page's)",
        ),
    }
}

/// The number for the log: masked, and never longer than a number may be.
fn masked(raw: &str) -> String {
    if raw.chars().count() > MAX_PHONE_CHARS {
        return "(too long)".to_owned();
    }
    PhoneNumber::parse(raw).map_or_else(|_| mask_long_numbers(raw), |p| p.masked())
}

/// The browser credential, from the `Cookie` header.
fn device_cookie(request: &Request) -> Option<String> {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == DEVICE_COOKIE).then(|| value.to_owned())
        })
}

/// Why a POST comes from another site, if a browser says so: `Sec-Fetch-Site` other than
/// `same-origin` or `none`, or an `Origin` that is not this host. Requests without these
/// headers (scripts, tests) carry no browser's ambient credentials to abuse.
fn cross_site(request: &Request) -> Option<String> {
    let headers = request.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return (!matches!(site, "same-origin" | "none")).then(|| site.to_owned());
    }
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())?;
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    (origin_host != host).then(|| origin.to_owned())
}

/// Whether the client reads HTML (a browser navigating or posting a form).
fn wants_html(request: &Request) -> bool {
    request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// Marks `response` with the decision (for the attempt's log line and the caller), and keeps
/// it out of caches: pages and answers hold signed tokens.
fn decided(mut response: Response<Body>, decision: &'static str) -> Response<Body> {
    let headers = response.headers_mut();
    headers.insert("x-bridge-decision", HeaderValue::from_static(decision));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Status, code and field of a refusal.
fn refusal_status(error: &ClickToCallError) -> (StatusCode, Option<&'static str>) {
    match error {
        ClickToCallError::NotEnrolled
        | ClickToCallError::InvalidLink(_)
        | ClickToCallError::Expired => (StatusCode::UNAUTHORIZED, None),
        ClickToCallError::AlreadyUsed => (StatusCode::CONFLICT, None),
        ClickToCallError::InvalidField { field, .. } => (StatusCode::BAD_REQUEST, Some(*field)),
        ClickToCallError::UnknownManager => (StatusCode::FORBIDDEN, Some("manager")),
        ClickToCallError::Refused(_) => (StatusCode::FORBIDDEN, Some("phone")),
        ClickToCallError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, None),
        ClickToCallError::LimiterUnavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, None),
        ClickToCallError::NoExtension | ClickToCallError::NotConfigured => {
            (StatusCode::INTERNAL_SERVER_ERROR, None)
        }
        ClickToCallError::Ringostat(e) => (ringostat_status(e).0, None),
    }
}

fn refusal_code(error: &ClickToCallError) -> &'static str {
    match error {
        ClickToCallError::Ringostat(e) => ringostat_status(e).1,
        other => other.code(),
    }
}

fn ringostat_status(error: &RingostatApiError) -> (StatusCode, &'static str) {
    match error {
        RingostatApiError::Auth(_) => (StatusCode::BAD_GATEWAY, "ringostat_auth_failed"),
        RingostatApiError::Rejected { .. } => (StatusCode::BAD_GATEWAY, "ringostat_rejected"),
        RingostatApiError::Transient(_) => {
            (StatusCode::SERVICE_UNAVAILABLE, "ringostat_unavailable")
        }
        RingostatApiError::Config(_) => (StatusCode::INTERNAL_SERVER_ERROR, "not_configured"),
    }
}

/// Answers in the client's format and the deployment's language.
struct Reply {
    html: bool,
    language: Language,
}

impl Reply {
    fn refusal(&self, error: &ClickToCallError) -> Response<Body> {
        let (status, field) = refusal_status(error);
        let mut response = self.error(status, refusal_code(error), field, &error.to_string());
        if let ClickToCallError::RateLimited { retry_after, .. } = error
            && let Ok(value) = HeaderValue::from_str(&retry_after.as_secs().to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }

    fn error(
        &self,
        status: StatusCode,
        code: &'static str,
        field: Option<&str>,
        message: &str,
    ) -> Response<Body> {
        let response = if self.html {
            let text = texts(self.language);
            let hint = text.hint(code).unwrap_or_default();
            html_response(
                status,
                &page(
                    self.language,
                    text.refused_title,
                    &format!(
                        "<p class=\"error\">{}</p>{hint}",
                        escape(&mask_long_numbers(message))
                    ),
                ),
            )
        } else {
            error_response(status, code, field, message)
        };
        decided(response, code)
    }

    fn enrol_page(
        &self,
        member: &StaffMember,
        link: &Signed,
        service: &ClickToCall,
    ) -> Response<Body> {
        let days = service.device_lifetime.as_secs() / 86_400;
        let response = if self.html {
            let text = texts(self.language);
            let body = format!(
                "<p>{}</p>{}<p class=\"note\">{}</p>",
                text.enrol_question(&who(member)),
                form(
                    "enrol",
                    &[
                        ("manager", &link.manager),
                        ("exp", &link.expires_at),
                        ("sig", &link.signature),
                    ],
                    text.enrol_button
                ),
                escape(&text.enrol_note(days)),
            );
            html_response(
                StatusCode::OK,
                &page(self.language, text.enrol_title, &body),
            )
        } else {
            json_response(
                StatusCode::OK,
                &json!({
                    "outcome": "enrol",
                    "manager": member.crm_user.id,
                    "confirm": {"step": "enrol", "manager": link.manager, "exp": link.expires_at, "sig": link.signature},
                }),
            )
        };
        decided(response, "enrol_page")
    }

    fn enrolled(&self, member: &StaffMember, credential: &DeviceCredential) -> Response<Body> {
        let text = texts(self.language);
        let mut response = if self.html {
            html_response(
                StatusCode::OK,
                &page(
                    self.language,
                    text.enrol_title,
                    &format!("<p>{}</p>", text.enrolled(&who(member))),
                ),
            )
        } else {
            json_response(
                StatusCode::OK,
                &json!({
                    "outcome": "enrolled",
                    "manager": member.crm_user.id,
                    "valid_for_days": credential.lifetime.as_secs() / 86_400,
                }),
            )
        };
        let cookie = format!(
            "{DEVICE_COOKIE}={}; Max-Age={}; Path=/; Secure; HttpOnly; SameSite=Lax",
            credential.value,
            credential.lifetime.as_secs()
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
        decided(response, "enrolled")
    }

    fn confirmation_page(&self, confirmation: &Confirmation) -> Response<Body> {
        let token = &confirmation.token;
        let response = if self.html {
            let text = texts(self.language);
            let body = format!(
                "<p class=\"question\">{}</p><p>{}</p>{}<p class=\"note\">{}</p>",
                text.call_question(
                    &readable(&confirmation.phone),
                    &readable(&confirmation.line)
                ),
                text.call_explained(&who(&confirmation.manager)),
                form(
                    "call",
                    &[
                        ("manager", &token.manager),
                        ("phone", &token.phone),
                        ("exp", &token.expires_at),
                        ("nonce", &token.nonce),
                        ("sig", &token.signature),
                    ],
                    text.call_button
                ),
                escape(text.call_note),
            );
            html_response(StatusCode::OK, &page(self.language, text.call_title, &body))
        } else {
            json_response(
                StatusCode::OK,
                &json!({
                    "outcome": "confirm",
                    "manager": confirmation.manager.crm_user.id,
                    "phone": confirmation.phone.e164(),
                    "line": confirmation.line.e164(),
                    "confirm": {"step": "call", "manager": token.manager, "phone": token.phone, "exp": token.expires_at, "nonce": token.nonce, "sig": token.signature},
                }),
            )
        };
        decided(response, "confirm")
    }

    fn calling(&self, manager: &str, phone: &PhoneNumber) -> Response<Body> {
        let response = if self.html {
            let text = texts(self.language);
            html_response(
                StatusCode::OK,
                &page(
                    self.language,
                    text.call_title,
                    &format!("<p>{}</p>", text.calling(&readable(phone))),
                ),
            )
        } else {
            json_response(
                StatusCode::OK,
                &json!({"outcome": "calling", "manager": manager, "phone": phone.e164()}),
            )
        };
        decided(response, "calling")
    }
}

/// `Олена Коваленко (olena@acme.ua)`, escaped.
fn who(member: &StaffMember) -> String {
    let id = &member.crm_user.id;
    match &member.crm_user.name {
        Some(name) => format!("<strong>{}</strong> ({})", escape(name), escape(id)),
        None => format!("<strong>{}</strong>", escape(id)),
    }
}

/// A form that posts `fields` (hidden) and `step` back to this function. The action is
/// relative, so it works behind any base path.
fn form(step: &str, fields: &[(&str, &str)], button: &str) -> String {
    let mut html = format!(
        "<form method=\"post\" action=\"click-to-call\"><input type=\"hidden\" name=\"step\" value=\"{}\">",
        escape(step)
    );
    for (name, value) in fields {
        html.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            escape(name),
            escape(value)
        ));
    }
    html.push_str(&format!(
        "<button type=\"submit\">{}</button></form>",
        escape(button)
    ));
    html
}

/// A whole page around `body` (already escaped).
fn page(language: Language, title: &str, body: &str) -> String {
    let lang = match language {
        Language::Uk => "uk",
        Language::En => "en",
    };
    format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head>\
         <body><main><h1>{title}</h1>{body}</main></body></html>",
        title = escape(title),
    )
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0}\
main{max-width:32rem;margin:3rem auto;background:#fff;padding:1.5rem 2rem;border-radius:8px}\
h1{font-size:1.3rem}.question{font-size:1.15rem}.note{color:#555;font-size:.9rem}\
.error{color:#a00}button{font-size:1.1rem;padding:.6rem 1.6rem;cursor:pointer}";

/// HTML with the headers that keep it from being framed, cached, sniffed or leaking its URL.
fn html_response(status: StatusCode, html: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        )
        .header(header::X_FRAME_OPTIONS, "DENY")
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::REFERRER_POLICY, "same-origin")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .body(Body::from(html.to_owned()))
        .unwrap_or_default()
}

/// Text for HTML: `& < > " '` escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The pages' words in one language.
struct Texts {
    call_title: &'static str,
    call_button: &'static str,
    call_note: &'static str,
    enrol_title: &'static str,
    enrol_button: &'static str,
    refused_title: &'static str,
    language: Language,
}

fn texts(language: Language) -> Texts {
    match language {
        Language::Uk => Texts {
            call_title: "Дзвінок через Ringostat",
            call_button: "Подзвонити",
            call_note: "Не ви або не той номер? Просто закрийте вкладку. Кнопка діє 2 хвилини.",
            enrol_title: "Дзвінки з CRM у цьому браузері",
            enrol_button: "Так, це я",
            refused_title: "Дзвінок не розпочато",
            language,
        },
        Language::En => Texts {
            call_title: "Call through Ringostat",
            call_button: "Call",
            call_note: "Not you, or not this number? Just close this tab. The button works for 2 minutes.",
            enrol_title: "Calls from the CRM in this browser",
            enrol_button: "Yes, this is me",
            refused_title: "No call started",
            language,
        },
    }
}

impl Texts {
    /// `phone` and `line` are plain numbers (escaped here).
    fn call_question(&self, phone: &str, line: &str) -> String {
        let (phone, line) = (escape(phone), escape(line));
        match self.language {
            Language::Uk => format!("Подзвонити <strong>{phone}</strong> з лінії {line}?"),
            Language::En => format!("Call <strong>{phone}</strong> from line {line}?"),
        }
    }

    /// `who` is already escaped.
    fn call_explained(&self, who: &str) -> String {
        match self.language {
            Language::Uk => format!("Ringostat спершу з'єднає вас ({who}), потім клієнта."),
            Language::En => format!("Ringostat connects you ({who}) first, then the client."),
        }
    }

    fn calling(&self, phone: &str) -> String {
        let phone = escape(phone);
        match self.language {
            Language::Uk => {
                format!(
                    "Ringostat дзвонить: спершу вам, потім на <strong>{phone}</strong>. Вкладку можна закрити."
                )
            }
            Language::En => format!(
                "Ringostat is calling: you first, then <strong>{phone}</strong>. You may close this tab."
            ),
        }
    }

    /// `who` is already escaped.
    fn enrol_question(&self, who: &str) -> String {
        match self.language {
            Language::Uk => format!("Дзвонити з CRM у цьому браузері як {who}?"),
            Language::En => format!("Call from the CRM in this browser as {who}?"),
        }
    }

    fn enrol_note(&self, days: u64) -> String {
        match self.language {
            Language::Uk => format!(
                "Після цього кнопка дзвінка в CRM працюватиме в цьому браузері {days} дн. \
                 Це посилання особисте: не відкривайте його в чужому браузері й нікому не пересилайте."
            ),
            Language::En => format!(
                "The CRM's call button then works in this browser for {days} days. This link is \
                 personal: do not open it in anyone else's browser or forward it."
            ),
        }
    }

    /// `who` is already escaped.
    fn enrolled(&self, who: &str) -> String {
        match self.language {
            Language::Uk => format!(
                "Готово: цей браузер дзвонить як {who}. Закрийте вкладку й користуйтеся кнопкою в CRM."
            ),
            Language::En => format!(
                "Done: this browser calls as {who}. Close this tab and use the CRM's button."
            ),
        }
    }

    /// What the manager can do about a refusal, as HTML.
    fn hint(&self, code: &str) -> Option<String> {
        let text = match (self.language, code) {
            (Language::Uk, "not_enrolled") => {
                "Цей браузер ще не налаштовано: відкрийте особисте посилання, яке надіслав адміністратор, і натисніть кнопку в CRM ще раз."
            }
            (Language::Uk, "link_expired" | "already_used") => {
                "Натисніть кнопку дзвінка в CRM ще раз."
            }
            (Language::Uk, "destination_refused") => {
                "На цей номер дзвонити через CRM не можна. Якщо це помилка, зверніться до адміністратора."
            }
            (Language::Uk, "rate_limited") => "Забагато дзвінків за короткий час: зачекайте.",
            (Language::Uk, "invalid_link" | "token_not_accepted" | "unknown_manager") => {
                "Посилання недійсне. Зверніться до адміністратора."
            }
            (Language::En, "not_enrolled") => {
                "This browser is not set up yet: open the personal link your administrator sent you, then click the CRM button again."
            }
            (Language::En, "link_expired" | "already_used") => "Click the CRM's call button again.",
            (Language::En, "destination_refused") => {
                "This number cannot be called from the CRM. If that is a mistake, ask your administrator."
            }
            (Language::En, "rate_limited") => "Too many calls in a short time: please wait.",
            (Language::En, "invalid_link" | "token_not_accepted" | "unknown_manager") => {
                "The link is not valid. Ask your administrator."
            }
            _ => return None,
        };
        Some(format!("<p>{}</p>", escape(text)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_values_is_escaped() {
        assert_eq!(
            escape(r#"<script>alert('x')</script> & "q""#),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        let html = form("call", &[("manager", "\"><script>")], "Go");
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.contains("value=\"&quot;&gt;&lt;script&gt;\""),
            "{html}"
        );
    }
}
