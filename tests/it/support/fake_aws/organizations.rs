//! Organizations: the organization, its roots, OUs, accounts and account tags.

use serde_json::{json, Value};

use super::{error, ok, unknown, Answer, Request, State};

pub(super) fn respond(st: &State, r: &Request, op: &str) -> Answer {
    let s = &st.scenario;
    match op {
        "DescribeOrganization" => ok(json!({"Organization": s.organization})),
        "ListRoots" => r.page("Roots", s.roots.iter().collect(), 20),
        "ListOrganizationalUnitsForParent" => {
            let parent = r.str("ParentId");
            if parent.is_empty() {
                return error("InvalidInputException", "ParentId is required");
            }
            let items = children(&s.ous, parent);
            r.page("OrganizationalUnits", items, 20)
        }
        "ListAccounts" => r.page("Accounts", s.accounts.iter().map(|(_, a)| a).collect(), 20),
        "ListAccountsForParent" => {
            let items = children(&s.accounts, r.str("ParentId"));
            r.page("Accounts", items, 20)
        }
        "ListTagsForResource" => {
            let tags = s
                .tags
                .get(r.str("ResourceId"))
                .map(|t| t.iter().collect())
                .unwrap_or_default();
            r.page("Tags", tags, 20)
        }
        other => unknown(other),
    }
}

fn children<'a>(items: &'a [(String, Value)], parent: &str) -> Vec<&'a Value> {
    items
        .iter()
        .filter(|(p, _)| p == parent)
        .map(|(_, v)| v)
        .collect()
}
