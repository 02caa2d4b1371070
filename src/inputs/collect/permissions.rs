//! The one list of AWS operations the collectors and `doctor` call, and the least-privilege
//! IAM policy printed from it.
//!
//! Every SDK call in `collect` goes through the call helper in `call.rs`, which takes an
//! [`Op`] from this list, so the policy cannot drift from the code; a test against the fake
//! endpoint checks the list against the operations actually sent.

use serde_json::json;

/// An AWS service the collectors talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    Organizations,
    LicenseManager,
    CostExplorer,
    CloudTrail,
    MarketplaceAgreement,
    Bedrock,
    Pricing,
    Athena,
    Sts,
    /// CloudWatch metrics, read in the member accounts (`--member-role`).
    CloudWatch,
}

impl Service {
    /// The IAM action prefix (`license-manager` in `license-manager:ListDistributedGrants`).
    pub fn iam_prefix(self) -> &'static str {
        match self {
            Self::Organizations => "organizations",
            Self::LicenseManager => "license-manager",
            Self::CostExplorer => "ce",
            Self::CloudTrail => "cloudtrail",
            Self::MarketplaceAgreement => "aws-marketplace",
            Self::Bedrock => "bedrock",
            Self::Pricing => "pricing",
            Self::Athena => "athena",
            Self::Sts => "sts",
            Self::CloudWatch => "cloudwatch",
        }
    }

    /// The service name used in completeness ledger entries.
    pub fn ledger_name(self) -> &'static str {
        match self {
            Self::Organizations => "organizations",
            Self::LicenseManager => "license-manager",
            Self::CostExplorer => "cost-explorer",
            Self::CloudTrail => "cloudtrail",
            Self::MarketplaceAgreement => "marketplace-agreement",
            Self::Bedrock => "bedrock",
            Self::Pricing => "pricing",
            Self::Athena => "athena",
            Self::Sts => "sts",
            Self::CloudWatch => "cloudwatch",
        }
    }

    /// The `X-Amz-Target` prefix of the service's JSON protocol, or for the Marketplace
    /// Agreement API (Smithy RPC v2 CBOR) the service name of its request paths
    /// (`/service/AWSMPCommerceService_v20200301/operation/SearchAgreements`), or for Bedrock
    /// (REST JSON: the operation is in the path) the name the test fake files it under; `None`
    /// for STS, which speaks the query protocol.
    pub fn target_prefix(self) -> Option<&'static str> {
        match self {
            Self::Organizations => Some("AWSOrganizationsV20161128"),
            Self::LicenseManager => Some("AWSLicenseManager"),
            Self::CostExplorer => Some("AWSInsightsIndexService"),
            Self::CloudTrail => Some("CloudTrail_20131101"),
            Self::MarketplaceAgreement => Some("AWSMPCommerceService_v20200301"),
            Self::Bedrock => Some("AmazonBedrockControlPlaneService"),
            Self::Pricing => Some("AWSPriceListService"),
            Self::Athena => Some("AmazonAthena"),
            Self::Sts => None,
            // Smithy RPC v2 CBOR in aws-sdk-cloudwatch 1.140 (the path names the service).
            Self::CloudWatch => Some("GraniteServiceVersion20100801"),
        }
    }
}

/// One AWS API operation, as IAM names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Op {
    pub service: Service,
    /// The operation name, e.g. `ListDistributedGrants`.
    pub name: &'static str,
    /// Called by `doctor` only, not by `collect`.
    pub doctor_only: bool,
}

impl Op {
    const fn collect(service: Service, name: &'static str) -> Self {
        Self {
            service,
            name,
            doctor_only: false,
        }
    }

    const fn doctor(service: Service, name: &'static str) -> Self {
        Self {
            service,
            name,
            doctor_only: true,
        }
    }

    /// `license-manager:ListDistributedGrants`.
    pub fn action(&self) -> String {
        format!("{}:{}", self.service.iam_prefix(), self.name)
    }
}

use Service::*;

pub const DESCRIBE_ORGANIZATION: Op = Op::collect(Organizations, "DescribeOrganization");
pub const LIST_ROOTS: Op = Op::collect(Organizations, "ListRoots");
pub const LIST_OUS_FOR_PARENT: Op = Op::collect(Organizations, "ListOrganizationalUnitsForParent");
pub const LIST_ACCOUNTS: Op = Op::collect(Organizations, "ListAccounts");
pub const LIST_ACCOUNTS_FOR_PARENT: Op = Op::collect(Organizations, "ListAccountsForParent");
pub const LIST_TAGS_FOR_RESOURCE: Op = Op::collect(Organizations, "ListTagsForResource");

pub const LIST_RECEIVED_LICENSES: Op = Op::collect(LicenseManager, "ListReceivedLicenses");
pub const LIST_RECEIVED_LICENSES_FOR_ORG: Op =
    Op::collect(LicenseManager, "ListReceivedLicensesForOrganization");
pub const LIST_DISTRIBUTED_GRANTS: Op = Op::collect(LicenseManager, "ListDistributedGrants");
pub const LIST_RECEIVED_GRANTS_FOR_ORG: Op =
    Op::collect(LicenseManager, "ListReceivedGrantsForOrganization");
pub const GET_GRANT: Op = Op::collect(LicenseManager, "GetGrant");
pub const GET_SERVICE_SETTINGS: Op = Op::doctor(LicenseManager, "GetServiceSettings");

pub const GET_COST_AND_USAGE: Op = Op::collect(CostExplorer, "GetCostAndUsage");
pub const LIST_COST_ALLOCATION_TAGS: Op = Op::doctor(CostExplorer, "ListCostAllocationTags");

pub const LOOKUP_EVENTS: Op = Op::collect(CloudTrail, "LookupEvents");

pub const GET_AGREEMENT_ENTITLEMENTS: Op =
    Op::collect(MarketplaceAgreement, "GetAgreementEntitlements");
pub const GET_AGREEMENT_TERMS: Op = Op::collect(MarketplaceAgreement, "GetAgreementTerms");
pub const SEARCH_AGREEMENTS: Op = Op::collect(MarketplaceAgreement, "SearchAgreements");

pub const LIST_FOUNDATION_MODELS: Op = Op::collect(Bedrock, "ListFoundationModels");
pub const LIST_FOUNDATION_MODEL_AGREEMENT_OFFERS: Op =
    Op::collect(Bedrock, "ListFoundationModelAgreementOffers");

pub const GET_PRODUCTS: Op = Op::collect(Pricing, "GetProducts");

// `--cost-source athena` only (the policy lists them with `iam-policy --athena-data`).
pub const GET_QUERY_EXECUTION: Op = Op::collect(Athena, "GetQueryExecution");
pub const GET_QUERY_RESULTS: Op = Op::collect(Athena, "GetQueryResults");
pub const GET_TABLE_METADATA: Op = Op::collect(Athena, "GetTableMetadata");
pub const GET_WORK_GROUP: Op = Op::collect(Athena, "GetWorkGroup");
pub const START_QUERY_EXECUTION: Op = Op::collect(Athena, "StartQueryExecution");

pub const GET_CALLER_IDENTITY: Op = Op::doctor(Sts, "GetCallerIdentity");

// `--member-role` only: the management account assumes the role in each member account
// (`iam-policy --member-role NAME` adds it); the member reads below run with that role and
// are the member policy (`iam-policy --member`).
pub const ASSUME_ROLE: Op = Op::collect(Sts, "AssumeRole");
pub const LIST_METRICS: Op = Op::collect(CloudWatch, "ListMetrics");
pub const GET_METRIC_DATA: Op = Op::collect(CloudWatch, "GetMetricData");
pub const LIST_INFERENCE_PROFILES: Op = Op::collect(Bedrock, "ListInferenceProfiles");

/// What a member account's role must allow (`iam-policy --member`): its grant changes in its
/// own trail, its own agreements, its Bedrock metrics and its application inference profiles.
pub const MEMBER_OPERATIONS: &[Op] = &[
    LOOKUP_EVENTS,
    SEARCH_AGREEMENTS,
    LIST_INFERENCE_PROFILES,
    GET_METRIC_DATA,
    LIST_METRICS,
];

/// Every operation the binary may call, sorted by service then name.
pub const OPERATIONS: &[Op] = &[
    DESCRIBE_ORGANIZATION,
    LIST_ACCOUNTS,
    LIST_ACCOUNTS_FOR_PARENT,
    LIST_OUS_FOR_PARENT,
    LIST_ROOTS,
    LIST_TAGS_FOR_RESOURCE,
    GET_GRANT,
    GET_SERVICE_SETTINGS,
    LIST_DISTRIBUTED_GRANTS,
    LIST_RECEIVED_GRANTS_FOR_ORG,
    LIST_RECEIVED_LICENSES,
    LIST_RECEIVED_LICENSES_FOR_ORG,
    GET_COST_AND_USAGE,
    LIST_COST_ALLOCATION_TAGS,
    LOOKUP_EVENTS,
    GET_AGREEMENT_ENTITLEMENTS,
    GET_AGREEMENT_TERMS,
    SEARCH_AGREEMENTS,
    LIST_FOUNDATION_MODEL_AGREEMENT_OFFERS,
    LIST_FOUNDATION_MODELS,
    LIST_INFERENCE_PROFILES,
    GET_PRODUCTS,
    GET_QUERY_EXECUTION,
    GET_QUERY_RESULTS,
    GET_TABLE_METADATA,
    GET_WORK_GROUP,
    START_QUERY_EXECUTION,
    ASSUME_ROLE,
    GET_CALLER_IDENTITY,
    GET_METRIC_DATA,
    LIST_METRICS,
];

/// The name prefixes of read-only AWS operations.
pub const READ_PREFIXES: &[&str] = &["List", "Get", "Describe", "Lookup", "Search"];

/// Reads whose names have none of those prefixes: an Athena query (a `SELECT`; its only write
/// is the result file in the query results location, which belongs to the job).
/// `sts:AssumeRole` changes nothing either: it hands out temporary credentials of a role.
pub const READ_ONLY_OTHERS: &[&str] = &["StartQueryExecution", "AssumeRole"];

/// Whether an operation only reads.
pub fn is_read(name: &str) -> bool {
    READ_PREFIXES.iter().any(|p| name.starts_with(p)) || READ_ONLY_OTHERS.contains(&name)
}

/// Looks an operation up by service and name (used by tests against the fake endpoint).
pub fn find(service: Service, name: &str) -> Option<&'static Op> {
    OPERATIONS
        .iter()
        .find(|op| op.service == service && op.name == name)
}

/// The least-privilege IAM policy for everything in [`OPERATIONS`] but Athena's (see
/// [`athena_statements`]).
///
/// All actions are on `Resource: "*"`: these list and describe calls do not support
/// resource-level scoping. `sts:GetCallerIdentity` needs no permission but is listed so that
/// the policy names every call the binary makes.
pub fn iam_policy() -> serde_json::Value {
    let mut actions: Vec<String> = OPERATIONS
        .iter()
        .filter(|op| op.service != Athena && !is_member_only(op))
        .map(Op::action)
        .collect();
    actions.sort();
    actions.dedup();
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "EntitlementAuditReadOnly",
            "Effect": "Allow",
            "Action": actions,
            "Resource": "*",
        }],
    })
}

/// Operations called only in member accounts or to reach them: not in the management
/// account's base policy ([`member_role_statement`] adds `sts:AssumeRole`).
pub fn is_member_only(op: &Op) -> bool {
    *op == ASSUME_ROLE || (MEMBER_OPERATIONS.contains(op) && !is_management_read(op))
}

/// Member operations the management account calls itself too.
fn is_management_read(op: &Op) -> bool {
    matches!(*op, LOOKUP_EVENTS | SEARCH_AGREEMENTS)
}

/// The management account's statement for `--member-role NAME`: assuming that role, and
/// only that role, in any account.
pub fn member_role_statement(role_name: &str) -> serde_json::Value {
    json!({
        "Sid": "EntitlementAuditAssumeMemberRole",
        "Effect": "Allow",
        "Action": ASSUME_ROLE.action(),
        "Resource": format!("arn:aws:iam::*:role/{role_name}"),
    })
}

/// The policy of the member role (`iam-policy --member`): exactly [`MEMBER_OPERATIONS`].
pub fn member_policy() -> serde_json::Value {
    let mut actions: Vec<String> = MEMBER_OPERATIONS.iter().map(Op::action).collect();
    actions.sort();
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "EntitlementAuditMemberReadOnly",
            "Effect": "Allow",
            "Action": actions,
            "Resource": "*",
        }],
    })
}

/// The statements `--cost-source athena` needs: its Athena operations; the Glue catalog reads
/// Athena makes on the caller's behalf; reading the export under `data` (`s3://BUCKET/PREFIX`);
/// and, at `output`, writing the query's result file and reading it back.
///
/// The write is Athena's own way of answering: every query writes its result to the results
/// location, which belongs to the job (a bucket or prefix of its own), not to the
/// organization's resources.
pub fn athena_statements(
    data: (&str, &str),
    output: Option<(&str, &str)>,
) -> Vec<serde_json::Value> {
    let mut actions: Vec<String> = OPERATIONS
        .iter()
        .filter(|op| op.service == Athena)
        .map(Op::action)
        .collect();
    actions.sort();
    let object = |(bucket, prefix): (&str, &str)| {
        let prefix = prefix.trim_end_matches('/');
        if prefix.is_empty() {
            format!("arn:aws:s3:::{bucket}/*")
        } else {
            format!("arn:aws:s3:::{bucket}/{prefix}/*")
        }
    };
    let mut out = vec![
        json!({
            "Sid": "EntitlementAuditAthenaQuery",
            "Effect": "Allow",
            "Action": actions,
            "Resource": "*",
        }),
        json!({
            "Sid": "EntitlementAuditAthenaCatalog",
            "Effect": "Allow",
            "Action": ["glue:GetDatabase", "glue:GetPartitions", "glue:GetTable"],
            "Resource": "*",
        }),
        json!({
            "Sid": "EntitlementAuditAthenaData",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": object(data),
        }),
    ];
    let mut buckets = vec![data.0];
    if let Some(output) = output {
        out.push(json!({
            "Sid": "EntitlementAuditAthenaResults",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": object(output),
        }));
        buckets.push(output.0);
    }
    buckets.sort();
    buckets.dedup();
    out.push(json!({
        "Sid": "EntitlementAuditAthenaBuckets",
        "Effect": "Allow",
        "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
        "Resource": buckets.iter().map(|b| format!("arn:aws:s3:::{b}")).collect::<Vec<_>>(),
    }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_a_read() {
        for op in OPERATIONS {
            assert!(
                is_read(op.name),
                "`{}` is not a read operation",
                op.action()
            );
        }
    }

    #[test]
    fn the_member_policy_is_exactly_the_member_reads() {
        let p = member_policy();
        let actions = p["Statement"][0]["Action"].as_array().unwrap();
        assert_eq!(
            actions,
            &[
                "aws-marketplace:SearchAgreements",
                "bedrock:ListInferenceProfiles",
                "cloudtrail:LookupEvents",
                "cloudwatch:GetMetricData",
                "cloudwatch:ListMetrics",
            ]
        );
        let s = member_role_statement("EntitlementAuditMember");
        assert_eq!(s["Action"], "sts:AssumeRole");
        assert_eq!(s["Resource"], "arn:aws:iam::*:role/EntitlementAuditMember");
    }

    #[test]
    fn operations_are_unique_and_sorted() {
        let mut sorted = OPERATIONS.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, OPERATIONS, "keep `OPERATIONS` sorted and unique");
    }

    #[test]
    fn athena_statements_read_the_data_and_write_only_the_results() {
        let s = athena_statements(
            ("cid-123456789012-data-exports", "cur2/"),
            Some(("audit-results", "athena")),
        );
        let text = serde_json::to_string(&s).unwrap();
        for a in [
            "athena:StartQueryExecution",
            "athena:GetQueryResults",
            "athena:GetTableMetadata",
            "glue:GetPartitions",
        ] {
            assert!(text.contains(a), "{a}");
        }
        let puts: Vec<&serde_json::Value> = s
            .iter()
            .filter(|st| st["Action"].to_string().contains("s3:PutObject"))
            .collect();
        assert_eq!(puts.len(), 1);
        assert_eq!(puts[0]["Resource"], "arn:aws:s3:::audit-results/athena/*");
        assert!(text.contains("arn:aws:s3:::cid-123456789012-data-exports/cur2/*"));
    }

    #[test]
    fn policy_lists_exactly_the_operations() {
        let policy = iam_policy();
        let actions: Vec<&str> = policy["Statement"][0]["Action"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let athena = OPERATIONS.iter().filter(|op| op.service == Athena).count();
        let member = OPERATIONS.iter().filter(|op| is_member_only(op)).count();
        assert_eq!(actions.len(), OPERATIONS.len() - athena - member);
        assert!(!actions
            .iter()
            .any(|a| a.starts_with("cloudwatch:") || a == &"sts:AssumeRole"));
        assert!(!actions.iter().any(|a| a.starts_with("athena:")));
        assert!(actions.contains(&"license-manager:ListReceivedGrantsForOrganization"));
        assert!(actions.contains(&"ce:GetCostAndUsage"));
        assert!(actions
            .iter()
            .all(|a| !a.contains("Create") && !a.contains("Delete")));
    }
}
