//! The fix plan (`fix-plan.json`, `fix-plan.sh`): for each finding a License Manager call
//! can close, the AWS CLI commands that would close it, grouped by the account that must run
//! them and ordered so that each step's precondition holds; the findings no command can close,
//! with what a person must decide. The job itself never runs any of them.
//!
//! What is covered:
//! - EA001 public-price-exposure, for an account still exposed at the as-of date:
//!   `create-grant` by the subscriber when no grant of the license reaches the account, to the
//!   account or to the OU or organization `[[plan.grant_under]]` puts it under (one grant per
//!   license and principal, however many accounts it covers); the activation of the account's
//!   own grant when it waits for one and no EA002 finding is about it yet (the next run after
//!   an OU or organization grant was created);
//! - EA002 grant-not-activated: in the grantee account, `accept-grant` where the grant is
//!   PENDING_ACCEPT, then `create-grant-version --status ACTIVE` on the account's own grant
//!   (its sub-grant of an organization or OU grant), with its current version as
//!   `--source-version`;
//! - EA004 orphaned-grant and EA007 grant-to-inactive-principal: `delete-grant` by the
//!   subscriber, with the grant's version;
//! - EA008 duplicate-grant: `delete-grant` of the duplicate, only while another ACTIVE grant of
//!   the license still reaches the account (the last covering grant is never deleted).
//!
//! Everything else is a decision.

mod shell;

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::analyze::coverage::State;
use crate::analyze::finding::Finding;
use crate::analyze::grant_home::GrantHome;
use crate::analyze::rules::code;
use crate::analyze::{Analysis, CoverageRow, GrantRow};
use crate::model::{GrantStatus, PrincipalKind};

pub use shell::script;

/// The region every License Manager call about Marketplace grants goes to.
pub const REGION: &str = "us-east-1";

/// One License Manager change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Action {
    /// A new account grant of the license, allowing the operations the license's grants allow.
    CreateGrant {
        license_arn: String,
        grantee_account_id: String,
        grant_name: String,
        allowed_operations: Vec<String>,
    },
    /// A new grant of the license to an OU or the organization (`grantee_kind` `ou` or
    /// `organization`, `grantee_id` its id), allowing the operations the license's grants allow.
    CreateOrgWideGrant {
        license_arn: String,
        grantee_kind: PrincipalKind,
        grantee_id: String,
        principal_arn: String,
        grant_name: String,
        allowed_operations: Vec<String>,
    },
    AcceptGrant {
        grant_arn: String,
    },
    ActivateGrant {
        grant_arn: String,
        source_version: String,
    },
    DeleteGrant {
        grant_arn: String,
        version: String,
    },
}

impl Action {
    /// The AWS CLI command, as arguments (quoted only when written into the script).
    pub fn argv(&self, client_token: &str) -> Vec<String> {
        let create = |principal: &str, license_arn: &str, name: &str, ops: &[String]| {
            let mut args = strs(&[
                "create-grant",
                "--client-token",
                client_token,
                "--grant-name",
                name,
                "--license-arn",
                license_arn,
                "--principals",
                principal,
                "--home-region",
                REGION,
                "--allowed-operations",
            ]);
            args.extend(ops.iter().cloned());
            args
        };
        let args = match self {
            Action::CreateGrant {
                license_arn,
                grantee_account_id: account_id,
                grant_name,
                allowed_operations,
            } => create(
                &format!("arn:aws:iam::{account_id}:root"),
                license_arn,
                grant_name,
                allowed_operations,
            ),
            Action::CreateOrgWideGrant {
                license_arn,
                principal_arn,
                grant_name,
                allowed_operations,
                ..
            } => create(principal_arn, license_arn, grant_name, allowed_operations),
            Action::AcceptGrant { grant_arn } => strs(&["accept-grant", "--grant-arn", grant_arn]),
            Action::ActivateGrant {
                grant_arn,
                source_version,
            } => strs(&[
                "create-grant-version",
                "--grant-arn",
                grant_arn,
                "--status",
                "ACTIVE",
                "--source-version",
                source_version,
                "--client-token",
                client_token,
            ]),
            Action::DeleteGrant { grant_arn, version } => strs(&[
                "delete-grant",
                "--grant-arn",
                grant_arn,
                "--version",
                version,
            ]),
        };
        [
            strs(&["aws", "license-manager"]),
            args,
            strs(&["--region", REGION]),
        ]
        .concat()
    }
}

/// The arguments as owned strings.
fn strs(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

/// One command of the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// Position in the whole plan (steps of one account are consecutive).
    pub order: usize,
    /// The account whose credentials run it.
    pub account_id: String,
    /// `subscriber` (the account holding the licenses) or `member`.
    pub runs_as: &'static str,
    pub finding_id: String,
    pub rule: &'static str,
    /// `closes` (the finding is gone once it ran), `stops-further-exposure` (a grant, or its
    /// activation, for an account that paid public price: the spend already billed stays
    /// billed, and the finding stays until it leaves the window) or `needs-activation` (an OU
    /// or organization grant: it covers the accounts of `covers` only once each one's own
    /// grant, which AWS creates DISABLED, is activated; the next run's plan lists those).
    pub effect: &'static str,
    #[serde(flatten)]
    pub action: Action,
    pub command: Vec<String>,
    /// Why, from the finding: its message, and what the step leaves to do.
    pub evidence: String,
    /// For an OU or organization grant, every exposed account it is for, with its EA001
    /// finding (the first is `finding_id`); empty, and left out of the JSON, otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub covers: Vec<Cover>,
}

/// An account an OU or organization grant of the plan is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cover {
    pub account_id: String,
    pub finding_id: String,
}

/// A finding no command in the plan closes, and what a person must decide.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub finding_id: String,
    pub rule: &'static str,
    pub account_id: String,
    pub product: String,
    pub decide: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub subscriber_account_id: String,
    pub steps: Vec<Step>,
    pub decisions: Vec<Decision>,
}

impl Plan {
    /// `fix-plan.json`.
    pub fn write_json(&self, mut w: impl std::io::Write) -> anyhow::Result<()> {
        serde_json::to_writer_pretty(&mut w, self)?;
        writeln!(w)?;
        Ok(())
    }

    /// Commands per account, in plan order: ("111122223333", 3).
    pub fn per_account(&self) -> Vec<(&str, usize)> {
        let mut out: Vec<(&str, usize)> = Vec::new();
        for s in &self.steps {
            match out.last_mut() {
                Some((a, n)) if *a == s.account_id => *n += 1,
                _ => out.push((&s.account_id, 1)),
            }
        }
        out
    }
}

/// The analysis's grants by ARN, and by (parent ARN, grantee) for the sub-grants, and what
/// an EA001 step needs per account and license: a plan of tens of thousands of findings looks
/// each up once instead of scanning the grants and the coverage per finding.
struct Grants<'a> {
    by_arn: HashMap<&'a str, &'a GrantRow>,
    sub_by_parent: HashMap<(&'a str, &'a str), &'a GrantRow>,
    by_account: HashMap<&'a str, Vec<&'a GrantRow>>,
    /// Live grants that are not sub-grants, by (license, grantee kind, grantee id).
    by_principal: HashMap<(&'a str, &'a PrincipalKind, &'a str), &'a GrantRow>,
    /// The operations the license's grants allow, sorted, each once.
    operations: HashMap<&'a str, Vec<String>>,
    /// Each (account, license)'s last coverage segment.
    last_segment: HashMap<(&'a str, &'a str), &'a CoverageRow>,
}

impl<'a> Grants<'a> {
    fn new(a: &'a Analysis) -> Grants<'a> {
        let mut g = Grants {
            by_arn: HashMap::new(),
            sub_by_parent: HashMap::new(),
            by_account: HashMap::new(),
            by_principal: HashMap::new(),
            operations: HashMap::new(),
            last_segment: HashMap::new(),
        };
        for row in &a.grants {
            g.by_arn.insert(&row.grant_arn, row);
            if row.is_sub_grant {
                g.sub_by_parent
                    .insert((&row.parent_arn, &row.grantee_id), row);
            } else if row.status.is_live() {
                g.by_principal
                    .entry((&row.license_arn, &row.grantee_kind, &row.grantee_id))
                    .or_insert(row);
            }
            if row.grantee_kind == PrincipalKind::Account {
                g.by_account.entry(&row.grantee_id).or_default().push(row);
            }
            g.operations
                .entry(&row.license_arn)
                .or_default()
                .extend(row.granted_operations.iter().cloned());
        }
        for ops in g.operations.values_mut() {
            ops.sort();
            ops.dedup();
        }
        // The last of equal ends wins, as `max_by_key` would pick.
        for c in &a.coverage {
            g.last_segment
                .entry((&c.account_id, &c.license_arn))
                .and_modify(|last| {
                    if c.to >= last.to {
                        *last = c;
                    }
                })
                .or_insert(c);
        }
        g
    }

    fn get(&self, arn: &str) -> Option<&'a GrantRow> {
        self.by_arn.get(arn).copied()
    }

    /// The grant an EA002 finding's account holds: its sub-grant of the organization or OU
    /// grant the finding names, else that grant when it is the account's own.
    fn own(&self, f: &Finding) -> Option<&'a GrantRow> {
        self.sub_by_parent
            .get(&(f.grant_arn.as_str(), f.account_id.as_str()))
            .copied()
            .or_else(|| {
                self.get(&f.grant_arn).filter(|g| {
                    g.grantee_kind == PrincipalKind::Account && g.grantee_id == f.account_id
                })
            })
    }

    /// Another ACTIVE grant of the same license reaches the grant's account (an account
    /// grant or a sub-grant to it).
    fn another_active(&self, g: &GrantRow) -> bool {
        self.by_account
            .get(g.grantee_id.as_str())
            .into_iter()
            .flatten()
            .any(|o| {
                o.grant_arn != g.grant_arn
                    && o.license_arn == g.license_arn
                    && o.status == GrantStatus::Active
            })
    }
}

/// A step before it has its place in the plan.
struct Draft<'f> {
    account: String,
    runs_as: &'static str,
    finding: &'f Finding,
    action: Action,
    effect: &'static str,
    /// Said after the finding's message in the evidence.
    note: Option<String>,
    covers: Vec<Cover>,
}

impl<'f> Draft<'f> {
    fn member(f: &'f Finding, action: Action, effect: &'static str) -> Draft<'f> {
        Draft {
            account: f.account_id.clone(),
            runs_as: "member",
            finding: f,
            action,
            effect,
            note: None,
            covers: Vec::new(),
        }
    }

    fn subscriber(subscriber: &str, f: &'f Finding, action: Action) -> Draft<'f> {
        Draft {
            account: subscriber.to_string(),
            runs_as: "subscriber",
            ..Draft::member(f, action, "closes")
        }
    }
}

/// What the plan does about an EA001 finding.
enum ExposureFix {
    /// A new grant (`note`: why it is an account grant when the config wanted another).
    Create {
        action: Action,
        note: Option<String>,
    },
    /// The account's own grant waits for activation and no EA002 finding is about it.
    Activate(Vec<Action>),
}

/// The plan for an analysis whose subscriber is `subscriber`.
pub fn plan(a: &Analysis, subscriber: &str) -> Plan {
    let grants = Grants::new(a);
    // (account, license) of every EA002 finding: its step, or its decision, is the answer.
    let ea002: HashSet<(&str, &str)> = a
        .findings
        .iter()
        .filter(|f| f.rule == code::GRANT_NOT_ACTIVATED)
        .map(|f| (f.account_id.as_str(), f.license_arn.as_str()))
        .collect();
    let mut drafts: Vec<Draft> = Vec::new();
    // (license, principal ARN) -> the draft creating that OU or organization grant.
    let mut org_wide: HashMap<(String, String), usize> = HashMap::new();
    let mut decisions = Vec::new();
    let decide = |f: &Finding, what: String| Decision {
        finding_id: f.id.clone(),
        rule: f.rule,
        account_id: f.account_id.clone(),
        product: f.product.clone(),
        decide: what,
    };
    for f in &a.findings {
        if f.tracking.suppressed {
            let why = &f.tracking.suppression_reason;
            decisions.push(decide(
                f,
                format!("suppressed ({why}): revisit when the suppression expires"),
            ));
            continue;
        }
        match f.rule {
            code::GRANT_NOT_ACTIVATED => match grants.own(f).map(activation) {
                Some(Ok(actions)) => drafts.extend(
                    actions
                        .into_iter()
                        .map(|action| Draft::member(f, action, "closes")),
                ),
                Some(Err(why)) => decisions.push(decide(f, why)),
                None => decisions.push(decide(
                    f,
                    "the account's own grant is not in the data: find it in the member account (`aws license-manager list-received-grants`)".into(),
                )),
            },
            code::ORPHANED_GRANT | code::GRANT_TO_INACTIVE_PRINCIPAL => {
                match grants.get(&f.grant_arn) {
                    Some(g) => drafts.push(Draft::subscriber(subscriber, f, Action::DeleteGrant {
                        grant_arn: g.grant_arn.clone(),
                        version: g.version.clone(),
                    })),
                    None => decisions.push(decide(f, "the grant is not in the data".into())),
                }
            }
            code::DUPLICATE_GRANT => match grants.get(&f.grant_arn) {
                Some(g) if grants.another_active(g) => {
                    drafts.push(Draft::subscriber(subscriber, f, Action::DeleteGrant {
                        grant_arn: g.grant_arn.clone(),
                        version: g.version.clone(),
                    }))
                }
                _ => decisions.push(decide(
                    f,
                    "no other ACTIVE grant of the license reaches the account: deleting this one would leave it uncovered".into(),
                )),
            },
            code::PUBLIC_PRICE_EXPOSURE => match exposure_fix(a, &grants, &ea002, f) {
                Ok(ExposureFix::Activate(actions)) => drafts.extend(
                    actions
                        .into_iter()
                        .map(|action| Draft::member(f, action, "stops-further-exposure")),
                ),
                Ok(ExposureFix::Create { action, note }) => {
                    let cover = Cover {
                        account_id: f.account_id.clone(),
                        finding_id: f.id.clone(),
                    };
                    let key = match &action {
                        Action::CreateOrgWideGrant {
                            license_arn,
                            principal_arn,
                            ..
                        } => Some((license_arn.clone(), principal_arn.clone())),
                        _ => None,
                    };
                    match key {
                        Some(key) => match org_wide.get(&key) {
                            Some(&i) => drafts[i].covers.push(cover),
                            None => {
                                org_wide.insert(key, drafts.len());
                                drafts.push(Draft {
                                    effect: "needs-activation",
                                    covers: vec![cover],
                                    ..Draft::subscriber(subscriber, f, action)
                                });
                            }
                        },
                        None => drafts.push(Draft {
                            effect: "stops-further-exposure",
                            note,
                            ..Draft::subscriber(subscriber, f, action)
                        }),
                    }
                }
                Err(why) => decisions.push(decide(f, why)),
            },
            _ => decisions.push(decide(f, decision_for(f))),
        }
    }
    // Per account, the subscriber's first; within one, the plan's own order (accept before
    // activate: drafts keep the order they were made in).
    // A stable sort keeps each account's drafts in the order they were made.
    drafts.sort_by(|x, y| {
        (x.account != subscriber, &x.account).cmp(&(y.account != subscriber, &y.account))
    });
    let steps = drafts
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let f = d.finding;
            let evidence = match (&d.action, &d.note) {
                (Action::CreateOrgWideGrant { .. }, _) => org_wide_evidence(&d),
                (_, Some(note)) => format!("{}; {note}", f.message),
                (_, None) => f.message.clone(),
            };
            Step {
                order: i + 1,
                account_id: d.account,
                runs_as: d.runs_as,
                finding_id: f.id.clone(),
                rule: f.rule,
                effect: d.effect,
                command: d
                    .action
                    .argv(&format!("ea-{}", &f.id[..f.id.len().min(24)])),
                action: d.action,
                evidence,
                covers: d.covers,
            }
        })
        .collect();
    Plan {
        subscriber_account_id: subscriber.to_string(),
        steps,
        decisions,
    }
}

/// What an OU or organization grant is for, and what it leaves to do (the domain: such grants
/// reach each account as a sub-grant of its own, DISABLED until activated).
fn org_wide_evidence(d: &Draft) -> String {
    let Action::CreateOrgWideGrant {
        grantee_kind,
        grantee_id,
        ..
    } = &d.action
    else {
        unreachable!("only an OU or organization grant has this evidence")
    };
    const SHOWN: usize = 5;
    let mut accounts: Vec<&str> = d.covers.iter().map(|c| c.account_id.as_str()).collect();
    let more = accounts.len().saturating_sub(SHOWN);
    accounts.truncate(SHOWN);
    let more = match more {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    format!(
        "{n} account(s) under {grantee_kind} `{grantee_id}` pay public price for {product} with no grant of it ({list}{more}); AWS gives each account its own grant of this one DISABLED, so an account is covered only once that grant is activated, in the account or in bulk by the management account: the next run's plan lists the activations",
        n = d.covers.len(),
        product = d.finding.product,
        list = accounts.join(", "),
    )
}

/// The calls that make a waiting grant ACTIVE in its account, or why there are none.
fn activation(g: &GrantRow) -> Result<Vec<Action>, String> {
    let activate = Action::ActivateGrant {
        grant_arn: g.grant_arn.clone(),
        // Accepting does not make a new version (UNCONFIRMED: re-read it with `get-grant` if
        // the activation is refused).
        source_version: g.version.clone(),
    };
    match g.status {
        GrantStatus::PendingAccept => Ok(vec![
            Action::AcceptGrant {
                grant_arn: g.grant_arn.clone(),
            },
            activate,
        ]),
        ref s if s.is_awaiting_activation() && *s != GrantStatus::PendingWorkflow => {
            Ok(vec![activate])
        }
        ref s => Err(format!(
            "the grant is {s}: wait for AWS's workflow to finish, or recreate the grant"
        )),
    }
}

/// What the plan does for an EA001 account, or why it does nothing: the account must still be
/// exposed at the as-of date. A grant waiting for activation is activated when no EA002
/// finding is about it yet (EA002's step activates it otherwise); with no grant of the
/// license reaching the account at all, a new one is created where the config puts it.
fn exposure_fix(
    a: &Analysis,
    grants: &Grants,
    ea002: &HashSet<(&str, &str)>,
    f: &Finding,
) -> Result<ExposureFix, String> {
    let last = grants
        .last_segment
        .get(&(f.account_id.as_str(), f.license_arn.as_str()));
    match last {
        Some(c) if c.state == State::NotCovered && c.to == a.as_of => {}
        Some(c) if c.state == State::AwaitingActivation => {
            if ea002.contains(&(f.account_id.as_str(), f.license_arn.as_str())) {
                return Err("the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed".into());
            }
            let own = match c.sub_grant_arn.as_str() {
                "" => &c.grant_arn,
                sub => sub,
            };
            return match grants.get(own).filter(|g| {
                g.grantee_kind == PrincipalKind::Account && g.grantee_id == f.account_id
            }) {
                Some(g) => activation(g).map(ExposureFix::Activate),
                None => Err("the grant waiting for activation is not the account's own: find the account's grant in the member account (`aws license-manager list-received-grants`)".into()),
            };
        }
        _ => {
            return Err("covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed".into())
        }
    }
    let reaches = grants
        .by_account
        .get(f.account_id.as_str())
        .into_iter()
        .flatten()
        .any(|g| g.license_arn == f.license_arn);
    if reaches {
        return Err("a grant of the license reaches the account but does not cover it: see its status in grants.csv".into());
    }
    let ops = grants
        .operations
        .get(f.license_arn.as_str())
        .cloned()
        .unwrap_or_default();
    if ops.is_empty() {
        return Err("whether to grant the account the product: the operations the license's grants allow are not known (a snapshot before format 5), so no create-grant is written".into());
    }
    let account = |note: Option<String>| ExposureFix::Create {
        action: Action::CreateGrant {
            license_arn: f.license_arn.clone(),
            grantee_account_id: f.account_id.clone(),
            grant_name: f.product.clone(),
            allowed_operations: ops.clone(),
        },
        note,
    };
    match a.grant_homes.get(&f.account_id) {
        None | Some(GrantHome::Account) => Ok(account(None)),
        Some(GrantHome::Unresolved { why }) => {
            Ok(account(Some(format!("an account grant, because {why}"))))
        }
        Some(GrantHome::OrgWide {
            kind,
            id,
            principal_arn,
        }) => {
            // A live grant to that principal that gives the account nothing is a decision:
            // another would be its duplicate (EA008).
            let existing = grants
                .by_principal
                .get(&(f.license_arn.as_str(), kind, id.as_str()));
            if let Some(g) = existing {
                return Err(format!(
                    "the license's {kind} grant `{}` to `{id}` is {} but gives the account no grant of its own: recreating it would duplicate it (EA008); find out why the account has none (`aws license-manager get-grant`)",
                    g.grant_arn, g.status
                ));
            }
            Ok(ExposureFix::Create {
                action: Action::CreateOrgWideGrant {
                    license_arn: f.license_arn.clone(),
                    grantee_kind: kind.clone(),
                    grantee_id: id.clone(),
                    principal_arn: principal_arn.clone(),
                    grant_name: f.product.clone(),
                    allowed_operations: ops,
                },
                note: None,
            })
        }
    }
}

/// What a person must decide for a finding no License Manager call closes.
fn decision_for(f: &Finding) -> String {
    match f.rule {
        code::PUBLIC_PRICE_EXPOSURE => "whether the account should be granted the product (and under which organization or OU grant); the spend already paid at public price stays paid".into(),
        code::GRANT_FAILED => "whether to recreate the grant for the account (create the replacement before deleting this one)".into(),
        code::USAGE_AFTER_CANCELLATION => "whether the account should stop using the model, or the subscription be renewed".into(),
        code::SUPERSEDED_SUBSCRIPTION => "in the member account, cancel its own subscription in AWS Marketplace > Manage subscriptions (no API): the organization's grant covers it".into(),
        code::UNMAPPED_SPEND => "map the product to a license in the config, or subscribe centrally".into(),
        code::UNALLOCATED_SPEND => "tag the account or the usage with the team, or add an OU rule".into(),
        code::INVOCATION_WITHOUT_GRANT if !f.related_finding_id.is_empty() => format!(
            "billing already shows these days as `{}`: what this plan does or asks for that finding answers this one too",
            f.related_finding_id
        ),
        code::INVOCATION_WITHOUT_GRANT => "whether the account should be granted the product: activate or create its grant before the invocations are billed at public price, or stop the account invoking the model".into(),
        code::MEMBER_OWN_SUBSCRIPTION => "in the member account, cancel its own subscription in AWS Marketplace > Manage subscriptions (no API) once the organization's grant covers the account; until then it pays at its own terms".into(),
        code::UNMAPPED_INVOCATIONS => "map the model id to a product in `[[model_mappings]]` if the organization licenses it, or confirm it is a model the organization does not buy".into(),
        _ => f.remediation.clone(),
    }
}
