//! The read-only pages. `/` shows what the CRM of this run holds as a person would read it:
//! one card per contact (name, number, owner, UTM tags, deals) with its timeline of calls,
//! comments, Smart Phone syncs and click-to-call requests, newest first, times in the
//! project's time zone. `/raw` shows the tables of both CRMs and Ringostat as stored.

use std::cmp::Reverse;
use std::str::FromStr;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Deserialize;

use crate::html_escape as esc;
use crate::{AppState, SandboxState};

/// The project's time zone unless the run names another (`TIME_ZONE` of the bridge).
pub const DEFAULT_TIME_ZONE: &str = "Europe/Kyiv";

/// The CRM a run of the bridge writes to; the sandbox serves both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunCrm {
    NetHunt,
    Dataverse,
}

impl RunCrm {
    const BOTH: [Self; 2] = [Self::NetHunt, Self::Dataverse];

    /// As a person calls it.
    pub fn label(self) -> &'static str {
        match self {
            Self::NetHunt => "NetHunt",
            Self::Dataverse => "Smart CRM (Dataverse)",
        }
    }

    /// As the bridge's `CRM` variable and `crm-sandbox --crm` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NetHunt => "nethunt",
            Self::Dataverse => "dataverse",
        }
    }

    fn other(self) -> Self {
        match self {
            Self::NetHunt => Self::Dataverse,
            Self::Dataverse => Self::NetHunt,
        }
    }
}

impl FromStr for RunCrm {
    type Err = UnknownCrm;

    fn from_str(word: &str) -> Result<Self, Self::Err> {
        match word.trim().to_ascii_lowercase().as_str() {
            "nethunt" => Ok(Self::NetHunt),
            "dataverse" => Ok(Self::Dataverse),
            _ => Err(UnknownCrm(word.to_owned())),
        }
    }
}

/// A CRM name the sandbox does not serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCrm(pub String);

impl std::fmt::Display for UnknownCrm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` is no CRM of the sandbox: nethunt or dataverse",
            self.0
        )
    }
}

impl std::error::Error for UnknownCrm {}

/// A time zone name the time zone database does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownTimeZone(pub String);

impl std::fmt::Display for UnknownTimeZone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` is not an IANA time zone (e.g. Europe/Kyiv)",
            self.0
        )
    }
}

impl std::error::Error for UnknownTimeZone {}

/// What the page needs to know of the run: its CRM and its time zone.
#[derive(Debug, Clone)]
pub struct PageSettings {
    /// The CRM this run writes to; `None` (a sandbox started without `--crm`) shows both.
    pub crm: Option<RunCrm>,
    time_zone_name: String,
    time_zone: TimeZone,
}

impl Default for PageSettings {
    fn default() -> Self {
        // The bundled time zone database always has it; UTC only if it ever did not.
        let (name, zone) = match TimeZone::get(DEFAULT_TIME_ZONE) {
            Ok(zone) => (DEFAULT_TIME_ZONE, zone),
            Err(_) => ("UTC", TimeZone::UTC),
        };
        Self {
            crm: None,
            time_zone_name: name.to_owned(),
            time_zone: zone,
        }
    }
}

impl PageSettings {
    /// Shows times in this IANA time zone (`Europe/Kyiv`).
    pub fn set_time_zone(&mut self, name: &str) -> Result<(), UnknownTimeZone> {
        let name = name.trim();
        self.time_zone = TimeZone::get(name).map_err(|_| UnknownTimeZone(name.to_owned()))?;
        self.time_zone_name = name.to_owned();
        Ok(())
    }

    pub fn time_zone_name(&self) -> &str {
        &self.time_zone_name
    }

    /// `2024-04-05 14:30:00`: the moment on the wall clock of the run's time zone.
    pub(crate) fn wall_clock(&self, at: Timestamp) -> String {
        self.time_zone
            .to_datetime(at)
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_string()
    }
}

// --- What a card shows, filled by each CRM's module --------------------------------------

/// One contact as a person reads it.
#[derive(Debug, Default)]
pub(crate) struct Card {
    /// The CRM's id (Smart Phone syncs name it as `externalId`).
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) phones: Vec<String>,
    /// (label, value): owner, e-mail.
    pub(crate) facts: Vec<(String, String)>,
    /// `field: value`: UTM tags and any other field the contact has.
    pub(crate) tags: Vec<String>,
    pub(crate) deals: Vec<Deal>,
    pub(crate) timeline: Vec<Entry>,
    pub(crate) created: Option<Timestamp>,
}

#[cfg(test)]
impl Card {
    /// The calls of the timeline with their times, newest first.
    pub(crate) fn calls(&self) -> Vec<(Option<Timestamp>, &Call)> {
        self.timeline
            .iter()
            .filter_map(|entry| match &entry.what {
                What::Call(call) => Some((entry.at, call)),
                _ => None,
            })
            .collect()
    }
}

#[derive(Debug, Default)]
pub(crate) struct Deal {
    pub(crate) name: String,
    pub(crate) stage: Option<String>,
    pub(crate) owner: Option<String>,
}

#[derive(Debug)]
pub(crate) struct Entry {
    /// When it happened (a call's own time, else when it was written); `None` sorts last.
    pub(crate) at: Option<Timestamp>,
    pub(crate) what: What,
}

#[derive(Debug)]
pub(crate) enum What {
    Call(Call),
    /// A comment (NetHunt) or note (Dataverse): the title is its first line or subject.
    Note {
        title: String,
        text: String,
    },
    /// The contact as sent to Ringostat Smart Phone.
    Sync {
        full_name: String,
        responsible: String,
    },
    /// Ringostat was asked to ring `extension` and then dial `destination`.
    ClickToCall {
        extension: String,
        destination: String,
    },
}

/// A call record. The CRMs keep direction, status and duration in different places (or only
/// in the text the bridge wrote), so each module fills what its records hold and
/// [`Call::from_text`] the rest.
#[derive(Debug, Default)]
pub(crate) struct Call {
    pub(crate) subject: String,
    pub(crate) description: String,
    pub(crate) incoming: Option<bool>,
    pub(crate) answered: Option<bool>,
    /// `m:ss` (`h:mm:ss` from an hour), or a coarser reading the record allows.
    pub(crate) duration: Option<String>,
    pub(crate) manager: Option<String>,
    /// Who the record belongs to, shown when it is not the manager (Dataverse: the system
    /// user owns a call nobody took).
    pub(crate) owner: Option<String>,
    pub(crate) recording: Option<String>,
    /// The CRM's own state of the record (Dataverse: `Completed (Received)`).
    pub(crate) state: Option<String>,
}

/// The labels of the lines the bridge writes into a call record, in both languages it
/// writes (`LANGUAGE` = `uk` or `en`): the page reads them back like a person would.
const DURATION_LABELS: [&str; 2] = ["Тривалість:", "Duration:"];
const MANAGER_LABELS: [&str; 2] = ["Менеджер:", "Manager:"];
const RECORDING_LABELS: [&str; 2] = ["Запис:", "Recording:"];

impl Call {
    /// What the subject and description say: `Вхідний дзвінок від +380… (прийнятий)`,
    /// `Тривалість: 1:35 (…)`, `Менеджер: …`, `Запис: https://…`.
    pub(crate) fn from_text(subject: &str, description: &str) -> Self {
        let subject = subject.trim();
        let starts = |words: &[&str]| words.iter().any(|w| subject.starts_with(w));
        let incoming = if starts(&["Вхідний", "Incoming"]) {
            Some(true)
        } else if starts(&["Вихідний", "Outgoing"]) {
            Some(false)
        } else {
            None
        };
        let ends = |words: &[&str]| words.iter().any(|w| subject.ends_with(w));
        let answered = if ends(&["(прийнятий)", "(answered)"]) {
            Some(true)
        } else if ends(&["(пропущений)", "(missed)"]) {
            Some(false)
        } else {
            None
        };
        let duration = labelled(description, &DURATION_LABELS)
            .and_then(|value| value.split_whitespace().next())
            .filter(|clock| {
                clock.contains(':') && clock.chars().all(|c| c.is_ascii_digit() || c == ':')
            })
            .map(str::to_owned);
        Self {
            subject: subject.to_owned(),
            description: description.trim().to_owned(),
            incoming,
            answered,
            duration,
            manager: labelled(description, &MANAGER_LABELS).map(str::to_owned),
            owner: None,
            recording: labelled(description, &RECORDING_LABELS).map(str::to_owned),
            state: None,
        }
    }
}

/// The rest of the first line that starts with one of `labels`, trimmed; `None` if empty.
fn labelled<'a>(text: &'a str, labels: &[&str]) -> Option<&'a str> {
    text.lines()
        .find_map(|line| labels.iter().find_map(|l| line.trim().strip_prefix(l)))
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

/// `95` → `1:35`, `3725` → `1:02:05`.
pub(crate) fn clock(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// A time as the CRMs store it (`2024-04-05T11:30:00.000Z`, `…+03:00`).
pub(crate) fn parse_time(text: &str) -> Option<Timestamp> {
    text.trim().parse().ok()
}

/// Digits of a phone number, for matching a click-to-call destination to a contact.
fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// The same number in two notations (`380501234567`, `+38 050 123 45 67`, `0501234567`): the
/// last nine digits agree (a Ukrainian subscriber number), or all of them for shorter ones.
fn same_number(a: &str, b: &str) -> bool {
    let (a, b) = (digits(a), digits(b));
    let tail = a.len().min(b.len()).min(9);
    tail >= 7 && a[a.len() - tail..] == b[b.len() - tail..]
}

/// Adds what the bridge sent Ringostat to the cards it concerns: syncs by the contact's id,
/// click-to-call requests by the number dialled. `user_name` names the CRM user behind a
/// sync's `responsible`.
fn attach_ringostat(
    cards: &mut [Card],
    ringostat: &crate::ringostat::RingostatState,
    user_name: &dyn Fn(&str) -> Option<String>,
) {
    for (at, key, contact) in ringostat.sync_history() {
        let Some(card) = cards.iter_mut().find(|c| c.id.eq_ignore_ascii_case(key)) else {
            continue;
        };
        let text = |k: &str| {
            contact
                .get(k)
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .unwrap_or_default()
        };
        let responsible = text("responsible");
        let responsible = match responsible.trim() {
            "" | "0" | "null" => "nobody".to_owned(),
            id => user_name(id).unwrap_or_else(|| id.to_owned()),
        };
        card.timeline.push(Entry {
            at: Some(*at),
            what: What::Sync {
                full_name: text("fullName"),
                responsible,
            },
        });
    }
    for (at, extension, destination) in ringostat.outward_call_history() {
        let Some(card) = cards
            .iter_mut()
            .find(|c| c.phones.iter().any(|p| same_number(p, destination)))
        else {
            continue;
        };
        card.timeline.push(Entry {
            at: Some(at),
            what: What::ClickToCall {
                extension: extension.to_owned(),
                destination: destination.to_owned(),
            },
        });
    }
}

/// The cards of `crm`, most recently active first, each timeline newest first.
fn cards_of(state: &SandboxState, crm: RunCrm) -> Vec<Card> {
    let mut cards = match crm {
        RunCrm::NetHunt => crate::nethunt::cards(&state.nethunt),
        RunCrm::Dataverse => crate::dataverse::cards(&state.dataverse),
    };
    let user_name = |id: &str| match crm {
        RunCrm::NetHunt => state.nethunt.user_name(id).map(str::to_owned),
        RunCrm::Dataverse => state.dataverse.user_name(id),
    };
    attach_ringostat(&mut cards, &state.ringostat, &user_name);
    for card in &mut cards {
        // Stable: entries of the same moment keep the order they were written in, reversed.
        card.timeline.reverse();
        card.timeline.sort_by_key(|e| Reverse(e.at));
    }
    cards.reverse();
    cards.sort_by_key(|c| Reverse(c.timeline.iter().filter_map(|e| e.at).max().or(c.created)));
    cards
}

// --- Rendering ------------------------------------------------------------------------------

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5rem auto;max-width:60rem;\
color:#222;padding:0 1rem}header p{margin:.3rem 0}.run{font-size:1.1rem}\
.card{border:1px solid #ccc;border-radius:.5rem;padding:.8rem 1rem;margin:1rem 0}\
.card h3{margin:0 0 .4rem}.phone{font-weight:normal;color:#555;margin-left:.5rem}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .8rem;margin:.4rem 0}\
dt{color:#666}dd{margin:0}.tag{background:#eef;border-radius:.3rem;padding:0 .4rem;\
margin-right:.3rem;white-space:nowrap;display:inline-block}\
ol{list-style:none;padding:0;margin:.6rem 0 0}li{border-left:3px solid #bbb;\
padding:.2rem .6rem;margin:.4rem 0}li.answered{border-color:#2a8}li.missed{border-color:#d44}\
li.note{border-color:#86c}li.sync,li.click{border-color:#48c}time{color:#555;\
font-variant-numeric:tabular-nums;margin-right:.5rem}.muted{color:#666}\
.text{white-space:pre-wrap;font-size:.85rem;color:#444;margin-top:.2rem}\
table{border-collapse:collapse;margin-bottom:2rem;width:100%}\
th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top;\
font-size:.9rem;white-space:pre-wrap}th{background:#f3f3f3}h2{margin-top:2rem}";

fn head(title: &str, refresh: bool) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">{}\
         <title>{}</title><style>{STYLE}</style></head><body>",
        if refresh {
            "<meta http-equiv=\"refresh\" content=\"5\">"
        } else {
            ""
        },
        esc(title)
    )
}

#[derive(Deserialize)]
pub(crate) struct PageQuery {
    /// `nethunt`, `dataverse` or `both`: another view than the run's CRM.
    crm: Option<String>,
}

pub(crate) async fn index(
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
) -> Response {
    let state = state.lock();
    let run = state.page.crm;
    let shown: Vec<RunCrm> = match query.crm.as_deref().map(str::trim) {
        Some("both") => RunCrm::BOTH.to_vec(),
        Some(word) => match word.parse() {
            Ok(crm) => vec![crm],
            Err(error) => {
                return (StatusCode::BAD_REQUEST, format!("crm: {error}, or both")).into_response();
            }
        },
        None => run.map_or_else(|| RunCrm::BOTH.to_vec(), |crm| vec![crm]),
    };
    Html(render_index(&state, run, &shown)).into_response()
}

fn render_index(state: &SandboxState, run: Option<RunCrm>, shown: &[RunCrm]) -> String {
    let settings = &state.page;
    let title = match run {
        Some(crm) => format!("CRM sandbox: {}", crm.label()),
        None => "CRM sandbox".to_owned(),
    };
    let mut html = head(&title, true);
    html.push_str("<header><h1>CRM sandbox</h1>");
    match run {
        Some(crm) => html.push_str(&format!(
            "<p class=\"run\">This run of the bridge writes to <strong>{}</strong>.</p>",
            esc(crm.label())
        )),
        None => html.push_str(
            "<p class=\"run\">This sandbox was started without <code>--crm</code>: both CRMs \
             are shown.</p>",
        ),
    }
    html.push_str(&format!(
        "<p class=\"muted\">Times in {}. Refreshes every 5 seconds.</p><p>",
        esc(settings.time_zone_name())
    ));
    let mut links = Vec::new();
    if let Some(crm) = run {
        if shown == [crm] {
            let other = crm.other();
            links.push(format!(
                "<a href=\"/?crm={}\">{} (not used by this run)</a>",
                other.as_str(),
                esc(other.label())
            ));
        } else {
            links.push(format!(
                "<a href=\"/\">Back to {} (this run)</a>",
                esc(crm.label())
            ));
        }
    }
    links.push("<a href=\"/raw\">Raw tables</a>".to_owned());
    html.push_str(&links.join(" · "));
    html.push_str("</p></header><main>");
    for crm in shown {
        let cards = cards_of(state, *crm);
        html.push_str(&format!(
            "<h2>{}: {} contact{}</h2>",
            esc(crm.label()),
            cards.len(),
            if cards.len() == 1 { "" } else { "s" }
        ));
        if cards.is_empty() {
            html.push_str(
                "<p class=\"muted\">No contacts yet. Post an event, e.g. \
                 <code>scripts/post-event events/after-call-3-answered-new.json</code>.</p>",
            );
        }
        for card in &cards {
            html.push_str(&render_card(card, settings));
        }
    }
    html.push_str("</main></body></html>");
    html
}

fn render_card(card: &Card, settings: &PageSettings) -> String {
    let name = if card.name.trim().is_empty() {
        "No name yet".to_owned()
    } else {
        card.name.clone()
    };
    // A contact created for a call may be named by its number (Smart CRM needs a name).
    let phones: Vec<&str> = card
        .phones
        .iter()
        .map(String::as_str)
        .filter(|phone| phone.trim() != name.trim())
        .collect();
    let mut html = format!(
        "<section class=\"card\" data-contact=\"{}\"><h3>{}<span class=\"phone\">{}</span></h3><dl>",
        esc(&card.id),
        esc(&name),
        esc(&phones.join(", "))
    );
    for (label, value) in &card.facts {
        html.push_str(&format!("<dt>{}</dt><dd>{}</dd>", esc(label), esc(value)));
    }
    if !card.tags.is_empty() {
        html.push_str("<dt>Tags</dt><dd>");
        for tag in &card.tags {
            html.push_str(&format!("<span class=\"tag\">{}</span>", esc(tag)));
        }
        html.push_str("</dd>");
    }
    for deal in &card.deals {
        let details: Vec<String> = [
            deal.stage.as_ref().map(|s| format!("stage {s}")),
            deal.owner.as_ref().map(|o| format!("owner {o}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        html.push_str(&format!(
            "<dt>Deal</dt><dd>{} <span class=\"muted\">{}</span></dd>",
            esc(&deal.name),
            esc(&details.join(", "))
        ));
    }
    html.push_str("</dl>");
    if card.timeline.is_empty() {
        html.push_str("<p class=\"muted\">Nothing on the timeline yet.</p>");
    } else {
        html.push_str("<ol class=\"timeline\">");
        for entry in &card.timeline {
            html.push_str(&render_entry(entry, settings));
        }
        html.push_str("</ol>");
    }
    html.push_str("</section>");
    html
}

fn render_entry(entry: &Entry, settings: &PageSettings) -> String {
    let time = entry.at.map_or_else(String::new, |at| {
        format!(
            "<time datetime=\"{}\">{}</time>",
            esc(&at.to_string()),
            esc(&settings.wall_clock(at))
        )
    });
    match &entry.what {
        What::Call(call) => render_call(call, &time),
        What::Note { title, text } => format!(
            "<li class=\"note\">{time}<strong>{}</strong><div class=\"text\">{}</div></li>",
            esc(if title.is_empty() { "Comment" } else { title }),
            esc(text)
        ),
        What::Sync {
            full_name,
            responsible,
        } => format!(
            "<li class=\"sync\">{time}<strong>Synced to Ringostat Smart Phone</strong> as \
             “{}”, responsible: {}</li>",
            esc(full_name),
            esc(responsible)
        ),
        What::ClickToCall {
            extension,
            destination,
        } => format!(
            "<li class=\"click\">{time}<strong>Click-to-call</strong>: Ringostat rings {} \
             first, then dials {}</li>",
            esc(extension),
            esc(destination)
        ),
    }
}

fn render_call(call: &Call, time: &str) -> String {
    let direction = match call.incoming {
        Some(true) => "Incoming call",
        Some(false) => "Outgoing call",
        None => "Call",
    };
    let (class, status) = match call.answered {
        Some(true) => ("call answered", ", answered"),
        Some(false) => ("call missed", ", missed"),
        None => ("call", ""),
    };
    let mut parts = vec![format!("<strong>{direction}{status}</strong>")];
    if let Some(duration) = &call.duration {
        parts.push(format!("<span class=\"duration\">{}</span>", esc(duration)));
    }
    if let Some(manager) = &call.manager {
        parts.push(format!("<span class=\"manager\">{}</span>", esc(manager)));
    }
    if let Some(owner) = call
        .owner
        .as_ref()
        .filter(|o| call.manager.as_ref() != Some(o))
    {
        parts.push(format!("<span class=\"owner\">owner {}</span>", esc(owner)));
    }
    if let Some(url) = call
        .recording
        .as_deref()
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
    {
        parts.push(format!("<a href=\"{}\">recording</a>", esc(url)));
    }
    if let Some(state) = &call.state {
        parts.push(format!("<span class=\"muted\">{}</span>", esc(state)));
    }
    let text = if call.description.is_empty() {
        call.subject.clone()
    } else {
        format!("{}\n{}", call.subject, call.description)
    };
    format!(
        "<li class=\"{class}\">{time}{}<div class=\"text\">{}</div></li>",
        parts.join(" · "),
        esc(&text)
    )
}

/// The tables as stored, for a developer: every CRM and Ringostat.
pub(crate) async fn raw(State(state): State<AppState>) -> Html<String> {
    let state = state.lock();
    let mut html = head("CRM sandbox: raw tables", true);
    html.push_str(
        "<h1>CRM sandbox: raw tables</h1>\
         <p>What each CRM and Ringostat hold, as stored (ids, times in UTC, durations as sent). \
         <a href=\"/\">Back to the contacts</a>. Refreshes every 5 seconds.</p>",
    );
    html.push_str(&crate::nethunt::html_section(&state.nethunt));
    html.push_str(&crate::dataverse::html_section(&state.dataverse));
    html.push_str(&crate::ringostat::html_section(&state.ringostat));
    html.push_str(&format!(
        "<h2>Requests</h2><p>{} CRM requests received.</p></body></html>",
        state.requests.len()
    ));
    Html(html)
}

/// A table with a header row; cells are escaped here.
pub(crate) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut html = String::from("<table><tr>");
    for header in headers {
        html.push_str(&format!("<th>{}</th>", crate::html_escape(header)));
    }
    html.push_str("</tr>");
    if rows.is_empty() {
        html.push_str(&format!(
            "<tr><td colspan=\"{}\"><em>none yet</em></td></tr>",
            headers.len()
        ));
    }
    for row in rows {
        html.push_str("<tr>");
        for cell in row {
            html.push_str(&format!("<td>{}</td>", crate::html_escape(cell)));
        }
        html.push_str("</tr>");
    }
    html.push_str("</table>");
    html
}

#[cfg(test)]
mod tests;
