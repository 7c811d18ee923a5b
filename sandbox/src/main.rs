//! `crm-sandbox [ADDR] [--demo] [--crm nethunt|dataverse] [--time-zone ZONE]`: runs the
//! sandbox for local use (default 127.0.0.1:4010). `--demo` stores the existing client of the
//! `events/` files in both CRMs, owned by the manager of the local staff list, so every event
//! has something to find. `--crm` and `--time-zone` tell the page which CRM the run writes to
//! and in which time zone to show times.

use std::io::Write;
use std::net::SocketAddr;

use crm_sandbox::{DEFAULT_TIME_ZONE, PageSettings};

const USAGE: &str = "\
usage: crm-sandbox [ADDR] [--demo] [--crm nethunt|dataverse] [--time-zone ZONE]

The CRM sandbox: fake NetHunt, Dataverse (with its Entra token endpoint), Ringostat API and the
Lambda Parameters and Secrets extension, on one loopback address, with a page at / that shows
what the bridge wrote, one card per contact.

  ADDR              where to listen (default 127.0.0.1:4010)
  --demo            store the existing client of the events/ files, owned by the local staff's
                    manager
  --crm CRM         the CRM this run of the bridge writes to (nethunt or dataverse): the page
                    shows it and keeps the other one a click away (default: both shown)
  --time-zone ZONE  the project's time zone for the page's times (the bridge's TIME_ZONE;
                    default Europe/Kyiv)

scripts/run-local starts it with --demo, --crm and --time-zone next to the functions.";

/// What the command line asks for.
struct Options {
    addr: SocketAddr,
    demo: bool,
    page: PageSettings,
}

/// The options, or the message to print before the usage.
fn parse(args: &[String]) -> Result<Options, String> {
    let mut addr = None;
    let mut demo = false;
    let mut page = PageSettings::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        // `--crm=dataverse` and `--crm dataverse` alike.
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next().cloned())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag {
            "--demo" => demo = true,
            "--crm" => {
                let crm = value("--crm")?;
                page.crm = Some(crm.parse().map_err(|e| format!("--crm: {e}"))?);
            }
            "--time-zone" => {
                let zone = value("--time-zone")?;
                page.set_time_zone(&zone)
                    .map_err(|e| format!("--time-zone: {e}"))?;
            }
            other if other.starts_with('-') => return Err(format!("unknown option {other}")),
            raw => {
                let parsed = raw
                    .parse::<SocketAddr>()
                    .map_err(|_| format!("`{raw}` is not an address such as 127.0.0.1:4010"))?;
                addr = Some(parsed);
            }
        }
    }
    Ok(Options {
        addr: addr.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 4010))),
        demo,
        page,
    })
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        // A closed pipe (`| head`) is no error here.
        let _ = writeln!(std::io::stdout(), "{USAGE}");
        return Ok(());
    }
    let options = match parse(&args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("crm-sandbox: {message}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    let addr = options.addr;
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
    {
        let mut state = sandbox.state();
        if options.demo {
            state.seed_demo();
        }
        state.page = options.page;
    }
    let page = sandbox.state().page.clone();
    println!("CRM sandbox on {}", sandbox.base_url());
    println!(
        "  page:      {}/ ({}, times in {})",
        sandbox.base_url(),
        page.crm.map_or("both CRMs", |crm| crm.label()),
        page.time_zone_name()
    );
    println!("  NetHunt:   {}", sandbox.nethunt_base_url());
    println!("  Dataverse: {}/api/data/v9.2", sandbox.dataverse_url());
    println!("  Ringostat: {}", sandbox.ringostat_api_url());
    if page.time_zone_name() != DEFAULT_TIME_ZONE {
        println!(
            "  (time zone {} instead of {DEFAULT_TIME_ZONE})",
            page.time_zone_name()
        );
    }
    tokio::signal::ctrl_c().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crm_sandbox::RunCrm;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|a| (*a).to_owned()).collect()
    }

    #[test]
    fn reads_the_run_crm_and_time_zone_in_either_spelling() {
        let options = parse(&args(&[
            "127.0.0.1:4011",
            "--demo",
            "--crm",
            "dataverse",
            "--time-zone=Europe/Warsaw",
        ]))
        .expect("valid");
        assert_eq!(options.addr.port(), 4011);
        assert!(options.demo);
        assert_eq!(options.page.crm, Some(RunCrm::Dataverse));
        assert_eq!(options.page.time_zone_name(), "Europe/Warsaw");

        let defaults = parse(&[]).expect("valid");
        assert_eq!(defaults.addr.port(), 4010);
        assert_eq!(defaults.page.crm, None);
        assert_eq!(defaults.page.time_zone_name(), DEFAULT_TIME_ZONE);
    }

    #[test]
    fn a_bad_value_is_named() {
        for (list, expected) in [
            (&["--crm", "pipedrive"][..], "--crm: `pipedrive` is no CRM"),
            (&["--crm"][..], "--crm needs a value"),
            (
                &["--time-zone", "Kyiv"][..],
                "--time-zone: `Kyiv` is not an IANA",
            ),
            (&["--verbose"][..], "unknown option --verbose"),
            (&["localhost"][..], "`localhost` is not an address"),
        ] {
            let error = parse(&args(list)).err().expect("refused");
            assert!(error.contains(expected), "{list:?}: {error}");
        }
    }
}
