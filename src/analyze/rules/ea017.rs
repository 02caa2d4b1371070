//! EA017 unmapped-invocations: a member account invoked a Marketplace model whose id matches
//! no product of the organization (kept and reported, never dropped).

use super::{days_between, finding, meta, Facts, Rule};
use crate::analyze::context::Context;
use crate::analyze::finding::Finding;
use crate::model::Severity;
use crate::snapshot::Table;

pub struct UnmappedInvocations;

impl Rule for UnmappedInvocations {
    meta!(
        "EA017",
        "unmapped-invocations",
        Severity::Medium,
        "a member account invoked a Marketplace model id that matches no product of the organization's licenses",
        &[Table::Invocations, Table::Licenses]
    );

    fn check(&self, cx: &Context, facts: &Facts, out: &mut Vec<Finding>) {
        for ((account, model_id), u) in &facts.invoked.unmapped {
            if u.invocations == 0 {
                continue;
            }
            let mut f = finding(cx, self, account);
            f.product = model_id.clone();
            f.first_day = u.first_day;
            f.last_day = u.last_day;
            let what = if u.base_model_id.is_empty() {
                "its id resolves to no model (an application inference profile that could not be read, or an id of an unknown shape)".to_string()
            } else {
                format!(
                    "it resolves to `{}`, whose name matches no license product",
                    u.base_model_id
                )
            };
            f.message = format!(
                "{} invocations of `{model_id}` between {}: {what}; if it is a Marketplace model the organization licenses, map it",
                u.invocations,
                days_between(f.first_day, f.last_day),
            );
            f.remediation = "add a `[[model_mappings]]` entry for the model id, or confirm the model is not one the organization buys".into();
            out.push(f);
        }
    }
}
