//! moto_server as the AWS API: one fresh account per test, so that tests run
//! in parallel without sharing state, and fixtures that build what a stack
//! would.

use aws_sdk_ec2::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_ec2::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, PrefixListId, SecurityGroupRule, Tag, VpcEndpointType,
};
use aws_sdk_elasticloadbalancingv2::types::{
    ProtocolEnum, Tag as ElbTag, TargetDescription, TargetGroupIpAddressTypeEnum, TargetTypeEnum,
};
use frontdoor::aws::config::ClientSettings;
use frontdoor::aws::security_groups::Ec2SecurityGroups;
use frontdoor::aws::{Ec2Endpoints, ElbTargets};
use frontdoor::dns::HickoryResolver;
use frontdoor::resources::endpoint_targets::EndpointTargets;
use frontdoor::resources::prefix_list_ingress::PrefixListIngress;
use frontdoor::sync::Syncer;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub const REGION: &str = "us-east-1";

/// The moto_server that `scripts/with-moto` started.
pub fn moto_url() -> String {
    std::env::var("MOTO_URL")
        .expect("MOTO_URL is not set: run the tests through `make test` (scripts/with-moto)")
}

/// Sends `x-moto-account-id` on every request, which moto uses as the account.
#[derive(Debug)]
struct MotoAccount(String);

impl Intercept for MotoAccount {
    fn name(&self) -> &'static str {
        "MotoAccount"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_ec2::error::BoxError> {
        context
            .request_mut()
            .headers_mut()
            .insert("x-moto-account-id", self.0.clone());
        Ok(())
    }
}

/// A fresh moto account with its own clients.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub ec2: aws_sdk_ec2::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
}

static NEXT_ACCOUNT: AtomicU64 = AtomicU64::new(0);

impl Account {
    pub async fn new() -> Self {
        Self::at(&moto_url()).await
    }

    /// An account whose clients talk to `endpoint` (moto, or a proxy before it).
    pub async fn at(endpoint: &str) -> Self {
        let n = NEXT_ACCOUNT.fetch_add(1, Ordering::Relaxed);
        let id = format!("{:06}{:06}", std::process::id() % 1_000_000, n);
        Self::with_id(endpoint, id).await
    }

    pub async fn with_id(endpoint: &str, id: String) -> Self {
        let config = sdk_config(endpoint).await;
        let ec2 = aws_sdk_ec2::Client::from_conf(
            aws_sdk_ec2::config::Builder::from(&config)
                .interceptor(MotoAccount(id.clone()))
                .build(),
        );
        let elb = aws_sdk_elasticloadbalancingv2::Client::from_conf(
            aws_sdk_elasticloadbalancingv2::config::Builder::from(&config)
                .interceptor(MotoAccount(id.clone()))
                .build(),
        );
        Self { id, ec2, elb }
    }

    /// `eni-targets` on this account's clients.
    pub fn endpoint_targets(&self) -> Arc<EndpointTargets<Ec2Endpoints, ElbTargets>> {
        Arc::new(EndpointTargets::new(
            Ec2Endpoints::new(self.ec2.clone()),
            ElbTargets::new(self.elb.clone()),
        ))
    }

    /// `target-sync` on this account's clients, for endpoint bindings: its
    /// resolver points at a port where no DNS server listens, and they never ask.
    pub fn syncer(&self) -> Syncer<Ec2Endpoints, ElbTargets, HickoryResolver> {
        self.syncer_asking(SocketAddr::from(([127, 0, 0, 1], 9)))
    }

    /// `target-sync` on this account's clients, asking this DNS server.
    pub fn syncer_asking(
        &self,
        dns_server: SocketAddr,
    ) -> Syncer<Ec2Endpoints, ElbTargets, HickoryResolver> {
        Syncer::new(
            Ec2Endpoints::new(self.ec2.clone()),
            ElbTargets::new(self.elb.clone()),
            HickoryResolver::new(Some(dns_server)),
        )
    }

    /// `prefix-list-ingress` on this account's clients.
    pub fn prefix_list_ingress(&self) -> Arc<PrefixListIngress<Ec2SecurityGroups>> {
        Arc::new(PrefixListIngress::new(Ec2SecurityGroups::new(
            self.ec2.clone(),
        )))
    }

    /// The same account reached through another endpoint.
    pub async fn via(&self, endpoint: &str) -> Self {
        Self::with_id(endpoint, self.id.clone()).await
    }

    /// A VPC with `subnets` private subnets, each in its own zone.
    pub async fn vpc(&self, subnets: usize) -> Vpc {
        let vpc_id = self
            .ec2
            .create_vpc()
            .cidr_block("10.0.0.0/16")
            .send()
            .await
            .unwrap()
            .vpc
            .and_then(|v| v.vpc_id)
            .unwrap();
        let mut subnet_ids = Vec::new();
        for i in 0..subnets {
            let zone = ["a", "b", "c", "d"][i % 4];
            let subnet = self
                .ec2
                .create_subnet()
                .vpc_id(&vpc_id)
                .cidr_block(format!("10.0.{i}.0/24"))
                .availability_zone(format!("{REGION}{zone}"))
                .send()
                .await
                .unwrap();
            subnet_ids.push(subnet.subnet.and_then(|s| s.subnet_id).unwrap());
        }
        Vpc { vpc_id, subnet_ids }
    }

    /// An execute-api interface endpoint in the subnets.
    pub async fn endpoint(&self, vpc: &Vpc, subnets: usize) -> String {
        self.ec2
            .create_vpc_endpoint()
            .vpc_id(&vpc.vpc_id)
            .vpc_endpoint_type(VpcEndpointType::Interface)
            .service_name(format!("com.amazonaws.{REGION}.execute-api"))
            .set_subnet_ids(Some(vpc.subnet_ids[..subnets].to_vec()))
            .send()
            .await
            .unwrap()
            .vpc_endpoint
            .and_then(|e| e.vpc_endpoint_id)
            .unwrap()
    }

    /// Adds a subnet to an endpoint. moto changes its `SubnetIds` and never
    /// its interfaces: the endpoint stays with fewer interfaces than
    /// subnets, as a real one does for a while (transitional).
    pub async fn add_subnet(&self, endpoint_id: &str, subnet_id: &str) {
        self.ec2
            .modify_vpc_endpoint()
            .vpc_endpoint_id(endpoint_id)
            .add_subnet_ids(subnet_id)
            .send()
            .await
            .unwrap();
    }

    /// The endpoint's interface ids, as `DescribeVpcEndpoints` lists them.
    pub async fn endpoint_interfaces(&self, endpoint_id: &str) -> Vec<String> {
        self.ec2
            .describe_vpc_endpoints()
            .vpc_endpoint_ids(endpoint_id)
            .send()
            .await
            .unwrap()
            .vpc_endpoints()[0]
            .network_interface_ids()
            .to_vec()
    }

    /// Deletes an interface behind the endpoint's back: the endpoint still
    /// lists it, as EC2's eventually consistent reads may just after a
    /// subnet was removed.
    pub async fn delete_interface(&self, interface_id: &str) {
        self.ec2
            .delete_network_interface()
            .network_interface_id(interface_id)
            .send()
            .await
            .unwrap();
    }

    pub async fn delete_endpoint(&self, endpoint_id: &str) {
        self.ec2
            .delete_vpc_endpoints()
            .vpc_endpoint_ids(endpoint_id)
            .send()
            .await
            .unwrap();
    }

    /// The endpoint's ENI IPs, as `DescribeNetworkInterfaces` reports them.
    pub async fn endpoint_ips(&self, endpoint_id: &str) -> Vec<String> {
        let enis = self.endpoint_interfaces(endpoint_id).await;
        assert!(!enis.is_empty(), "{endpoint_id} has no ENIs");
        let mut ips: Vec<String> = self
            .ec2
            .describe_network_interfaces()
            .set_network_interface_ids(Some(enis))
            .send()
            .await
            .unwrap()
            .network_interfaces()
            .iter()
            .filter_map(|n| n.private_ip_address().map(str::to_owned))
            .collect();
        ips.sort();
        ips
    }

    /// An IP target group on HTTPS 443.
    pub async fn target_group(&self, vpc: &Vpc, name: &str) -> String {
        self.target_group_of(vpc, name, TargetGroupIpAddressTypeEnum::Ipv4)
            .await
    }

    /// An IP target group on HTTPS 443 whose `IpAddressType` is `ipv6`.
    pub async fn ipv6_target_group(&self, vpc: &Vpc, name: &str) -> String {
        self.target_group_of(vpc, name, TargetGroupIpAddressTypeEnum::Ipv6)
            .await
    }

    async fn target_group_of(
        &self,
        vpc: &Vpc,
        name: &str,
        family: TargetGroupIpAddressTypeEnum,
    ) -> String {
        self.elb
            .create_target_group()
            .name(name)
            .protocol(ProtocolEnum::Https)
            .port(443)
            .vpc_id(&vpc.vpc_id)
            .target_type(TargetTypeEnum::Ip)
            .ip_address_type(family)
            .send()
            .await
            .unwrap()
            .target_groups()[0]
            .target_group_arn()
            .unwrap()
            .to_owned()
    }

    /// Gives each of the endpoint's interfaces an IPv6 address, as a
    /// dual-stack endpoint has (moto's endpoints are IPv4 only); returns
    /// them, sorted.
    pub async fn make_dual_stack(&self, endpoint_id: &str) -> Vec<String> {
        let mut addresses = Vec::new();
        for (i, eni) in self
            .endpoint_interfaces(endpoint_id)
            .await
            .iter()
            .enumerate()
        {
            let address = format!("2600:1f18:0:{}::10", i + 1);
            self.ec2
                .assign_ipv6_addresses()
                .network_interface_id(eni)
                .ipv6_addresses(&address)
                .send()
                .await
                .unwrap();
            addresses.push(address);
        }
        addresses.sort();
        addresses
    }

    pub async fn delete_target_group(&self, arn: &str) {
        self.elb
            .delete_target_group()
            .target_group_arn(arn)
            .send()
            .await
            .unwrap();
    }

    /// The group's targets as sorted `ip:port` strings.
    pub async fn targets(&self, arn: &str) -> Vec<String> {
        let mut targets: Vec<String> = self
            .elb
            .describe_target_health()
            .target_group_arn(arn)
            .send()
            .await
            .unwrap()
            .target_health_descriptions()
            .iter()
            .filter_map(|d| d.target())
            .map(|t| {
                format!(
                    "{}:{}",
                    t.id().unwrap_or_default(),
                    t.port().unwrap_or_default()
                )
            })
            .collect();
        targets.sort();
        targets
    }

    /// The group's IPs on one port, sorted.
    pub async fn ips_on(&self, arn: &str, port: u16) -> Vec<String> {
        let suffix = format!(":{port}");
        self.targets(arn)
            .await
            .into_iter()
            .filter_map(|t| t.strip_suffix(&suffix).map(str::to_owned))
            .collect()
    }

    /// The group's tags.
    pub async fn tags(&self, arn: &str) -> BTreeMap<String, String> {
        let output = self
            .elb
            .describe_tags()
            .resource_arns(arn)
            .send()
            .await
            .unwrap();
        output.tag_descriptions()[0]
            .tags()
            .iter()
            .map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned()))
            .collect()
    }

    /// Tags the group by hand, as its owners would.
    pub async fn tag(&self, arn: &str, tags: &BTreeMap<String, String>) {
        let tags: Vec<ElbTag> = tags
            .iter()
            .map(|(k, v)| ElbTag::builder().key(k).value(v).build())
            .collect();
        self.elb
            .add_tags()
            .resource_arns(arn)
            .set_tags(Some(tags))
            .send()
            .await
            .unwrap();
    }

    pub async fn register(&self, arn: &str, ip: &str, port: u16) {
        self.elb
            .register_targets()
            .target_group_arn(arn)
            .targets(target(ip, port))
            .send()
            .await
            .unwrap();
    }

    pub async fn deregister(&self, arn: &str, ip: &str, port: u16) {
        self.elb
            .deregister_targets()
            .target_group_arn(arn)
            .targets(target(ip, port))
            .send()
            .await
            .unwrap();
    }

    /// A security group in the VPC.
    pub async fn security_group(&self, vpc: &Vpc, name: &str) -> String {
        self.ec2
            .create_security_group()
            .group_name(name)
            .description("test group")
            .vpc_id(&vpc.vpc_id)
            .send()
            .await
            .unwrap()
            .group_id()
            .unwrap()
            .to_owned()
    }

    /// The id of a managed prefix list, looked up by name.
    pub async fn prefix_list_id(&self, name: &str) -> String {
        self.ec2
            .describe_managed_prefix_lists()
            .filters(
                Filter::builder()
                    .name("prefix-list-name")
                    .values(name)
                    .build(),
            )
            .send()
            .await
            .unwrap()
            .prefix_lists()[0]
            .prefix_list_id()
            .unwrap()
            .to_owned()
    }

    /// The number of entries a managed prefix list holds.
    pub async fn prefix_list_entry_count(&self, prefix_list_id: &str) -> u64 {
        self.ec2
            .get_managed_prefix_list_entries()
            .prefix_list_id(prefix_list_id)
            .send()
            .await
            .unwrap()
            .entries()
            .len() as u64
    }

    /// The group's inbound rules.
    pub async fn inbound_rules(&self, group_id: &str) -> Vec<SecurityGroupRule> {
        self.ec2
            .describe_security_group_rules()
            .filters(Filter::builder().name("group-id").values(group_id).build())
            .send()
            .await
            .unwrap()
            .security_group_rules()
            .iter()
            .filter(|r| r.is_egress() == Some(false))
            .cloned()
            .collect()
    }

    /// What the group's inbound rules grant, each as [`shape`] writes it.
    pub async fn grants(&self, group_id: &str) -> BTreeSet<String> {
        self.inbound_rules(group_id)
            .await
            .iter()
            .map(shape)
            .collect()
    }

    /// Adds an inbound rule by hand, as a person would in the console, and
    /// returns its id.
    pub async fn authorize_by_hand(&self, group_id: &str, permission: IpPermission) -> String {
        self.ec2
            .authorize_security_group_ingress()
            .group_id(group_id)
            .ip_permissions(permission)
            .send()
            .await
            .unwrap()
            .security_group_rules()[0]
            .security_group_rule_id()
            .unwrap()
            .to_owned()
    }

    /// A TCP rule on one port from a prefix list, added by hand.
    pub async fn allow_prefix_list(
        &self,
        group_id: &str,
        prefix_list_id: &str,
        port: u16,
    ) -> String {
        let permission = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(i32::from(port))
            .to_port(i32::from(port))
            .prefix_list_ids(
                PrefixListId::builder()
                    .prefix_list_id(prefix_list_id)
                    .build(),
            )
            .build();
        self.authorize_by_hand(group_id, permission).await
    }

    /// A TCP rule on one port from an IPv4 CIDR, added by hand.
    pub async fn allow_cidr(&self, group_id: &str, cidr: &str, port: u16) -> String {
        let permission = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(i32::from(port))
            .to_port(i32::from(port))
            .ip_ranges(IpRange::builder().cidr_ip(cidr).build())
            .build();
        self.authorize_by_hand(group_id, permission).await
    }

    /// Adds a tag to a security-group rule.
    pub async fn tag_rule(&self, rule_id: &str, key: &str, value: &str) {
        self.ec2
            .create_tags()
            .resources(rule_id)
            .tags(Tag::builder().key(key).value(value).build())
            .send()
            .await
            .unwrap();
    }

    pub async fn revoke_rule(&self, group_id: &str, rule_id: &str) {
        self.ec2
            .revoke_security_group_ingress()
            .group_id(group_id)
            .security_group_rule_ids(rule_id)
            .send()
            .await
            .unwrap();
    }

    pub async fn delete_security_group(&self, group_id: &str) {
        self.ec2
            .delete_security_group()
            .group_id(group_id)
            .send()
            .await
            .unwrap();
    }
}

/// The functions' own SDK configuration (timeouts and retries), for an
/// endpoint, with test credentials.
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    ClientSettings::default()
        .loader()
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_ec2::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .load()
        .await
}

#[derive(Debug, Clone)]
pub struct Vpc {
    pub vpc_id: String,
    pub subnet_ids: Vec<String>,
}

/// A rule as `tcp/443/pl-…` or `tcp/443/sg-…` (CIDR rules as `tcp/80/10.…`).
pub fn shape(rule: &SecurityGroupRule) -> String {
    let source = rule
        .prefix_list_id()
        .or_else(|| rule.referenced_group_info().and_then(|g| g.group_id()))
        .or(rule.cidr_ipv4())
        .unwrap_or_default();
    format!(
        "{}/{}/{source}",
        rule.ip_protocol().unwrap_or_default(),
        rule.from_port().unwrap_or_default()
    )
}

fn target(ip: &str, port: u16) -> TargetDescription {
    TargetDescription::builder()
        .id(ip)
        .port(i32::from(port))
        .build()
}
