//! `frontdoor`: the operator's view of a deployed front door.
//!
//! - `status`: is it whole and healthy, which Region serves by Route 53's
//!   API, and what the domain answers inside each Region's VPC;
//! - `plan`: what target-sync would do now, writing nothing;
//! - `drill`: a failover rehearsal that passes only when the answer inside
//!   the VPC was seen to move, and restores the health check on every path
//!   it controls (SIGINT, SIGTERM and SIGHUP included).
//!
//! The logic is the library's (`frontdoor::operate`); this binary parses the
//! arguments, loads the adapters and prints.

mod render;

use clap::{Parser, Subcommand};
use frontdoor::aws::operator::{RegionAdapters, default_region};
use frontdoor::dns::HickoryResolver;
use frontdoor::operate::drill::{self, DrillSettings, Progress};
use frontdoor::operate::{OperateError, dry_run, front_door, status};
use std::process::ExitCode;
use std::sync::Arc;
use tokio::sync::Notify;

/// Exit code of a command that could not run: bad arguments, or a stack or
/// resource it could not read.
const COULD_NOT_RUN: u8 = 3;

#[derive(Parser)]
#[command(
    name = "frontdoor",
    version,
    about = "See, plan and drill a deployed frontdoor stack"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Whether the front door is whole and healthy in each Region, which
    /// Region the failover record serves, and what the domain answers inside
    /// each Region's VPC. Exit 0: whole; 1: drift; 2: unhealthy; 3: could not run.
    Status {
        /// The stack's name (the same in every Region).
        #[arg(long)]
        stack: String,
        /// A Region of the stack; repeat for each. Default: the environment's.
        #[arg(long = "region")]
        regions: Vec<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// What target-sync would do now, as a dry run that writes nothing.
    /// Exit 0: in sync; 1: it would write; 3: could not run.
    Plan {
        /// The stack's name.
        #[arg(long)]
        stack: String,
        /// Default: the environment's Region.
        #[arg(long)]
        region: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Rehearse a failover: invert this Region's health check, watch the
    /// answer inside the VPC move to the other Region and a request through
    /// it be served, restore. Exit 0: passed; 1: did not pass (the check was
    /// restored); 2: refused (nothing changed); 3: could not run; 4: the
    /// check could not be restored (the command to run is printed).
    Drill {
        /// The stack's name.
        #[arg(long)]
        stack: String,
        /// The Region to fail over from.
        #[arg(long)]
        region: String,
        /// How long to wait for the failover before restoring.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=60))]
        minutes: u64,
        /// Confirm: the drill fails this Region's health check for real.
        #[arg(long)]
        yes: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { COULD_NOT_RUN } else { 0 });
        }
    };
    let code = match cli.command {
        Command::Status {
            stack,
            regions,
            json,
        } => run_status(&stack, regions, json).await,
        Command::Plan {
            stack,
            region,
            json,
        } => run_plan(&stack, region, json).await,
        Command::Drill {
            stack,
            region,
            minutes,
            yes,
            json,
        } => run_drill(&stack, &region, minutes, yes, json).await,
    };
    ExitCode::from(code.unwrap_or_else(|err| {
        eprintln!("frontdoor: {err}");
        COULD_NOT_RUN
    }))
}

async fn region_or_default(region: Option<String>) -> Result<String, String> {
    match region {
        Some(region) => Ok(region),
        None => default_region()
            .await
            .ok_or_else(|| "no Region: pass --region, or set AWS_REGION".to_owned()),
    }
}

async fn run_status(stack: &str, regions: Vec<String>, json: bool) -> Result<u8, String> {
    let regions = match regions.is_empty() {
        true => vec![region_or_default(None).await?],
        false => regions,
    };
    let mut statuses = Vec::new();
    for region in &regions {
        let adapters = RegionAdapters::load(region).await;
        let front_door = front_door::read(&adapters.stacks, stack, region)
            .await
            .map_err(|e| e.to_string())?;
        let mut region_status =
            status::region_status(&front_door, &adapters.readers, HickoryResolver::new(None)).await;
        status::observe(&mut region_status, &front_door, &adapters.observer).await;
        statuses.push(region_status);
    }
    let verdict = status::verdict(&statuses);
    if json {
        render::json(&serde_json::json!({ "verdict": verdict, "regions": statuses }));
    } else {
        render::status(stack, &statuses, verdict);
    }
    Ok(verdict.exit_code())
}

async fn run_plan(stack: &str, region: Option<String>, json: bool) -> Result<u8, String> {
    let region = region_or_default(region).await?;
    let adapters = RegionAdapters::load(&region).await;
    let front_door = front_door::read(&adapters.stacks, stack, &region)
        .await
        .map_err(|e| e.to_string())?;
    let readers = adapters.readers;
    let plan = dry_run::plan(
        &front_door,
        readers.directory,
        readers.registry,
        HickoryResolver::new(None),
    )
    .await;
    if json {
        render::json(&plan);
    } else {
        render::plan(&plan);
    }
    Ok(if plan.run.errors() > 0 {
        COULD_NOT_RUN
    } else if plan.writes.is_empty() {
        0
    } else {
        1
    })
}

async fn run_drill(
    stack: &str,
    region: &str,
    minutes: u64,
    yes: bool,
    json: bool,
) -> Result<u8, String> {
    const REFUSED: u8 = 2;
    if !yes {
        eprintln!(
            "frontdoor: a drill fails the health check of stack {stack} in {region} for real, for up to {minutes} minute(s); add --yes to go ahead"
        );
        return Ok(REFUSED);
    }
    let adapters = RegionAdapters::load(region).await;
    let front_door = front_door::read(&adapters.stacks, stack, region)
        .await
        .map_err(|e: OperateError| e.to_string())?;
    // SIGINT, SIGTERM and SIGHUP (ctrlc's `termination` feature) ask the
    // drill to stop: a closed terminal or a cancelled CI job restores the
    // check too, then the drill returns.
    let stop = Arc::new(Notify::new());
    let handler_stop = Arc::clone(&stop);
    ctrlc::set_handler(move || handler_stop.notify_one())
        .map_err(|e| format!("cannot watch for SIGINT, SIGTERM and SIGHUP: {e}"))?;
    let credentials_expire_at = adapters.credentials_expire_at().await;
    let report = drill::drill(
        &adapters.readers.route53,
        &adapters.observer,
        &front_door,
        DrillSettings::for_minutes(minutes, credentials_expire_at),
        async { stop.notified().await },
        |progress: &Progress| render::drill_progress(progress),
    )
    .await;
    let report = match report {
        Ok(report) => report,
        Err(drill::Refusal::Read(err)) => return Err(err.to_string()),
        Err(refusal) => {
            eprintln!("frontdoor: drill refused: {refusal}");
            return Ok(REFUSED);
        }
    };
    if json {
        render::json(&report);
    } else {
        render::drill(&report);
    }
    Ok(match (&report.restore, report.passed()) {
        (drill::Restore::Failed { .. }, _) => 4,
        (_, true) => 0,
        (_, false) => 1,
    })
}
