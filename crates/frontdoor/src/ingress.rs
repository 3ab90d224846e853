//! `Custom::PrefixListIngress` (issue 3).
