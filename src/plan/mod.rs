//! The fix plan (`fix-plan.json`, `fix-plan.sh`): for each finding a License Manager call
//! can close, the AWS CLI commands that would close it, grouped by the account that must run
//! them and ordered so that each step's precondition holds; the findings no command can close,
//! with what a person must decide. The job itself never runs any of them.
//!
//! What is covered (first slice of the plan):
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

use std::collections::HashMap;

use serde::Serialize;

use crate::analyze::coverage::State;
use crate::analyze::finding::Finding;
use crate::analyze::rules::code;
use crate::analyze::{Analysis, GrantRow};
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
        let mut v: Vec<String> = ["aws", "license-manager"].map(String::from).to_vec();
        let mut push = |args: &[&str]| v.extend(args.iter().map(|a| a.to_string()));
        match self {
            Action::CreateGrant {
                license_arn,
                grantee_account_id: account_id,
                grant_name,
                allowed_operations,
            } => {
                let principal = format!("arn:aws:iam::{account_id}:root");
                push(&[
                    "create-grant",
                    "--client-token",
                    client_token,
                    "--grant-name",
                    grant_name,
                    "--license-arn",
                    license_arn,
                    "--principals",
                    &principal,
                    "--home-region",
                    REGION,
                    "--allowed-operations",
                ]);
                let ops: Vec<&str> = allowed_operations.iter().map(String::as_str).collect();
                push(&ops);
            }
            Action::AcceptGrant { grant_arn } => push(&["accept-grant", "--grant-arn", grant_arn]),
            Action::ActivateGrant {
                grant_arn,
                source_version,
            } => push(&[
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
            Action::DeleteGrant { grant_arn, version } => push(&[
                "delete-grant",
                "--grant-arn",
                grant_arn,
                "--version",
                version,
            ]),
        }
        push(&["--region", REGION]);
        v
    }
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
    /// `closes` (the finding is gone once it ran) or `stops-further-exposure` (a grant for an
    /// account that paid public price: the spend already billed stays billed, and the finding
    /// stays until it leaves the window).
    pub effect: &'static str,
    #[serde(flatten)]
    pub action: Action,
    pub command: Vec<String>,
    /// Why, from the finding: its message.
    pub evidence: String,
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

/// The analysis's grants by ARN, and by (parent ARN, grantee) for the sub-grants: a plan of
/// tens of thousands of findings looks each up once.
struct Grants<'a> {
    by_arn: HashMap<&'a str, &'a GrantRow>,
    sub_by_parent: HashMap<(&'a str, &'a str), &'a GrantRow>,
    by_account: HashMap<&'a str, Vec<&'a GrantRow>>,
}

impl<'a> Grants<'a> {
    fn new(a: &'a Analysis) -> Grants<'a> {
        let mut g = Grants {
            by_arn: HashMap::new(),
            sub_by_parent: HashMap::new(),
            by_account: HashMap::new(),
        };
        for row in &a.grants {
            g.by_arn.insert(&row.grant_arn, row);
            if row.is_sub_grant {
                g.sub_by_parent
                    .insert((&row.parent_arn, &row.grantee_id), row);
            }
            if row.grantee_kind == PrincipalKind::Account {
                g.by_account.entry(&row.grantee_id).or_default().push(row);
            }
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

/// The plan for an analysis whose subscriber is `subscriber`.
pub fn plan(a: &Analysis, subscriber: &str) -> Plan {
    let grants = Grants::new(a);
    let mut drafts: Vec<(String, &'static str, &Finding, Action)> = Vec::new();
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
            code::GRANT_NOT_ACTIVATED => match grants.own(f) {
                Some(g) if g.status == GrantStatus::PendingAccept => {
                    let arn = g.grant_arn.clone();
                    drafts.push((f.account_id.clone(), "member", f, Action::AcceptGrant {
                        grant_arn: arn.clone(),
                    }));
                    drafts.push((f.account_id.clone(), "member", f, Action::ActivateGrant {
                        grant_arn: arn,
                        // Accepting does not make a new version (UNCONFIRMED: re-read it
                        // with `get-grant` if the activation is refused).
                        source_version: g.version.clone(),
                    }));
                }
                Some(g) if g.status.is_awaiting_activation() && g.status != GrantStatus::PendingWorkflow => {
                    drafts.push((f.account_id.clone(), "member", f, Action::ActivateGrant {
                        grant_arn: g.grant_arn.clone(),
                        source_version: g.version.clone(),
                    }));
                }
                Some(g) => decisions.push(decide(
                    f,
                    format!("the grant is {}: wait for AWS's workflow to finish, or recreate the grant", g.status),
                )),
                None => decisions.push(decide(
                    f,
                    "the account's own grant is not in the data: find it in the member account (`aws license-manager list-received-grants`)".into(),
                )),
            },
            code::ORPHANED_GRANT | code::GRANT_TO_INACTIVE_PRINCIPAL => {
                match grants.get(&f.grant_arn) {
                    Some(g) => drafts.push((subscriber.to_string(), "subscriber", f, Action::DeleteGrant {
                        grant_arn: g.grant_arn.clone(),
                        version: g.version.clone(),
                    })),
                    None => decisions.push(decide(f, "the grant is not in the data".into())),
                }
            }
            code::DUPLICATE_GRANT => match grants.get(&f.grant_arn) {
                Some(g) if grants.another_active(g) => {
                    drafts.push((subscriber.to_string(), "subscriber", f, Action::DeleteGrant {
                        grant_arn: g.grant_arn.clone(),
                        version: g.version.clone(),
                    }))
                }
                _ => decisions.push(decide(
                    f,
                    "no other ACTIVE grant of the license reaches the account: deleting this one would leave it uncovered".into(),
                )),
            },
            code::PUBLIC_PRICE_EXPOSURE => match new_grant(a, &grants, f) {
                Ok(action) => drafts.push((subscriber.to_string(), "subscriber", f, action)),
                Err(why) => decisions.push(decide(f, why)),
            },
            _ => decisions.push(decide(f, decision_for(f))),
        }
    }
    // Per account, the subscriber's first; within one, the plan's own order (accept before
    // activate: drafts keep the order they were made in).
    // A stable sort keeps each account's drafts in the order they were made.
    drafts.sort_by(|x, y| (x.0 != subscriber, &x.0).cmp(&(y.0 != subscriber, &y.0)));
    let steps = drafts
        .iter()
        .enumerate()
        .map(|(i, (account, runs_as, f, action))| Step {
            order: i + 1,
            account_id: account.clone(),
            runs_as,
            finding_id: f.id.clone(),
            rule: f.rule,
            effect: match action {
                Action::CreateGrant { .. } => "stops-further-exposure",
                _ => "closes",
            },
            command: action.argv(&format!("ea-{}", &f.id[..f.id.len().min(24)])),
            action: action.clone(),
            evidence: f.message.clone(),
        })
        .collect();
    Plan {
        subscriber_account_id: subscriber.to_string(),
        steps,
        decisions,
    }
}

/// The grant an EA001 account lacks, or why none is planned: the account must still be
/// exposed at the as-of date with no grant of the license reaching it at all (a waiting grant
/// is EA002's step), and the operations to allow must be known from the license's grants.
fn new_grant(a: &Analysis, grants: &Grants, f: &Finding) -> Result<Action, String> {
    let last = a
        .coverage
        .iter()
        .filter(|c| c.account_id == f.account_id && c.license_arn == f.license_arn)
        .max_by_key(|c| c.to);
    match last {
        Some(c) if c.state == State::NotCovered && c.to == a.as_of => {}
        Some(c) if c.state == State::AwaitingActivation => {
            return Err("the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed".into())
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
    let mut ops: Vec<String> = a
        .grants
        .iter()
        .filter(|g| g.license_arn == f.license_arn)
        .flat_map(|g| g.granted_operations.iter().cloned())
        .collect();
    ops.sort();
    ops.dedup();
    if ops.is_empty() {
        return Err("whether to grant the account the product: the operations the license's grants allow are not known (a snapshot before format 5), so no create-grant is written".into());
    }
    Ok(Action::CreateGrant {
        license_arn: f.license_arn.clone(),
        grantee_account_id: f.account_id.clone(),
        grant_name: f.product.clone(),
        allowed_operations: ops,
    })
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
        _ => f.remediation.clone(),
    }
}
