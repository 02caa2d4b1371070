//! How every collector talks to AWS: one call or a paginated listing, paced by the
//! service's [`Throttle`], named by an [`Op`] from the permissions list, with failures reduced
//! to a [`CallError`] the caller records in the ledger.
//!
//! Pagination is by hand for every service (License Manager and `GetCostAndUsage` have no SDK
//! paginator, Organizations' paginators yield pages only), so this is the one loop: it
//! follows tokens to the end, goes on past empty pages that carry a token, and never
//! requests the same token twice.

use std::collections::HashSet;
use std::error::Error as StdError;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::clients::Clients;
use super::ledger::{CallError, Ledger, REPEATED_TOKEN_CODE, REQUEST_CAP_CODE};
use super::permissions::{Op, Service};
use super::retry::Throttle;
use super::{CollectOptions, Progress};
use crate::snapshot::Table;

/// One page of a listing.
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, next: Option<&str>) -> Self {
        Self {
            items,
            next: next.filter(|t| !t.is_empty()).map(str::to_owned),
        }
    }
}

/// What a listing returned: every item read, and the error that stopped it early, if any.
pub struct Paged<T> {
    pub items: Vec<T>,
    pub error: Option<CallError>,
}

/// The paid Cost Explorer requests of one run, against the cap.
#[derive(Debug)]
pub struct CostBudget {
    max: u64,
    sent: AtomicU64,
    refused: AtomicBool,
}

impl CostBudget {
    pub fn new(max: u64) -> Self {
        Self {
            max,
            sent: AtomicU64::new(0),
            refused: AtomicBool::new(false),
        }
    }

    /// Takes one request from the budget; false when the cap is reached.
    pub fn take(&self) -> bool {
        let taken = self
            .sent
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.max).then_some(n + 1)
            })
            .is_ok();
        if !taken {
            self.refused.store(true, Ordering::SeqCst);
        }
        taken
    }

    /// True once an attempt was refused for lack of budget.
    pub fn was_refused(&self) -> bool {
        self.refused.load(Ordering::SeqCst)
    }

    pub fn has_room(&self) -> bool {
        self.sent.load(Ordering::SeqCst) < self.max
    }

    /// Requests sent so far (each retry attempt counts: each may be billed).
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    fn cap_error(&self) -> CallError {
        CallError::new(
            REQUEST_CAP_CODE,
            format!(
                "stopped at the cap of {} Cost Explorer requests (`max_cost_explorer_requests`)",
                self.max
            ),
        )
    }
}

/// The per-service gates of one run, shared by every account's calls.
struct Throttles {
    organizations: Throttle,
    license_manager: Throttle,
    cost_explorer: Throttle,
    cloudtrail: Throttle,
    marketplace_agreement: Throttle,
    bedrock: Throttle,
    pricing: Throttle,
    athena: Throttle,
    sts: Throttle,
    cloudwatch: Throttle,
    member_cloudtrail: Throttle,
    member_agreements: Throttle,
}

/// The context shared by the collectors of one run.
pub struct Cx<'a> {
    pub clients: &'a Clients,
    pub opts: &'a CollectOptions,
    /// Shared with the member accounts' contexts ([`Cx::member`]).
    pub ledger: Arc<Ledger>,
    pub progress: &'a dyn Progress,
    pub cost_budget: Arc<CostBudget>,
    throttles: Arc<Throttles>,
    /// The member account the clients call (`--member-role`), whose services are paced by
    /// the member paces; `None` for the run's own account.
    pub member: Option<String>,
    /// The member account's own `member-cloudtrail` gate: CloudTrail's `LookupEvents` quota
    /// (2 per second) is per account and region, so each member has its own.
    member_trail: Option<Throttle>,
}

impl<'a> Cx<'a> {
    pub fn new(clients: &'a Clients, opts: &'a CollectOptions, progress: &'a dyn Progress) -> Self {
        let p = &opts.pace;
        Self {
            clients,
            opts,
            ledger: Arc::new(Ledger::default()),
            progress,
            cost_budget: Arc::new(CostBudget::new(opts.max_cost_explorer_requests)),
            throttles: Arc::new(Throttles {
                organizations: Throttle::new(p.organizations),
                license_manager: Throttle::new(p.license_manager),
                cost_explorer: Throttle::new(p.cost_explorer),
                cloudtrail: Throttle::new(p.cloudtrail),
                marketplace_agreement: Throttle::new(p.marketplace_agreement),
                bedrock: Throttle::new(p.bedrock),
                pricing: Throttle::new(p.pricing),
                athena: Throttle::new(p.athena),
                sts: Throttle::new(p.sts),
                cloudwatch: Throttle::new(p.cloudwatch),
                member_cloudtrail: Throttle::new(p.member_cloudtrail),
                member_agreements: Throttle::new(p.member_agreements),
            }),
            member: None,
            member_trail: None,
        }
    }

    /// The context of calls into member account `account` with its `clients`: the same
    /// ledger, budget and gates (the member paces for its agreements and Bedrock), and a
    /// CloudTrail gate of its own.
    pub fn member<'b>(&'b self, account: &str, clients: &'b Clients) -> Cx<'b> {
        Cx {
            clients,
            opts: self.opts,
            ledger: self.ledger.clone(),
            progress: self.progress,
            cost_budget: self.cost_budget.clone(),
            throttles: self.throttles.clone(),
            member: Some(account.to_string()),
            member_trail: Some(Throttle::new(self.opts.pace.member_cloudtrail)),
        }
    }

    fn throttle(&self, service: Service) -> &Throttle {
        let t = &self.throttles;
        let member = self.member.is_some();
        match service {
            Service::CloudTrail if member => {
                self.member_trail.as_ref().unwrap_or(&t.member_cloudtrail)
            }
            Service::MarketplaceAgreement | Service::Bedrock if member => &t.member_agreements,
            Service::Organizations => &t.organizations,
            Service::LicenseManager => &t.license_manager,
            Service::CostExplorer => &t.cost_explorer,
            Service::CloudTrail => &t.cloudtrail,
            Service::MarketplaceAgreement => &t.marketplace_agreement,
            Service::Bedrock => &t.bedrock,
            Service::Pricing => &t.pricing,
            Service::Athena => &t.athena,
            Service::Sts => &t.sts,
            Service::CloudWatch => &t.cloudwatch,
        }
    }

    /// The page size to ask for: the service maximum unless the options force a smaller one.
    pub fn page_size(&self, service_max: i32) -> i32 {
        self.opts
            .page_size
            .map_or(service_max, |p| p.clamp(1, service_max))
    }

    /// Sends one request for `op`, paced, and reduces a failure to a [`CallError`].
    pub async fn call<T, E, R, Fut>(&self, op: &Op, request: Fut) -> Result<T, CallError>
    where
        Fut: Future<Output = Result<T, SdkError<E, R>>>,
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
        R: std::fmt::Debug,
    {
        let is_cost = op.service == Service::CostExplorer;
        if is_cost && !self.cost_budget.has_room() {
            return Err(self.cost_budget.cap_error());
        }
        let _permit = self.throttle(op.service).acquire().await;
        tracing::debug!(operation = %op.action(), "request");
        request.await.map_err(|e| {
            let err = CallError::from_sdk(e);
            // The budget interceptor refuses an attempt past the cap with a local error.
            if is_cost && self.cost_budget.was_refused() && is_local(&err) {
                self.cost_budget.cap_error()
            } else {
                err
            }
        })
    }

    /// Reads every page of a listing. `fetch` sends the request for one page token.
    pub async fn pages<T, E, R, F, Fut>(&self, op: &Op, mut fetch: F) -> Paged<T>
    where
        F: FnMut(Option<String>) -> Fut,
        Fut: Future<Output = Result<Page<T>, SdkError<E, R>>>,
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
        R: std::fmt::Debug,
    {
        let mut items = Vec::new();
        let mut seen = HashSet::new();
        let mut token: Option<String> = None;
        loop {
            match self.call(op, fetch(token.clone())).await {
                Ok(page) => {
                    items.extend(page.items);
                    match page.next {
                        None => return Paged { items, error: None },
                        Some(next) if !seen.insert(next.clone()) => {
                            let error = CallError::new(
                                REPEATED_TOKEN_CODE,
                                format!("`{}` returned a page token twice", op.name),
                            );
                            return Paged {
                                items,
                                error: Some(error),
                            };
                        }
                        Some(next) => token = Some(next),
                    }
                }
                Err(error) => {
                    return Paged {
                        items,
                        error: Some(error),
                    }
                }
            }
        }
    }

    /// Items of a listing; a failure is recorded in the ledger for `scope` and `tables`.
    pub fn keep<T>(&self, op: &Op, scope: &str, tables: &[Table], paged: Paged<T>) -> Vec<T> {
        if let Some(err) = &paged.error {
            self.gap(op, scope, tables, err);
        }
        paged.items
    }

    /// Records a gap; in a member account's context, as that account's (its scope then names
    /// the account).
    pub fn gap(&self, op: &Op, scope: &str, tables: &[Table], err: &CallError) {
        match &self.member {
            Some(account) => self.ledger.record_account(
                account,
                op,
                &format!("account {account}, {scope}"),
                tables,
                err,
            ),
            None => self.ledger.record(op, scope, tables, err),
        }
    }

    /// The result of one call; a failure is recorded in the ledger for `scope` and `tables`.
    pub fn ok<T>(
        &self,
        op: &Op,
        scope: &str,
        tables: &[Table],
        result: Result<T, CallError>,
    ) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(err) => {
                self.gap(op, scope, tables, &err);
                None
            }
        }
    }
}

/// A failure before any response came back (the budget interceptor's refusal is one).
fn is_local(err: &CallError) -> bool {
    matches!(
        err.code.as_str(),
        "ConstructionFailure" | "DispatchFailure" | "Unknown"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::collect::{CollectOptions, NoProgress};
    use aws_config::{BehaviorVersion, Region, SdkConfig};
    use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError;
    use std::sync::Mutex;

    type Fetched = Result<Page<u32>, SdkError<GetCallerIdentityError, ()>>;

    fn offline_clients(opts: &CollectOptions) -> Clients {
        let cfg = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .build();
        Clients::new(&cfg, opts)
    }

    /// Serves canned pages by token and records the tokens asked for.
    async fn list(
        pages: &[(Option<&str>, Vec<u32>, Option<&str>)],
    ) -> (Paged<u32>, Vec<Option<String>>) {
        let mut opts = CollectOptions::new(chrono::DateTime::UNIX_EPOCH);
        opts.pace = crate::inputs::collect::PaceOptions::unlimited();
        let clients = offline_clients(&opts);
        let cx = Cx::new(&clients, &opts, &NoProgress);
        let asked = Mutex::new(Vec::new());
        let paged = cx
            .pages(
                &crate::inputs::collect::permissions::LIST_ROOTS,
                |t: Option<String>| {
                    asked.lock().unwrap().push(t.clone());
                    let (_, items, next) = pages
                        .iter()
                        .find(|(k, _, _)| k.map(str::to_string) == t)
                        .expect("a page for the token")
                        .clone();
                    async move { Fetched::Ok(Page::new(items, next)) }
                },
            )
            .await;
        (paged, asked.into_inner().unwrap())
    }

    #[tokio::test]
    async fn follows_tokens_through_empty_pages_to_the_end() {
        let (paged, asked) = list(&[
            (None, vec![], Some("a")),
            (Some("a"), vec![1, 2], Some("b")),
            (Some("b"), vec![], Some("c")),
            (Some("c"), vec![3], Some("")),
        ])
        .await;
        assert!(paged.error.is_none());
        assert_eq!(paged.items, [1, 2, 3]);
        assert_eq!(asked.len(), 4, "an empty token ends the listing");
    }

    #[tokio::test]
    async fn a_repeated_token_stops_the_listing_and_is_reported() {
        let (paged, asked) = list(&[
            (None, vec![1], Some("a")),
            (Some("a"), vec![2], Some("b")),
            (Some("b"), vec![3], Some("a")),
        ])
        .await;
        assert_eq!(paged.items, [1, 2, 3]);
        assert_eq!(paged.error.unwrap().code, REPEATED_TOKEN_CODE);
        assert_eq!(asked, [None, Some("a".into()), Some("b".into())]);
    }

    #[test]
    fn cost_budget_refuses_past_the_cap() {
        let b = CostBudget::new(2);
        assert!(b.take() && b.take());
        assert!(!b.has_room());
        assert!(!b.take());
        assert!(b.was_refused());
        assert_eq!(b.sent(), 2);
    }
}
