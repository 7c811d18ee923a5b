//! `crm-sandbox [ADDR] [--demo]`: runs the sandbox for local use (default 127.0.0.1:4010).
//! `--demo` stores the existing client of the `events/` files in both CRMs, owned by the
//! manager of the local staff list, so every event has something to find.

use std::io::Write;
use std::net::SocketAddr;

const USAGE: &str = "\
usage: crm-sandbox [ADDR] [--demo]

The CRM sandbox: fake NetHunt, Dataverse (with its Entra token endpoint), Ringostat API and the
Lambda Parameters and Secrets extension, on one loopback address, with a page at / that shows
what the bridge wrote.

  ADDR    where to listen (default 127.0.0.1:4010)
  --demo  store the existing client of the events/ files, owned by the local staff's manager

scripts/run-local starts it with --demo next to the functions.";

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        // A closed pipe (`| head`) is no error here.
        let _ = writeln!(std::io::stdout(), "{USAGE}");
        return Ok(());
    }
    if let Some(unknown) = args.iter().find(|a| a.starts_with('-') && *a != "--demo") {
        eprintln!("crm-sandbox: unknown option {unknown}\n\n{USAGE}");
        std::process::exit(2);
    }
    let demo = args.iter().any(|a| a == "--demo");
    let raw = args
        .iter()
        .find(|a| !a.starts_with('-'))
        .map_or("127.0.0.1:4010", String::as_str);
    let Ok(addr) = raw.parse::<SocketAddr>() else {
        eprintln!("crm-sandbox: `{raw}` is not an address such as 127.0.0.1:4010\n\n{USAGE}");
        std::process::exit(2);
    };
    let sandbox =
        match crm_sandbox::Sandbox::start_on(addr, crm_sandbox::Credentials::default()).await {
            Ok(sandbox) => sandbox,
            Err(error) if error.kind() == std::io::ErrorKind::AddrInUse => {
                eprintln!(
                    "crm-sandbox: {addr} is in use (a sandbox of scripts/run-local?): stop it, \
                     or give another address, e.g. `crm-sandbox 127.0.0.1:4011`"
                );
                std::process::exit(1);
            }
            Err(error) => return Err(error),
        };
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
