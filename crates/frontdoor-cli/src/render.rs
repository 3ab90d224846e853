//! What the commands print: text for people, JSON for scripts.

use frontdoor::observe::Observation;
use frontdoor::operate::drill::{DrillReport, Ending, Progress, Restore};
use frontdoor::operate::dry_run::Plan;
use frontdoor::operate::observed;
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
        match &r.observed {
            Some(seen) => println!("  answer    inside the VPC: {}", observed::describe(seen)),
            None => {
                println!("  answer    not observed (the stack has no ObserverFunctionName output)")
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

/// What the observer saw, or why it could not look, in a few words.
fn seen(observed: &Result<Observation, String>) -> String {
    match observed {
        Ok(observation) => observed::describe(observation),
        Err(error) => format!("cannot observe: {error}"),
    }
}

pub fn drill_progress(progress: &Progress) {
    match progress {
        Progress::Inverted => {
            eprintln!("inverted the health check; watching the answer inside the VPC …")
        }
        Progress::Poll {
            elapsed,
            health,
            observed,
        } => eprintln!(
            "  +{:>4} s  Route 53: this Region's check is {health}; in the VPC: {}",
            elapsed.as_secs(),
            seen(observed)
        ),
        Progress::Restoring => eprintln!("restoring the health check …"),
        Progress::Returning { elapsed, observed } => eprintln!(
            "  +{:>4} s  after the restore, in the VPC: {}",
            elapsed.as_secs(),
            seen(observed)
        ),
    }
}

pub fn drill(report: &DrillReport) {
    let other = &report.other_region;
    let outcome = match &report.ending {
        Ending::FailedOver => format!(
            "seen inside the VPC: the answer moved to {other}'s load balancer, and a request through it was served"
        ),
        Ending::TimedOut => format!(
            "timed out: the answer inside the VPC was not seen to move to {other}'s load balancer and be served"
        ),
        Ending::Interrupted => "interrupted".to_owned(),
        Ending::Failed(error) => format!("failed: {error}"),
    };
    println!(
        "drill of stack {} in {} (health check {}, observer {}): {}",
        report.stack,
        report.region,
        report.health_check_id,
        report.observer,
        if report.passed() {
            "PASSED"
        } else {
            "NOT PASSED"
        }
    );
    println!("  {outcome}");
    let t = &report.timeline;
    let at = |step: Option<u64>| step.map_or("not seen".to_owned(), |s| format!("+{s} s"));
    println!("  started                          {}", t.started_at);
    println!(
        "  invert accepted by Route 53      {}",
        at(t.inverted_after_s)
    );
    println!(
        "  Route 53 reports it unhealthy    {}",
        at(t.unhealthy_after_s)
    );
    println!(
        "  answer moved to {other:<16} {}",
        at(t.answer_moved_after_s)
    );
    println!(
        "  request served through it        {}",
        at(t.request_served_after_s)
    );
    println!(
        "  restored                         {}",
        at(t.restored_after_s)
    );
    println!(
        "  answer back in {:<17} {}",
        report.region,
        at(t.answer_back_after_s)
    );
    if let Some(error) = &report.last_observer_error {
        println!("  the observer's last error: {error}");
    }
    if t.restored_after_s.is_some() && t.answer_back_after_s.is_none() {
        println!(
            "  the answer was not seen back within the limit: run `frontdoor status` to follow it"
        );
    }
    if let Restore::Failed { error, command } = &report.restore {
        println!(
            "\nTHE HEALTH CHECK IS NOT RESTORED: {error}\nLook at it, then restore it:\n  {command}"
        );
    }
}
