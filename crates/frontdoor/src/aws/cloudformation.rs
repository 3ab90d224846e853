//! [`Stacks`] on CloudFormation (the operator CLI).

use super::sdk_error;
use crate::model::StackDescription;
use crate::ports::{AwsError, Stacks};

/// [`Stacks`] on CloudFormation.
#[derive(Debug, Clone)]
pub struct CloudFormationStacks {
    client: aws_sdk_cloudformation::Client,
}

impl CloudFormationStacks {
    pub fn new(client: aws_sdk_cloudformation::Client) -> Self {
        Self { client }
    }
}

impl Stacks for CloudFormationStacks {
    async fn stack(&self, name: &str) -> Result<Option<StackDescription>, AwsError> {
        let result = self
            .client
            .describe_stacks()
            .stack_name(name)
            .send()
            .await
            .map_err(|e| sdk_error("DescribeStacks", e));
        let output = match result {
            // CloudFormation names a missing stack only in the message.
            Err(err)
                if err.has_code("ValidationError") && err.message.contains("does not exist") =>
            {
                return Ok(None);
            }
            other => other?,
        };
        Ok(output.stacks().first().map(|stack| StackDescription {
            name: stack.stack_name().unwrap_or(name).to_owned(),
            status: stack
                .stack_status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            changed_at: stack
                .last_updated_time()
                .or(stack.creation_time())
                .and_then(|t| std::time::SystemTime::try_from(*t).ok()),
            outputs: stack
                .outputs()
                .iter()
                .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
                .collect(),
            parameters: stack
                .parameters()
                .iter()
                .filter_map(|p| {
                    Some((
                        p.parameter_key()?.to_owned(),
                        p.parameter_value()?.to_owned(),
                    ))
                })
                .collect(),
        }))
    }
}
