//! AWS License Manager (always `us-east-1`): the organization's Marketplace licenses, the
//! members' own subscriptions, the grants the subscriber distributed and each account's
//! sub-grant of them. SDK types become [`crate::model`] types right here.
//!
//! Which grants are per-account sub-grants is decided by relation, never by the text of
//! `ParentArn` (AWS may put the license, the seller's grant, another grant or nothing there
//! for a distributed grant): see [`relate`].

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_licensemanager::types::{Filter, Grant as SdkGrant, GrantedLicense};
use futures_util::future::join_all;

use super::call::{Cx, Page};
use super::parse_time;
use super::permissions::{
    GET_GRANT, LIST_DISTRIBUTED_GRANTS, LIST_RECEIVED_GRANTS_FOR_ORG, LIST_RECEIVED_LICENSES,
    LIST_RECEIVED_LICENSES_FOR_ORG,
};
use crate::model::{
    org_wide_arns, parse_principal, Grant, GrantRelation, GrantStatus, License, LicenseStatus,
    PrincipalKind,
};
use crate::snapshot::Table;

/// License Manager list operations accept at most 100 results per page.
const MAX_PAGE: i32 = 100;

/// What License Manager told us.
#[derive(Debug, Default)]
pub struct LmData {
    /// Licenses received by the calling (subscriber) account: the organization's.
    pub organization_licenses: Vec<License>,
    /// Licenses the member accounts hold themselves.
    pub member_licenses: Vec<License>,
    /// Distributed grants, their per-account sub-grants and parents fetched one by one.
    pub grants: Vec<Grant>,
    /// Shapes tolerated but not expected, for `doctor`.
    pub surprises: Vec<Surprise>,
}

/// A shape of License Manager's answers that the collector tolerates but that aws-apis.md
/// does not settle or predict: `doctor` reports each kind with a count and an example, so a
/// user of a real organization can tell what AWS really sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Surprise {
    /// Stable kebab-case kind, e.g. `grant-parent-unknown`.
    pub kind: &'static str,
    /// What it means, in a sentence.
    pub what: &'static str,
    pub count: usize,
    /// The first ARN (in ARN order) showing it.
    pub example: String,
}

pub async fn collect(cx: &Cx<'_>) -> LmData {
    let c = &cx.clients.license_manager;
    let page = cx.page_size(MAX_PAGE);
    let issuer = cx.opts.license_issuer.as_deref();
    let issuer_scope = issuer.map_or("all issuers".to_string(), |i| format!("issuer {i}"));

    cx.progress.message("license manager: reading licenses");
    let received = cx.pages(&LIST_RECEIVED_LICENSES, |t| async move {
        c.list_received_licenses()
            .set_filters(issuer.map(|i| vec![filter("IssuerName", i)]))
            .max_results(page)
            .set_next_token(t)
            .send()
            .await
            .map(|r| Page::new(r.licenses().to_vec(), r.next_token()))
    });
    let received = cx.keep(
        &LIST_RECEIVED_LICENSES,
        &issuer_scope,
        &[Table::Licenses, Table::Grants],
        received.await,
    );

    let members = cx.pages(&LIST_RECEIVED_LICENSES_FOR_ORG, |t| async move {
        c.list_received_licenses_for_organization()
            .max_results(page)
            .set_next_token(t)
            .send()
            .await
            .map(|r| Page::new(r.licenses().to_vec(), r.next_token()))
    });
    let members = cx.keep(
        &LIST_RECEIVED_LICENSES_FOR_ORG,
        "organization",
        &[Table::Licenses],
        members.await,
    );
    // This operation has no issuer filter: apply it here.
    let members = members
        .iter()
        .filter(|l| issuer.is_none_or(|i| l.issuer().and_then(|d| d.name()) == Some(i)));

    cx.progress
        .message("license manager: reading distributed grants");
    let distributed = cx.pages(&LIST_DISTRIBUTED_GRANTS, |t| async move {
        c.list_distributed_grants()
            .set_filters(issuer.map(|i| vec![filter("LicenseIssuerName", i)]))
            .max_results(page)
            .set_next_token(t)
            .send()
            .await
            .map(|r| Page::new(r.grants().to_vec(), r.next_token()))
    });
    let distributed = cx.keep(
        &LIST_DISTRIBUTED_GRANTS,
        &issuer_scope,
        &[Table::Grants],
        distributed.await,
    );

    let mut data = LmData {
        organization_licenses: received.iter().map(license).collect(),
        member_licenses: members.map(license).collect(),
        grants: Vec::new(),
        surprises: Vec::new(),
    };
    let mut grants: BTreeMap<String, Grant> = BTreeMap::new();
    for g in &distributed {
        grants.entry(g.grant_arn().to_string()).or_insert(grant(g));
    }
    let distributed: BTreeSet<String> = grants.keys().cloned().collect();

    // Each account's sub-grant, per license the organization holds or distributes.
    let license_arns: BTreeSet<String> = data
        .organization_licenses
        .iter()
        .map(|l| l.arn.clone())
        .chain(grants.values().map(|g| g.license_arn.clone()))
        .filter(|a| !a.is_empty())
        .collect();
    cx.progress.message(&format!(
        "license manager: reading account grants of {} licenses",
        license_arns.len()
    ));
    let sub_grants = join_all(license_arns.iter().map(|arn| async move {
        let listed = cx.pages(&LIST_RECEIVED_GRANTS_FOR_ORG, |t| async move {
            c.list_received_grants_for_organization()
                .license_arn(arn)
                .max_results(page)
                .set_next_token(t)
                .send()
                .await
                .map(|r| Page::new(r.grants().to_vec(), r.next_token()))
        });
        cx.keep(
            &LIST_RECEIVED_GRANTS_FOR_ORG,
            arn,
            &[Table::Grants],
            listed.await,
        )
    }))
    .await;
    for g in sub_grants.iter().flatten() {
        grants.entry(g.grant_arn().to_string()).or_insert(grant(g));
    }

    // An account grant listed only for the organization whose parent is none of the grants
    // and licenses above (another administrator's grant, or a listing that failed): read the
    // parent itself, and only that. A parent that cannot be read leaves undecided exactly
    // the grants under it; the ledger names it without marking the grants table incomplete.
    let known = Known::new(&data.organization_licenses, &grants);
    let missing: BTreeSet<String> = grants
        .values()
        .filter(|g| !distributed.contains(&g.arn) && known.needs_parent(g))
        .map(|g| g.parent_arn.clone())
        .collect();
    let parents = join_all(missing.iter().map(|arn| async move {
        let got = cx
            .call(&GET_GRANT, c.get_grant().grant_arn(arn).send())
            .await;
        let read = cx.ok(&GET_GRANT, arn, &[], got).map(|out| out.grant);
        (arn.clone(), read.map(|g| g.map(|g| grant(&g))))
    }))
    .await;
    let mut unread = BTreeSet::new();
    let mut read = BTreeMap::new();
    for (arn, got) in parents {
        match got {
            Some(Some(parent)) => {
                read.insert(arn, parent);
            }
            // Read, but AWS sent no grant: as unreadable as a refusal.
            _ => {
                unread.insert(arn);
            }
        }
    }
    relate(&mut grants, &distributed, &read, &unread);
    data.surprises = surprises(&data, &grants, &distributed, &known);
    // Organization and OU parents read here cover their accounts like distributed ones.
    for (arn, parent) in read.into_iter().filter(|(_, p)| p.is_org_wide()) {
        grants.entry(arn).or_insert(parent);
    }

    data.grants = grants.into_values().collect();
    data
}

/// The surprising shapes among what was read (see [`Surprise`]), kinds in a fixed order and
/// only those seen.
fn surprises(
    data: &LmData,
    grants: &BTreeMap<String, Grant>,
    distributed: &BTreeSet<String>,
    known: &Known,
) -> Vec<Surprise> {
    let mut out: Vec<Surprise> = Vec::new();
    let mut add = |kind, what, arns: Vec<&str>| {
        if let Some(example) = arns.iter().min() {
            out.push(Surprise {
                kind,
                what,
                count: arns.len(),
                example: example.to_string(),
            });
        }
    };
    let gs = || grants.values();
    add(
        "grant-parent-unknown",
        "grants whose ParentArn is neither a license, the seller grant a license names, a listed grant nor empty",
        gs().filter(|g| {
            !g.parent_arn.is_empty()
                && !known.licenses.contains(&g.parent_arn)
                && !known.grants.contains(&g.parent_arn)
        })
        .map(|g| g.arn.as_str())
        .collect(),
    );
    add(
        "sub-grant-parent-not-listed",
        "per-account grants listed for the organization whose parent ListDistributedGrants did not list",
        gs().filter(|g| {
            matches!(g.relation, GrantRelation::SubGrant | GrantRelation::ParentUnread)
                && !distributed.contains(&g.parent_arn)
        })
        .map(|g| g.arn.as_str())
        .collect(),
    );
    let licenses = || {
        data.organization_licenses
            .iter()
            .chain(&data.member_licenses)
    };
    add(
        "license-without-beneficiary",
        "licenses with no Beneficiary (one the subscriber's own listing returned is taken for the organization's)",
        licenses()
            .filter(|l| l.beneficiary.trim().is_empty())
            .map(|l| l.arn.as_str())
            .collect(),
    );
    add(
        "unknown-grant-status",
        "grants with a GrantStatus this version does not know (never taken as ACTIVE)",
        gs().filter(|g| !g.status.is_known())
            .map(|g| g.arn.as_str())
            .collect(),
    );
    add(
        "unknown-grantee-form",
        "grants whose GranteePrincipalArn is no account, OU or organization form this version parses",
        gs().filter(|g| !g.grantee_kind.is_known())
            .map(|g| g.arn.as_str())
            .collect(),
    );
    add(
        "unknown-license-status",
        "licenses with a Status this version does not know",
        licenses()
            .filter(|l| !l.status.is_known())
            .map(|l| l.arn.as_str())
            .collect(),
    );
    out
}

/// What a grant's `ParentArn` can be without reading it: a grant listed above, a license,
/// or the seller's grant a license names.
struct Known {
    licenses: BTreeSet<String>,
    grants: BTreeSet<String>,
}

impl Known {
    fn new(licenses: &[License], grants: &BTreeMap<String, Grant>) -> Self {
        let licenses = licenses
            .iter()
            .flat_map(|l| std::iter::once(l.arn.clone()).chain(l.seller_grant_arn.clone()))
            .chain(grants.values().map(|g| g.license_arn.clone()))
            .collect();
        Self {
            licenses,
            grants: grants.keys().cloned().collect(),
        }
    }

    /// An account grant whose parent is a grant nobody listed: only reading the parent says
    /// whether it is an organization or OU grant's sub-grant.
    fn needs_parent(&self, g: &Grant) -> bool {
        g.grantee_kind == PrincipalKind::Account
            && !g.parent_arn.is_empty()
            && g.parent_arn != g.arn
            && !self.licenses.contains(&g.parent_arn)
            && !self.grants.contains(&g.parent_arn)
    }
}

/// Decides each grant's relation ([`Grant::relation_among`]), the organization and OU grants
/// being those listed here and those read with `GetGrant` (`read`). An account grant listed
/// only for the organization whose parent had to be read and could not be (`unread`) is
/// undecided; a distributed account grant is the subscriber's own, direct whatever its
/// parent.
fn relate(
    grants: &mut BTreeMap<String, Grant>,
    distributed: &BTreeSet<String>,
    read: &BTreeMap<String, Grant>,
    unread: &BTreeSet<String>,
) {
    let org_wide = org_wide_arns(grants.values().chain(read.values()));
    for g in grants.values_mut() {
        g.relation = match g.relation_among(&org_wide) {
            GrantRelation::Direct
                if g.grantee_kind == PrincipalKind::Account
                    && unread.contains(&g.parent_arn)
                    && !distributed.contains(&g.arn) =>
            {
                GrantRelation::ParentUnread
            }
            decided => decided,
        };
    }
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

fn license(l: &GrantedLicense) -> License {
    License {
        arn: l.license_arn().unwrap_or_default().to_string(),
        product_name: l.product_name().unwrap_or_default().to_string(),
        product_sku: l.product_sku().unwrap_or_default().to_string(),
        issuer: l
            .issuer()
            .and_then(|i| i.name())
            .unwrap_or_default()
            .to_string(),
        status: l.status().map_or_else(
            || LicenseStatus::Other("UNKNOWN".to_string()),
            |s| LicenseStatus::parse(s.as_str()),
        ),
        validity_begin: l.validity().and_then(|v| parse_time(v.begin())),
        validity_end: l.validity().and_then(|v| v.end()).and_then(parse_time),
        // Documented as ISO-8601 but observed as epoch seconds: `parse_time` takes both.
        created_at: l.create_time().and_then(parse_time),
        beneficiary: l.beneficiary().unwrap_or_default().to_string(),
        home_region: l.home_region().unwrap_or_default().to_string(),
        version: l.version().unwrap_or_default().to_string(),
        seller_grant_arn: l
            .license_metadata()
            .iter()
            .find(|m| m.name() == Some("grantArn"))
            .and_then(|m| m.value())
            .filter(|v| !v.is_empty())
            .map(str::to_string),
    }
}

fn grant(g: &SdkGrant) -> Grant {
    let (grantee_kind, grantee_id) = parse_principal(g.grantee_principal_arn());
    Grant {
        arn: g.grant_arn().to_string(),
        name: g.grant_name().to_string(),
        license_arn: g.license_arn().to_string(),
        parent_arn: g.parent_arn().to_string(),
        grantee_principal_arn: g.grantee_principal_arn().to_string(),
        grantee_kind,
        grantee_id,
        status: GrantStatus::parse(g.grant_status().as_str()),
        status_reason: g.status_reason().map(str::to_string),
        version: g.version().to_string(),
        home_region: g.home_region().to_string(),
        activation_override: g
            .options()
            .and_then(|o| o.activation_override_behavior())
            .map(|b| b.as_str().to_string()),
        grant_type: g.grant_type().map(|t| t.as_str().to_string()),
        // Decided once every grant is known (`relate`).
        relation: GrantRelation::Direct,
        granted_operations: g
            .granted_operations()
            .iter()
            .map(|o| o.as_str().to_string())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_licensemanager::types::{DatetimeRange, IssuerDetails};

    #[test]
    fn license_times_parse_epoch_and_iso() {
        let l = GrantedLicense::builder()
            .license_arn("arn:aws:license-manager::123456789012:license:l-1")
            .issuer(IssuerDetails::builder().name("AWS/Marketplace").build())
            .status(aws_sdk_licensemanager::types::LicenseStatus::from("FROZEN"))
            .validity(
                DatetimeRange::builder()
                    .begin("2026-01-01T00:00:00Z")
                    .end("2027-01-01T00:00:00.000Z")
                    .build()
                    .unwrap(),
            )
            .create_time("1786848000")
            .build();
        let m = license(&l);
        assert_eq!(m.created_at.unwrap().timestamp(), 1_786_848_000);
        assert_eq!(
            m.validity_begin.unwrap().to_rfc3339(),
            "2026-01-01T00:00:00+00:00"
        );
        assert_eq!(
            m.validity_end.unwrap().to_rfc3339(),
            "2027-01-01T00:00:00+00:00"
        );
        assert_eq!(m.status, LicenseStatus::Other("FROZEN".into()));
        assert_eq!(m.issuer, "AWS/Marketplace");
    }
}
