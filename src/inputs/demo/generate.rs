//! The synthetic organization generator and the built-in demo organization.
//!
//! [`generate`] plans accounts, grants and spend from a seed and writes them with
//! [`OrgBuilder`]. Twenty named accounts come first and each plays a part that makes one or
//! more rules fire (see `NAMED`); the rest are filler accounts spread over the OU tree with
//! heavy-tailed spend. [`builtin`] is the generator at fixed parameters.
//!
//! The member accounts are read too (`--member-role`): every day an account spends on a model
//! it also invoked it, so its CloudWatch invocations carry the tokens its usage rows bill
//! (EA015 where no ACTIVE grant covered the day, beside EA001; EA017 for the model no license
//! names), and the account that joins late and is never granted accepted its own purchase
//! agreement the day it joined (EA016).
//!
//! Time runs in day indices `0..days` from the period's first day. A grant activated during
//! day `d` covers spend from day `d + 1`, because coverage is decided at the start of a day.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};

use super::builder::{hex32, OrgBuilder, Spend, ROOT_ID};
use super::rng::Rng;
use crate::model::{day_start, AccountState, EventKind, GrantStatus};
use crate::snapshot::Snapshot;

/// Seed of the built-in demo organization.
pub const BUILTIN_SEED: u64 = 20_261_031;

const ORG_ID: &str = "o-exampleorg1";
const MANAGEMENT: &str = "123456789012";
/// Above this many accounts, Prod and Dev get one OU per team.
const TEAM_OUS_ABOVE: usize = 100;
const TEAMS: &[&str] = &[
    "payments",
    "search",
    "ml-research",
    "data-platform",
    "checkout",
    "fraud",
    "recommendations",
    "support-ai",
    "identity",
    "mobile",
    "growth",
    "marketing-analytics",
];
const PRODUCT_NAMES: &[&str] = &["Claude 3.7 Sonnet", "Claude 3 Haiku", "Command R+"];
/// The `ModelId` each product is invoked with (CloudWatch's dimension value) and Bedrock's
/// model name: the first through its cross-Region (`us.`) inference profile, the others by
/// their foundation model ids. Later products get `example.model-NNN-v1:0`.
const MODEL_IDS: &[&str] = &[
    "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
    "anthropic.claude-3-haiku-20240307-v1:0",
    "cohere.command-r-plus-v1:0",
];
/// Spend on a Marketplace model the organization holds no license for (EA009).
const UNMAPPED_PRODUCT: &str = "Jamba 1.5 Large (Amazon Bedrock Edition)";
/// Its invocations: no license names it (EA017).
const UNMAPPED_MODEL: (&str, &str) = ("ai21.jamba-1-5-large-v1:0", "Jamba 1.5 Large");
/// Where the demo's members invoke their models (the usage types' `USE1`).
const MEMBER_REGION: &str = "us-east-1";
/// Tokens in one unit of a token dimension's quantity (a million).
const TOKENS_PER_UNIT: f64 = 1e6;
/// Average input tokens of one invocation, to derive a day's invocation count.
const INPUT_TOKENS_PER_INVOCATION: u64 = 2_000;
const INPUT_USAGE: &str = "USE1-MP:USE1_InputTokenCount-Units";
/// The first product's private offer is 25% below its public price.
const PRIVATE_PRICE_RATIO: f64 = 0.75;

/// One dimension of a model's rate card: its usage type, its share of a day's spend, and its
/// public and private price in USD per unit (a million tokens).
struct Dimension {
    usage_type: &'static str,
    key: &'static str,
    share: f64,
    public: f64,
    private: f64,
}

/// The first model's rate card (the older dimension keys) at 75% of public; the second
/// model's in the newer keys at 80%; the others reuse the first card's keys and prices, and
/// have no agreement terms.
fn dimensions(product: Option<usize>) -> [Dimension; 2] {
    let dim = |usage_type, key, share, public: f64, ratio: f64| Dimension {
        usage_type,
        key,
        share,
        public,
        private: public * ratio,
    };
    if product == Some(1) {
        [
            dim(
                "USE1-MP:USE1_input_tokens_standard-Units",
                "USE1_input_tokens_standard",
                0.3,
                0.25,
                0.8,
            ),
            dim(
                "USE1-MP:USE1_output_tokens_standard-Units",
                "USE1_output_tokens_standard",
                0.7,
                1.25,
                0.8,
            ),
        ]
    } else {
        [
            dim(
                INPUT_USAGE,
                "USE1_InputTokenCount",
                0.3,
                3.0,
                PRIVATE_PRICE_RATIO,
            ),
            dim(
                "USE1-MP:USE1_OutputTokenCount-Units",
                "USE1_OutputTokenCount",
                0.7,
                15.0,
                PRIVATE_PRICE_RATIO,
            ),
        ]
    }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoParams {
    /// Member accounts including the management account; at least 20 for every rule to fire.
    pub accounts: usize,
    /// Licensed Marketplace models; at least 3 for every rule to fire.
    pub products: usize,
    /// Days of spend, ending on `end`.
    pub days: u32,
    pub seed: u64,
    /// Last day of the period; the snapshot is collected at 06:00 UTC the day after.
    pub end: NaiveDate,
    /// Percentage of the generated (unnamed) accounts that may spend at all, drawn per
    /// account from a stream of its own; 100 (the default) draws nothing, so every seed's
    /// organization is the same as before the option. The named accounts always spend, so
    /// that every rule fires. The collection benchmark uses 20.
    pub spending_percent: u32,
}

impl DemoParams {
    /// The parameters of [`builtin`].
    pub fn builtin() -> Self {
        Self {
            accounts: 40,
            products: 3,
            days: 90,
            seed: BUILTIN_SEED,
            end: NaiveDate::from_ymd_opt(2026, 10, 31).expect("valid date"),
            spending_percent: 100,
        }
    }
}

impl Default for DemoParams {
    fn default() -> Self {
        Self::builtin()
    }
}

/// The built-in demo organization: 40 accounts, 3 licensed models, 90 days ending
/// 2026-10-31, collected 2026-11-01T06:00:00Z. Identical on every call.
pub fn builtin() -> Snapshot {
    generate(&DemoParams::builtin())
}

/// A synthetic organization, deterministic for `p`. `accounts`, `products` and `days` below
/// 1 are taken as 1.
pub fn generate(p: &DemoParams) -> Snapshot {
    let cx = Cx::new(p);
    let ous = plan_ous(cx.accounts > TEAM_OUS_ABOVE);
    let mut accounts = plan_accounts(&cx, &ous);
    let mut b = OrgBuilder::new(ORG_ID, MANAGEMENT);
    let products = plan_products(&cx, &b);
    for ou in &ous[1..] {
        b.ou(&ou.id, &ou.name, &ou.parent);
    }
    for a in &accounts {
        b.account(&a.id, &a.name, &a.ou, cx.date(a.joined))
            .account_state(&a.id, a.state.clone());
        if let Some(team) = a.team {
            b.account_tag(&a.id, "team", team);
        }
    }
    b.reserve_grants(cx.accounts * 3, cx.accounts * 8);
    licenses(&mut b, &cx, &products);
    grants(&mut b, &cx, &ous, &mut accounts, &products);
    usage(&mut b, &cx, &ous, &accounts, &products);
    agreements(&mut b, &cx, &products);
    let collected_at = day_start(p.end + Duration::days(1)) + Duration::hours(6);
    b.build(cx.start, p.end, collected_at)
}

/// Parameters plus the calendar.
struct Cx {
    accounts: usize,
    products: usize,
    days: i64,
    seed: u64,
    start: NaiveDate,
    spending_share: f64,
}

impl Cx {
    fn new(p: &DemoParams) -> Self {
        let days = i64::from(p.days.max(1));
        Self {
            accounts: p.accounts.max(1),
            products: p.products.max(1),
            days,
            seed: p.seed,
            start: p.end - Duration::days(days - 1),
            spending_share: f64::from(p.spending_percent.min(100)) / 100.0,
        }
    }

    /// The day at a fraction of the period.
    fn day(&self, frac: f64) -> i64 {
        ((frac * self.days as f64) as i64).clamp(0, self.days - 1)
    }

    /// `day`, or nothing when it falls after the period (the thing has not happened yet).
    fn within(&self, day: i64) -> Option<i64> {
        (day < self.days).then_some(day)
    }

    /// An account grant created on `day` at 10:00, then the `steps` at so many hours later,
    /// leaving out those that would fall after the period.
    fn account_life(&self, day: i64, steps: &[(EventKind, i64)]) -> Life {
        let created = self.time(day, 10);
        let period_end = self.time(self.days, 0);
        let later = steps
            .iter()
            .map(|(kind, hours)| (kind.clone(), created + Duration::hours(*hours)))
            .filter(|(_, t)| *t < period_end);
        Life::from_events(
            std::iter::once((EventKind::Created, created))
                .chain(later)
                .collect(),
        )
    }

    fn date(&self, day: i64) -> NaiveDate {
        self.start + Duration::days(day)
    }

    fn time(&self, day: i64, hour: i64) -> DateTime<Utc> {
        day_start(self.date(day)) + Duration::hours(hour)
    }
}

/// Where an account sits, which decides how it is granted and how it spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Home {
    Root,
    Security,
    Infrastructure,
    Prod,
    Dev,
    Sandbox,
    Suspended,
}

struct OuDef {
    id: String,
    name: String,
    parent: String,
    /// Set for the OUs accounts are placed in by kind (not for team OUs).
    home: Option<Home>,
    /// Team of a per-team OU under Prod or Dev.
    team: Option<&'static str>,
}

fn ou_id(path: &str) -> String {
    format!("ou-ex01-{}", &hex32(path)[..8])
}

/// Root -> Security, Infrastructure, Workloads -> (Prod, Dev), Sandbox, Suspended; with
/// `per_team`, one OU per team under Prod and under Dev.
fn plan_ous(per_team: bool) -> Vec<OuDef> {
    let mut ous = vec![OuDef {
        id: ROOT_ID.to_string(),
        name: "Root".to_string(),
        parent: String::new(),
        home: Some(Home::Root),
        team: None,
    }];
    let mut add = |path: &str, home: Option<Home>, team: Option<&'static str>| {
        let (parent_path, name) = path.rsplit_once('/').expect("path has a parent");
        let parent = if parent_path == "/Root" {
            ROOT_ID.to_string()
        } else {
            ou_id(parent_path)
        };
        ous.push(OuDef {
            id: ou_id(path),
            name: name.to_string(),
            parent,
            home,
            team,
        });
    };
    add("/Root/Security", Some(Home::Security), None);
    add("/Root/Infrastructure", Some(Home::Infrastructure), None);
    add("/Root/Workloads", None, None);
    add("/Root/Workloads/Prod", Some(Home::Prod), None);
    add("/Root/Workloads/Dev", Some(Home::Dev), None);
    add("/Root/Sandbox", Some(Home::Sandbox), None);
    add("/Root/Suspended", Some(Home::Suspended), None);
    if per_team {
        for env in ["Prod", "Dev"] {
            for team in TEAMS {
                add(&format!("/Root/Workloads/{env}/{team}"), None, Some(team));
            }
        }
    }
    ous
}

fn home_ou(ous: &[OuDef], home: Home) -> &OuDef {
    ous.iter()
        .find(|o| o.home == Some(home))
        .expect("every home has an OU")
}

/// The part a named account plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Subscriber,
    Plain,
    /// Pilot of the third product; its grant is deleted after the cancellation.
    Pilot,
    /// Pilot of the third product that keeps its grant and its spend after the cancellation.
    KeepsSpendingAfterCancel,
    /// Holds its own license for the first product (EA006).
    OwnLicense,
    /// Receives two account grants of the second product (EA008).
    DuplicateGrants,
    NeverActivated,
    /// First product's grant activated, then disabled near the end.
    DisabledLate,
    /// Joins mid-period and never activates.
    LateNeverActivated,
    /// Joins late in the period and activates three days later.
    LateActivated,
    /// Untagged sandbox spend on models it has no active grant for.
    UntaggedSpender,
    PendingAccept,
    PendingWorkflow,
    PendingDelete,
    /// Spends on a model the organization has no license for (EA009).
    UnmappedSpender,
    SuspendedTarget,
    ClosedTarget,
    Rejected,
    FailedWorkflow,
}

/// Spend profile: share of days with spend, and scale of a day's spend.
#[derive(Debug, Clone, Copy)]
enum Tier {
    Heavy,
    Steady,
    Light,
}

struct Named {
    name: &'static str,
    id: Option<&'static str>,
    home: Home,
    team: Option<&'static str>,
    role: Role,
    tier: Tier,
}

const fn named(
    name: &'static str,
    id: Option<&'static str>,
    home: Home,
    team: Option<&'static str>,
    role: Role,
    tier: Tier,
) -> Named {
    Named {
        name,
        id,
        home,
        team,
        role,
        tier,
    }
}

/// The named accounts, most important first: a smaller organization keeps a prefix.
#[rustfmt::skip]
const NAMED: &[Named] = &[
    named("management", Some(MANAGEMENT), Home::Root, Some("platform"), Role::Subscriber, Tier::Heavy),
    named("payments-prod", Some("111122223333"), Home::Prod, Some("payments"), Role::Pilot, Tier::Heavy),
    named("search-prod", None, Home::Prod, Some("search"), Role::KeepsSpendingAfterCancel, Tier::Heavy),
    named("ml-research-prod", Some("444455556666"), Home::Prod, Some("ml-research"), Role::OwnLicense, Tier::Steady),
    named("data-platform-prod", Some("777788889999"), Home::Prod, Some("data-platform"), Role::DuplicateGrants, Tier::Steady),
    named("ml-research-dev", Some("210987654321"), Home::Dev, Some("ml-research"), Role::NeverActivated, Tier::Steady),
    named("network-hub", None, Home::Infrastructure, None, Role::Plain, Tier::Steady),
    named("=HYPERLINK(\"http://example.com/x\",\"click\")", None, Home::Sandbox, None, Role::UntaggedSpender, Tier::Steady),
    named("-2+3", None, Home::Sandbox, None, Role::PendingAccept, Tier::Light),
    named("<script>alert(1)</script>", None, Home::Sandbox, None, Role::UnmappedSpender, Tier::Steady),
    named("legacy-analytics", None, Home::Suspended, Some("data-platform"), Role::SuspendedTarget, Tier::Light),
    named("old-poc", None, Home::Suspended, None, Role::ClosedTarget, Tier::Light),
    named("fraud-dev", None, Home::Dev, Some("fraud"), Role::Rejected, Tier::Light),
    named("support-ai-dev", None, Home::Dev, Some("support-ai"), Role::FailedWorkflow, Tier::Light),
    named("recommendations-prod", None, Home::Prod, Some("recommendations"), Role::LateNeverActivated, Tier::Steady),
    named("payments-dev", None, Home::Dev, Some("payments"), Role::DisabledLate, Tier::Steady),
    named("checkout-prod", None, Home::Prod, Some("checkout"), Role::LateActivated, Tier::Steady),
    named("security-tooling", None, Home::Security, Some("security"), Role::PendingDelete, Tier::Light),
    named("shared-services", None, Home::Infrastructure, None, Role::Plain, Tier::Light),
    named("sandbox-alice", None, Home::Sandbox, None, Role::PendingWorkflow, Tier::Light),
];

/// One planned account.
struct Acct {
    id: String,
    name: String,
    ou: String,
    home: Home,
    team: Option<&'static str>,
    state: AccountState,
    /// Day index it joined (negative: before the period).
    joined: i64,
    role: Role,
    /// Share of days with spend on a model it uses.
    activity: f64,
    /// Typical daily spend in USD on the first product.
    scale: f64,
    /// Some usage rows carry a cost-allocation tag of another team.
    shared: bool,
    /// Pilot of the third product.
    pilot: bool,
    /// Day its first-product grant is activated, if ever.
    activate: Option<i64>,
    /// Its grants of the first two products (product index, the grant's life): what AWS bills
    /// the private rate on. None for the subscriber, which holds the licenses.
    lives: Vec<(usize, Life)>,
}

impl Acct {
    fn late(&self) -> bool {
        self.joined >= 0
    }

    /// Whether the account pays the private rate for `product` at `t`.
    fn covered(&self, product: usize, t: DateTime<Utc>) -> bool {
        self.role == Role::Subscriber
            || self
                .lives
                .iter()
                .any(|(k, l)| *k == product && l.active_at(t))
    }
}

fn plan_accounts(cx: &Cx, ous: &[OuDef]) -> Vec<Acct> {
    let team_ou = |home: Home, team: &str| {
        let env = if home == Home::Prod { "Prod" } else { "Dev" };
        ous.iter()
            .find(|o| o.team == Some(team) && o.parent == ou_id(&format!("/Root/Workloads/{env}")))
            .map(|o| o.id.clone())
    };
    (0..cx.accounts)
        .map(|i| {
            let mut rng = Rng::stream(cx.seed, i as u64);
            let mut a = match NAMED.get(i) {
                Some(n) => named_account(cx, i, n, &mut rng),
                None => filler_account(cx, i, &mut rng),
            };
            a.ou = match (i < NAMED.len(), a.team) {
                (false, Some(team)) if matches!(a.home, Home::Prod | Home::Dev) => {
                    team_ou(a.home, team).unwrap_or_else(|| home_ou(ous, a.home).id.clone())
                }
                _ => home_ou(ous, a.home).id.clone(),
            };
            a.activate = first_activation(cx, &a, &mut rng);
            a
        })
        .collect()
}

fn account_id(i: usize) -> String {
    format!("9999{i:08}")
}

fn named_account(cx: &Cx, i: usize, n: &Named, rng: &mut Rng) -> Acct {
    let joined = match n.role {
        Role::LateNeverActivated => cx.day(0.5),
        Role::LateActivated => cx.day(0.78),
        Role::Subscriber => -2000,
        _ => -30 - rng.below(1500) as i64,
    };
    let state = match n.role {
        Role::SuspendedTarget => AccountState::Suspended,
        Role::ClosedTarget => AccountState::Closed,
        _ => AccountState::Active,
    };
    let (activity, scale) = match n.tier {
        Tier::Heavy => (1.0, rng.range(60.0, 120.0)),
        Tier::Steady => (1.0, rng.range(5.0, 15.0)),
        Tier::Light => (0.3, rng.range(0.5, 3.0)),
    };
    Acct {
        id: n.id.map_or_else(|| account_id(i), str::to_string),
        name: n.name.to_string(),
        ou: String::new(),
        home: n.home,
        team: n.team,
        state,
        joined,
        role: n.role,
        activity,
        scale,
        shared: n.role == Role::OwnLicense,
        pilot: matches!(n.role, Role::Pilot | Role::KeepsSpendingAfterCancel),
        activate: None,
        lives: Vec::new(),
    }
}

fn filler_account(cx: &Cx, i: usize, rng: &mut Rng) -> Acct {
    let u = rng.f64();
    let home = match u {
        _ if u < 0.45 => Home::Prod,
        _ if u < 0.72 => Home::Dev,
        _ if u < 0.84 => Home::Sandbox,
        _ if u < 0.90 => Home::Infrastructure,
        _ if u < 0.96 => Home::Security,
        _ => Home::Suspended,
    };
    let team = *rng.pick(TEAMS);
    let (name, team) = match home {
        Home::Prod | Home::Dev => {
            let env = if home == Home::Prod { "prod" } else { "dev" };
            // A few workload accounts lack the tag: their spend is unallocated.
            let tagged = rng.chance(0.94).then_some(team);
            (format!("{team}-{env}-{i}"), tagged)
        }
        Home::Security => (format!("security-{i}"), Some("security")),
        Home::Infrastructure => (format!("infra-{i}"), None),
        Home::Sandbox => (format!("sandbox-{i}"), None),
        Home::Suspended | Home::Root => (format!("retired-{i}"), None),
    };
    let state = match (home, i % 2) {
        (Home::Suspended, 0) => AccountState::Suspended,
        (Home::Suspended, _) => AccountState::Closed,
        _ => AccountState::Active,
    };
    let joined = if home != Home::Suspended && rng.chance(0.05) {
        cx.day(rng.range(0.1, 0.9))
    } else {
        -30 - rng.below(1500) as i64
    };
    // Heavy-tailed: most accounts spend little on few days, a few spend a lot every day.
    let scale = rng.heavy_tail(400.0);
    Acct {
        id: account_id(i),
        name,
        ou: String::new(),
        home,
        team,
        state,
        joined,
        role: Role::Plain,
        activity: (0.2 + 0.2 * scale).min(1.0),
        scale: scale * 2.0,
        shared: matches!(home, Home::Prod | Home::Dev) && rng.chance(0.15),
        pilot: home == Home::Prod && rng.chance(0.04),
        activate: None,
        lives: Vec::new(),
    }
}

/// The day an account's first-product grant is activated: Prod in three waves, Dev in one,
/// Security and Infrastructure first, Sandbox and Suspended never, late joiners three days
/// after joining (or never).
fn first_activation(cx: &Cx, a: &Acct, rng: &mut Rng) -> Option<i64> {
    let waves = [cx.day(0.1), cx.day(0.33), cx.day(0.55)];
    match a.role {
        Role::Subscriber
        | Role::NeverActivated
        | Role::LateNeverActivated
        | Role::SuspendedTarget
        | Role::ClosedTarget => return None,
        Role::Pilot | Role::OwnLicense => return Some(waves[0]),
        Role::KeepsSpendingAfterCancel | Role::DuplicateGrants => return Some(waves[1]),
        Role::LateActivated => return cx.within(a.joined + 3),
        _ => {}
    }
    if a.late() {
        return rng.chance(0.5).then(|| cx.within(a.joined + 3)).flatten();
    }
    match a.home {
        Home::Security | Home::Infrastructure => Some(cx.day(0.01)),
        Home::Prod => {
            let u = rng.f64();
            let wave = [0.4, 0.7, 0.9].iter().position(|&w| u < w)?;
            Some(waves[wave])
        }
        Home::Dev => (a.role != Role::Plain || rng.chance(0.6)).then(|| cx.day(0.22)),
        Home::Root | Home::Sandbox | Home::Suspended => None,
    }
}

struct Product {
    name: String,
    sku: String,
    /// Cost Explorer service name.
    service: String,
    /// The `ModelId` its members invoke it with, and Bedrock's name of the model.
    model_id: String,
    license_arn: String,
    /// Relative size of a day's spend.
    weight: f64,
}

fn plan_products(cx: &Cx, b: &OrgBuilder) -> Vec<Product> {
    (0..cx.products)
        .map(|k| {
            let name = PRODUCT_NAMES
                .get(k)
                .map_or_else(|| format!("Model {:03}", k + 1), |n| n.to_string());
            Product {
                sku: format!("prod-{}", &hex32(&name)[..13]),
                service: format!("{name} (Amazon Bedrock Edition)"),
                model_id: MODEL_IDS.get(k).map_or_else(
                    || format!("example.model-{:03}-v1:0", k + 1),
                    |m| m.to_string(),
                ),
                license_arn: b.license_arn(&name),
                weight: [1.0, 0.3, 0.8].get(k).copied().unwrap_or(0.5),
                name,
            }
        })
        .collect()
}

/// The organization's licenses and the member license of the `OwnLicense` account. The third
/// product's subscription is cancelled two thirds into the period: its agreement says so
/// ([`agreements`]) while its license stays AVAILABLE (EA012).
fn licenses(b: &mut OrgBuilder, cx: &Cx, products: &[Product]) {
    for (k, p) in products.iter().enumerate() {
        b.license(&p.license_arn, &p.name, &p.sku, MANAGEMENT)
            .license_created(&p.license_arn, cx.time(-60 + 10 * k as i64, 12));
    }
    if let Some(own) = NAMED
        .iter()
        .take(cx.accounts)
        .find(|n| n.role == Role::OwnLicense)
    {
        let (p, member) = (&products[0], own.id.expect("named with a fixed id"));
        let arn = b.license_arn(&format!("{}/{member}", p.name));
        b.license(&arn, &p.name, &p.sku, member)
            .license_created(&arn, cx.time(-200, 12));
    }
}

/// The subscriber's agreements and the rate cards: the first model's private offer is ACTIVE
/// and ends 20 days after the period, falling back to the public offer (`REPLACE`); the
/// second's renews; the third's was cancelled when its license ended, and AWS names no license
/// for it (the analysis finds it by product id). Public offers exist for the first two models only, so the third
/// and later models keep the configured discount or no price basis.
fn agreements(b: &mut OrgBuilder, cx: &Cx, products: &[Product]) {
    use crate::model::{Agreement, AgreementStatus, LicenseLink, Rate, RateSource};
    for (k, p) in products.iter().enumerate().take(3) {
        let id = format!("agmt-{}", &hex32(&format!("agreement {}", p.name))[..24]);
        let started = cx.time(-60 + 10 * k as i64, 11);
        let (status, end, behavior, link) = match k {
            0 => (
                AgreementStatus::Active,
                Some(cx.time(cx.days + 20, 0)),
                Some("REPLACE"),
                LicenseLink::Search,
            ),
            1 => (
                AgreementStatus::Active,
                Some(cx.time(cx.days + 300, 0)),
                Some("RENEW"),
                LicenseLink::Entitlements,
            ),
            _ => (
                AgreementStatus::Cancelled,
                Some(cx.time(cancel_day(cx), 0)),
                None,
                LicenseLink::None,
            ),
        };
        b.agreement(Agreement {
            id: id.clone(),
            status,
            acceptor_account_id: MANAGEMENT.to_string(),
            product_id: p.sku.clone(),
            offer_id: format!("offer-{}", &hex32(&format!("offer {}", p.name))[..13]),
            license_arn: (link != LicenseLink::None).then(|| p.license_arn.clone()),
            license_link: link.as_str().to_string(),
            acceptance_time: Some(started),
            start_time: Some(started),
            end_time: end,
            last_update_time: Some(if k == 2 {
                cx.time(cancel_day(cx), 0)
            } else {
                started
            }),
            end_time_behavior: behavior.map(str::to_string),
            auto_renew: Some(k == 1),
        });
        for d in dimensions(Some(k)) {
            let rate = |source, agreement_id: Option<&str>, price: f64, unit: Option<&str>| Rate {
                source,
                agreement_id: agreement_id.map(str::to_string),
                product: if agreement_id.is_some() {
                    String::new()
                } else {
                    p.name.clone()
                },
                dimension_key: d.key.to_string(),
                price: format!("{price}"),
                currency: "USD".to_string(),
                unit: unit.map(str::to_string),
            };
            b.rate(rate(RateSource::Agreement, Some(&id), d.private, None));
            if k < 2 {
                b.rate(rate(RateSource::PublicOffer, None, d.public, Some("Units")));
            }
        }
    }
}

/// Day the third product's license ends.
fn cancel_day(cx: &Cx) -> i64 {
    cx.day(0.667)
}

/// A grant's history: the events that lead to its status, or none (status as first seen).
#[derive(Debug, Clone)]
struct Life {
    events: Vec<(EventKind, DateTime<Utc>)>,
    /// The status when there are no events.
    fixed: GrantStatus,
}

impl Life {
    fn fixed(status: GrantStatus) -> Self {
        Self {
            events: Vec::new(),
            fixed: status,
        }
    }

    fn from_events(events: Vec<(EventKind, DateTime<Utc>)>) -> Self {
        Self {
            events,
            fixed: GrantStatus::Disabled,
        }
    }

    /// A per-account sub-grant of an organization or OU grant: it arrives DISABLED.
    fn distributed(
        created: DateTime<Utc>,
        activated: Option<DateTime<Utc>>,
        disabled: Option<DateTime<Utc>>,
    ) -> Self {
        let mut events = vec![
            (EventKind::Created, created),
            (EventKind::Accepted, created),
        ];
        events.extend(activated.map(|t| (EventKind::Activated, t)));
        events.extend(disabled.map(|t| (EventKind::Disabled, t)));
        Self::from_events(events)
    }

    fn status(&self) -> GrantStatus {
        self.events
            .last()
            .and_then(|(kind, _)| kind.resulting_status())
            .unwrap_or_else(|| self.fixed.clone())
    }

    fn active_at(&self, t: DateTime<Utc>) -> bool {
        if self.events.is_empty() {
            return self.fixed == GrantStatus::Active;
        }
        self.events
            .iter()
            .take_while(|(_, at)| *at <= t)
            .last()
            .is_some_and(|(kind, _)| *kind == EventKind::Activated)
    }

    fn record(&self, b: &mut OrgBuilder, grant_arn: &str, account: &str) {
        for (kind, at) in &self.events {
            b.event(grant_arn, Some(account), kind.clone(), *at);
        }
    }
}

fn sub_grant(b: &mut OrgBuilder, parent: &str, account: &str, life: &Life) {
    let arn = b.sub_grant(parent, account, life.status());
    life.record(b, &arn, account);
}

fn account_grant(b: &mut OrgBuilder, key: &str, license: &str, account: &str, life: &Life) {
    let arn = b.grant_arn(key);
    b.grant_account(&arn, license, account, life.status());
    life.record(b, &arn, account);
}

/// Life of a sub-grant created when the parent grant was (or when the account joined, if
/// later) and activated on `activate` (in the afternoon).
fn rollout_life(
    cx: &Cx,
    a: &Acct,
    created: DateTime<Utc>,
    activate: Option<i64>,
    disable: Option<i64>,
) -> Life {
    let created = created.max(cx.time(a.joined, 0));
    Life::distributed(
        created,
        activate.map(|d| cx.time(d, 15)),
        disable.map(|d| cx.time(d, 16)),
    )
}

fn grants(b: &mut OrgBuilder, cx: &Cx, ous: &[OuDef], accounts: &mut [Acct], products: &[Product]) {
    first_product_grants(b, cx, accounts, &products[0]);
    if let Some(p) = products.get(1) {
        second_product_grants(b, cx, ous, accounts, p);
    }
    if let Some(p) = products.get(2) {
        third_product_grants(b, cx, accounts, p);
    }
    for (k, p) in products.iter().enumerate().skip(3) {
        let target = extra_product_ou(ous, k);
        let parent = b.grant_arn(&format!("{}/ou/{}", p.name, target.id));
        b.grant_ou(
            &parent,
            &p.license_arn,
            &target.id,
            GrantStatus::WorkflowCompleted,
        );
        let created_day = cx.day(0.05 + 0.04 * (k % 10) as f64);
        let mut rng = Rng::stream(cx.seed ^ 0xE47A, k as u64);
        for a in accounts.iter().filter(|a| in_ou(a, target)) {
            let activate = rng
                .chance(0.8)
                .then(|| cx.within(created_day.max(a.joined) + 1));
            let life = rollout_life(cx, a, cx.time(created_day, 9), activate.flatten(), None);
            sub_grant(b, &parent, &a.id, &life);
        }
    }
}

/// The OU the `k`-th product (k >= 3) is granted to: a team OU when there are some,
/// otherwise Prod or Dev.
fn extra_product_ou(ous: &[OuDef], k: usize) -> &OuDef {
    let team_ous: Vec<&OuDef> = ous.iter().filter(|o| o.team.is_some()).collect();
    if team_ous.is_empty() {
        home_ou(ous, [Home::Prod, Home::Dev][k % 2])
    } else {
        team_ous[(k - 3) % team_ous.len()]
    }
}

/// Whether an account sits in `target` or below it.
fn in_ou(a: &Acct, target: &OuDef) -> bool {
    a.ou == target.id || target.home == Some(a.home)
}

/// First product: one organization grant; every member gets a sub-grant that it activates
/// per [`first_activation`]; one account disables it near the end.
fn first_product_grants(b: &mut OrgBuilder, cx: &Cx, accounts: &mut [Acct], p: &Product) {
    let org_grant = b.grant_arn(&format!("{}/organization", p.name));
    b.grant_org(&org_grant, &p.license_arn, GrantStatus::WorkflowCompleted)
        .grant_activation_override(&org_grant, "ALL_GRANTS_PERMITTED_BY_ISSUER");
    let created = cx.time(0, 9);
    for a in accounts.iter_mut().filter(|a| a.role != Role::Subscriber) {
        let disable = (a.role == Role::DisabledLate).then(|| cx.day(0.89));
        let life = rollout_life(cx, a, created, a.activate, disable);
        sub_grant(b, &org_grant, &a.id, &life);
        a.lives.push((0, life));
    }
}

/// Second product: OU grants to Prod (activated early, with the first product's laggards
/// left DISABLED) and Infrastructure (ACTIVE since before the event window, so no events),
/// one OU grant to an OU that no longer exists, and account grants in every other status.
fn second_product_grants(
    b: &mut OrgBuilder,
    cx: &Cx,
    ous: &[OuDef],
    accounts: &mut [Acct],
    p: &Product,
) {
    let lic = &p.license_arn;
    let prod = home_ou(ous, Home::Prod);
    let prod_grant = b.grant_arn(&format!("{}/ou/{}", p.name, prod.id));
    b.grant_ou(&prod_grant, lic, &prod.id, GrantStatus::WorkflowCompleted);
    let infra = home_ou(ous, Home::Infrastructure);
    let infra_grant = b.grant_arn(&format!("{}/ou/{}", p.name, infra.id));
    b.grant_ou(&infra_grant, lic, &infra.id, GrantStatus::WorkflowCompleted);
    let retired = ou_id("/Root/Workloads/Retired");
    b.grant_ou(
        &b.grant_arn(&format!("{}/ou/{retired}", p.name)),
        lic,
        &retired,
        GrantStatus::WorkflowCompleted,
    );

    let created = cx.day(0.02);
    for a in accounts.iter_mut() {
        let mut lives = Vec::new();
        match a.home {
            Home::Prod => {
                let activate = a
                    .activate
                    .map(|_| if a.late() { a.joined + 3 } else { created + 1 });
                let life = rollout_life(
                    cx,
                    a,
                    cx.time(created, 9),
                    activate.and_then(|d| cx.within(d)),
                    None,
                );
                sub_grant(b, &prod_grant, &a.id, &life);
                lives.push(life);
            }
            Home::Infrastructure => {
                let life = Life::fixed(GrantStatus::Active);
                sub_grant(b, &infra_grant, &a.id, &life);
                lives.push(life);
            }
            _ => {}
        }
        let key = |n: &str| format!("{}/account/{}/{n}", p.name, a.id);
        let accepted = [(EventKind::Accepted, 2), (EventKind::Activated, 24)];
        match a.role {
            Role::DuplicateGrants => {
                let first = cx.account_life(cx.day(0.05), &accepted);
                account_grant(b, &key("1"), lic, &a.id, &first);
                let second = cx.account_life(cx.day(0.3), &accepted);
                account_grant(b, &key("2"), lic, &a.id, &second);
                lives.extend([first, second]);
            }
            Role::SuspendedTarget | Role::ClosedTarget => {
                let life = Life::fixed(GrantStatus::Active);
                account_grant(b, &key("1"), lic, &a.id, &life);
                lives.push(life);
            }
            Role::Rejected => {
                let life = cx.account_life(cx.day(0.22), &[(EventKind::Rejected, 48)]);
                account_grant(b, &key("1"), lic, &a.id, &life);
                lives.push(life);
            }
            Role::FailedWorkflow => {
                let life = Life::fixed(GrantStatus::FailedWorkflow);
                account_grant(b, &key("1"), lic, &a.id, &life);
                lives.push(life);
                let reason = "grant workflow failed for the grantee account";
                b.grant_status_reason(&b.grant_arn(&key("1")), reason);
            }
            Role::PendingWorkflow => {
                let life = Life::fixed(GrantStatus::PendingWorkflow);
                account_grant(b, &key("1"), lic, &a.id, &life);
                lives.push(life);
            }
            Role::PendingAccept => {
                let life = cx.account_life(cx.day(0.78), &[]);
                account_grant(b, &key("1"), lic, &a.id, &life);
                lives.push(life);
            }
            _ => {}
        }
        a.lives.extend(lives.into_iter().map(|l| (1, l)));
    }
}

/// Third product: account grants to pilot accounts; the license is cancelled (DELETED) two
/// thirds into the period and only one pilot's grant is deleted afterwards.
fn third_product_grants(b: &mut OrgBuilder, cx: &Cx, accounts: &[Acct], p: &Product) {
    let created = cx.day(0.02);
    // The deletion comes two days after the cancellation, at 11:00 of that day.
    let deleted = (cancel_day(cx) - created + 2) * 24 + 1;
    for a in accounts.iter().filter(|a| a.pilot) {
        let mut steps = vec![(EventKind::Accepted, 2), (EventKind::Activated, 24)];
        if a.role == Role::Pilot {
            steps.push((EventKind::Deleted, deleted));
        }
        let key = format!("{}/account/{}", p.name, a.id);
        account_grant(
            b,
            &key,
            &p.license_arn,
            &a.id,
            &cx.account_life(created, &steps),
        );
    }
    if let Some(a) = accounts.iter().find(|a| a.role == Role::PendingDelete) {
        let key = format!("{}/account/{}", p.name, a.id);
        account_grant(
            b,
            &key,
            &p.license_arn,
            &a.id,
            &Life::fixed(GrantStatus::PendingDelete),
        );
    }
}

/// Salt of the usage streams, so an account's spend draws do not repeat its plan draws.
const USAGE_STREAM: u64 = 0x05A6_E000;
/// Salt of the draw that decides whether an account spends at all (`spending_percent`).
const SPENDER_STREAM: u64 = 0x5BE4_D000;

/// One model an account spends on, and until which day.
struct Use<'a> {
    service: &'a str,
    /// The `ModelId` invoked and Bedrock's model name.
    model: (&'a str, &'a str),
    weight: f64,
    /// Product index; `None` for the unmapped model.
    product: Option<usize>,
    last_day: i64,
}

/// Daily spend of every active account on the models it uses: two rows (input and output
/// tokens) per model and active day.
fn usage(b: &mut OrgBuilder, cx: &Cx, ous: &[OuDef], accounts: &[Acct], products: &[Product]) {
    // About 1.7 rows per account and day on average; a little headroom avoids regrowth.
    b.reserve_usage(cx.accounts * cx.days as usize * 2);
    let extra_targets: Vec<&OuDef> = (3..products.len())
        .map(|k| extra_product_ou(ous, k))
        .collect();
    let weekend: Vec<bool> = (0..cx.days)
        .map(|d| matches!(cx.date(d).weekday(), Weekday::Sat | Weekday::Sun))
        .collect();
    for (i, a) in accounts.iter().enumerate() {
        if a.state != AccountState::Active {
            continue;
        }
        if i >= NAMED.len()
            && cx.spending_share < 1.0
            && !Rng::stream(cx.seed ^ SPENDER_STREAM, i as u64).chance(cx.spending_share)
        {
            continue;
        }
        let mut rng = Rng::stream(cx.seed ^ USAGE_STREAM, i as u64);
        let uses = models_used(cx, a, products, &extra_targets, &mut rng);
        let first_day = a.joined.max(0);
        for u in &uses {
            for day in first_day..=u.last_day {
                let weekday_factor = if weekend[day as usize] { 0.5 } else { 1.0 };
                if !rng.chance(a.activity * weekday_factor) {
                    continue;
                }
                let cost = a.scale * u.weight * weekday_factor * rng.range(0.6, 1.4);
                let covered = u.product.is_some_and(|k| a.covered(k, cx.time(day, 0)));
                let billed_private = covered != misbilled(cx, a, u.product, day);
                let team_tag = row_team_tag(a, &mut rng);
                let mut tokens = [0u64; 2];
                for (d, tokens) in dimensions(u.product).iter().zip(&mut tokens) {
                    let cost = crate::money::round(cost * d.share);
                    // Units are millions of tokens, billed at the private price when covered.
                    // The grants of the first two models are planned with the account; the
                    // later models have no public offer to compare with, and their
                    // quantities are at public price.
                    let rate = if billed_private { d.private } else { d.public };
                    let quantity = (cost / rate * TOKENS_PER_UNIT).round() / TOKENS_PER_UNIT;
                    *tokens = (quantity * TOKENS_PER_UNIT).round() as u64;
                    b.push_spend(Spend {
                        date: cx.date(day),
                        account_id: &a.id,
                        product: u.service,
                        usage_type: d.usage_type,
                        cost_usd: cost,
                        usage_quantity: quantity,
                        public_cost_usd: (u.product == Some(0))
                            .then(|| public_cost(cost, billed_private)),
                        team_tag,
                    });
                }
                b.invocation(invocation(cx.date(day), &a.id, u.model, tokens));
            }
        }
    }
    credits(b, cx, accounts, &products[0]);
    own_subscription(b, cx, accounts, &products[0]);
}

/// The CloudWatch day of a model the account billed `tokens` (input, output) of.
fn invocation(
    day: NaiveDate,
    account_id: &str,
    (model_id, model_name): (&str, &str),
    [input_tokens, output_tokens]: [u64; 2],
) -> crate::model::Invocation {
    use crate::model::invocations::{normalize, Normalized, Resolution};
    let (base_model_id, how) = match normalize(model_id) {
        Normalized::Model(base, how) => (base, how),
        _ => (String::new(), Resolution::Unresolved),
    };
    crate::model::Invocation {
        day,
        account_id: account_id.to_string(),
        region: MEMBER_REGION.to_string(),
        model_id: model_id.to_string(),
        base_model_id,
        model_name: model_name.to_string(),
        resolution: how.as_str().to_string(),
        invocations: (input_tokens / INPUT_TOKENS_PER_INVOCATION).max(1),
        input_tokens,
        output_tokens,
    }
}

/// The account that joins mid-period and is never granted the first product subscribed to it
/// itself (Bedrock's auto-subscription on first invoke): its own ACTIVE pay-as-you-go purchase
/// agreement, accepted the morning it joined, before its first spend (EA016). Every member was
/// read, so the tables exist even when no account plays that part.
fn own_subscription(b: &mut OrgBuilder, cx: &Cx, accounts: &[Acct], p: &Product) {
    use crate::model::{Agreement, AgreementStatus, LicenseLink};
    b.members_read();
    let Some(a) = accounts.iter().find(|a| a.role == Role::LateNeverActivated) else {
        return;
    };
    let accepted = cx.time(a.joined.max(0), 8);
    b.member_agreement(Agreement {
        id: format!("agmt-{}", &hex32(&format!("own agreement {}", a.id))[..24]),
        status: AgreementStatus::Active,
        acceptor_account_id: a.id.clone(),
        product_id: p.sku.clone(),
        // The public offer: the member's own terms, not the organization's private ones.
        offer_id: format!(
            "offer-{}",
            &hex32(&format!("public offer {}", p.name))[..13]
        ),
        license_arn: None,
        license_link: LicenseLink::None.as_str().to_string(),
        acceptance_time: Some(accepted),
        start_time: Some(accepted),
        end_time: None,
        last_update_time: Some(accepted),
        end_time_behavior: None,
        auto_renew: None,
    });
}

/// Days AWS's billing disagrees with the grants: the account with duplicate grants of the
/// second product is billed its public price for five days mid-period although those grants
/// are ACTIVE (EA013), and the account that never activates the first product is billed its
/// private price for five days although nothing in the data covers it (EA014). (The second
/// product carries no public-price cost, so the first product's observed discount stays 25%.)
fn misbilled(cx: &Cx, a: &Acct, product: Option<usize>, day: i64) -> bool {
    let (k, from) = match a.role {
        Role::DuplicateGrants => (1, cx.day(0.55)),
        Role::NeverActivated => (0, cx.day(0.35)),
        _ => return false,
    };
    product == Some(k) && (from..from + 5).contains(&day)
}

/// What a day's first-product spend would have cost at public price.
fn public_cost(cost: f64, covered: bool) -> f64 {
    if covered {
        crate::money::round(cost / PRIVATE_PRICE_RATIO)
    } else {
        cost
    }
}

fn models_used<'a>(
    cx: &Cx,
    a: &Acct,
    products: &'a [Product],
    extra_targets: &[&OuDef],
    rng: &mut Rng,
) -> Vec<Use<'a>> {
    let named = a.role != Role::Plain;
    let last = cx.days - 1;
    let mut uses = Vec::with_capacity(4);
    let mut add = |k: usize, last_day: i64| {
        uses.push(Use {
            service: &products[k].service,
            model: (&products[k].model_id, &products[k].name),
            weight: products[k].weight,
            product: Some(k),
            last_day,
        })
    };
    if named || rng.chance(0.85) {
        add(0, last);
    }
    let second = match a.home {
        Home::Root => 1.0,
        Home::Prod | Home::Infrastructure => 0.45,
        Home::Sandbox => 0.3,
        Home::Dev => 0.15,
        Home::Security | Home::Suspended => 0.1,
    };
    let wants_second = matches!(a.role, Role::UntaggedSpender | Role::DuplicateGrants);
    if products.len() > 1 && (wants_second || rng.chance(second)) {
        add(1, last);
    }
    if products.len() > 2 && a.pilot {
        // Pilots stop when the subscription is cancelled, except one.
        let stop = if a.role == Role::KeepsSpendingAfterCancel {
            last
        } else {
            cancel_day(cx) - 1
        };
        add(2, stop);
    }
    for (k, target) in extra_targets.iter().enumerate() {
        if in_ou(a, target) && rng.chance(0.35) {
            add(k + 3, last);
        }
    }
    if a.role == Role::UnmappedSpender || rng.chance(0.02) {
        uses.push(Use {
            service: UNMAPPED_PRODUCT,
            model: UNMAPPED_MODEL,
            weight: 0.4,
            product: None,
            last_day: last,
        });
    }
    uses
}

/// The cost-allocation tag on a usage row: only accounts shared by several teams carry one,
/// and it is not always their own team's.
fn row_team_tag(a: &Acct, rng: &mut Rng) -> Option<&'static str> {
    if !a.shared {
        return None;
    }
    let u = rng.f64();
    match u {
        _ if u < 0.5 => a.team,
        _ if u < 0.8 => Some(*rng.pick(TEAMS)),
        _ => None,
    }
}

/// Two Marketplace credits (negative cost) on the first product.
fn credits(b: &mut OrgBuilder, cx: &Cx, accounts: &[Acct], p: &Product) {
    for (role, frac, usd) in [(Role::Subscriber, 0.33, -120.0), (Role::Pilot, 0.66, -35.5)] {
        let Some(a) = accounts.iter().find(|a| a.role == role) else {
            continue;
        };
        b.push_spend(Spend {
            date: cx.date(cx.day(frac)),
            account_id: &a.id,
            product: &p.service,
            usage_type: INPUT_USAGE,
            cost_usd: usd,
            usage_quantity: 0.0,
            public_cost_usd: Some(public_cost(usd, true)),
            team_tag: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::model::{usage, Grant, PrincipalKind};

    fn params(accounts: usize, products: usize, seed: u64) -> DemoParams {
        DemoParams {
            accounts,
            products,
            seed,
            ..DemoParams::builtin()
        }
    }

    #[test]
    fn spending_percent_keeps_the_organization_and_drops_the_others_spend() {
        let all = generate(&params(1000, 5, 7));
        let some = generate(&DemoParams {
            spending_percent: 20,
            ..params(1000, 5, 7)
        });
        let spenders = |s: &Snapshot| -> BTreeSet<String> {
            usage::rows(&s.usage)
                .unwrap()
                .into_iter()
                .map(|r| r.account_id)
                .collect()
        };
        let (a, b) = (spenders(&all), spenders(&some));
        assert!(b.is_subset(&a));
        // About a fifth of the thousand accounts, and every named one.
        assert!((150..260).contains(&b.len()), "{}", b.len());
        for n in NAMED.iter().filter_map(|n| n.id) {
            assert_eq!(a.contains(n), b.contains(n), "{n}");
        }
        assert_eq!(all.accounts, some.accounts);
        assert_eq!(all.grants, some.grants);
        // An account that still spends spends the same.
        let rows_of = |s: &Snapshot, id: &str| -> Vec<usage::UsageRow> {
            usage::rows(&s.usage)
                .unwrap()
                .into_iter()
                .filter(|r| r.account_id == id)
                .collect()
        };
        let kept = b.iter().next_back().unwrap();
        assert_eq!(rows_of(&all, kept), rows_of(&some, kept));
    }

    /// The samples every property is checked on: the built-in organization, the smallest
    /// that must fire every rule, and a larger one with team OUs and extra products.
    fn samples() -> Vec<Snapshot> {
        vec![
            builtin(),
            generate(&params(20, 3, 1)),
            generate(&params(20, 3, 2)),
            generate(&params(300, 7, 3)),
        ]
    }

    /// A grant's status at `t`, replaying its events; its stored status when it has none.
    fn status_at(s: &Snapshot, g: &Grant, t: DateTime<Utc>) -> Option<GrantStatus> {
        let events: Vec<_> = s
            .grant_events
            .iter()
            .filter(|e| e.grant_arn == g.arn)
            .collect();
        if events.is_empty() {
            return Some(g.status.clone());
        }
        events
            .iter()
            .take_while(|e| e.time <= t)
            .last()
            .and_then(|e| e.kind.resulting_status())
    }

    #[test]
    fn same_params_same_snapshot_other_seed_differs() {
        let (a, b, c) = (
            generate(&params(150, 5, 9)),
            generate(&params(150, 5, 9)),
            generate(&params(150, 5, 10)),
        );
        assert_eq!(a.accounts, b.accounts);
        assert_eq!(a.organizational_units, b.organizational_units);
        assert_eq!(a.licenses, b.licenses);
        assert_eq!(a.grants, b.grants);
        assert_eq!(a.grant_events, b.grant_events);
        assert_eq!(a.manifest, b.manifest);
        assert_eq!(a.invocations, b.invocations);
        assert_eq!(a.member_agreements, b.member_agreements);
        assert!(a.usage.equals_missing(&b.usage));
        assert!(!a.usage.equals_missing(&c.usage));
        assert_ne!(a.grants, c.grants);
    }

    fn assert_events_replay(s: &Snapshot) {
        let end = s.manifest.collected_at;
        assert!(s.grant_events.windows(2).all(|w| w[0].time <= w[1].time));
        assert!(s.grant_events.iter().all(|e| e.time <= end));
        let arns: BTreeSet<&str> = s.grants.iter().map(|g| g.arn.as_str()).collect();
        assert!(s
            .grant_events
            .iter()
            .all(|e| arns.contains(e.grant_arn.as_str())));
        for g in &s.grants {
            assert_eq!(status_at(s, g, end), Some(g.status.clone()), "{}", g.arn);
        }
    }

    #[test]
    fn events_replay_to_the_stored_status() {
        for s in samples() {
            assert_events_replay(&s);
        }
    }

    #[test]
    fn tiny_parameters_still_make_a_consistent_snapshot() {
        for (accounts, products, days) in [(0, 0, 0), (1, 1, 1), (3, 2, 2), (12, 3, 5), (25, 4, 10)]
        {
            let p = DemoParams {
                days,
                ..params(accounts, products, 5)
            };
            let s = generate(&p);
            assert_eq!(s.accounts.len(), accounts.max(1));
            let period = (s.manifest.period_end - s.manifest.period_start).num_days() + 1;
            assert_eq!(period, i64::from(days.max(1)));
            assert_events_replay(&s);
        }
    }

    #[test]
    fn ids_are_unique_and_references_resolve() {
        for s in samples() {
            let unique = |ids: Vec<&str>| ids.len() == ids.iter().collect::<BTreeSet<_>>().len();
            assert!(unique(s.accounts.iter().map(|a| a.id.as_str()).collect()));
            assert!(unique(
                s.organizational_units
                    .iter()
                    .map(|o| o.id.as_str())
                    .collect()
            ));
            assert!(unique(s.licenses.iter().map(|l| l.arn.as_str()).collect()));
            assert!(unique(s.grants.iter().map(|g| g.arn.as_str()).collect()));
            let grants: BTreeMap<&str, &Grant> =
                s.grants.iter().map(|g| (g.arn.as_str(), g)).collect();
            let licenses: BTreeSet<&str> = s.licenses.iter().map(|l| l.arn.as_str()).collect();
            for g in &s.grants {
                assert!(licenses.contains(g.license_arn.as_str()));
                if g.is_sub_grant() {
                    let parent = grants[g.parent_arn.as_str()];
                    assert_ne!(parent.grantee_kind, PrincipalKind::Account);
                    assert_eq!(parent.license_arn, g.license_arn);
                    assert_eq!(g.grantee_kind, PrincipalKind::Account);
                }
            }
            let names: Vec<&str> = s.accounts.iter().map(|a| a.name.as_str()).collect();
            assert!(unique(names));
            assert_eq!(s.organization.subscriber_account_id, MANAGEMENT);
        }
    }

    #[test]
    fn builtin_has_its_documented_shape() {
        let s = builtin();
        assert_eq!(s.accounts.len(), 40);
        let org_products: BTreeSet<&str> = s
            .licenses
            .iter()
            .filter(|l| l.beneficiary == MANAGEMENT)
            .map(|l| l.product_name.as_str())
            .collect();
        assert_eq!(org_products.len(), 3);
        let rows = usage::rows(&s.usage).unwrap();
        let days: BTreeSet<NaiveDate> = rows.iter().map(|r| r.date).collect();
        assert_eq!(days.len(), 90);
        let first = NaiveDate::from_ymd_opt(2026, 8, 3).unwrap();
        let last = NaiveDate::from_ymd_opt(2026, 10, 31).unwrap();
        assert_eq!(
            (s.manifest.period_start, s.manifest.period_end),
            (first, last)
        );
        assert_eq!((days.first(), days.last()), (Some(&first), Some(&last)));
        assert_eq!(
            s.manifest.collected_at.to_rfc3339(),
            "2026-11-01T06:00:00+00:00"
        );
        for name in [
            "=HYPERLINK(\"http://example.com/x\",\"click\")",
            "-2+3",
            "<script>alert(1)</script>",
        ] {
            assert!(s.accounts.iter().any(|a| a.name == name), "{name}");
        }
        for id in [
            "111122223333",
            "444455556666",
            "777788889999",
            "210987654321",
        ] {
            assert!(s.accounts.iter().any(|a| a.id == id), "{id}");
        }
        assert!(s.accounts.iter().all(|a| a.email.ends_with("@example.com")));
        let paths: BTreeSet<&str> = s.accounts.iter().map(|a| a.ou_path.as_str()).collect();
        assert!(paths.contains("/Root/Workloads/Prod") && paths.contains("/Root/Sandbox"));
    }

    /// Every day an account is billed for a model it invoked it, and only then: one CloudWatch
    /// row per account, model and day, with the tokens its usage rows bill (a unit is a
    /// million tokens).
    #[test]
    fn invocations_are_the_billed_tokens_of_each_day() {
        for s in samples() {
            let mut billed: BTreeMap<(String, NaiveDate, String), f64> = BTreeMap::new();
            for r in usage::rows(&s.usage).unwrap() {
                if r.cost_usd > 0.0 {
                    let name = r.product.trim_end_matches(" (Amazon Bedrock Edition)");
                    *billed
                        .entry((r.account_id, r.date, name.to_string()))
                        .or_default() += r.usage_quantity * TOKENS_PER_UNIT;
                }
            }
            let invoked: BTreeMap<(String, NaiveDate, String), f64> = s
                .invocations
                .as_ref()
                .expect("the members are read")
                .iter()
                .map(|i| {
                    assert!(i.invocations > 0 && i.region == MEMBER_REGION);
                    let key = (i.account_id.clone(), i.day, i.model_name.clone());
                    (key, (i.input_tokens + i.output_tokens) as f64)
                })
                .collect();
            assert_eq!(
                billed.keys().collect::<Vec<_>>(),
                invoked.keys().collect::<Vec<_>>()
            );
            for (k, tokens) in &billed {
                assert!((tokens - invoked[k]).abs() < 1.0, "{k:?}");
            }
        }
    }

    #[test]
    fn scales_with_accounts_and_products() {
        let s = generate(&params(2000, 12, 4));
        assert_eq!(s.accounts.len(), 2000);
        assert_eq!(s.licenses.len(), 13);
        // Per account and 90 days: 100 to 200 rows on average.
        let rows = s.usage.height();
        assert!((200_000..=400_000).contains(&rows), "{rows} usage rows");
        assert!(s.organizational_units.len() > 20);
    }

    #[test]
    fn activations_spread_over_the_period() {
        let s = builtin();
        let covered_at = |day: i64| {
            let t = day_start(s.manifest.period_start + Duration::days(day));
            let active = |g: &&Grant| status_at(&s, g, t) == Some(GrantStatus::Active);
            s.grants
                .iter()
                .filter(|g| g.is_sub_grant())
                .filter(active)
                .count()
        };
        let (early, middle, late) = (covered_at(5), covered_at(40), covered_at(89));
        assert!(early < middle && middle < late, "{early} {middle} {late}");
    }

    /// Independent of how the generator plans it, the data holds the evidence each rule needs.
    #[test]
    fn every_rule_has_evidence() {
        for s in samples() {
            let evidence = rule_evidence(&s);
            let missing: Vec<&str> = evidence
                .iter()
                .filter(|(_, ok)| !ok)
                .map(|(c, _)| *c)
                .collect();
            assert!(missing.is_empty(), "no evidence for {missing:?}");
        }
    }

    fn rule_evidence(s: &Snapshot) -> Vec<(&'static str, bool)> {
        let end = day_start(s.manifest.period_end + Duration::days(1));
        let sub = &s.organization.subscriber_account_id;
        let org_licenses: Vec<_> = s
            .licenses
            .iter()
            .filter(|l| &l.beneficiary == sub)
            .collect();
        let service =
            |l: &crate::model::License| format!("{} (Amazon Bedrock Edition)", l.product_name);
        let accounts: BTreeMap<&str, _> = s.accounts.iter().map(|a| (a.id.as_str(), a)).collect();
        let ous: BTreeSet<&str> = s
            .organizational_units
            .iter()
            .map(|o| o.id.as_str())
            .collect();
        let rows = usage::rows(&s.usage).unwrap();
        let live = |g: &&Grant| g.status.is_live();
        let account_grants = || {
            s.grants
                .iter()
                .filter(|g| g.grantee_kind == PrincipalKind::Account)
        };

        let covered = |account: &str, license: &str, day: NaiveDate| {
            account_grants()
                .filter(|g| g.grantee_id == account && g.license_arn == license)
                .any(|g| status_at(s, g, day_start(day)) == Some(GrantStatus::Active))
        };
        let ea001 = rows.iter().any(|r| {
            r.account_id != *sub
                && org_licenses
                    .iter()
                    .any(|l| service(l) == r.product && !covered(&r.account_id, &l.arn, r.date))
        });
        let ea002 = account_grants().any(|g| {
            let created = s
                .grant_events
                .iter()
                .find(|e| e.grant_arn == g.arn)
                .map(|e| e.time);
            g.status.is_awaiting_activation()
                && created.is_some_and(|t| end - t > Duration::days(7))
        }) && account_grants().any(|g| g.status == GrantStatus::PendingAccept);
        let ea003 = [GrantStatus::Rejected, GrantStatus::FailedWorkflow]
            .iter()
            .all(|st| s.grants.iter().any(|g| &g.status == st));
        // A license ends with its status, or with an ended agreement for its product.
        let agreement_end = |l: &crate::model::License| {
            s.agreements
                .iter()
                .filter(|a| a.status.has_ended() && a.product_id == l.product_sku)
                .find_map(|a| a.end_time)
        };
        let ended: Vec<_> = s
            .licenses
            .iter()
            .filter_map(|l| {
                let end = agreement_end(l).or(l.validity_end.filter(|_| l.status.is_ended()));
                end.map(|e| (l, e))
            })
            .collect();
        let ea004 = s
            .grants
            .iter()
            .filter(live)
            .any(|g| ended.iter().any(|(l, _)| l.arn == g.license_arn));
        let ea005 = ended.iter().any(|(l, e)| {
            let grace = *e + Duration::days(3);
            rows.iter()
                .any(|r| r.product == service(l) && day_start(r.date) > grace)
        });
        let ea011 = s.agreements.iter().any(|a| {
            a.status == crate::model::AgreementStatus::Active
                && a.end_time_behavior.as_deref() == Some("REPLACE")
                && a.end_time
                    .is_some_and(|e| e > end && e < end + Duration::days(30))
        });
        let ea012 = ended.iter().any(|(l, e)| {
            !l.status.is_ended() && agreement_end(l).is_some() && *e + Duration::days(3) < end
        });
        let ea006 = s
            .licenses
            .iter()
            .filter(|l| &l.beneficiary != sub)
            .any(|own| {
                org_licenses.iter().any(|l| {
                    l.product_sku == own.product_sku
                        && account_grants()
                            .any(|g| g.license_arn == l.arn && g.grantee_id == own.beneficiary)
                })
            });
        let inactive = |g: &&Grant| match g.grantee_kind {
            PrincipalKind::Account => accounts
                .get(g.grantee_id.as_str())
                .is_none_or(|a| a.state.is_inactive()),
            PrincipalKind::Ou => !ous.contains(g.grantee_id.as_str()),
            _ => false,
        };
        let ea007 = s.grants.iter().filter(live).filter(inactive).count() >= 3;
        let mut direct = BTreeMap::new();
        for g in account_grants().filter(live).filter(|g| !g.is_sub_grant()) {
            *direct.entry((&g.license_arn, &g.grantee_id)).or_insert(0) += 1;
        }
        let ea008 = direct.values().any(|&n| n > 1);
        let ea009 = rows
            .iter()
            .any(|r| org_licenses.iter().all(|l| service(l) != r.product));
        let ea010 = rows.iter().any(|r| {
            r.team_tag.is_none() && accounts[r.account_id.as_str()].ou_path == "/Root/Sandbox"
        });
        let invocations = s.invocations.as_deref().unwrap_or_default();
        let licensed = |name: &str| org_licenses.iter().find(|l| l.product_name == name);
        let ea015 = invocations.iter().any(|i| {
            i.account_id != *sub
                && licensed(&i.model_name).is_some_and(|l| !covered(&i.account_id, &l.arn, i.day))
        });
        let ea016 = s.member_agreements.iter().flatten().any(|a| {
            a.status == crate::model::AgreementStatus::Active
                && &a.acceptor_account_id != sub
                && org_licenses.iter().any(|l| l.product_sku == a.product_id)
        });
        let ea017 = invocations.iter().any(|i| {
            crate::model::invocations::is_marketplace_provider(&i.base_model_id)
                && licensed(&i.model_name).is_none()
        });
        let credits = rows.iter().any(|r| r.cost_usd < 0.0);
        let public_only_first = rows
            .iter()
            .all(|r| r.public_cost_usd.is_some() == (r.product == service(org_licenses[0])));
        vec![
            ("EA001", ea001),
            ("EA002", ea002),
            ("EA003", ea003),
            ("EA004", ea004),
            ("EA005", ea005),
            ("EA006", ea006),
            ("EA007", ea007),
            ("EA008", ea008),
            ("EA009", ea009),
            ("EA010", ea010),
            ("EA011", ea011),
            ("EA012", ea012),
            ("EA015", ea015),
            ("EA016", ea016),
            ("EA017", ea017),
            ("credits", credits),
            ("public price on the first product only", public_only_first),
        ]
    }
}
