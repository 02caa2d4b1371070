//! EA002 grant-not-activated: a grant covering an account left DISABLED or pending too long.

use super::{finding, meta, Facts, Rule};
use crate::analyze::context::Context;
use crate::analyze::coverage::State;
use crate::analyze::finding::Finding;
use crate::model::{day, GrantStatus, Severity};
use crate::money::usd;
use crate::snapshot::Table;

pub struct GrantNotActivated;

impl Rule for GrantNotActivated {
    meta!(
        "EA002",
        "grant-not-activated",
        Severity::Medium,
        "a grant covering an account stays DISABLED, PENDING_ACCEPT or PENDING_WORKFLOW longer than the threshold",
        &[
            Table::Accounts,
            Table::OrganizationalUnits,
            Table::Licenses,
            Table::Grants,
            Table::GrantEvents,
            // The overspend of the spend while the grant waited.
            Table::Agreements,
            Table::Rates,
        ]
    );

    fn check(&self, cx: &Context, facts: &Facts, out: &mut Vec<Finding>) {
        let threshold = i64::from(cx.cfg.grant_activation_threshold_days);
        let exposed = facts.spend_by_state(State::is_exposed);
        for (id, account) in &cx.accounts {
            if *id == cx.subscriber() || account.state.is_inactive() {
                continue;
            }
            for arn in cx.granted_licenses(id) {
                let Some((li, key)) = cx.products.license(arn) else {
                    continue;
                };
                let license = &cx.snap.licenses[li];
                if cx.license_ended(license) {
                    continue;
                }
                let candidates = cx.candidates(id, &license.arn);
                let active = |i: usize| cx.grants[i].status == GrantStatus::Active;
                if candidates.iter().any(|c| active(c.effective)) {
                    continue;
                }
                for c in candidates
                    .iter()
                    .filter(|c| cx.grants[c.effective].status.is_awaiting_activation())
                {
                    let eff = &cx.grants[c.effective];
                    let top = &cx.grants[c.top];
                    let created = eff.timeline.created_at.or(top.timeline.created_at);
                    let since = match (created, account.joined_at) {
                        (Some(c), Some(j)) => Some(c.max(j)),
                        (c, j) => c.or(j),
                    };
                    let age = since.map(|t| (cx.as_of - day(t)).num_days());
                    if age.is_some_and(|a| a <= threshold) {
                        continue;
                    }
                    let mut f = finding(cx, self, id);
                    f.product = cx.products.name(key).to_string();
                    f.license_arn = license.arn.clone();
                    f.grant_arn = top.grant.arn.clone();
                    f.first_day = since.map(day);
                    f.last_day = Some(cx.as_of);
                    let spend = exposed.get(&(*id, key)).map(|(s, _)| s);
                    if let Some(s) = spend.filter(|s| s.cost_usd > 0.0) {
                        f.severity = f.severity.max(Severity::High);
                        f.cost_usd = Some(s.cost_usd);
                        (f.overspend_usd, f.overspend_basis) = facts.overspend(key, s);
                    }
                    let age_text = match age {
                        Some(a) => format!("for {a} days"),
                        None => {
                            "since before the event history (creation time unknown)".to_string()
                        }
                    };
                    f.message = format!(
                        "{} grant `{}` for {} is {} {age_text}{}",
                        top.grant.grantee_kind,
                        top.grant.name,
                        f.product,
                        eff.status,
                        spend
                            .filter(|s| s.cost_usd > 0.0)
                            .map(|s| format!(
                                "; the account spent {} at public price meanwhile",
                                usd(s.cost_usd)
                            ))
                            .unwrap_or_default()
                    );
                    f.remediation = match eff.status {
                            GrantStatus::PendingAccept => "accept the grant in the account (License Manager > Granted licenses), then activate it".into(),
                            GrantStatus::PendingWorkflow => "wait for the Marketplace workflow or contact the seller if it stays pending; then activate the grant".into(),
                            _ => "activate the grant (the management account can bulk-activate organization and OU grants)".into(),
                        };
                    out.push(f);
                }
            }
        }
    }
}
