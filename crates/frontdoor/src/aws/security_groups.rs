//! Security-group rules on EC2 (issue 3).
