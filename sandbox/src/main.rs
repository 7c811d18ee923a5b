//! `crm-sandbox [ADDR]`: runs the sandbox for local use (default 127.0.0.1:4010).

use std::net::SocketAddr;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:4010".into())
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let sandbox = crm_sandbox::Sandbox::start_on(addr, crm_sandbox::Credentials::default()).await?;
    println!("CRM sandbox on {}", sandbox.base_url());
    println!("  page:      {}/", sandbox.base_url());
    println!("  NetHunt:   {}", sandbox.nethunt_base_url());
    println!("  Dataverse: {}/api/data/v9.2", sandbox.dataverse_url());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
