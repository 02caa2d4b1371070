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
            if facts.unallocated_tags_unread.contains(account) {
                // The snapshot did not read the tags of the account that used it (it had no
                // spend when collected): its team is not known, not absent.
                f.data_incomplete = true;
                f.message = format!(
                    "{} of Marketplace model spend has no team: no `{}` cost-allocation tag, no OU rule, and the account tags of its user were not read when the snapshot was collected",
                    usd(spend.cost_usd),
                    cx.cfg.team_tag_key
                );
                f.remediation = "collect again (the tags of every account with spend are read) or with `--account-tags all`, then run on that snapshot".to_string();
            }
            out.push(f);
        }
    }
}
