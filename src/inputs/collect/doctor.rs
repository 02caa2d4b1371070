//! `doctor`: checks, before a first run, that the credentials and the organization allow a
//! complete collection, and says what is wrong and how to fix it. Read-only like the rest.

use std::fmt;

use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use aws_sdk_costexplorer::types::CostAllocationTagStatus;
use aws_sdk_licensemanager::types::Filter;

use super::call::Cx;
use super::doctor_sources::SourceChecks;
use super::ledger::CallError;
use super::permissions::{
    Op, DESCRIBE_ORGANIZATION, GET_CALLER_IDENTITY, GET_SERVICE_SETTINGS,
    LIST_COST_ALLOCATION_TAGS, LIST_FOUNDATION_MODELS, LIST_RECEIVED_LICENSES, LOOKUP_EVENTS,
    SEARCH_AGREEMENTS,
};
use super::{Clients, CollectOptions, NoProgress};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Pass,
    /// The run will work but some data may be missing or misattributed.
    Warn,
    /// The run will be incomplete until this is fixed.
    Fail,
}

impl fmt::Display for CheckStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pass => "ok",
            Self::Warn => "warn",
            Self::Fail => "FAIL",
        })
    }
}

/// One check of `doctor`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    /// Stable kebab-case name, e.g. `organization-feature-set`.
    pub name: &'static str,
    pub status: CheckStatus,
    /// What was found.
    pub detail: String,
    /// How to fix it, when not passing.
    pub fix: Option<String>,
}

impl Check {
    pub(super) fn pass(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            status: CheckStatus::Pass,
            detail: detail.into(),
            fix: None,
        }
    }

    pub(super) fn warn(
        name: &'static str,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            name,
            status: CheckStatus::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    pub(super) fn fail(
        name: &'static str,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            name,
            status: CheckStatus::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    /// A failed call: access denied names the IAM action to allow.
    pub(super) fn call_failed(
        name: &'static str,
        op: &Op,
        err: &CallError,
        otherwise: &str,
    ) -> Self {
        let detail = format!(
            "`{}` failed with `{}`: {}",
            op.action(),
            err.code,
            err.message
        );
        if err.is_access_denied() {
            Self::fail(
                name,
                detail,
                format!(
                    "allow `{}` for this principal (`entitlement-audit iam-policy` prints the whole policy)",
                    op.action()
                ),
            )
        } else {
            Self::fail(name, detail, otherwise.to_string())
        }
    }
}

/// Runs every check with clients loaded from the environment, then those of the spend
/// source in `sources` (Athena, an export in S3).
pub async fn doctor(opts: &CollectOptions, sources: &SourceChecks) -> Vec<Check> {
    let clients = Clients::load(opts).await;
    let mut checks = doctor_with(&clients, opts).await;
    checks.extend(doctor_sources_with(&clients, opts, sources).await);
    checks
}

/// The checks of the spend source in `sources` alone, with the given clients (none when it
/// names neither Athena nor an export in S3).
pub async fn doctor_sources_with(
    clients: &Clients,
    opts: &CollectOptions,
    sources: &SourceChecks,
) -> Vec<Check> {
    let cx = Cx::new(clients, opts, &NoProgress);
    let mut checks = Vec::new();
    super::doctor_sources::check(&cx, sources, &mut checks).await;
    checks
}

/// Runs every check with the given clients, in a fixed order.
pub async fn doctor_with(clients: &Clients, opts: &CollectOptions) -> Vec<Check> {
    let cx = Cx::new(clients, opts, &NoProgress);
    let mut checks = Vec::new();

    let me = cx
        .call(
            &GET_CALLER_IDENTITY,
            clients.sts.get_caller_identity().send(),
        )
        .await;
    let caller_account = match me {
        Ok(out) => {
            checks.push(Check::pass(
                "credentials",
                format!(
                    "signed in as `{}` (account `{}`)",
                    out.arn().unwrap_or("?"),
                    out.account().unwrap_or("?")
                ),
            ));
            out.account().map(str::to_string)
        }
        Err(err) => {
            checks.push(Check::fail(
                "credentials",
                format!("no usable credentials: `{}`: {}", err.code, err.message),
                "provide credentials through the default chain: `AWS_PROFILE` / `--profile`, \
                 `aws sso login`, environment variables, or web identity (GitHub OIDC)",
            ));
            None
        }
    };

    let org = cx
        .call(
            &DESCRIBE_ORGANIZATION,
            clients.organizations.describe_organization().send(),
        )
        .await;
    match org.map(|o| o.organization) {
        Ok(Some(org)) => {
            let id = org.id().unwrap_or("?");
            let management = org.master_account_id().unwrap_or_default();
            checks.push(Check::pass("organization", format!("organization `{id}`")));
            match org.feature_set().map(|f| f.as_str()) {
                Some("ALL") => checks.push(Check::pass(
                    "organization-feature-set",
                    "all features enabled",
                )),
                other => checks.push(Check::fail(
                    "organization-feature-set",
                    format!("feature set is `{}`", other.unwrap_or("unknown")),
                    "enable all features in AWS Organizations: organization and OU grants are \
                     only accepted automatically with all features",
                )),
            }
            match caller_account.as_deref() {
                Some(a) if a == management => checks.push(Check::pass(
                    "caller-account",
                    "running in the management account",
                )),
                Some(a) => checks.push(Check::warn(
                    "caller-account",
                    format!("running in account `{a}`, not the management account `{management}`"),
                    "run from the management account, or make this account the License Manager \
                     delegated administrator and an Organizations delegated administrator; \
                     otherwise organization-wide grants and spend are not visible",
                )),
                None => {}
            }
        }
        Ok(None) => checks.push(Check::fail(
            "organization",
            "DescribeOrganization returned no organization",
            "run in an account that belongs to an AWS Organization",
        )),
        Err(err) => checks.push(Check::call_failed(
            "organization",
            &DESCRIBE_ORGANIZATION,
            &err,
            "run in the organization's management account (or a delegated administrator)",
        )),
    }

    let settings = cx
        .call(
            &GET_SERVICE_SETTINGS,
            clients.license_manager.get_service_settings().send(),
        )
        .await;
    match settings {
        Ok(s)
            if s.organization_configuration()
                .is_some_and(|c| c.enable_integration()) =>
        {
            checks.push(Check::pass(
                "license-manager-organization-integration",
                "License Manager is linked to AWS Organizations",
            ))
        }
        Ok(_) => checks.push(Check::fail(
            "license-manager-organization-integration",
            "License Manager is not linked to AWS Organizations",
            "in the License Manager console (us-east-1), Settings > Account management > \
             Link AWS Organizations accounts; also allow AWS Marketplace trusted access \
             (Marketplace console > Settings > AWS Organizations integration)",
        )),
        Err(err) => checks.push(Check::call_failed(
            "license-manager-organization-integration",
            &GET_SERVICE_SETTINGS,
            &err,
            "open License Manager once in us-east-1 so that its service-linked role exists",
        )),
    }

    let issuer = opts.license_issuer.clone();
    let licenses = cx
        .call(
            &LIST_RECEIVED_LICENSES,
            clients
                .license_manager
                .list_received_licenses()
                .set_filters(
                    issuer.map(|i| vec![Filter::builder().name("IssuerName").values(i).build()]),
                )
                .max_results(1)
                .send(),
        )
        .await;
    match licenses {
        Ok(l) if !l.licenses().is_empty() => checks.push(Check::pass(
            "marketplace-licenses",
            "this account holds Marketplace licenses",
        )),
        Ok(_) => checks.push(Check::warn(
            "marketplace-licenses",
            "this account has received no Marketplace license in us-east-1",
            "run as the account holding the Marketplace subscriptions (management account or \
             License Manager delegated administrator)",
        )),
        Err(err) => checks.push(Check::call_failed(
            "marketplace-licenses",
            &LIST_RECEIVED_LICENSES,
            &err,
            "check License Manager access in us-east-1",
        )),
    }

    let key = opts.team_tag_key.as_str();
    let tags = cx
        .call(
            &LIST_COST_ALLOCATION_TAGS,
            clients
                .cost_explorer
                .list_cost_allocation_tags()
                .tag_keys(key)
                .send(),
        )
        .await;
    match tags {
        Ok(out) => {
            checks.push(Check::pass("cost-explorer", "Cost Explorer is reachable"));
            let tag = out
                .cost_allocation_tags()
                .iter()
                .find(|t| t.tag_key() == key);
            match tag.map(|t| t.status()) {
                Some(CostAllocationTagStatus::Active) => checks.push(Check::pass(
                    "cost-allocation-tag",
                    format!("cost-allocation tag `{key}` is active"),
                )),
                Some(status) => checks.push(Check::fail(
                    "cost-allocation-tag",
                    format!("cost-allocation tag `{key}` is `{}`", status.as_str()),
                    format!(
                        "activate `{key}` in Billing > Cost allocation tags (management account); \
                         it applies from activation forward, older spend stays unallocated"
                    ),
                )),
                None => checks.push(Check::warn(
                    "cost-allocation-tag",
                    format!("no cost-allocation tag `{key}` found"),
                    format!(
                        "tag resources or IAM principals with `{key}`, then activate it in \
                         Billing > Cost allocation tags; or set another team tag key"
                    ),
                )),
            }
        }
        Err(err) => checks.push(Check::call_failed(
            "cost-explorer",
            &LIST_COST_ALLOCATION_TAGS,
            &err,
            "enable Cost Explorer in the management account (Billing > Cost Explorer)",
        )),
    }

    let attr = LookupAttribute::builder()
        .attribute_key(LookupAttributeKey::EventName)
        .attribute_value("CreateGrant")
        .build()
        .expect("key and value are set");
    let trail = cx
        .call(
            &LOOKUP_EVENTS,
            clients
                .cloudtrail
                .lookup_events()
                .lookup_attributes(attr)
                .max_results(1)
                .send(),
        )
        .await;
    match trail {
        Ok(_) => checks.push(Check::pass(
            "cloudtrail",
            "CloudTrail event history is readable in us-east-1",
        )),
        Err(err) => checks.push(Check::call_failed(
            "cloudtrail",
            &LOOKUP_EVENTS,
            &err,
            "grant activation times will be missing; check CloudTrail access in us-east-1",
        )),
    }
    let agreements = cx
        .call(
            &SEARCH_AGREEMENTS,
            super::marketplace_agreement::search(&clients.marketplace_agreement)
                .max_results(1)
                .send(),
        )
        .await;
    match agreements {
        Ok(out) if out.agreement_view_summaries().is_empty() => checks.push(Check::warn(
            "marketplace-agreements",
            "no Marketplace agreement accepted by this account",
            "run as the subscriber (the account that accepted the models' offers); without \
             agreements the overspend falls back to `[pricing]` in the config",
        )),
        Ok(_) => checks.push(Check::pass(
            "marketplace-agreements",
            "Marketplace agreements are readable (private rates from their terms)",
        )),
        Err(err) => checks.push(Check::call_failed(
            "marketplace-agreements",
            &SEARCH_AGREEMENTS,
            &err,
            "allow aws-marketplace:SearchAgreements, GetAgreementTerms and \
             GetAgreementEntitlements (`entitlement-audit iam-policy`); without them the \
             overspend falls back to `[pricing]` in the config",
        )),
    }
    let models = cx
        .call(
            &LIST_FOUNDATION_MODELS,
            clients.bedrock.list_foundation_models().send(),
        )
        .await;
    match models {
        Ok(out) if out.model_summaries().is_empty() => checks.push(Check::warn(
            "public-offers",
            "Bedrock lists no foundation model in us-east-1",
            "the models' public rates cannot be found; give them as `[[pricing.rates]]` in \
             the config",
        )),
        Ok(out) => checks.push(Check::pass(
            "public-offers",
            format!(
                "Bedrock's model list is readable ({} models; public rates from their offers)",
                out.model_summaries().len()
            ),
        )),
        Err(err) => checks.push(Check::call_failed(
            "public-offers",
            &LIST_FOUNDATION_MODELS,
            &err,
            "allow bedrock:ListFoundationModels and ListFoundationModelAgreementOffers \
             (`entitlement-audit iam-policy`); without them the overspend has no public \
             rates and falls back to `[pricing]` in the config",
        )),
    }
    shapes(&cx, &mut checks).await;
    checks
}

/// Reads the licenses and grants as `collect` does and names every shape the collector
/// tolerates without expecting it (`license_manager::Surprise`), each with a count and an
/// example ARN: what a real organization sends that aws-apis.md does not settle.
async fn shapes(cx: &Cx<'_>, checks: &mut Vec<Check>) {
    let lm = super::license_manager::collect(cx).await;
    let gaps = cx.ledger.entries();
    if !gaps.is_empty() {
        let ops: Vec<String> = gaps.iter().map(|e| format!("`{}`", e.operation)).collect();
        checks.push(Check::warn(
            "aws-shapes",
            format!(
                "{} License Manager read(s) failed ({}): shapes not fully checked",
                gaps.len(),
                ops.join(", ")
            ),
            "allow the License Manager reads (`entitlement-audit iam-policy`)",
        ));
    }
    let read = format!(
        "{} licenses and {} grants read",
        lm.organization_licenses.len() + lm.member_licenses.len(),
        lm.grants.len()
    );
    if lm.surprises.is_empty() {
        if gaps.is_empty() {
            checks.push(Check::pass(
                "aws-shapes",
                format!("{read}, all in the shapes the collector expects"),
            ));
        }
        return;
    }
    for s in &lm.surprises {
        checks.push(Check::warn(
            "aws-shapes",
            format!(
                "{}: {} {} (e.g. `{}`); {read}",
                s.kind, s.count, s.what, s.example
            ),
            "nothing to change in the organization: the audit handles it, but please report \
             this line (kind, count; the example with ids masked) so the tests cover this shape",
        ));
    }
}
