//! The SDK clients of one run, built from aws-config's default credential chain (environment,
//! profiles, SSO, web identity, instance roles), an optional profile and an optional role to
//! assume.
//!
//! License Manager and CloudTrail are pinned to `us-east-1`, where Marketplace licenses and
//! their grant history live; Organizations and Cost Explorer resolve there anyway. The
//! standard endpoint overrides (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_LICENSE_MANAGER`, ...)
//! are honoured by aws-config unchanged.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_config::meta::region::RegionProviderChain;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_licensemanager::config::retry::RetryPartition;
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;

use super::permissions::Service;
use super::record::Recorder;
use super::retry::LicenseManagerRateLimit;
use super::CollectOptions;

/// A copy of a service client for another region.
macro_rules! in_region {
    ($sdk:ident, $client:expr, $region:expr) => {
        $sdk::Client::from_conf(
            $client
                .config()
                .to_builder()
                .region(Region::new($region.to_string()))
                .build(),
        )
    };
}

/// The region of Marketplace licenses, grants and their CloudTrail events.
pub const HOME_REGION: &str = "us-east-1";

/// One client per service, configured for this job.
#[derive(Debug, Clone)]
pub struct Clients {
    pub organizations: aws_sdk_organizations::Client,
    pub license_manager: aws_sdk_licensemanager::Client,
    pub cost_explorer: aws_sdk_costexplorer::Client,
    pub cloudtrail: aws_sdk_cloudtrail::Client,
    /// Pinned to `us-east-1`, the only region of the Marketplace Agreement API.
    pub marketplace_agreement: aws_sdk_marketplaceagreement::Client,
    /// In `us-east-1`, whose public offers carry the `USE1_` dimensions.
    pub bedrock: aws_sdk_bedrock::Client,
    pub pricing: aws_sdk_pricing::Client,
    /// In the configured region (the CUR table's), not pinned: `--cost-source athena` only.
    pub athena: aws_sdk_athena::Client,
    pub sts: aws_sdk_sts::Client,
    /// In the configured region: only `doctor`'s check of a `--cost-export s3://` location.
    pub s3: aws_sdk_s3::Client,
    /// In `us-east-1`; [`Clients::cloudwatch_in`] for the other regions (member accounts'
    /// `AWS/Bedrock` metrics).
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// The configuration the clients were built from: member accounts' clients are built from
    /// it with their own credentials ([`Clients::for_member`]).
    shared: SdkConfig,
    /// Keeps every response when `opts.record` is set (the Marketplace Agreement API's CBOR as
    /// JSON; STS, which only `doctor` calls, is not recorded).
    pub recorder: Option<Arc<Recorder>>,
}

/// Loads the shared AWS configuration: default chain, `opts.profile`, then `opts.role_arn`
/// assumed on top when set.
pub async fn load_sdk_config(opts: &CollectOptions) -> SdkConfig {
    let region = RegionProviderChain::default_provider().or_else(Region::new(HOME_REGION));
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(region)
        .retry_config(opts.retry.sdk_config())
        .timeout_config(timeouts());
    if let Some(profile) = &opts.profile {
        loader = loader.profile_name(profile);
    }
    let base = loader.load().await;
    let Some(role) = &opts.role_arn else {
        return base;
    };
    let provider = AssumeRoleProvider::builder(role)
        .session_name(&opts.role_session_name)
        .configure(&base)
        .build()
        .await;
    base.to_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .build()
}

fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(10))
        .operation_attempt_timeout(Duration::from_secs(60))
        .build()
}

impl Clients {
    /// Builds the clients from a loaded configuration (tests pass one pointing at a local
    /// endpoint). Retry settings always come from `opts`.
    pub fn new(shared: &SdkConfig, opts: &CollectOptions) -> Self {
        Self::build(shared, opts, true)
    }

    /// The clients of a member account: the run's configuration with the credentials its
    /// role handed out (kept in memory only, never recorded: `--record` keeps the run's own
    /// account's answers).
    pub fn for_member(
        &self,
        credentials: aws_credential_types::Credentials,
        opts: &CollectOptions,
    ) -> Self {
        let shared = self
            .shared
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .build();
        Self::build(&shared, opts, false)
    }

    /// The CloudWatch client for `region`.
    pub fn cloudwatch_in(&self, region: &str) -> aws_sdk_cloudwatch::Client {
        in_region!(aws_sdk_cloudwatch, self.cloudwatch, region)
    }

    /// The Bedrock client for `region`.
    pub fn bedrock_in(&self, region: &str) -> aws_sdk_bedrock::Client {
        in_region!(aws_sdk_bedrock, self.bedrock, region)
    }

    fn build(shared: &SdkConfig, opts: &CollectOptions, record: bool) -> Self {
        let region = Region::new(HOME_REGION);
        let retry = opts.retry.sdk_config();
        // The SDK keeps adaptive-retry state per partition name for the whole process; a
        // partition per set of clients keeps one run's throttling from slowing another.
        static SET: AtomicU64 = AtomicU64::new(0);
        let set = SET.fetch_add(1, Ordering::Relaxed);
        let partition =
            |service: &str| RetryPartition::new(format!("entitlement-audit-{service}-{set}"));
        let recorder = opts
            .record
            .as_ref()
            .filter(|_| record)
            .map(|_| Arc::new(Recorder::default()));
        // Observes only: each attempt's request body, response status and body.
        let record = |service: Service| {
            recorder
                .as_ref()
                .map(|r| SharedInterceptor::new(r.interceptor(service)))
        };
        let mut organizations = aws_sdk_organizations::config::Builder::from(shared)
            .retry_partition(partition("organizations"))
            .region(region.clone())
            .retry_config(retry.clone());
        let mut license_manager = aws_sdk_licensemanager::config::Builder::from(shared)
            .retry_partition(partition("license-manager"))
            .region(region.clone())
            .retry_config(retry.clone())
            .retry_classifier(LicenseManagerRateLimit);
        let mut cost_explorer = aws_sdk_costexplorer::config::Builder::from(shared)
            .retry_partition(partition("cost-explorer"))
            .region(region.clone())
            .retry_config(retry.clone());
        let mut cloudtrail = aws_sdk_cloudtrail::config::Builder::from(shared)
            .retry_partition(partition("cloudtrail"))
            .region(region.clone())
            .retry_config(retry.clone());
        let mut marketplace_agreement = aws_sdk_marketplaceagreement::config::Builder::from(shared)
            .retry_partition(partition("marketplace-agreement"))
            .region(region.clone())
            .retry_config(retry.clone());
        if let Some(i) = record(Service::MarketplaceAgreement) {
            marketplace_agreement.push_interceptor(i);
        }
        let mut bedrock = aws_sdk_bedrock::config::Builder::from(shared)
            .retry_partition(partition("bedrock"))
            .region(region.clone())
            .retry_config(retry.clone());
        if let Some(i) = record(Service::Bedrock) {
            bedrock.push_interceptor(i);
        }
        let mut pricing = aws_sdk_pricing::config::Builder::from(shared)
            .retry_partition(partition("pricing"))
            .region(region.clone())
            .retry_config(retry.clone());
        if let Some(i) = record(Service::Pricing) {
            pricing.push_interceptor(i);
        }
        if let Some(i) = record(Service::Organizations) {
            organizations.push_interceptor(i);
        }
        if let Some(i) = record(Service::LicenseManager) {
            license_manager.push_interceptor(i);
        }
        if let Some(i) = record(Service::CostExplorer) {
            cost_explorer.push_interceptor(i);
        }
        if let Some(i) = record(Service::CloudTrail) {
            cloudtrail.push_interceptor(i);
        }
        Self {
            organizations: aws_sdk_organizations::Client::from_conf(organizations.build()),
            license_manager: aws_sdk_licensemanager::Client::from_conf(license_manager.build()),
            cost_explorer: aws_sdk_costexplorer::Client::from_conf(cost_explorer.build()),
            cloudtrail: aws_sdk_cloudtrail::Client::from_conf(cloudtrail.build()),
            marketplace_agreement: aws_sdk_marketplaceagreement::Client::from_conf(
                marketplace_agreement.build(),
            ),
            bedrock: aws_sdk_bedrock::Client::from_conf(bedrock.build()),
            pricing: aws_sdk_pricing::Client::from_conf(pricing.build()),
            athena: aws_sdk_athena::Client::from_conf(
                aws_sdk_athena::config::Builder::from(shared)
                    .retry_partition(partition("athena"))
                    .retry_config(retry.clone())
                    .build(),
            ),
            sts: aws_sdk_sts::Client::from_conf(
                aws_sdk_sts::config::Builder::from(shared)
                    .retry_partition(partition("sts"))
                    .retry_config(retry.clone())
                    .build(),
            ),
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(shared)
                    .retry_partition(partition("s3"))
                    .retry_config(retry.clone())
                    .build(),
            ),
            cloudwatch: aws_sdk_cloudwatch::Client::from_conf(
                aws_sdk_cloudwatch::config::Builder::from(shared)
                    .retry_partition(partition("cloudwatch"))
                    .region(region)
                    .retry_config(retry)
                    .build(),
            ),
            shared: shared.clone(),
            recorder,
        }
    }

    /// Loads the configuration (see [`load_sdk_config`]) and builds the clients.
    pub async fn load(opts: &CollectOptions) -> Self {
        Self::new(&load_sdk_config(opts).await, opts)
    }
}
