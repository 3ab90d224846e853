//! A typed custom resource, and the dispatch that every resource shares:
//! properties parsed once, physical ids, "properties that never parsed
//! created nothing", and errors turned into a `Reason`.

use super::props::PropertyError;
use super::protocol::Request;
use serde_json::Value;
use std::collections::BTreeMap;
use std::future::Future;
use tokio::time::Instant;

/// The `Data` of a SUCCESS response.
pub type Data = BTreeMap<String, String>;

/// Where a request's resource stands: its stack, its logical id, the id
/// CloudFormation holds for it now, and when the handler must be done.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub stack_id: &'a str,
    pub logical_resource_id: &'a str,
    /// `None` on Create.
    pub physical_resource_id: Option<&'a str>,
    /// When the handler must have returned; the core answers FAILED then.
    pub deadline: Instant,
}

impl Context<'_> {
    /// The physical id a resource of this identity has in this stack.
    pub fn physical_id_for(&self, identity: &str) -> String {
        physical_id(self.stack_id, self.logical_resource_id, identity)
    }
}

/// One kind of custom resource. The core ([`super::run`]) owns the protocol;
/// a resource only says how its properties read and what each request does.
pub trait CustomResource: Send + Sync + 'static {
    type Properties: Send + Sync;
    /// A handled failure. Its `Display` is the response's `Reason`.
    type Error: std::error::Error + Send;

    /// Parses `ResourceProperties`; an error names the property.
    fn parse(properties: &Value) -> Result<Self::Properties, PropertyError>;

    /// What the physical id is made of: the resource is replaced when, and
    /// only when, this changes.
    fn identity(properties: &Self::Properties) -> &str;

    fn create(
        &self,
        properties: &Self::Properties,
        context: &Context<'_>,
    ) -> impl Future<Output = Result<Data, Self::Error>> + Send;

    /// `old` is `None` when the old properties do not parse.
    fn update(
        &self,
        properties: &Self::Properties,
        old: Option<&Self::Properties>,
        context: &Context<'_>,
    ) -> impl Future<Output = Result<Data, Self::Error>> + Send;

    fn delete(
        &self,
        properties: &Self::Properties,
        context: &Context<'_>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// `<stack-name>/<LogicalResourceId>/<identity>`: deterministic, so that a
/// retried Create answers with the same id.
pub fn physical_id(stack_id: &str, logical_resource_id: &str, identity: &str) -> String {
    format!("{}/{logical_resource_id}/{identity}", stack_name(stack_id))
}

/// The stack's name from its ARN (`arn:…:stack/<name>/<uuid>`).
pub fn stack_name(stack_id: &str) -> &str {
    stack_id
        .split_once(":stack/")
        .and_then(|(_, rest)| rest.split('/').next())
        .filter(|name| !name.is_empty())
        .unwrap_or(stack_id)
}

/// The id a Create answers with even when it fails, times out or panics: the
/// one its properties give, so that the Delete CloudFormation then sends can
/// clean up. `None` for other requests, or properties that do not parse.
pub(super) fn create_id<R: CustomResource>(request: &Request) -> Option<String> {
    let Request::Create(create) = request else {
        return None;
    };
    let properties = R::parse(&create.resource_properties).ok()?;
    Some(physical_id(
        &create.stack_id,
        &create.logical_resource_id,
        R::identity(&properties),
    ))
}

/// What a request came to: the physical id to answer with, and the outcome.
pub(super) struct Outcome {
    pub physical_resource_id: Option<String>,
    pub result: Result<Data, String>,
}

/// Runs one request on its resource. Create answers with the id of its
/// properties even when it fails, so that the Delete CloudFormation then
/// sends can clean up; Update and Delete failures keep the request's id.
pub(super) async fn dispatch<R: CustomResource>(
    resource: &R,
    request: &Request,
    deadline: Instant,
) -> Outcome {
    let (properties, old, physical_resource_id, stack_id, logical_resource_id) = match request {
        Request::Create(r) => (
            &r.resource_properties,
            None,
            None,
            &r.stack_id,
            &r.logical_resource_id,
        ),
        Request::Update(r) => (
            &r.resource_properties,
            Some(&r.old_resource_properties),
            Some(r.physical_resource_id.as_str()),
            &r.stack_id,
            &r.logical_resource_id,
        ),
        Request::Delete(r) => (
            &r.resource_properties,
            None,
            Some(r.physical_resource_id.as_str()),
            &r.stack_id,
            &r.logical_resource_id,
        ),
        _ => {
            return Outcome {
                physical_resource_id: None,
                result: Err("Unknown RequestType.".to_owned()),
            };
        }
    };
    let context = Context {
        stack_id,
        logical_resource_id,
        physical_resource_id,
        deadline,
    };
    let parsed = R::parse(properties);
    let reason = |error: &dyn std::fmt::Display| error.to_string();
    match (request, parsed) {
        (Request::Delete(_), Err(_)) => Outcome {
            // Properties that never parsed never created anything.
            physical_resource_id: None,
            result: Ok(Data::new()),
        },
        (_, Err(error)) => Outcome {
            physical_resource_id: None,
            result: Err(reason(&error)),
        },
        (Request::Create(_), Ok(props)) => Outcome {
            physical_resource_id: Some(context.physical_id_for(R::identity(&props))),
            result: resource
                .create(&props, &context)
                .await
                .map_err(|e| reason(&e)),
        },
        (Request::Update(_), Ok(props)) => {
            let old = old.and_then(|old| R::parse(old).ok());
            Outcome {
                physical_resource_id: Some(context.physical_id_for(R::identity(&props))),
                result: resource
                    .update(&props, old.as_ref(), &context)
                    .await
                    .map_err(|e| reason(&e)),
            }
        }
        (_, Ok(props)) => Outcome {
            physical_resource_id: None,
            result: resource
                .delete(&props, &context)
                .await
                .map(|()| Data::new())
                .map_err(|e| reason(&e)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn physical_ids_are_stack_name_logical_id_and_identity() {
        let stack = "arn:aws:cloudformation:us-east-1:123456789012:stack/front/1234";
        assert_eq!(
            physical_id(stack, "Targets", "vpce-1"),
            "front/Targets/vpce-1"
        );
        assert_ne!(
            physical_id(stack, "Targets", "vpce-1"),
            physical_id(stack, "Targets", "vpce-2")
        );
        assert_eq!(stack_name("plain"), "plain");
    }
}
