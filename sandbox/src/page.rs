//! The read-only page: what each CRM holds now, so a person can see what the bridge wrote.

use axum::extract::State;
use axum::response::Html;

use crate::AppState;

pub async fn index(State(state): State<AppState>) -> Html<String> {
    let state = state.lock();
    let mut html = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"5\"><title>CRM sandbox</title>\
         <style>body{font-family:system-ui,sans-serif;margin:2rem;color:#222}\
         table{border-collapse:collapse;margin-bottom:2rem;width:100%}\
         th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top;\
         font-size:.9rem;white-space:pre-wrap}th{background:#f3f3f3}h2{margin-top:2.5rem}</style>\
         </head><body><h1>CRM sandbox</h1>\
         <p>What the bridge wrote into each CRM. Refreshes every 5 seconds.</p>",
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
