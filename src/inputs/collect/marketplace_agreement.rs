//! Marketplace agreements of the subscriber (Marketplace Agreement API, us-east-1, Smithy RPC v2
//! CBOR): `SearchAgreements` as acceptor for purchase agreements of every status, each one's
//! license from `entitlements[].licenseArn` (`GetAgreementEntitlements` where the search names
//! none), and `GetAgreementTerms` for the private rate card (`usageBasedPricingTerm`), the
//! validity end and the renewal setting.
//!
//! The API shows the caller's own agreements only: run as the subscriber (the account holding
//! the organization's licenses). Agreements a member account accepted itself are not seen
//! (docs/collect.md, "Agreements").

use super::call::{Cx, Page};
use super::permissions::{GET_AGREEMENT_ENTITLEMENTS, GET_AGREEMENT_TERMS, SEARCH_AGREEMENTS};
use super::to_chrono as time;
use crate::model::{Agreement, AgreementStatus, LicenseLink, Rate, RateSource};
use crate::snapshot::Table;
use aws_sdk_marketplaceagreement::types::{AcceptedTerm, AgreementViewSummary, Filter};

/// The catalog Marketplace agreements live in.
const CATALOG: &str = "AWSMarketplace";
/// `maxResults` maximum of the three operations.
const MAX_RESULTS: i32 = 50;
const TABLES: &[Table] = &[Table::Agreements, Table::Rates];

/// What the agreements listing read.
#[derive(Debug, Default)]
pub struct Collected {
    pub agreements: Vec<Agreement>,
    pub rates: Vec<Rate>,
}

/// The search for the caller's purchase agreements as acceptor, every status (`collect` pages
/// it, `doctor` asks for one).
pub(super) fn search(
    client: &aws_sdk_marketplaceagreement::Client,
) -> aws_sdk_marketplaceagreement::operation::search_agreements::builders::SearchAgreementsFluentBuilder
{
    let filter = |name: &str, value: &str| Filter::builder().name(name).values(value).build();
    client
        .search_agreements()
        .catalog(CATALOG)
        .filters(filter("PartyType", "Acceptor"))
        .filters(filter("AgreementType", "PurchaseAgreement"))
}

pub async fn collect(cx: &Cx<'_>) -> Collected {
    cx.progress.message("reading Marketplace agreements");
    let summaries = search_all(cx, "organization", TABLES).await;

    let mut out = Collected::default();
    for s in &summaries {
        let Some(id) = s.agreement_id().filter(|id| !id.is_empty()) else {
            continue;
        };
        let mut agreement = agreement(id, s);
        if agreement.license_arn.is_none() {
            let found = entitlement_license(cx, id).await;
            agreement.license_link = match &found {
                Some(_) => LicenseLink::Entitlements.as_str().to_string(),
                None => LicenseLink::None.as_str().to_string(),
            };
            agreement.license_arn = found;
        }
        let terms = terms(cx, id).await;
        apply_terms(&mut agreement, &terms, &mut out.rates);
        out.agreements.push(agreement);
    }
    out.agreements.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// Every purchase agreement the caller accepted (every page); a failure is a gap of `scope`
/// and `tables`. The member fan-out runs it in each member account.
pub(super) async fn search_all(
    cx: &Cx<'_>,
    scope: &str,
    tables: &[Table],
) -> Vec<AgreementViewSummary> {
    let client = &cx.clients.marketplace_agreement;
    let paged = cx
        .pages(&SEARCH_AGREEMENTS, |token| {
            let request = search(client)
                .max_results(cx.page_size(MAX_RESULTS))
                .set_next_token(token);
            async move {
                let out = request.send().await?;
                Ok(Page::new(
                    out.agreement_view_summaries().to_vec(),
                    out.next_token(),
                ))
            }
        })
        .await;
    cx.keep(&SEARCH_AGREEMENTS, scope, tables, paged)
}

/// An agreement from its search summary (terms not yet read).
pub(super) fn agreement(id: &str, s: &AgreementViewSummary) -> Agreement {
    let license_arn = s
        .entitlements()
        .iter()
        .find_map(|e| e.license_arn().filter(|a| !a.is_empty()))
        .map(str::to_string);
    let proposal = s.proposal_summary();
    Agreement {
        id: id.to_string(),
        status: AgreementStatus::parse(s.status().map_or("", |st| st.as_str())),
        acceptor_account_id: s
            .acceptor()
            .and_then(|a| a.account_id())
            .unwrap_or_default()
            .to_string(),
        product_id: proposal
            .and_then(|p| p.resources().iter().find_map(|r| r.id()))
            .unwrap_or_default()
            .to_string(),
        offer_id: proposal
            .and_then(|p| p.offer_id())
            .unwrap_or_default()
            .to_string(),
        license_link: if license_arn.is_some() {
            LicenseLink::Search.as_str().to_string()
        } else {
            String::new()
        },
        license_arn,
        acceptance_time: s.acceptance_time().and_then(time),
        start_time: s.start_time().and_then(time),
        end_time: s.end_time().and_then(time),
        last_update_time: s.last_update_time().and_then(time),
        end_time_behavior: s.end_time_behavior_type().map(|t| t.as_str().to_string()),
        auto_renew: None,
    }
}

/// The license of an agreement's entitlements, when the search named none.
async fn entitlement_license(cx: &Cx<'_>, id: &str) -> Option<String> {
    let client = &cx.clients.marketplace_agreement;
    let paged = cx
        .pages(&GET_AGREEMENT_ENTITLEMENTS, |token| {
            let request = client
                .get_agreement_entitlements()
                .agreement_id(id)
                .max_results(cx.page_size(MAX_RESULTS))
                .set_next_token(token);
            async move {
                let out = request.send().await?;
                let arns = out
                    .agreement_entitlements()
                    .iter()
                    .filter_map(|e| e.license_arn().filter(|a| !a.is_empty()))
                    .map(str::to_string)
                    .collect();
                Ok(Page::new(arns, out.next_token()))
            }
        })
        .await;
    cx.keep(&GET_AGREEMENT_ENTITLEMENTS, id, TABLES, paged)
        .into_iter()
        .next()
}

async fn terms(cx: &Cx<'_>, id: &str) -> Vec<AcceptedTerm> {
    let client = &cx.clients.marketplace_agreement;
    let paged = cx
        .pages(&GET_AGREEMENT_TERMS, |token| {
            let request = client
                .get_agreement_terms()
                .agreement_id(id)
                .max_results(cx.page_size(MAX_RESULTS))
                .set_next_token(token);
            async move {
                let out = request.send().await?;
                Ok(Page::new(out.accepted_terms().to_vec(), out.next_token()))
            }
        })
        .await;
    cx.keep(&GET_AGREEMENT_TERMS, id, TABLES, paged)
}

/// Takes the rate card, the validity end (when the summary had no end) and the renewal
/// setting from an agreement's terms. Terms of other kinds, and kinds this SDK does not know
/// (`Unknown`), carry nothing the audit reads.
fn apply_terms(agreement: &mut Agreement, terms: &[AcceptedTerm], rates: &mut Vec<Rate>) {
    for term in terms {
        match term {
            AcceptedTerm::UsageBasedPricingTerm(t) => {
                let currency = t.currency_code().unwrap_or_default();
                for item in t.rate_cards().iter().flat_map(|c| c.rate_card()) {
                    let (Some(dimension), Some(price)) = (item.dimension_key(), item.price())
                    else {
                        continue;
                    };
                    rates.push(Rate {
                        source: RateSource::Agreement,
                        agreement_id: Some(agreement.id.clone()),
                        product: String::new(),
                        dimension_key: dimension.to_string(),
                        price: price.to_string(),
                        currency: currency.to_string(),
                        unit: None,
                    });
                }
            }
            AcceptedTerm::ValidityTerm(t) if agreement.end_time.is_none() => {
                agreement.end_time = t.agreement_end_date().and_then(time);
            }
            AcceptedTerm::RenewalTerm(t) => {
                agreement.auto_renew = t.configuration().map(|c| c.enable_auto_renew());
            }
            _ => {}
        }
    }
}
