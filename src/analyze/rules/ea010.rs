//! EA010 unallocated-spend: spend no attribution method could give to a team.

use super::{finding, meta, with_spend, Facts, Rule};
use crate::analyze::context::Context;
use crate::analyze::finding::Finding;
use crate::model::Severity;
use crate::money::usd;
use crate::snapshot::Table;

pub struct UnallocatedSpend;

impl Rule for UnallocatedSpend {
    meta!(
        "EA010",
        "unallocated-spend",
        Severity::Low,
        "spend cannot be attributed to a team",
        &[Table::Accounts, Table::OrganizationalUnits, Table::Usage]
    );

    fn check(&self, cx: &Context, facts: &Facts, out: &mut Vec<Finding>) {
        for (account, spend) in &facts.unallocated {
            if spend.cost_usd == 0.0 {
                continue;
            }
            let mut f = with_spend(finding(cx, self, account), spend);
            f.message = format!(
                "{} of Marketplace model spend has no team: no `{}` cost-allocation tag, no `{}` account tag, no OU rule",
                usd(spend.cost_usd),
                cx.cfg.team_tag_key,
                cx.cfg.team_tag_key
            );
            f.remediation = format!(
                "tag the account with `{}`, activate the cost-allocation tag, or add a `[[team_rules]]` entry for its OU",
                cx.cfg.team_tag_key
            );
            out.push(f);
        }
    }
}
