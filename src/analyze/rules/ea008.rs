//! EA008 duplicate-grant: two or more live grants of one license to the same principal.

use std::collections::BTreeMap;

use super::{grant_finding, meta, Facts, Rule};
use crate::analyze::context::Context;
use crate::analyze::finding::Finding;
use crate::model::{GrantStatus, Severity};
use crate::snapshot::Table;

pub struct DuplicateGrant;

impl Rule for DuplicateGrant {
    meta!(
        "EA008",
        "duplicate-grant",
        Severity::Low,
        "two or more live grants of the same license target the same principal",
        &[Table::Grants]
    );

    fn check(&self, cx: &Context, _facts: &Facts, out: &mut Vec<Finding>) {
        let mut groups: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
        for (i, v) in cx.grants.iter().enumerate() {
            if !v.grant.is_sub_grant() && v.status.is_live() {
                groups
                    .entry((
                        v.grant.license_arn.as_str(),
                        v.grant.grantee_principal_arn.as_str(),
                    ))
                    .or_default()
                    .push(i);
            }
        }
        for grants in groups.values().filter(|g| g.len() > 1) {
            // Keep the ACTIVE one (then the first by ARN); every other one is the duplicate.
            let mut sorted = grants.clone();
            sorted.sort_by_key(|&i| {
                (
                    cx.grants[i].status != GrantStatus::Active,
                    cx.grants[i].grant.arn.as_str(),
                )
            });
            let keep = cx.grants[sorted[0]].grant;
            for &i in &sorted[1..] {
                let g = cx.grants[i].grant;
                let mut f = grant_finding(cx, self, g);
                f.message = format!(
                    "grant `{}` ({}) duplicates grant `{}` ({}) to {} `{}`",
                    g.name,
                    cx.grants[i].status,
                    keep.name,
                    cx.grants[sorted[0]].status,
                    g.grantee_kind,
                    g.grantee_id
                );
                f.remediation = format!("delete grant `{}` and keep `{}`", g.arn, keep.arn);
                out.push(f);
            }
        }
    }
}
