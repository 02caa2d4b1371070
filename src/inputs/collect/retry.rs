//! Staying gentle with production accounts: the SDK retry configuration, a retry classifier
//! for License Manager's own throttling error, and a client-side rate limit and concurrency
//! bound per service.
//!
//! The SDK's adaptive retry handles throttling once it happens; the limiter here keeps the
//! job from causing it in the first place, because the same quotas serve the organization's
//! own tooling.

use std::time::Duration;

use aws_config::retry::{RetryConfig, RetryMode};
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority,
};
use aws_smithy_types::retry::ErrorKind;
use tokio::sync::{Mutex, Semaphore, SemaphorePermit};
use tokio::time::Instant;

/// How the SDK retries a failed call.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryOptions {
    /// Attempts per call, the first included. Default 8.
    pub max_attempts: u32,
    /// Base of the exponential backoff. Default 1 s (tests use a few milliseconds).
    pub initial_backoff: Duration,
    /// Cap on one backoff delay, and on the adaptive limiter's delay before a retry.
    /// Default 20 s.
    pub max_backoff: Duration,
    /// Adaptive (default) slows the client down after throttling; standard only backs off.
    pub adaptive: bool,
}

impl Default for RetryOptions {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(20),
            adaptive: true,
        }
    }
}

impl RetryOptions {
    /// The SDK retry configuration for these options.
    pub fn sdk_config(&self) -> RetryConfig {
        let mode = if self.adaptive {
            RetryMode::Adaptive
        } else {
            RetryMode::Standard
        };
        RetryConfig::standard()
            .with_retry_mode(mode)
            .with_max_attempts(self.max_attempts.max(1))
            .with_initial_backoff(self.initial_backoff)
            .with_max_backoff(self.max_backoff)
    }
}

/// Request pacing for one service.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    /// Requests per second started by this job (retries by the SDK not included).
    pub requests_per_second: f64,
    /// Requests in flight at once.
    pub max_concurrency: usize,
}

impl Pace {
    pub const fn new(requests_per_second: f64, max_concurrency: usize) -> Self {
        Self {
            requests_per_second,
            max_concurrency,
        }
    }
}

/// The pacing of each service. The defaults stay well under the published or observed
/// quotas (CloudTrail `LookupEvents` allows 2 per second per account and region).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PaceOptions {
    /// Default 5/s, 4 in flight.
    pub organizations: Pace,
    /// Default 5/s, 4 in flight.
    pub license_manager: Pace,
    /// Default 2/s, 1 in flight (each request costs $0.01).
    pub cost_explorer: Pace,
    /// Default 1/s, 1 in flight.
    pub cloudtrail: Pace,
    /// Default 2/s, 2 in flight (AWS publishes no quota for the Marketplace Agreement API).
    pub marketplace_agreement: Pace,
    /// Default 2/s, 2 in flight (one offers call per licensed model).
    pub bedrock: Pace,
    /// Default 2/s, 2 in flight (the Price List, for models without a public offer).
    pub pricing: Pace,
    /// Default 2/s, 1 in flight (one query, its polls and its pages).
    pub athena: Pace,
    /// `sts:AssumeRole` into the member accounts (`--member-role`). Default 5/s, 4 in flight.
    pub sts: Pace,
    /// CloudWatch `ListMetrics` and `GetMetricData` in the member accounts, all of them
    /// together. Default 5/s, 4 in flight (GetMetricData's quota is 50/s per account and
    /// region; each request is billed by the metrics it asks for).
    pub cloudwatch: Pace,
    /// CloudTrail `LookupEvents` in each member account, a gate per account (`Cx::member`).
    /// Default 2/s, 2 in flight: the 2 per second AWS allows per account and region.
    pub member_cloudtrail: Pace,
    /// Marketplace Agreement `SearchAgreements` (and Bedrock `ListInferenceProfiles`) in the
    /// member accounts, all of them together. Default 2/s, 2 in flight.
    pub member_agreements: Pace,
}

impl Default for PaceOptions {
    fn default() -> Self {
        Self {
            organizations: Pace::new(5.0, 4),
            license_manager: Pace::new(5.0, 4),
            cost_explorer: Pace::new(2.0, 1),
            cloudtrail: Pace::new(1.0, 1),
            marketplace_agreement: Pace::new(2.0, 2),
            bedrock: Pace::new(2.0, 2),
            pricing: Pace::new(2.0, 2),
            athena: Pace::new(2.0, 1),
            sts: Pace::new(5.0, 4),
            cloudwatch: Pace::new(5.0, 4),
            member_cloudtrail: Pace::new(2.0, 2),
            member_agreements: Pace::new(2.0, 2),
        }
    }
}

impl PaceOptions {
    /// No practical limit (tests against a local endpoint).
    pub fn unlimited() -> Self {
        let fast = Pace::new(10_000.0, 8);
        Self {
            organizations: fast,
            license_manager: fast,
            cost_explorer: fast,
            cloudtrail: fast,
            marketplace_agreement: fast,
            bedrock: fast,
            pricing: fast,
            athena: fast,
            sts: fast,
            cloudwatch: fast,
            member_cloudtrail: fast,
            member_agreements: fast,
        }
    }
}

/// A `--pace` setting that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not SERVICE=REQUESTS_PER_SECOND[/IN_FLIGHT] with SERVICE one of organizations, \
     license-manager, cost-explorer, cloudtrail, marketplace-agreement, bedrock, pricing, athena, \
     sts, cloudwatch, member-cloudtrail, member-agreements and positive numbers"
)]
pub struct BadPace(pub String);

impl PaceOptions {
    /// Applies one setting `SERVICE=REQUESTS_PER_SECOND[/IN_FLIGHT]`, e.g.
    /// `organizations=10/4`; the concurrency stays as it was when not given.
    pub fn apply(&mut self, spec: &str) -> Result<(), BadPace> {
        let bad = || BadPace(spec.to_string());
        let (service, value) = spec.split_once('=').ok_or_else(bad)?;
        let pace = match service.trim() {
            "organizations" => &mut self.organizations,
            "license-manager" => &mut self.license_manager,
            "cost-explorer" => &mut self.cost_explorer,
            "cloudtrail" => &mut self.cloudtrail,
            "marketplace-agreement" => &mut self.marketplace_agreement,
            "bedrock" => &mut self.bedrock,
            "pricing" => &mut self.pricing,
            "athena" => &mut self.athena,
            "sts" => &mut self.sts,
            "cloudwatch" => &mut self.cloudwatch,
            "member-cloudtrail" => &mut self.member_cloudtrail,
            "member-agreements" => &mut self.member_agreements,
            _ => return Err(bad()),
        };
        let (rate, in_flight) = match value.split_once('/') {
            Some((r, n)) => (r, Some(n)),
            None => (value, None),
        };
        let rate: f64 = rate.trim().parse().map_err(|_| bad())?;
        if !(rate.is_finite() && rate > 0.0) {
            return Err(bad());
        }
        pace.requests_per_second = rate;
        if let Some(n) = in_flight {
            let n: usize = n.trim().parse().map_err(|_| bad())?;
            if n == 0 {
                return Err(bad());
            }
            pace.max_concurrency = n;
        }
        Ok(())
    }
}

/// A per-service gate: at most `max_concurrency` requests in flight, started at most
/// `requests_per_second` apart.
#[derive(Debug)]
pub struct Throttle {
    slots: Semaphore,
    interval: Duration,
    next: Mutex<Instant>,
}

impl Throttle {
    pub fn new(pace: Pace) -> Self {
        let rps = if pace.requests_per_second.is_finite() && pace.requests_per_second > 0.0 {
            pace.requests_per_second
        } else {
            1.0
        };
        Self {
            slots: Semaphore::new(pace.max_concurrency.max(1)),
            interval: Duration::from_secs_f64(1.0 / rps),
            next: Mutex::new(Instant::now()),
        }
    }

    /// Waits for a free slot and for the next start time; hold the permit while the request
    /// is in flight.
    pub async fn acquire(&self) -> SemaphorePermit<'_> {
        let permit = self
            .slots
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let start = {
            let mut next = self.next.lock().await;
            let start = (*next).max(Instant::now());
            *next = start + self.interval;
            start
        };
        tokio::time::sleep_until(start).await;
        permit
    }
}

/// Classifies License Manager's `RateLimitExceededException` (HTTP 400) as throttling.
///
/// The SDK does not retry it by default: it is neither in the SDK's list of throttling codes
/// nor modeled as retryable (docs/collect-notes.md).
#[derive(Debug, Default)]
pub struct LicenseManagerRateLimit;

/// The error code License Manager answers when throttling.
pub const LM_RATE_LIMIT_CODE: &str = "RateLimitExceededException";

impl ClassifyRetry for LicenseManagerRateLimit {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let Some(resp) = ctx.response() else {
            return RetryAction::NoActionIndicated;
        };
        if resp.status().is_success() {
            return RetryAction::NoActionIndicated;
        }
        let header = resp.headers().get("x-amzn-errortype").unwrap_or_default();
        let in_body = resp
            .body()
            .bytes()
            .map(|b| {
                b.windows(LM_RATE_LIMIT_CODE.len())
                    .any(|w| w == LM_RATE_LIMIT_CODE.as_bytes())
            })
            .unwrap_or(false);
        if header.starts_with(LM_RATE_LIMIT_CODE) || in_body {
            RetryAction::retryable_error(ErrorKind::ThrottlingError)
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "License Manager RateLimitExceededException"
    }

    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_after(
            RetryClassifierPriority::modeled_as_retryable_classifier(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_options_map_to_sdk_config() {
        let opts = RetryOptions {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(50),
            adaptive: true,
        };
        let c = opts.sdk_config();
        assert_eq!(c.max_attempts(), 4);
        assert_eq!(c.mode(), RetryMode::Adaptive);
        assert_eq!(c.initial_backoff(), Duration::from_millis(5));
        assert_eq!(c.max_backoff(), Duration::from_millis(50));
    }

    #[test]
    fn pace_settings_parse_or_name_the_bad_one() {
        let mut p = PaceOptions::default();
        p.apply("organizations=10/8").unwrap();
        p.apply("cloudtrail=2").unwrap();
        assert_eq!(p.organizations, Pace::new(10.0, 8));
        assert_eq!(p.cloudtrail, Pace::new(2.0, 1));
        assert_eq!(p.cost_explorer, PaceOptions::default().cost_explorer);
        p.apply("member-cloudtrail=1/1").unwrap();
        assert_eq!(p.member_cloudtrail, Pace::new(1.0, 1));
        for bad in [
            "members=1",
            "organizations",
            "cloudtrail=0",
            "cloudtrail=1/0",
            "ce=x",
        ] {
            assert_eq!(p.apply(bad), Err(BadPace(bad.to_string())));
        }
    }

    #[tokio::test]
    async fn throttle_bounds_concurrency() {
        let t = Throttle::new(Pace::new(10_000.0, 2));
        let a = t.acquire().await;
        let _b = t.acquire().await;
        assert_eq!(t.slots.available_permits(), 0);
        drop(a);
        assert_eq!(t.slots.available_permits(), 1);
    }
}
