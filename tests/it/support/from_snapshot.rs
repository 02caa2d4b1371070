//! Any [`Snapshot`] (the demo organization, a scenario from `OrgBuilder`, a generated one of
//! any size) as the AWS wire shapes the fake serves, so that the real collector can read back
//! what the engine analyzes.
//!
//! What the collector cannot get back is left out on purpose, the way AWS leaves it out:
//! Cost Explorer's answers are grouped (no usage type; the tag query is a separate grouping),
//! and CloudTrail only ever holds what the events say.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use entitlement_audit::model::usage::rows;
use entitlement_audit::model::{
    Account, EventKind, Grant, GrantEvent, License, Organization, OrganizationalUnit, PrincipalKind,
};
use entitlement_audit::snapshot::Snapshot;
use serde_json::{json, Value};

use super::fake_aws::{Fact, Market, Scenario};

/// The `BILLING_ENTITY` of every usage row: the snapshot's usage is Marketplace spend.
const MARKETPLACE: &str = "AWS Marketplace";

/// What a distributed (direct) grant's `ParentArn` holds: aws-apis.md 1.5 leaves it open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParentForm {
    /// The license ARN.
    License,
    /// The seller's grant to the subscriber, which the license names in its `LicenseMetadata`
    /// (`grantArn`).
    SellerGrant,
    /// The seller's grant, and the license does not name it.
    UnnamedSellerGrant,
    /// Nothing.
    Empty,
}

/// How an account grantee is written, in grants, sub-grants and `CreateGrant` events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountForm {
    /// `arn:aws:iam::<id>:root`
    IamRoot,
    /// `arn:aws:organizations::<mgmt>:account/o-.../<id>`
    OrganizationsArn,
    /// `<id>`
    BareId,
}

/// The shapes in which the fake answers; [`Shapes::default`] is the form the collector was
/// first written for.
#[derive(Debug, Clone, Copy)]
pub struct Shapes {
    pub parent: ParentForm,
    pub account: AccountForm,
    /// `ListReceivedGrantsForOrganization` lists the direct account grants too, not only the
    /// sub-grants (the same grant seen by two listings).
    pub account_grants_listed_for_org: bool,
    /// The subscriber's licenses name it in `Beneficiary` (else the field is absent).
    pub beneficiary: bool,
    /// License `CreateTime` as ISO-8601 text, as the model documents (else epoch seconds as
    /// text, as observed).
    pub iso_create_time: bool,
    /// CloudTrail records with PascalCase `RequestParameters` / `ResponseElements` keys (else
    /// camelCase, as expected).
    pub pascal_trail: bool,
}

impl Default for Shapes {
    fn default() -> Self {
        Shapes {
            parent: ParentForm::License,
            account: AccountForm::IamRoot,
            account_grants_listed_for_org: false,
            beneficiary: true,
            iso_create_time: false,
            pascal_trail: false,
        }
    }
}

impl Shapes {
    /// Every `ParentArn` form, each with another account form and the other open shapes
    /// varied: the combinations a scenario runs in.
    pub fn every_form() -> Vec<Shapes> {
        use AccountForm::*;
        use ParentForm::*;
        [
            (License, IamRoot, false, true, false, false),
            (SellerGrant, OrganizationsArn, true, false, true, false),
            (UnnamedSellerGrant, BareId, true, true, false, true),
            (Empty, OrganizationsArn, false, true, true, true),
            (SellerGrant, BareId, false, true, false, false),
            (Empty, IamRoot, true, false, false, true),
        ]
        .into_iter()
        .map(|(parent, account, both, beneficiary, iso, pascal)| Shapes {
            parent,
            account,
            account_grants_listed_for_org: both,
            beneficiary,
            iso_create_time: iso,
            pascal_trail: pascal,
        })
        .collect()
    }

    /// The seller's grant a license came from (a documentation account as the seller).
    pub fn seller_grant(license_arn: &str) -> String {
        let id = license_arn.rsplit(':').next().unwrap_or_default();
        format!("arn:aws:license-manager::444455556666:grant:g-seller-{id}")
    }

    fn parent_of(&self, g: &Grant) -> String {
        if g.is_sub_grant() {
            return g.parent_arn.clone();
        }
        match self.parent {
            ParentForm::License => g.license_arn.clone(),
            ParentForm::SellerGrant | ParentForm::UnnamedSellerGrant => {
                Self::seller_grant(&g.license_arn)
            }
            ParentForm::Empty => String::new(),
        }
    }

    fn principal(&self, org: &Organization, g: &Grant) -> String {
        if g.grantee_kind != PrincipalKind::Account {
            return g.grantee_principal_arn.clone();
        }
        let id = &g.grantee_id;
        match self.account {
            AccountForm::IamRoot => format!("arn:aws:iam::{id}:root"),
            AccountForm::OrganizationsArn => format!(
                "arn:aws:organizations::{}:account/{}/{id}",
                org.management_account_id, org.id
            ),
            AccountForm::BareId => id.clone(),
        }
    }

    fn grant(&self, org: &Organization, g: &Grant) -> Value {
        let mut v = grant(g);
        v["ParentArn"] = json!(self.parent_of(g));
        v["GranteePrincipalArn"] = json!(self.principal(org, g));
        v
    }
}

impl Scenario {
    /// The organization of `snap`, as Organizations, License Manager, Cost Explorer and
    /// CloudTrail would answer for it. See the module docs for what is lost on the way.
    pub fn from_snapshot(snap: &Snapshot) -> Scenario {
        Self::from_snapshot_in(snap, Shapes::default())
    }

    /// [`Scenario::from_snapshot`], answering in the given shapes.
    pub fn from_snapshot_in(snap: &Snapshot, shapes: Shapes) -> Scenario {
        let org = &snap.organization;
        let grants: BTreeMap<&str, &Grant> =
            snap.grants.iter().map(|g| (g.arn.as_str(), g)).collect();
        let (roots, ous): (Vec<_>, Vec<_>) = snap
            .organizational_units
            .iter()
            .partition(|o| o.parent_id.is_none());
        let (received, members): (Vec<&License>, Vec<&License>) = snap
            .licenses
            .iter()
            .partition(|l| l.beneficiary == org.subscriber_account_id);
        let (sub_grants, top): (Vec<&Grant>, Vec<&Grant>) =
            snap.grants.iter().partition(|g| g.is_sub_grant());
        let for_org = sub_grants.iter().chain(top.iter().filter(|g| {
            shapes.account_grants_listed_for_org && g.grantee_kind == PrincipalKind::Account
        }));
        let license = |l: &License| {
            let mut v = license(l);
            if let (true, Some(c)) = (shapes.iso_create_time, l.created_at) {
                v["CreateTime"] = json!(iso(c));
            }
            if shapes.parent == ParentForm::SellerGrant {
                v["LicenseMetadata"] =
                    json!([{"Name": "grantArn", "Value": Shapes::seller_grant(&l.arn)}]);
            }
            v
        };
        Scenario {
            organization: organization(org),
            roots: roots.iter().map(|r| ou(org, r, "root")).collect(),
            ous: ous
                .iter()
                .map(|o| (o.parent_id.clone().unwrap_or_default(), ou(org, o, "ou")))
                .collect(),
            accounts: snap
                .accounts
                .iter()
                .map(|a| (a.parent_id.clone(), account(org, a)))
                .collect(),
            tags: snap
                .accounts
                .iter()
                .filter(|a| !a.tags.is_empty())
                .map(|a| {
                    let tags = a
                        .tags
                        .iter()
                        .map(|(k, v)| json!({"Key": k, "Value": v}))
                        .collect();
                    (a.id.clone(), tags)
                })
                .collect(),
            received_licenses: received
                .into_iter()
                .map(|l| {
                    let mut v = license(l);
                    if !shapes.beneficiary {
                        v.as_object_mut().unwrap().remove("Beneficiary");
                    }
                    v
                })
                .collect(),
            organization_licenses: members.into_iter().map(license).collect(),
            organization_grants: for_org.map(|g| shapes.grant(org, g)).collect(),
            distributed_grants: top.iter().map(|g| shapes.grant(org, g)).collect(),
            other_grants: Vec::new(),
            facts: facts(snap),
            events: snap
                .grant_events
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    let g = grants.get(e.grant_arn.as_str()).copied();
                    let mut v = event(i, e, g.map(|g| shapes.principal(org, g)), g);
                    if shapes.pascal_trail {
                        v["CloudTrailEvent"] = json!(pascal_keys(&v["CloudTrailEvent"]));
                    }
                    v
                })
                .collect(),
            service_settings: json!({"OrganizationConfiguration": {"EnableIntegration": true},
                                     "EnableCrossAccountsDiscovery": false}),
            cost_allocation_tags: vec![
                json!({"TagKey": "team", "Type": "UserDefined", "Status": "Active"}),
            ],
            caller: (
                org.subscriber_account_id.clone(),
                format!("arn:aws:iam::{}:role/Audit", org.subscriber_account_id),
            ),
            market: market(snap),
            members: super::fake_aws::Members::default(),
        }
    }
}

/// The snapshot's public rates as Bedrock answers them: one model per product that has some
/// (named like its license), with one public offer holding its rate card.
fn public_offers(snap: &Snapshot, m: &mut Market) {
    use entitlement_audit::model::RateSource;
    let mut products: Vec<&str> = snap
        .rates
        .iter()
        .filter(|r| r.source == RateSource::PublicOffer)
        .map(|r| r.product.as_str())
        .collect();
    products.sort();
    products.dedup();
    for (i, product) in products.into_iter().enumerate() {
        let id = format!("example.model-{i}-v1:0");
        m.models.push(json!({"modelId": id, "modelName": product, "providerName": "Example",
                             "modelArn": format!("arn:aws:bedrock:us-east-1::foundation-model/{id}")}));
        let card: Vec<Value> = snap
            .rates
            .iter()
            .filter(|r| r.source == RateSource::PublicOffer && r.product == product)
            .map(|r| json!({"dimension": r.dimension_key, "price": r.price, "unit": r.unit}))
            .collect();
        m.offers.insert(
            id,
            vec![
                json!({"offerId": format!("offer-public{i}"), "offerToken": "token",
                        "termDetails": {"usageBasedPricingTerm": {"rateCard": card}}}),
            ],
        );
    }
}

/// The snapshot's Price List rates as `GetProducts` items (the usage type rebuilt from the
/// dimension key, as `USE1-MP:<key>-<unit>`).
fn price_list(snap: &Snapshot, m: &mut Market) {
    use entitlement_audit::model::RateSource;
    for r in snap
        .rates
        .iter()
        .filter(|r| r.source == RateSource::PriceList)
    {
        let unit = r.unit.as_deref().unwrap_or("Units");
        let usage_type = format!("USE1-MP:{}-{unit}", r.dimension_key);
        let service = format!("{} (Amazon Bedrock Edition)", r.product);
        m.price_list.push(crate::support::price_item(
            &service,
            &usage_type,
            &r.price,
            unit,
        ));
    }
}

/// The snapshot's agreements as the Marketplace Agreement API answers them: the license in
/// the search summary (`search-agreements`), in `GetAgreementEntitlements`
/// (`agreement-entitlements`) or nowhere; the agreement's rates as its usage-based pricing
/// term, beside a legal term, the renewal term and a term kind no SDK knows yet; the public
/// rates as Bedrock's models and offers ([`public_offers`]).
fn market(snap: &Snapshot) -> Market {
    let mut m = Market::default();
    for a in &snap.agreements {
        let mut summary = json!({
            "agreementId": a.id, "agreementType": "PurchaseAgreement", "status": a.status.as_str(),
            "acceptor": {"accountId": a.acceptor_account_id},
            "proposer": {"accountId": "210987654321"},
            "proposalSummary": {"offerId": a.offer_id,
                                "resources": [{"id": a.product_id, "type": "SaaSProduct"}]},
        });
        for (key, t) in [
            ("acceptanceTime", a.acceptance_time),
            ("startTime", a.start_time),
            ("endTime", a.end_time),
            ("lastUpdateTime", a.last_update_time),
        ] {
            if let Some(t) = t {
                summary[key] = epoch(t);
            }
        }
        if let Some(b) = &a.end_time_behavior {
            summary["endTimeBehaviorType"] = json!(b);
        }
        match (a.license_link.as_str(), &a.license_arn) {
            ("search-agreements", Some(arn)) => {
                summary["entitlements"] = json!([{"licenseArn": arn}]);
            }
            ("agreement-entitlements", Some(arn)) => {
                m.entitlements.insert(
                    a.id.clone(),
                    vec![json!({"licenseArn": arn, "status": "PROVISIONED",
                                "resource": {"id": a.product_id, "type": "SaaSProduct"}})],
                );
            }
            _ => {}
        }
        m.agreements.push(summary);
        let cards: Vec<Value> = snap
            .rates
            .iter()
            .filter(|r| r.agreement_id.as_deref() == Some(a.id.as_str()))
            .map(|r| json!({"dimensionKey": r.dimension_key, "price": r.price}))
            .collect();
        let currency = snap
            .rates
            .iter()
            .find(|r| r.agreement_id.as_deref() == Some(a.id.as_str()))
            .map_or("USD", |r| r.currency.as_str());
        let mut terms = vec![
            json!({"legalTerm": {"type": "LegalTerm", "id": "term-legal",
                                 "documents": [{"type": "StandardEula", "url": "https://example.com/eula"}]}}),
            json!({"futureKindOfTerm": {"type": "FutureKindOfTerm", "id": "term-future"}}),
            json!({"usageBasedPricingTerm": {"type": "UsageBasedPricingTerm", "id": "term-usage",
                                             "currencyCode": currency,
                                             "rateCards": [{"rateCard": cards}]}}),
        ];
        if let Some(auto) = a.auto_renew {
            terms.push(
                json!({"renewalTerm": {"type": "RenewalTerm", "id": "term-renewal",
                                              "configuration": {"enableAutoRenew": auto}}}),
            );
        }
        m.terms.insert(a.id.clone(), terms);
    }
    public_offers(snap, &mut m);
    price_list(snap, &mut m);
    m
}

fn organization(org: &Organization) -> Value {
    let m = &org.management_account_id;
    json!({"Id": org.id, "Arn": format!("arn:aws:organizations::{m}:organization/{}", org.id),
           "FeatureSet": "ALL", "MasterAccountId": m,
           "MasterAccountArn": format!("arn:aws:organizations::{m}:account/{}/{m}", org.id),
           "MasterAccountEmail": format!("aws+{m}@example.com")})
}

/// A root (`kind` `root`) or an OU (`ou`).
fn ou(org: &Organization, o: &OrganizationalUnit, kind: &str) -> Value {
    let arn = format!(
        "arn:aws:organizations::{}:{kind}/{}/{}",
        org.management_account_id, org.id, o.id
    );
    json!({"Id": o.id, "Name": o.name, "Arn": arn})
}

fn account(org: &Organization, a: &Account) -> Value {
    let mut v = json!({"Id": a.id, "Name": a.name, "Email": a.email, "State": a.state.as_str(),
                       "Arn": format!("arn:aws:organizations::{}:account/{}/{}",
                                      org.management_account_id, org.id, a.id),
                       "JoinedMethod": "CREATED"});
    if let Some(t) = a.joined_at {
        v["JoinedTimestamp"] = epoch(t);
    }
    v
}

/// Epoch seconds, the JSON 1.1 timestamp format.
fn epoch(t: DateTime<Utc>) -> Value {
    json!(t.timestamp_millis() as f64 / 1000.0)
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn license(l: &License) -> Value {
    let mut v = json!({"LicenseArn": l.arn, "LicenseName": l.product_name,
                       "ProductName": l.product_name, "ProductSKU": l.product_sku,
                       "Issuer": {"Name": l.issuer}, "HomeRegion": l.home_region,
                       "Status": l.status.as_str(), "Beneficiary": l.beneficiary,
                       "Version": l.version});
    let mut validity = serde_json::Map::new();
    if let Some(b) = l.validity_begin {
        validity.insert("Begin".into(), json!(iso(b)));
    }
    if let Some(e) = l.validity_end {
        validity.insert("End".into(), json!(iso(e)));
    }
    if !validity.is_empty() {
        v["Validity"] = Value::Object(validity);
    }
    if let Some(c) = l.created_at {
        // Epoch seconds as a string: what License Manager really sends.
        v["CreateTime"] = json!(c.timestamp().to_string());
    }
    v
}

fn grant(g: &Grant) -> Value {
    let mut v = json!({"GrantArn": g.arn, "GrantName": g.name, "ParentArn": g.parent_arn,
                       "LicenseArn": g.license_arn, "GranteePrincipalArn": g.grantee_principal_arn,
                       "HomeRegion": g.home_region, "GrantStatus": g.status.as_str(),
                       "Version": g.version, "GrantedOperations": g.granted_operations});
    if let Some(r) = &g.status_reason {
        v["StatusReason"] = json!(r);
    }
    if let Some(o) = &g.activation_override {
        v["Options"] = json!({"ActivationOverrideBehavior": o});
    }
    if let Some(t) = &g.grant_type {
        v["GrantType"] = json!(t);
    }
    v
}

/// The CloudTrail record of one grant change. `grant` is the grant as listed, when it still
/// is, and `principal` its principal as listed: `CreateGrant` names it.
fn event(i: usize, e: &GrantEvent, principal: Option<String>, grant: Option<&Grant>) -> Value {
    let arn = e.grant_arn.as_str();
    let (name, request, response) = match &e.kind {
        EventKind::Created => {
            let principal = principal.or_else(|| {
                e.account_id
                    .as_ref()
                    .map(|a| format!("arn:aws:iam::{a}:root"))
            });
            let license = grant.map(|g| g.license_arn.as_str()).unwrap_or_default();
            (
                "CreateGrant",
                json!({"licenseArn": license, "principals": principal.into_iter().collect::<Vec<_>>(),
                       "homeRegion": "us-east-1"}),
                json!({"grantArn": arn, "status": "PENDING_ACCEPT", "version": "1"}),
            )
        }
        EventKind::Accepted => (
            "AcceptGrant",
            json!({"grantArn": arn}),
            json!({"grantArn": arn}),
        ),
        EventKind::Rejected => (
            "RejectGrant",
            json!({"grantArn": arn}),
            json!({"grantArn": arn}),
        ),
        EventKind::Deleted => (
            "DeleteGrant",
            json!({"grantArn": arn}),
            json!({"grantArn": arn}),
        ),
        EventKind::Activated => version(arn, "ACTIVE"),
        EventKind::Disabled => version(arn, "DISABLED"),
        other => version(arn, other.as_str()),
    };
    let actor = e.actor.clone().unwrap_or_default();
    let user = actor.rsplit('/').next().unwrap_or_default().to_string();
    let detail = json!({"eventVersion": "1.08", "userIdentity": {"type": "AssumedRole", "arn": actor},
                        "eventTime": iso(e.time), "eventSource": "license-manager.amazonaws.com",
                        "eventName": name, "awsRegion": "us-east-1",
                        "requestParameters": request, "responseElements": response});
    json!({"EventId": format!("ev-{i:08}"), "EventName": name, "EventTime": epoch(e.time),
           "Username": user, "EventSource": "license-manager.amazonaws.com",
           "Resources": [{"ResourceType": "AWS::LicenseManager::Grant", "ResourceName": arn}],
           "CloudTrailEvent": detail.to_string()})
}

fn version(arn: &str, status: &str) -> (&'static str, Value, Value) {
    (
        "CreateGrantVersion",
        json!({"grantArn": arn, "status": status}),
        json!({"grantArn": arn, "status": status}),
    )
}

/// One fact per (day, account, service, tag value): Cost Explorer never shows finer lines.
/// The public cost of a fact is known only when every row it adds up has one.
fn facts(snap: &Snapshot) -> Vec<Fact> {
    type Key = (chrono::NaiveDate, String, String, Option<String>);
    let mut by: BTreeMap<Key, (f64, f64, Option<f64>)> = BTreeMap::new();
    for r in rows(&snap.usage).expect("usage has the schema") {
        let key = (r.date, r.account_id, r.product, r.team_tag);
        let e = by.entry(key).or_insert((0.0, 0.0, Some(0.0)));
        e.0 += r.cost_usd;
        e.1 += r.usage_quantity;
        e.2 = e.2.zip(r.public_cost_usd).map(|(a, b)| a + b);
    }
    by.into_iter()
        .map(
            |((date, account, service, team), (cost, qty, public))| Fact {
                date: date.to_string(),
                account,
                service,
                team,
                billing_entity: MARKETPLACE.to_string(),
                cost,
                qty,
                public,
            },
        )
        .collect()
}

/// A CloudTrail record (JSON text) with its request and response keys in PascalCase.
fn pascal_keys(record: &Value) -> String {
    fn upper(k: &str) -> String {
        let mut c = k.chars();
        c.next()
            .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
            .unwrap_or_default()
    }
    fn deep(v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (upper(k), deep(v))).collect()),
            other => other.clone(),
        }
    }
    let mut detail: Value = serde_json::from_str(record.as_str().unwrap()).unwrap();
    for key in ["requestParameters", "responseElements"] {
        if let Some(v) = detail.as_object_mut().unwrap().remove(key) {
            detail[upper(key)] = deep(&v);
        }
    }
    detail.to_string()
}
