//! Model invocations read from the member accounts' CloudWatch `AWS/Bedrock` metrics: one row
//! per day, account, region and `ModelId` dimension value, with the model the id resolves to.
//!
//! The `ModelId` dimension is the id the caller passed (member-signals.md 2.1): a foundation
//! model id, a cross-Region (system) inference profile id with a geo prefix, an ARN, or an
//! application inference profile id. [`normalize`] turns the first three into the base model
//! id; application profiles need the owning account's `ListInferenceProfiles` (the collector
//! resolves them where it can). An id that resolves to nothing is kept, marked `unresolved`.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// One day of one model's invocations in one account and region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invocation {
    pub day: NaiveDate,
    pub account_id: String,
    pub region: String,
    /// The `ModelId` dimension value as CloudWatch has it.
    pub model_id: String,
    /// The foundation model it resolves to (`anthropic.claude-3-haiku-20240307-v1:0`); empty
    /// when unresolved.
    pub base_model_id: String,
    /// Bedrock's `modelName` of the base model (`ListFoundationModels`), when known: what the
    /// analysis matches to the organization's licenses.
    pub model_name: String,
    /// How the id was resolved: [`Resolution`] as text.
    pub resolution: String,
    /// Sums of the day (`Sum` statistic, period one day).
    pub invocations: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// How a `ModelId` value became a base model id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// It is a foundation model id (or its ARN).
    FoundationModel,
    /// A system inference profile: the geo prefix (`us.`, `eu.`, `apac.`, `global.`, ...) removed.
    SystemProfile,
    /// An application inference profile, resolved by `ListInferenceProfiles` in its account.
    ApplicationProfile,
    /// Nothing known resolves it (an application profile that could not be read, an id of an
    /// unknown shape).
    Unresolved,
}

impl Resolution {
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::FoundationModel => "foundation-model",
            Resolution::SystemProfile => "system-profile",
            Resolution::ApplicationProfile => "application-profile",
            Resolution::Unresolved => "unresolved",
        }
    }
}

/// Model providers whose ids start a foundation model id (`anthropic.`, ...). A first segment
/// that is not one of them, followed by one that is, is a geo prefix: geo prefixes AWS adds
/// later (`au.`, `jp.`, `ca.`) are recognized without a new release.
pub const PROVIDERS: &[&str] = &[
    "ai21",
    "amazon",
    "anthropic",
    "cohere",
    "deepseek",
    "luma",
    "meta",
    "minimax",
    "mistral",
    "moonshot",
    "openai",
    "qwen",
    "stability",
    "twelvelabs",
    "writer",
];

/// What [`normalize`] makes of a `ModelId` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Normalized {
    /// A base model id and how it was found.
    Model(String, Resolution),
    /// An application inference profile id (or ARN's id): its account must resolve it.
    ApplicationProfile(String),
    /// Not a shape this version knows.
    Unknown,
}

/// Normalizes a `ModelId` dimension value: ARNs to their resource id, a geo prefix removed.
pub fn normalize(raw: &str) -> Normalized {
    let raw = raw.trim();
    if raw.is_empty() {
        return Normalized::Unknown;
    }
    // arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123def456
    let (kind, id) = match raw.strip_prefix("arn:") {
        Some(rest) => {
            let resource = rest.splitn(5, ':').nth(4).unwrap_or_default();
            match resource.split_once('/') {
                Some((kind, id)) => (Some(kind), id),
                None => return Normalized::Unknown,
            }
        }
        None => (None, raw),
    };
    if kind == Some("application-inference-profile") {
        return Normalized::ApplicationProfile(id.to_string());
    }
    let segments: Vec<&str> = id.split('.').collect();
    let provider = |s: &str| PROVIDERS.contains(&s);
    let geo = |s: &str| GEO_PREFIXES.contains(&s);
    match segments.as_slice() {
        // `us.anthropic.claude-...`: a known geo prefix, or any first segment before a known
        // provider (geo prefixes AWS adds later).
        [first, second, _, ..] if geo(first) || (!provider(first) && provider(second)) => {
            Normalized::Model(id[first.len() + 1..].to_string(), Resolution::SystemProfile)
        }
        // `provider.model`: a provider this version does not list is still a model id.
        [_, _, ..] => {
            let how = if kind == Some("inference-profile") {
                Resolution::SystemProfile
            } else {
                Resolution::FoundationModel
            };
            Normalized::Model(id.to_string(), how)
        }
        // Application profile ids are 12 lowercase letters and digits (`p24qm5pye2qr`).
        [one]
            if one.len() == 12
                && one
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) =>
        {
            Normalized::ApplicationProfile(one.to_string())
        }
        _ => Normalized::Unknown,
    }
}

/// The geo prefixes of system inference profiles seen so far.
pub const GEO_PREFIXES: &[&str] = &["us", "us-gov", "eu", "apac", "au", "ca", "jp", "global"];

/// Whether a base model's provider sells through AWS Marketplace: "Models from the following
/// providers aren't sold through AWS Marketplace: Amazon, DeepSeek, Mistral AI, Meta, Qwen"
/// (member-signals.md 6). Their invocations need no grant.
pub fn is_marketplace_provider(base_model_id: &str) -> bool {
    let provider = base_model_id.split('.').next().unwrap_or_default();
    !matches!(
        provider,
        "amazon" | "deepseek" | "mistral" | "meta" | "qwen"
    )
}

/// The region of a billing region code (the usage type's prefix).
pub fn billing_region(code: &str) -> Option<&'static str> {
    BILLING_CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, r)| *r)
}

/// The billing code of a region (`us-west-2` -> `USW2`), the prefix of its usage types and
/// rate card dimensions.
pub fn billing_code(region: &str) -> Option<&'static str> {
    BILLING_CODES
        .iter()
        .find(|(c, r)| *r == region && *c != "EU")
        .map(|(c, _)| *c)
}

/// (billing code, region); `EU` is eu-west-1's older code.
const BILLING_CODES: &[(&str, &str)] = &[
    ("USE1", "us-east-1"),
    ("USE2", "us-east-2"),
    ("USW1", "us-west-1"),
    ("USW2", "us-west-2"),
    ("CAN1", "ca-central-1"),
    ("EU", "eu-west-1"),
    ("EUW1", "eu-west-1"),
    ("EUW2", "eu-west-2"),
    ("EUW3", "eu-west-3"),
    ("EUC1", "eu-central-1"),
    ("EUC2", "eu-central-2"),
    ("EUN1", "eu-north-1"),
    ("EUS1", "eu-south-1"),
    ("EUS2", "eu-south-2"),
    ("APN1", "ap-northeast-1"),
    ("APN2", "ap-northeast-2"),
    ("APN3", "ap-northeast-3"),
    ("APS1", "ap-southeast-1"),
    ("APS2", "ap-southeast-2"),
    ("APS3", "ap-south-1"),
    ("APS4", "ap-southeast-3"),
    ("APS5", "ap-south-2"),
    ("SAE1", "sa-east-1"),
    ("UGW1", "us-gov-west-1"),
    ("UGE1", "us-gov-east-1"),
];

#[cfg(test)]
mod tests {
    use super::*;

    const HAIKU: &str = "anthropic.claude-3-haiku-20240307-v1:0";

    #[test]
    fn geo_prefixes_and_arns_reduce_to_the_base_model() {
        let m = |s: &str, r| Normalized::Model(s.to_string(), r);
        assert_eq!(normalize(HAIKU), m(HAIKU, Resolution::FoundationModel));
        for geo in ["us", "eu", "apac", "global", "au", "jp", "us-gov"] {
            assert_eq!(
                normalize(&format!("{geo}.{HAIKU}")),
                m(HAIKU, Resolution::SystemProfile),
                "{geo}"
            );
        }
        assert_eq!(
            normalize(&format!(
                "arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}"
            )),
            m(HAIKU, Resolution::FoundationModel)
        );
        assert_eq!(
            normalize(&format!(
                "arn:aws:bedrock:us-east-1:111122223333:inference-profile/us.{HAIKU}"
            )),
            m(HAIKU, Resolution::SystemProfile)
        );
    }

    #[test]
    fn application_profiles_and_strange_ids_are_not_guessed() {
        assert_eq!(
            normalize("p24qm5pye2qr"),
            Normalized::ApplicationProfile("p24qm5pye2qr".into())
        );
        assert_eq!(
            normalize(
                "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/abc123def456"
            ),
            Normalized::ApplicationProfile("abc123def456".into())
        );
        assert_eq!(normalize("some-model"), Normalized::Unknown);
        assert_eq!(
            normalize("newlab.model-x-v1:0"),
            Normalized::Model("newlab.model-x-v1:0".into(), Resolution::FoundationModel)
        );
        assert_eq!(
            normalize("us.newlab.model-x-v1:0"),
            Normalized::Model("newlab.model-x-v1:0".into(), Resolution::SystemProfile)
        );
        assert_eq!(normalize(""), Normalized::Unknown);
        assert_eq!(
            normalize("arn:aws:bedrock:us-east-1:1:thing"),
            Normalized::Unknown
        );
    }

    #[test]
    fn billing_codes_go_both_ways() {
        assert_eq!(billing_region("USW2"), Some("us-west-2"));
        assert_eq!(billing_region("EU"), Some("eu-west-1"));
        assert_eq!(billing_code("eu-west-1"), Some("EUW1"));
        assert_eq!(billing_code("us-east-1"), Some("USE1"));
        assert_eq!(billing_region("MARS1"), None);
    }

    #[test]
    fn amazon_meta_and_mistral_models_are_not_marketplace_ones() {
        assert!(is_marketplace_provider(HAIKU));
        assert!(!is_marketplace_provider("amazon.nova-pro-v1:0"));
        assert!(!is_marketplace_provider("meta.llama3-70b-instruct-v1:0"));
    }
}
