//! What the commands print: text for people, JSON for scripts.

use frontdoor::operate::drill::{DrillReport, Ending, Progress, Restore};
use frontdoor::operate::dry_run::Plan;
use frontdoor::operate::status::{RegionStatus, Verdict};
use serde::Serialize;

pub fn json(value: &impl Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(err) => eprintln!("frontdoor: cannot write JSON: {err}"),
    }
}

fn verdict_word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Whole => "WHOLE",
        Verdict::Drift => "DRIFT",
        Verdict::Unhealthy => "UNHEALTHY",
    }
}

fn list(items: impl IntoIterator<Item = String>) -> String {
    let items: Vec<String> = items.into_iter().collect();
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

pub fn status(stack: &str, regions: &[RegionStatus], verdict: Verdict) {
    println!("stack {stack}: {}", verdict_word(verdict));
    for r in regions {
        println!(
            "\n{} ({}): {}",
            r.region,
            r.domain_name,
            verdict_word(r.verdict)
        );
        println!(
            "  endpoint  {}: {}",
            r.vpc_endpoint_id,
            list(r.endpoint_ips.iter().cloned())
        );
        println!(
            "  targets   {}",
            list(
                r.targets
                    .iter()
                    .map(|t| { format!("{}:{} {}", t.ip, t.port, t.state) })
            )
        );
        println!(
            "  drift     {}",
            list(r.drift.iter().map(ToString::to_string))
        );
        for group in &r.ingress {
            println!(
                "  ingress   {} {}: {}",
                group.output,
                group.group_id,
                list(group.rules.iter().cloned())
            );
        }
        for check in &r.health_checks {
            let inverted = if check.inverted { ", INVERTED" } else { "" };
            println!(
                "  check     {} {} ({}{inverted}): {}",
                check.output,
                check.id,
                check.check_type.as_deref().unwrap_or("not found"),
                check.health
            );
        }
        match &r.failover {
            None => println!("  record    simple (FailoverRole NONE)"),
            Some(failover) => {
                let serving = failover.serving.as_ref().map_or("unknown".to_owned(), |s| {
                    format!("{:?} ({})", s.role, s.region.as_deref().unwrap_or("?")).to_uppercase()
                });
                println!(
                    "  record    {:?} of a failover pair; Route 53 answers with {serving}",
                    failover.role
                );
            }
        }
        for problem in &r.problems {
            println!("  problem   {problem}");
        }
    }
}

pub fn plan(plan: &Plan) {
    println!("plan for stack {} in {}:", plan.stack, plan.region);
    for binding in &plan.run.bindings {
        if let Some(reason) = &binding.skipped {
            println!("  cannot plan: {reason}");
        }
    }
    if plan.writes.is_empty() {
        println!("  nothing to do: target-sync would write nothing");
    }
    for write in &plan.writes {
        println!("  would {write}");
    }
}

pub fn drill_progress(progress: &Progress) {
    match progress {
        Progress::Inverted => eprintln!("inverted the health check; waiting for Route 53 …"),
        Progress::Poll {
            elapsed,
            health,
            serving,
        } => eprintln!(
            "  +{:>4} s  this Region's check: {health}; answering: {}",
            elapsed.as_secs(),
            serving.as_deref().unwrap_or("unknown")
        ),
        Progress::Restoring => eprintln!("restoring the health check …"),
    }
}

pub fn drill(report: &DrillReport) {
    let outcome = match &report.ending {
        Ending::FailedOver => "the other Region took over".to_owned(),
        Ending::TimedOut => "timed out before the other Region took over".to_owned(),
        Ending::Interrupted => "interrupted".to_owned(),
        Ending::Failed(error) => format!("failed: {error}"),
    };
    println!(
        "drill of stack {} in {} (health check {}): {}",
        report.stack,
        report.region,
        report.health_check_id,
        if report.passed() {
            "PASSED"
        } else {
            "NOT PASSED"
        }
    );
    println!("  {outcome}");
    let t = &report.timeline;
    let at = |step: Option<u64>| step.map_or("not reached".to_owned(), |s| format!("+{s} s"));
    let other = report.other_region.as_deref().unwrap_or("the other Region");
    println!("  started           {}", t.started_at);
    println!("  inverted          {}", at(t.inverted_after_s));
    println!("  unhealthy         {}", at(t.unhealthy_after_s));
    println!("  {other} serving {}", at(t.other_region_serving_after_s));
    println!("  restored          {}", at(t.restored_after_s));
    if let Restore::Failed { error, command } = &report.restore {
        println!("\nTHE HEALTH CHECK IS STILL INVERTED: {error}\nRestore it now:\n  {command}");
    }
}
