//! The TOML options file, validated into settings the analysis uses.
//!
//! Every option has a default and carries its unit in its name; an unknown key is an error
//! naming the key, and all validation problems are reported at once.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::analyze::allocation::AllocationMethod;
use crate::model::Severity;

/// The settings, typed: what the options file says once validated (README, "Configuration";
/// examples/config.toml has every option).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub window_days: u32,
    pub grant_activation_threshold_days: u32,
    pub cancellation_grace_days: u32,
    pub agreement_ending_days: u32,
    pub team_tag_key: String,
    /// Team attribution methods, in the order they are tried for each usage row.
    pub allocation_precedence: Vec<AllocationMethod>,
    pub team_rules: Vec<TeamRule>,
    pub product_mappings: Vec<ProductMapping>,
    /// Bedrock model ids (base ids, after geo prefixes are removed) mapped to a license
    /// product name, for invoked models whose Bedrock name does not match one.
    pub model_mappings: Vec<ModelMapping>,
    /// Regions whose member invocation metrics are read (`[members] regions`); empty: the
    /// regions the usage types name, and us-east-1.
    pub member_regions: Vec<String>,
    pub pricing: Pricing,
    /// Rule code -> severity override.
    pub severity: BTreeMap<&'static str, Severity>,
    /// `[[plan.grant_under]]`: where the fix plan puts a new grant, by OU path.
    pub grant_under: Vec<GrantUnder>,
    /// Where the spend comes from.
    pub cost_source: CostSource,
    /// The Athena table of `cost_source = "athena"` (`[athena]`).
    pub athena: crate::inputs::athena::AthenaOptions,
}

/// `[[plan.grant_under]]`, validated: accounts under `ou_path_prefix` (whole path segments;
/// the longest matching prefix wins) get a new grant to `principal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantUnder {
    pub ou_path_prefix: String,
    pub principal: GrantPrincipal,
}

/// What a new grant for an account under a `grant_under` prefix targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantPrincipal {
    /// The account itself (an exception under a broader rule).
    Account,
    /// The OU whose path is the prefix.
    Ou,
    /// The whole organization.
    Organization,
}

impl GrantPrincipal {
    pub const KNOWN: [&'static str; 3] = ["account", "ou", "organization"];

    fn parse(s: &str) -> Option<GrantPrincipal> {
        match s {
            "account" => Some(GrantPrincipal::Account),
            "ou" => Some(GrantPrincipal::Ou),
            "organization" => Some(GrantPrincipal::Organization),
            _ => None,
        }
    }
}

/// Where the usage table comes from (a `--cost-export` given on the command line wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CostSource {
    /// The live collection's Cost Explorer queries (or the snapshot's, or the demo's usage).
    CostExplorer,
    /// One Athena query over a CUR 2.0 / FOCUS table (docs/cost-sources.md).
    Athena,
}

impl std::str::FromStr for CostSource {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "cost-explorer" => Ok(Self::CostExplorer),
            "athena" => Ok(Self::Athena),
            _ => Err(format!("`{s}` is not `cost-explorer` or `athena`")),
        }
    }
}

/// `[athena]`: the table `cost_source = "athena"` queries (docs/cost-sources.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AthenaFile {
    /// Athena workgroup; the caller's default (`primary`) when absent.
    pub workgroup: Option<String>,
    /// Glue database. Default `cid_data_export`.
    pub database: String,
    /// Glue table. Default `cur2`.
    pub table: String,
    /// `s3://...` for the query results, when the workgroup sets none.
    pub output: Option<String>,
    /// `cur2` or `focus`. Default `cur2`.
    pub format: String,
    /// Refuse to query unless the workgroup cancels queries scanning more GB than this.
    pub max_scan_gb: Option<f64>,
    /// Reuse a result of the same query at most this many minutes old (0 never). Default 60.
    pub reuse_minutes: u32,
}

impl Default for AthenaFile {
    fn default() -> Self {
        Self {
            workgroup: None,
            database: crate::inputs::athena::DEFAULT_DATABASE.to_string(),
            table: crate::inputs::athena::DEFAULT_TABLE.to_string(),
            output: None,
            format: "cur2".to_string(),
            max_scan_gb: None,
            reuse_minutes: 60,
        }
    }
}

impl AthenaFile {
    /// The options, or what is wrong with them (`at` names where they were given). The tag key
    /// is checked too when `team_tag_key` is given (only a run querying Athena writes it into
    /// SQL).
    pub fn options(
        &self,
        team_tag_key: Option<&str>,
        at: &str,
        problems: &mut Vec<String>,
    ) -> crate::inputs::athena::AthenaOptions {
        use crate::inputs::cost_export::Format;
        let format = self.format.parse::<Format>().unwrap_or_else(|e| {
            problems.push(format!("{at} format: {e}"));
            Format::Cur2
        });
        let mut o = crate::inputs::athena::AthenaOptions::new(format);
        let key = team_tag_key.unwrap_or("team");
        if let Err(e) = crate::inputs::athena::sql::Target::new(&self.database, &self.table, key) {
            problems.push(format!("{at}: {e}"));
        }
        if let Some(out) = &self.output {
            let bucket = out.strip_prefix("s3://").and_then(|r| r.split('/').next());
            if bucket.is_none_or(str::is_empty) {
                problems.push(format!(
                    "{at} output `{out}` is not an S3 location (`s3://BUCKET/PREFIX/`)"
                ));
            }
        }
        if let Some(w) = &self.workgroup {
            let ok = !w.is_empty()
                && w.len() <= 128
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
            if !ok {
                problems.push(format!("{at} workgroup `{w}` is not a workgroup name"));
            }
        }
        if self
            .max_scan_gb
            .is_some_and(|g| !(g.is_finite() && g > 0.0))
        {
            problems.push(format!("{at} max scan must be a positive number of GB"));
        }
        if self.reuse_minutes > 10_080 {
            problems.push(format!("{at} reuse_minutes is at most 10080 (a week)"));
        }
        o.workgroup = self.workgroup.clone();
        o.database = self.database.clone();
        o.table = self.table.clone();
        o.output = self.output.clone();
        o.max_scan_gb = self.max_scan_gb;
        o.reuse_minutes = self.reuse_minutes;
        o
    }
}

/// The options file as written, before validation; every option has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct File {
    /// Days of usage the report looks at, ending on the as-of date.
    pub window_days: u32,
    /// A grant not ACTIVE this many days after its creation (or the account's join) is EA002.
    pub grant_activation_threshold_days: u32,
    /// Days after a license ends before spend on it is EA005.
    pub cancellation_grace_days: u32,
    /// A private agreement ending within this many days without renewing is EA011.
    pub agreement_ending_days: u32,
    /// Tag key naming the team, on accounts and as a cost-allocation tag.
    pub team_tag_key: String,
    /// Team attribution methods, tried in this order for each usage row (docs/finance.md);
    /// names from [`ALLOCATION_METHODS`]. A row no listed method attributes is unallocated.
    pub allocation_precedence: Vec<String>,
    /// OU-path rules for team attribution; the longest matching prefix wins.
    pub team_rules: Vec<TeamRule>,
    /// Usage service names mapped explicitly to a license product name.
    pub product_mappings: Vec<ProductMapping>,
    /// Invoked model ids mapped explicitly to a license product name.
    pub model_mappings: Vec<ModelMapping>,
    /// `[members]`: what the member fan-out reads.
    pub members: MembersFile,
    pub pricing: Pricing,
    /// Rule code -> severity override.
    pub severity: BTreeMap<String, String>,
    /// Options of the fix plan.
    pub plan: PlanFile,
    /// `cost-explorer` (default) or `athena`.
    pub cost_source: String,
    pub athena: AthenaFile,
}

/// `[members]` as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MembersFile {
    /// Regions of the invocation metrics (`us-east-1`, `eu-west-1`, ...).
    pub regions: Vec<String>,
}

/// `[[model_mappings]]`: an invoked model id and the license product it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelMapping {
    /// The base model id (`anthropic.claude-3-haiku-20240307-v1:0`); a geo-prefixed or ARN
    /// form is normalized first.
    pub model_id: String,
    /// The license `product_name` it belongs to.
    pub product: String,
}

/// A region name as AWS writes them (`us-east-1`, `us-gov-west-1`, `ap-southeast-3`).
pub fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u8>().is_ok()
}

/// `[plan]` as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct PlanFile {
    /// Where a new grant for an exposed account goes, by OU path.
    grant_under: Vec<GrantUnderFile>,
}

/// `[[plan.grant_under]]` as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantUnderFile {
    ou_path_prefix: String,
    /// One of [`GrantPrincipal::KNOWN`].
    principal: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamRule {
    pub ou_path_prefix: String,
    pub team: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductMapping {
    /// The usage `product` (Cost Explorer SERVICE) value.
    pub service: String,
    /// The license `product_name` it belongs to.
    pub product: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Pricing {
    /// License product name -> private-offer discount off the public price, in percent.
    pub private_discount_pct: BTreeMap<String, f64>,
    /// Rates a user knows better than the data: they win over the agreement terms and the
    /// public offer for their product and dimension.
    pub rates: Vec<RateOverride>,
}

/// `[[pricing.rates]]`: the public and/or private price of one dimension of one product, in
/// USD per unit of the usage type's quantity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateOverride {
    /// The license `product_name` (or the usage product name) it prices.
    pub product: String,
    /// The dimension key, e.g. `USE1_InputTokenCount` (the usage type
    /// `USE1-MP:USE1_InputTokenCount-Units` without its region prefix and unit).
    pub dimension: String,
    pub public_usd: Option<f64>,
    pub private_usd: Option<f64>,
}

impl Default for File {
    fn default() -> Self {
        File {
            window_days: 90,
            grant_activation_threshold_days: 7,
            cancellation_grace_days: 3,
            agreement_ending_days: 30,
            team_tag_key: "team".into(),
            allocation_precedence: AllocationMethod::CONFIGURABLE
                .iter()
                .map(|m| m.as_str().to_string())
                .collect(),
            team_rules: Vec::new(),
            product_mappings: Vec::new(),
            model_mappings: Vec::new(),
            members: MembersFile::default(),
            pricing: Pricing::default(),
            severity: BTreeMap::new(),
            plan: PlanFile::default(),
            cost_source: "cost-explorer".into(),
            athena: AthenaFile::default(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        File::default()
            .validate()
            .expect("the default options are valid")
    }
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("failed to read config `{}`", path.display()))?;
        Self::parse(&text).with_context(|| format!("invalid config `{}`", path.display()))
    }

    /// Parses and validates config text.
    pub fn parse(text: &str) -> Result<Config> {
        toml::from_str::<File>(text)?.validate()
    }

    /// The severity of a rule, with the config's override applied.
    pub fn severity_of(&self, code: &str, default: Severity) -> Severity {
        self.severity.get(code).copied().unwrap_or(default)
    }

    /// Fraction (0..1) of the public price saved by the private offer for a product, if known.
    pub fn private_discount(&self, product: &str) -> Option<f64> {
        self.pricing
            .private_discount_pct
            .get(product)
            .map(|p| p / 100.0)
    }
}

impl File {
    /// The typed settings, or every problem at once.
    fn validate(self) -> Result<Config> {
        let mut problems = Vec::new();
        if self.window_days == 0 {
            problems.push("`window_days` must be at least 1".to_string());
        }
        if self.team_tag_key.trim().is_empty() {
            problems.push("`team_tag_key` must not be empty".to_string());
        }
        if self.allocation_precedence.is_empty() {
            problems.push("`allocation_precedence` must name at least one method".to_string());
        }
        let mut precedence = Vec::new();
        for (i, m) in self.allocation_precedence.iter().enumerate() {
            match AllocationMethod::configurable(m) {
                None => problems.push(format!(
                    "`allocation_precedence[{i}]` = `{m}` is not one of {}",
                    AllocationMethod::CONFIGURABLE
                        .map(AllocationMethod::as_str)
                        .join(", ")
                )),
                Some(m) if precedence.contains(&m) => {
                    problems.push(format!("`allocation_precedence` names `{m}` twice"))
                }
                Some(m) => precedence.push(m),
            }
        }
        for (i, r) in self.team_rules.iter().enumerate() {
            if !r.ou_path_prefix.starts_with('/') {
                problems.push(format!(
                    "`team_rules[{i}].ou_path_prefix` must start with `/` (got `{}`)",
                    r.ou_path_prefix
                ));
            }
            if r.team.trim().is_empty() {
                problems.push(format!("`team_rules[{i}].team` must not be empty"));
            }
        }
        for (product, pct) in &self.pricing.private_discount_pct {
            if !(0.0..100.0).contains(pct) {
                problems.push(format!(
                    "`pricing.private_discount_pct.\"{product}\"` must be in [0, 100) (got {pct})"
                ));
            }
        }
        for (i, r) in self.pricing.rates.iter().enumerate() {
            let at = format!("`pricing.rates[{i}]`");
            if r.product.trim().is_empty() || r.dimension.trim().is_empty() {
                problems.push(format!("{at} needs a `product` and a `dimension`"));
            }
            if r.public_usd.is_none() && r.private_usd.is_none() {
                problems.push(format!("{at} sets neither `public_usd` nor `private_usd`"));
            }
            for (name, v) in [("public_usd", r.public_usd), ("private_usd", r.private_usd)] {
                if v.is_some_and(|v| !(v.is_finite() && v >= 0.0)) {
                    problems.push(format!("{at}.{name} must be a price of 0 or more"));
                }
            }
        }
        let mut grant_under: Vec<GrantUnder> = Vec::new();
        for (i, r) in self.plan.grant_under.iter().enumerate() {
            let at = format!("`plan.grant_under[{i}]`");
            let prefix = r.ou_path_prefix.trim_end_matches('/');
            if !r.ou_path_prefix.starts_with('/') {
                problems.push(format!(
                    "{at}.ou_path_prefix must start with `/` (got `{}`)",
                    r.ou_path_prefix
                ));
            } else if grant_under.iter().any(|g| g.ou_path_prefix == prefix) {
                problems.push(format!(
                    "{at}.ou_path_prefix `{}` is given twice",
                    r.ou_path_prefix
                ));
            }
            match GrantPrincipal::parse(&r.principal) {
                None => problems.push(format!(
                    "{at}.principal = `{}` is not one of {}",
                    r.principal,
                    GrantPrincipal::KNOWN.join(", ")
                )),
                Some(GrantPrincipal::Ou) if prefix.is_empty() => problems.push(format!(
                    "{at}.ou_path_prefix `/` names no OU: use principal = \"organization\""
                )),
                Some(principal) => grant_under.push(GrantUnder {
                    ou_path_prefix: prefix.to_string(),
                    principal,
                }),
            }
        }
        let mut severity = BTreeMap::new();
        for (code, sev) in &self.severity {
            let rule = crate::analyze::rules::by_code(code);
            if rule.is_none() {
                problems.push(format!("`severity.{code}` names no rule"));
            }
            let parsed = Severity::parse(sev);
            if parsed.is_none() {
                problems.push(format!(
                    "`severity.{code}` = `{sev}` is not one of {}",
                    Severity::KNOWN.join(", ")
                ));
            }
            if let (Some(rule), Some(sev)) = (rule, parsed) {
                severity.insert(rule.code(), sev);
            }
        }
        let cost_source = self.cost_source.parse::<CostSource>().unwrap_or_else(|e| {
            problems.push(format!("`cost_source`: {e}"));
            CostSource::CostExplorer
        });
        let key = (cost_source == CostSource::Athena).then_some(self.team_tag_key.as_str());
        let athena = self.athena.options(key, "`[athena]`", &mut problems);
        for r in self.members.regions.iter().filter(|r| !is_region(r)) {
            problems.push(format!("`[members] regions`: `{r}` is not a region name"));
        }
        for m in &self.model_mappings {
            if m.model_id.trim().is_empty() || m.product.trim().is_empty() {
                problems.push(
                    "`[[model_mappings]]`: `model_id` and `product` must not be empty".into(),
                );
            }
        }
        if !problems.is_empty() {
            bail!("{}", problems.join("; "));
        }
        Ok(Config {
            cost_source,
            athena,
            window_days: self.window_days,
            grant_activation_threshold_days: self.grant_activation_threshold_days,
            cancellation_grace_days: self.cancellation_grace_days,
            agreement_ending_days: self.agreement_ending_days,
            team_tag_key: self.team_tag_key,
            allocation_precedence: precedence,
            team_rules: self.team_rules,
            product_mappings: self.product_mappings,
            model_mappings: self.model_mappings,
            member_regions: self.members.regions,
            pricing: self.pricing,
            severity,
            grant_under,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_when_empty() {
        let c = Config::parse("").unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.allocation_precedence, AllocationMethod::CONFIGURABLE);
    }

    #[test]
    fn unknown_key_is_named() {
        let err = format!("{:#}", Config::parse("window_dayz = 3").unwrap_err());
        assert!(err.contains("window_dayz"), "{err}");
    }

    #[test]
    fn all_problems_reported_at_once() {
        let text = r#"
            window_days = 0
            [[team_rules]]
            ou_path_prefix = "Root"
            team = "x"
            [pricing.private_discount_pct]
            "Claude" = 140.0
        "#;
        let err = format!("{:#}", Config::parse(text).unwrap_err());
        assert!(err.contains("window_days"), "{err}");
        assert!(err.contains("team_rules[0].ou_path_prefix"), "{err}");
        assert!(err.contains("Claude"), "{err}");
    }

    #[test]
    fn allocation_precedence_is_validated() {
        let c = Config::parse("allocation_precedence = [\"ou-rule\", \"account-tag\"]").unwrap();
        assert_eq!(
            c.allocation_precedence,
            [AllocationMethod::OuRule, AllocationMethod::AccountTag]
        );
        let err = format!(
            "{:#}",
            Config::parse("allocation_precedence = [\"ou-rule\", \"cost-center\", \"ou-rule\"]")
                .unwrap_err()
        );
        assert!(
            err.contains("allocation_precedence[1]") && err.contains("cost-center"),
            "{err}"
        );
        assert!(err.contains("`ou-rule` twice"), "{err}");
        assert!(Config::parse("allocation_precedence = []").is_err());
    }

    #[test]
    fn athena_settings_are_validated_together() {
        let c = Config::parse(
            "cost_source = \"athena\"\n[athena]\nworkgroup = \"finops\"\ntable = \"focus\"\nformat = \"focus\"\noutput = \"s3://audit-results/athena/\"",
        )
        .unwrap();
        assert_eq!(c.cost_source, CostSource::Athena);
        assert_eq!(c.athena.table, "focus");
        assert_eq!(c.athena.format, crate::inputs::cost_export::Format::Focus);
        assert_eq!(c.athena.database, "cid_data_export");
        let err = format!(
            "{:#}",
            Config::parse(
                "cost_source = \"glue\"\n[athena]\ndatabase = \"cid;drop\"\noutput = \"/tmp/x\"\nformat = \"cur\"\nmax_scan_gb = -1.0"
            )
            .unwrap_err()
        );
        for needle in ["cost_source", "cid;drop", "/tmp/x", "`cur`", "max scan"] {
            assert!(err.contains(needle), "{needle}: {err}");
        }
    }

    #[test]
    fn a_tag_key_athena_cannot_use_matters_only_with_athena() {
        assert!(Config::parse("team_tag_key = \"team's\"").is_ok());
        let err = format!(
            "{:#}",
            Config::parse("team_tag_key = \"team's\"\ncost_source = \"athena\"").unwrap_err()
        );
        assert!(err.contains("not an AWS tag key"), "{err}");
    }

    #[test]
    fn bad_severity_override() {
        let err = format!(
            "{:#}",
            Config::parse("[severity]\nEA999 = \"loud\"").unwrap_err()
        );
        assert!(err.contains("EA999") && err.contains("loud"), "{err}");
    }

    #[test]
    fn grant_under_is_validated() {
        let c = Config::parse(
            r#"
            [[plan.grant_under]]
            ou_path_prefix = "/Root/Workloads/"
            principal = "ou"
            [[plan.grant_under]]
            ou_path_prefix = "/"
            principal = "organization"
        "#,
        )
        .unwrap();
        assert_eq!(
            c.grant_under,
            [
                GrantUnder {
                    ou_path_prefix: "/Root/Workloads".into(),
                    principal: GrantPrincipal::Ou,
                },
                GrantUnder {
                    ou_path_prefix: String::new(),
                    principal: GrantPrincipal::Organization,
                },
            ]
        );
        let text = r#"
            [[plan.grant_under]]
            ou_path_prefix = "Root/Eng"
            principal = "ou"
            [[plan.grant_under]]
            ou_path_prefix = "/Root/Eng"
            principal = "team"
            [[plan.grant_under]]
            ou_path_prefix = "/"
            principal = "ou"
            [[plan.grant_under]]
            ou_path_prefix = "/Root/Prod"
            principal = "ou"
            [[plan.grant_under]]
            ou_path_prefix = "/Root/Prod/"
            principal = "account"
        "#;
        let err = format!("{:#}", Config::parse(text).unwrap_err());
        for want in [
            "`plan.grant_under[0]`.ou_path_prefix must start with `/`",
            "`plan.grant_under[1]`.principal = `team` is not one of account, ou, organization",
            "`plan.grant_under[2]`.ou_path_prefix `/` names no OU",
            "`plan.grant_under[4]`.ou_path_prefix `/Root/Prod/` is given twice",
        ] {
            assert!(err.contains(want), "{want}: {err}");
        }
        let err = format!(
            "{:#}",
            Config::parse(
                "[[plan.grant_under]]\nou_path_prefix = \"/R\"\nprincipal = \"ou\"\nou_id = \"x\""
            )
            .unwrap_err()
        );
        assert!(err.contains("ou_id"), "{err}");
    }
}
