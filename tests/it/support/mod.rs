//! Shared test support, one module for every test of the binary:
//!
//! - here: the documentation organization the collector tests read from the fake, fast
//!   collect options and SDK clients pointed at the fake;
//! - [`cli`]: the one way to run the binary ([`cli::Bin`]);
//! - [`fixtures`]: the engine tests' dates, example organization and demo configuration;
//! - [`fake_aws`]: the fake AWS endpoint, one file per service;
//! - [`field`]: the field scenarios; `from_snapshot`: a fake scenario serving any snapshot;
//! - [`reports`]: the demo's analysis and reports, and hostile strings for them.

pub mod cli;
pub mod fake_aws;
pub mod field;
pub mod fixtures;
mod from_snapshot;
pub mod reports;

pub use from_snapshot::Shapes;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::SharedCredentialsProvider;
use chrono::{DateTime, NaiveDate, Utc};
use entitlement_audit::inputs::collect::{Clients, CollectOptions, PaceOptions, RetryOptions};
use fake_aws::{Fact, FakeAws, Faults, Scenario};
use serde_json::{json, Value};

pub const MGMT: &str = "123456789012";
pub const PROD: &str = "111122223333";
pub const DEV: &str = "444455556666";
pub const SANDBOX: &str = "777788889999";
pub const LEGACY: &str = "210987654321";
pub const ORG_ID: &str = "o-a1b2c3d4e5";
pub const ROOT: &str = "r-ab12";
pub const OU_WORKLOADS: &str = "ou-ab12-11111111";
pub const OU_PROD: &str = "ou-ab12-22222222";
pub const OU_DEV: &str = "ou-ab12-33333333";
pub const OU_SANDBOX: &str = "ou-ab12-44444444";

pub const L_CLAUDE: &str =
    "arn:aws:license-manager::123456789012:license:l-11111111111111111111111111111111";
pub const L_COHERE: &str =
    "arn:aws:license-manager::123456789012:license:l-22222222222222222222222222222222";
pub const L_OTHER_ISSUER: &str =
    "arn:aws:license-manager::123456789012:license:l-99999999999999999999999999999999";
pub const L_MEMBER: &str =
    "arn:aws:license-manager::444455556666:license:l-33333333333333333333333333333333";

pub fn grant_arn(id: &str) -> String {
    format!("arn:aws:license-manager::123456789012:grant:g-{id}")
}

pub const CLAUDE: &str = "Claude Sonnet 4.6 (Amazon Bedrock Edition)";
pub const COMMAND: &str = "Command R+ (Amazon Bedrock Edition)";

/// The run's clock in every test.
pub fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-10-04T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// Options for a local endpoint: tiny backoff, no pacing, a three-day window.
pub fn options() -> CollectOptions {
    let mut o = CollectOptions::new(now());
    o.period_start = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
    o.period_end = NaiveDate::from_ymd_opt(2026, 10, 3).unwrap();
    o.retry = RetryOptions {
        max_attempts: 4,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(20),
        // Adaptive mode slows a client down for seconds after throttling: one test uses it.
        adaptive: false,
    };
    o.pace = PaceOptions::unlimited();
    o
}

/// Real SDK clients pointed at the fake, with static test credentials. Built without reading
/// the process environment or the shared config files: every test of the binary shares one
/// process, and `collect_env` sets `AWS_ENDPOINT_URL*` in it.
pub async fn clients(fake: &FakeAws, opts: &CollectOptions) -> Clients {
    let cfg = aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(
            aws_credential_types::Credentials::new("test", "test", None, None, "static"),
        ))
        .endpoint_url(&fake.url)
        .build();
    Clients::new(&cfg, opts)
}

pub async fn start(faults: Faults) -> FakeAws {
    FakeAws::start(scenario(), faults).await
}

fn ou(id: &str, name: &str) -> Value {
    json!({"Id": id, "Name": name,
           "Arn": format!("arn:aws:organizations::{MGMT}:ou/{ORG_ID}/{id}")})
}

/// An Organizations account as `ListAccountsForParent` answers it.
pub fn account(id: &str, name: &str, state: Option<&str>, status: Option<&str>) -> Value {
    let mut a = json!({"Id": id, "Name": name, "Email": format!("aws+{id}@example.com"),
                       "Arn": format!("arn:aws:organizations::{MGMT}:account/{ORG_ID}/{id}"),
                       "JoinedMethod": "CREATED", "JoinedTimestamp": 1_767_225_600});
    if let Some(s) = state {
        a["State"] = json!(s);
    }
    if let Some(s) = status {
        a["Status"] = json!(s);
    }
    a
}

fn license(arn: &str, product: &str, issuer: &str, status: &str, beneficiary: &str) -> Value {
    json!({"LicenseArn": arn, "LicenseName": product, "ProductName": product,
           "ProductSKU": format!("prod-{}", &arn[arn.len() - 4..]),
           "Issuer": {"Name": issuer}, "HomeRegion": "us-east-1", "Status": status,
           "Validity": {"Begin": "2026-01-01T00:00:00Z"}, "Beneficiary": beneficiary,
           "CreateTime": "1767225600", "Version": "1"})
}

fn grant(id: &str, license: &str, parent: &str, principal: &str, status: &str) -> Value {
    json!({"GrantArn": grant_arn(id), "GrantName": format!("grant {id}"), "ParentArn": parent,
           "LicenseArn": license, "GranteePrincipalArn": principal, "HomeRegion": "us-east-1",
           "GrantStatus": status, "Version": "1",
           "GrantedOperations": ["CheckoutLicense", "CheckInLicense"]})
}

fn event(id: &str, name: &str, time: i64, detail: Value) -> Value {
    json!({"EventId": id, "EventName": name, "EventTime": time, "Username": "admin",
           "EventSource": "license-manager.amazonaws.com",
           "CloudTrailEvent": detail.to_string()})
}

/// The documentation organization every collector test reads.
pub fn scenario() -> Scenario {
    let org_arn = format!("arn:aws:organizations::{MGMT}:organization/{ORG_ID}");
    let ou_arn = |id: &str| format!("arn:aws:organizations::{MGMT}:ou/{ORG_ID}/{id}");
    let acct = |id: &str| format!("arn:aws:iam::{id}:root");
    let g_org = grant_arn("org1");
    let g_other = grant_arn("other5");
    let mut cohere = license(L_COHERE, "Command R+", "AWS/Marketplace", "DELETED", MGMT);
    cohere["Validity"]["End"] = json!("2026-09-30T00:00:00Z");
    cohere["CreateTime"] = json!("2026-02-01T00:00:00Z");
    let t = 1_790_000_000; // 2026-09-21
    Scenario {
        market: market(),
        members: fake_aws::Members::default(),
        organization: json!({"Id": ORG_ID, "Arn": org_arn, "FeatureSet": "ALL",
                             "MasterAccountId": MGMT, "MasterAccountArn": format!("arn:aws:organizations::{MGMT}:account/{ORG_ID}/{MGMT}"),
                             "MasterAccountEmail": "aws@example.com"}),
        roots: vec![json!({"Id": ROOT, "Name": "Root",
                           "Arn": format!("arn:aws:organizations::{MGMT}:root/{ORG_ID}/{ROOT}")})],
        ous: vec![
            (ROOT.into(), ou(OU_WORKLOADS, "Workloads")),
            (ROOT.into(), ou(OU_SANDBOX, "Sandbox")),
            (OU_WORKLOADS.into(), ou(OU_PROD, "Prod")),
            (OU_WORKLOADS.into(), ou(OU_DEV, "Dev")),
        ],
        accounts: vec![
            (
                ROOT.into(),
                account(MGMT, "Management", Some("ACTIVE"), Some("ACTIVE")),
            ),
            (
                OU_PROD.into(),
                account(PROD, "Prod App", Some("ACTIVE"), None),
            ),
            (OU_DEV.into(), account(DEV, "Dev App", Some("ACTIVE"), None)),
            (
                OU_SANDBOX.into(),
                account(SANDBOX, "Sandbox", Some("QUARANTINED"), None),
            ),
            (
                ROOT.into(),
                account(LEGACY, "Legacy", None, Some("SUSPENDED")),
            ),
        ],
        tags: BTreeMap::from([
            (
                PROD.to_string(),
                vec![
                    json!({"Key": "team", "Value": "ml"}),
                    json!({"Key": "env", "Value": "prod"}),
                ],
            ),
            (
                DEV.to_string(),
                vec![json!({"Key": "team", "Value": "search"})],
            ),
        ]),
        received_licenses: vec![
            license(
                L_CLAUDE,
                "Claude Sonnet 4.6",
                "AWS/Marketplace",
                "AVAILABLE",
                MGMT,
            ),
            cohere,
            license(
                L_OTHER_ISSUER,
                "Some Tool",
                "Example Seller",
                "AVAILABLE",
                MGMT,
            ),
        ],
        organization_licenses: vec![
            license(
                L_MEMBER,
                "Claude Sonnet 4.6",
                "AWS/Marketplace",
                "AVAILABLE",
                DEV,
            ),
            license(
                "arn:aws:license-manager::444455556666:license:l-44444444444444444444444444444444",
                "Some Tool",
                "Example Seller",
                "AVAILABLE",
                DEV,
            ),
        ],
        distributed_grants: vec![
            grant("org1", L_CLAUDE, L_CLAUDE, &org_arn, "WORKFLOW_COMPLETED"),
            grant("ou2", L_CLAUDE, L_CLAUDE, &ou_arn(OU_PROD), "ACTIVE"),
            grant(
                "acct3",
                L_CLAUDE,
                L_CLAUDE,
                &acct(SANDBOX),
                "PENDING_ACCEPT",
            ),
            grant(
                "paused4",
                L_COHERE,
                L_COHERE,
                &acct(PROD),
                "PAUSED_BY_SELLER",
            ),
        ],
        organization_grants: vec![
            grant("sub-a", L_CLAUDE, &g_org, &acct(PROD), "ACTIVE"),
            grant("sub-b", L_CLAUDE, &g_org, &acct(DEV), "DISABLED"),
            grant("sub-c", L_CLAUDE, &g_other, &acct(SANDBOX), "ACTIVE"),
        ],
        other_grants: vec![grant(
            "other5",
            L_CLAUDE,
            L_CLAUDE,
            &ou_arn(OU_SANDBOX),
            "ACTIVE",
        )],
        facts: facts(),
        events: vec![
            event(
                "ev1",
                "CreateGrant",
                t,
                json!({
                "userIdentity": {"arn": format!("arn:aws:iam::{MGMT}:role/Admin")},
                "requestParameters": {"principals": [acct(SANDBOX)], "licenseArn": L_CLAUDE},
                "responseElements": {"grantArn": grant_arn("acct3"), "status": "PENDING_ACCEPT"}}),
            ),
            event(
                "ev2",
                "CreateGrantVersion",
                t + 60,
                json!({
                "userIdentity": {"arn": format!("arn:aws:iam::{MGMT}:role/Admin")},
                "requestParameters": {"grantArn": grant_arn("ou2"), "status": "ACTIVE"}}),
            ),
            event(
                "ev3",
                "CreateGrantVersion",
                t + 120,
                json!({
                "requestParameters": {"grantArn": grant_arn("org1"), "status": "DISABLED"}}),
            ),
            event(
                "ev4",
                "AcceptGrant",
                t + 180,
                json!({
                "userIdentity": {"arn": format!("arn:aws:iam::{MGMT}:role/Admin")},
                "requestParameters": {"grantArn": grant_arn("sub-a")}}),
            ),
            event(
                "ev5",
                "RejectGrant",
                t + 240,
                json!({
                "errorCode": "AccessDenied", "requestParameters": {"grantArn": grant_arn("sub-b")}}),
            ),
            {
                let mut e = event("ev6", "DeleteGrant", t + 300, json!({}));
                e["CloudTrailEvent"] = json!("{not json");
                e["Resources"] = json!([{"ResourceType": "AWS::LicenseManager::Grant",
                                          "ResourceName": grant_arn("gone9")}]);
                e
            },
            event(
                "ev7",
                "CreateGrantVersion",
                t + 360,
                json!({
                "requestParameters": {"grantArn": grant_arn("paused4"), "status": "PAUSED"}}),
            ),
            // Older than the 90-day window: the fake filters it by `StartTime`.
            event(
                "ev0",
                "DeleteGrant",
                t - 200 * 86_400,
                json!({
                "requestParameters": {"grantArn": grant_arn("ancient")}}),
            ),
        ],
        service_settings: json!({"OrganizationConfiguration": {"EnableIntegration": true},
                                 "EnableCrossAccountsDiscovery": false}),
        cost_allocation_tags: vec![
            json!({"TagKey": "team", "Type": "UserDefined", "Status": "Active"}),
        ],
        caller: (MGMT.to_string(), format!("arn:aws:iam::{MGMT}:role/Audit")),
    }
}

fn fact(date: &str, account: &str, service: &str, team: Option<&str>, cost: f64) -> Fact {
    Fact {
        date: date.into(),
        account: account.into(),
        service: service.into(),
        team: team.map(str::to_string),
        billing_entity: "AWS Marketplace".into(),
        cost,
        qty: cost * 100.0,
        public: Some(cost * 1.25),
    }
}

/// Marketplace spend in the window: total 44.25 USD, plus first-party spend the filter
/// must exclude.
pub fn facts() -> Vec<Fact> {
    let mut v = Vec::new();
    for d in ["2026-10-01", "2026-10-02", "2026-10-03"] {
        v.push(fact(d, PROD, CLAUDE, Some("ml"), 10.25));
    }
    for d in ["2026-10-01", "2026-10-02"] {
        v.push(fact(d, DEV, CLAUDE, Some("search"), 3.5));
        v.push(fact(d, DEV, COMMAND, None, 0.75));
    }
    let mut no_public = fact("2026-10-03", SANDBOX, CLAUDE, None, 5.0);
    no_public.public = None;
    v.push(no_public);
    v.push(Fact {
        billing_entity: "AWS".into(),
        ..fact("2026-10-02", PROD, "Amazon Bedrock", Some("ml"), 100.0)
    });
    // Outside the window.
    v.push(fact("2026-09-15", PROD, CLAUDE, Some("ml"), 1000.0));
    v
}

pub const MARKETPLACE_TOTAL: f64 = 44.25;

/// The Claude agreement (ACTIVE, license named by the search) and the Cohere one (CANCELLED,
/// license named only by `GetAgreementEntitlements`, prices in another currency), with a
/// term kind no SDK knows among their terms.
pub const AGREEMENT_CLAUDE: &str = "agmt-claude0000000000000001";
pub const AGREEMENT_COHERE: &str = "agmt-cohere0000000000000002";
/// The Bedrock model id of the Claude license's model (it has `:`, escaped in request paths).
pub const CLAUDE_MODEL_ID: &str = "example.claude-sonnet-4-6-v1:0";

/// A Price List item of `service_name` for `usage_type`: one on-demand price in USD per `unit`.
pub fn price_item(service_name: &str, usage_type: &str, usd: &str, unit: &str) -> Value {
    json!({"product": {"productFamily": "Amazon Bedrock", "sku": "SKU-EXAMPLE",
                       "attributes": {"servicename": service_name, "usagetype": usage_type}},
           "terms": {"OnDemand": {"SKU-EXAMPLE.TERM": {"priceDimensions": {"SKU-EXAMPLE.TERM.DIM": {
               "unit": unit, "pricePerUnit": {"USD": usd}, "description": "per unit"}}}}}})
}

fn market() -> fake_aws::Market {
    let summary = |id: &str, status: &str, product: &str| {
        json!({"agreementId": id, "agreementType": "PurchaseAgreement", "status": status,
               "acceptor": {"accountId": MGMT}, "proposer": {"accountId": LEGACY},
               "proposalSummary": {"offerId": "offer-example0001",
                                   "resources": [{"id": product, "type": "SaaSProduct"}]},
               "acceptanceTime": 1_780_000_000, "startTime": 1_780_000_000.5})
    };
    let mut claude = summary(AGREEMENT_CLAUDE, "ACTIVE", "prod-claude");
    claude["entitlements"] = json!([{"licenseArn": L_CLAUDE}]);
    claude["endTime"] = json!(1_800_000_000);
    claude["endTimeBehaviorType"] = json!("REPLACE");
    let mut cohere = summary(AGREEMENT_COHERE, "CANCELLED", "prod-cohere");
    cohere["lastUpdateTime"] = json!(1_790_000_000);
    let usage = |currency: &str, cards: Value| {
        json!({"usageBasedPricingTerm": {"type": "UsageBasedPricingTerm", "id": "term-1",
                                         "currencyCode": currency, "rateCards": cards}})
    };
    let model = |id: &str, name: &str| {
        json!({"modelId": id, "modelName": name, "providerName": "Example",
               "modelArn": format!("arn:aws:bedrock:us-east-1::foundation-model/{id}")})
    };
    let rate = |dimension: &str, price: &str, unit: &str| json!({"dimension": dimension, "price": price, "unit": unit, "description": "tokens"});
    fake_aws::Market {
        // The licensed Claude model (its name, not its usage name), and one nobody licensed.
        models: vec![
            model(CLAUDE_MODEL_ID, "Claude Sonnet 4.6"),
            model("example.unlicensed-v1:0", "Unlicensed Model"),
        ],
        offers: [(
            CLAUDE_MODEL_ID.to_string(),
            vec![
                json!({"offerId": "offer-public01", "offerToken": "token-1",
                       "termDetails": {"usageBasedPricingTerm": {"rateCard": [
                           rate("USE1_InputTokenCount", "3.00", "Units"),
                           rate("USE1_OutputTokenCount", "15.00", "Units")]},
                                       "legalTerm": {"url": "https://example.com/eula"}}}),
                // A second offer repeating a dimension: the first price stands.
                json!({"offerId": "offer-public02", "offerToken": "token-2",
                       "termDetails": {"usageBasedPricingTerm": {"rateCard": [
                           rate("USE1_InputTokenCount", "9.99", "Units"),
                           rate("USE1_input_tokens_batch", "1.50", "Units")]}}}),
            ],
        )]
        .into_iter()
        .collect(),
        // The Price List: Command R+ (no public offer) and a model nobody licensed.
        price_list: vec![
            price_item(COMMAND, "USE1-MP:USE1_InputTokenCount-Units", "3.0000000000", "Units"),
            price_item(COMMAND, "USE1-MP:USE1_OutputTokenCount-Units", "15.0000000000", "Units"),
            price_item(
                "Unlicensed Model (Amazon Bedrock Edition)",
                "USE1-MP:USE1_InputTokenCount-Units",
                "1.0",
                "Units",
            ),
        ],
        agreements: vec![claude, cohere],
        entitlements: [(
            AGREEMENT_COHERE.to_string(),
            vec![json!({"licenseArn": L_COHERE, "status": "DEPROVISIONED"})],
        )]
        .into_iter()
        .collect(),
        terms: [
            (
                AGREEMENT_CLAUDE.to_string(),
                vec![
                    json!({"brandNewTerm": {"type": "BrandNewTerm", "id": "term-0"}}),
                    usage(
                        "USD",
                        json!([{"rateCard": [
                            {"dimensionKey": "USE1_InputTokenCount", "price": "2.25"},
                            {"dimensionKey": "USE1_OutputTokenCount", "price": "11.25"}]},
                            {"rateCard": [{"dimensionKey": "USE1_input_tokens_batch"}]}]),
                    ),
                    json!({"renewalTerm": {"type": "RenewalTerm", "id": "term-2",
                                           "configuration": {"enableAutoRenew": false}}}),
                ],
            ),
            (
                AGREEMENT_COHERE.to_string(),
                vec![
                    usage(
                        "EUR",
                        json!([{"rateCard": [{"dimensionKey": "USE1_InputTokenCount", "price": "2.00"}]}]),
                    ),
                    json!({"validityTerm": {"type": "ValidityTerm", "id": "term-3",
                                            "agreementEndDate": 1_790_000_000}}),
                ],
            ),
        ]
        .into_iter()
        .collect(),
    }
}
