//! `crm-sandbox [ADDR] [--demo]`: runs the sandbox for local use (default 127.0.0.1:4010).
//! `--demo` stores the existing client of the `events/` files in both CRMs, owned by the
//! manager of the local staff list, so every event has something to find.

use std::net::SocketAddr;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let demo = args.iter().any(|a| a == "--demo");
    let addr: SocketAddr = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map_or("127.0.0.1:4010", String::as_str)
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let sandbox = crm_sandbox::Sandbox::start_on(addr, crm_sandbox::Credentials::default()).await?;
    if demo {
        sandbox.state().seed_demo();
    }
    println!("CRM sandbox on {}", sandbox.base_url());
    println!("  page:      {}/", sandbox.base_url());
    println!("  NetHunt:   {}", sandbox.nethunt_base_url());
    println!("  Dataverse: {}/api/data/v9.2", sandbox.dataverse_url());
    println!("  Ringostat: {}", sandbox.ringostat_api_url());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
