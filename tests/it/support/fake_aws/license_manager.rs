//! License Manager: received and organization licenses, distributed and organization grants,
//! `GetGrant` and the service settings.

use serde_json::{json, Value};

use super::{error, ok, unknown, Answer, Request, State};

pub(super) fn respond(st: &State, r: &Request, op: &str) -> Answer {
    let s = &st.scenario;
    match op {
        "ListReceivedLicenses" => {
            let issuer = r.filter("IssuerName");
            let items = s
                .received_licenses
                .iter()
                .filter(|l| issuer.as_deref().is_none_or(|i| l["Issuer"]["Name"] == i))
                .collect();
            r.page("Licenses", items, 100)
        }
        "ListReceivedLicensesForOrganization" => {
            r.page("Licenses", s.organization_licenses.iter().collect(), 100)
        }
        "ListDistributedGrants" => {
            let issuer = r.filter("LicenseIssuerName");
            let issuer_of = |arn: &Value| {
                s.received_licenses
                    .iter()
                    .find(|l| &l["LicenseArn"] == arn)
                    .map(|l| l["Issuer"]["Name"].clone())
            };
            let items = s
                .distributed_grants
                .iter()
                .filter(|g| {
                    issuer
                        .as_deref()
                        .is_none_or(|i| issuer_of(&g["LicenseArn"]).is_some_and(|n| n == i))
                })
                .collect();
            r.page("Grants", items, 100)
        }
        "ListReceivedGrantsForOrganization" => {
            let license = r.str("LicenseArn");
            if license.is_empty() {
                return error("ValidationException", "LicenseArn is required");
            }
            let items = s
                .organization_grants
                .iter()
                .filter(|g| g["LicenseArn"] == license)
                .collect();
            r.page("Grants", items, 100)
        }
        "GetGrant" => {
            let arn = r.str("GrantArn");
            let found = s
                .distributed_grants
                .iter()
                .chain(&s.organization_grants)
                .chain(&s.other_grants)
                .find(|g| g["GrantArn"] == arn);
            match found {
                Some(g) => ok(json!({"Grant": g})),
                None => error("InvalidParameterValueException", "no such grant"),
            }
        }
        "GetServiceSettings" => ok(s.service_settings.clone()),
        other => unknown(other),
    }
}
