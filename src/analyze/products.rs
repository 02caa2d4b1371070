//! Matching usage to licenses by product.
//!
//! Cost Explorer names a Marketplace model `Claude 3 Haiku (Amazon Bedrock Edition)` while its
//! license says `Claude 3 Haiku`; both normalize to the same key. Explicit mappings in the
//! config win. Spend whose product matches no organization license stays in the totals as
//! unmapped (EA009).

use std::collections::BTreeMap;

use crate::config::Config;
use crate::model::License;

/// Normalized product key: lowercase letters and digits only, edition suffix removed.
pub fn product_key(name: &str) -> String {
    let lower = name.trim().to_lowercase();
    let base = lower
        .strip_suffix("(amazon bedrock edition)")
        .unwrap_or(&lower);
    base.chars().filter(|c| c.is_ascii_alphanumeric()).collect()
}

/// Organization licenses grouped by product key, and the service-name mapping.
#[derive(Debug, Default)]
pub struct Products {
    /// key -> display name (the license's product name).
    pub names: BTreeMap<String, String>,
    /// key -> organization licenses for it (index into the snapshot's licenses).
    pub licenses: BTreeMap<String, Vec<usize>>,
    /// explicit service name -> key from the config.
    explicit: BTreeMap<String, String>,
    /// organization license ARN -> (index into the snapshot's licenses, key).
    by_arn: BTreeMap<String, (usize, String)>,
}

impl Products {
    /// Indexes the licenses held by the subscriber (the organization's own licenses).
    pub fn new(licenses: &[License], subscriber: &str, cfg: &Config) -> Products {
        let mut p = Products::default();
        for (i, l) in licenses.iter().enumerate() {
            if l.beneficiary != subscriber {
                continue;
            }
            let key = product_key(&l.product_name);
            p.names
                .entry(key.clone())
                .or_insert_with(|| l.product_name.clone());
            p.by_arn.insert(l.arn.clone(), (i, key.clone()));
            p.licenses.entry(key).or_default().push(i);
        }
        for m in &cfg.product_mappings {
            p.explicit
                .insert(m.service.clone(), product_key(&m.product));
        }
        p
    }

    /// The product key a usage service name belongs to, if it matches an organization license.
    pub fn resolve(&self, service: &str) -> Option<&str> {
        let key = self
            .explicit
            .get(service)
            .cloned()
            .unwrap_or_else(|| product_key(service));
        self.names.get_key_value(&key).map(|(k, _)| k.as_str())
    }

    /// The organization license with this ARN: its index in the snapshot and its product key.
    pub fn license(&self, arn: &str) -> Option<(usize, &str)> {
        self.by_arn.get(arn).map(|(i, k)| (*i, k.as_str()))
    }

    pub fn name<'s>(&'s self, key: &'s str) -> &'s str {
        self.names.get(key).map(String::as_str).unwrap_or(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edition_suffix_and_punctuation_ignored() {
        assert_eq!(
            product_key("Claude 3 Haiku (Amazon Bedrock Edition)"),
            product_key("Claude 3 Haiku")
        );
        assert_eq!(product_key("Command R+"), "commandr");
        assert_ne!(
            product_key("Claude 3 Haiku"),
            product_key("Claude 3.5 Haiku")
        );
    }
}
