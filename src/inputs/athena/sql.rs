//! The one Athena query of `--cost-source athena`: the window's Marketplace Bedrock spend in a
//! CUR 2.0 or FOCUS table, aggregated in Athena to one row per day, usage account, product,
//! usage type, team tag and IAM principal (docs/cost-sources.md).
//!
//! It keeps exactly what [`crate::inputs::cost_export`] keeps from the same files (the same
//! columns, line item kinds, product suffix, tag keys in the same order, the same sums), so the
//! usage table built from its rows is the one `--cost-export` builds; a test runs this SQL in
//! DuckDB over a generated CUR 2.0 table and compares the two row for row.
//!
//! Values (billing periods, window bounds) are execution parameters, quoted literals, and `?`
//! appears only in the `WHERE` clause (Athena allows it nowhere else). Identifiers (database,
//! table) and the tag key, which must be written into the text, are checked against strict
//! patterns first; nothing from input reaches the SQL unchecked.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{Datelike, Duration, NaiveDate};

use crate::inputs::cost_export::{self, Format, BEDROCK_SUFFIX};

/// Database and table names: what Glue creates (lower case, digits, underscores), at most 255.
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && s.len() <= 255
}

/// A tag key as AWS allows it (Unicode letters and digits, spaces and `_ . : / = + - @`, 1 to
/// 128 characters). None of these can end the quoted literal the key is written into.
fn is_tag_key(s: &str) -> bool {
    (1..=128).contains(&s.chars().count())
        && s.chars()
            .all(|c| c.is_alphanumeric() || " _.:/=+-@".contains(c))
}

/// A name that may not be written into the query.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadName {
    #[error(
        "Athena {what} `{name}` is not a Glue name (lower-case letters, digits and `_`, \
         starting with a letter or `_`, at most 255)"
    )]
    Identifier { what: &'static str, name: String },
    #[error(
        "tag key `{0}` is not an AWS tag key (1 to 128 letters, digits, spaces and `_ . : / = + - @`), \
         so it cannot name a tag in the Athena query"
    )]
    TagKey(String),
}

/// The validated names the query is written with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    database: String,
    table: String,
    tag_key: String,
}

impl Target {
    /// Checks the database, the table and the team tag key.
    pub fn new(database: &str, table: &str, tag_key: &str) -> Result<Self, BadName> {
        for (what, name) in [("database", database), ("table", table)] {
            if !is_identifier(name) {
                return Err(BadName::Identifier {
                    what,
                    name: name.to_string(),
                });
            }
        }
        if !is_tag_key(tag_key) {
            return Err(BadName::TagKey(tag_key.to_string()));
        }
        Ok(Self {
            database: database.to_string(),
            table: table.to_string(),
            tag_key: tag_key.to_string(),
        })
    }

    pub fn database(&self) -> &str {
        &self.database
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

/// The columns of the query's result, in order (checked against `ColumnInfo`).
pub const RESULT_COLUMNS: [&str; 10] = [
    "usage_date",
    "account_id",
    "product",
    "usage_type",
    "team_tag",
    "principal",
    "cost_usd",
    "usage_quantity",
    "public_cost_usd",
    "line_items",
];

/// What the table has, from `GetTableMetadata` (column and partition key names, lower case).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableColumns(BTreeSet<String>);

impl TableColumns {
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        Self(names.into_iter().map(str::to_ascii_lowercase).collect())
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.contains(&name.to_ascii_lowercase())
    }
}

/// Where each value comes from in the table's format (the export reader's own columns).
struct Columns {
    date: &'static str,
    account: &'static str,
    /// The product name: a flat column, or a key of a map column.
    product: Product,
    usage_type: Option<&'static str>,
    cost: &'static str,
    quantity: Option<&'static str>,
    public_cost: Option<&'static str>,
    caller: Option<&'static str>,
    tags: &'static [&'static str],
    kind: &'static str,
    kinds: &'static [&'static str],
    usage_kind: &'static str,
    entity: Option<(&'static str, &'static str)>,
}

enum Product {
    Flat(&'static str),
    /// CUR 2.0 in Athena: `product['product_name']` (the export has no flat column for it).
    Map(&'static str, &'static str),
}

fn columns(format: Format) -> Columns {
    let s = cost_export::spec(format);
    Columns {
        date: s.date,
        account: s.account,
        product: match s.product_map {
            Some((map, key)) => Product::Map(map, key),
            None => Product::Flat(s.product),
        },
        usage_type: s.usage_type,
        cost: s.cost,
        quantity: s.quantity,
        public_cost: s.public_cost,
        caller: s.caller,
        tags: s.tags,
        kind: s.kind,
        kinds: s.kinds,
        usage_kind: s.usage_kind,
        entity: s.entity,
    }
}

/// The column naming the caller (the IAM principal) in `format`, when it has one: optional,
/// only in exports made with IAM principal data.
pub fn caller_column(format: Format) -> Option<&'static str> {
    columns(format).caller
}

/// The required columns of `format` the table lacks (the query cannot run without them).
pub fn missing_columns(format: Format, table: &TableColumns) -> Vec<&'static str> {
    let c = columns(format);
    let product = match c.product {
        Product::Flat(p) => p,
        Product::Map(m, _) => m,
    };
    let mut need = vec![c.date, c.account, product, c.cost, c.kind, "billing_period"];
    need.extend(c.entity.map(|e| e.0));
    need.into_iter().filter(|n| !table.has(n)).collect()
}

/// The query and its execution parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub sql: String,
    /// Positional values for the `?` of `sql`, each a quoted SQL literal.
    pub parameters: Vec<String>,
    /// Whether the query reads the IAM principal (the table has `line_item_iam_principal`).
    pub reads_principal: bool,
    /// Optional columns the table lacks (read as NULL), for the manifest.
    pub absent: Vec<&'static str>,
}

/// A string literal; only called on our own constants and validated names.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The billing periods (`YYYY-MM`) the window `start..=end` touches.
pub fn billing_periods(start: NaiveDate, end: NaiveDate) -> Vec<String> {
    let mut out = Vec::new();
    let mut month = NaiveDate::from_ymd_opt(start.year(), start.month(), 1).expect("a month");
    while month <= end {
        out.push(month.format("%Y-%m").to_string());
        month = month
            .checked_add_months(chrono::Months::new(1))
            .expect("a later month");
    }
    out
}

/// Builds the query for the window `start..=end` (UTC days) over `target` in `format`, with
/// the optional columns the table has.
pub fn build(
    format: Format,
    target: &Target,
    table: &TableColumns,
    start: NaiveDate,
    end: NaiveDate,
) -> Query {
    let c = columns(format);
    let mut absent = Vec::new();
    let mut optional = |name: Option<&'static str>| -> Option<&'static str> {
        let name = name?;
        if table.has(name) {
            Some(name)
        } else {
            absent.push(name);
            None
        }
    };
    let usage_type = optional(c.usage_type);
    let quantity = optional(c.quantity);
    let public_cost = optional(c.public_cost);
    let caller = optional(c.caller);
    let tags: Vec<&str> = c.tags.iter().copied().filter(|t| table.has(t)).collect();
    absent.extend(c.tags.iter().copied().filter(|t| !table.has(t)));

    let product = match c.product {
        Product::Flat(p) => p.to_string(),
        Product::Map(m, k) => format!("element_at({m}, {})", quote(k)),
    };
    let is_usage = format!("{} = {}", c.kind, quote(c.usage_kind));
    let usage_type = match usage_type {
        Some(u) => format!("coalesce({u}, '')"),
        None => "''".to_string(),
    };
    // The export reader's tag lookup (`cost_export::tag_value`): in each tag map in order, the
    // first of these keys with a value that is not blank.
    let key = &target.tag_key;
    let keys = [
        format!("user_{key}"),
        format!("user:{key}"),
        key.clone(),
        format!("iamPrincipal/{key}"),
    ];
    let mut team: Vec<String> = Vec::new();
    for t in &tags {
        for k in &keys {
            team.push(format!("nullif(trim(element_at({t}, {})), '')", quote(k)));
        }
    }
    let team = match team.len() {
        0 => "CAST(NULL AS varchar)".to_string(),
        1 => team.remove(0),
        _ => format!("coalesce({})", team.join(", ")),
    };
    let principal = caller.unwrap_or("CAST(NULL AS varchar)");
    let sum_or_zero = |col: Option<&str>| match col {
        Some(col) => format!("sum(coalesce({col}, 0))"),
        None => "CAST(0 AS double)".to_string(),
    };
    let public = match public_cost {
        Some(p) => format!("sum(CASE WHEN {is_usage} THEN {p} END)"),
        None => "CAST(NULL AS double)".to_string(),
    };
    let kinds: Vec<String> = c.kinds.iter().map(|k| quote(k)).collect();

    let periods = billing_periods(start, end);
    let marks = vec!["?"; periods.len()].join(", ");
    let mut filters = vec![
        format!("billing_period IN ({marks})"),
        format!("{} >= CAST(? AS timestamp)", c.date),
        format!("{} < CAST(? AS timestamp)", c.date),
        format!("{} IN ({})", c.kind, kinds.join(", ")),
    ];
    if let Some((col, value)) = c.entity {
        filters.push(format!("{col} = {}", quote(value)));
    }
    filters.push(format!(
        "rtrim({product}) LIKE {}",
        quote(&format!("%{BEDROCK_SUFFIX}"))
    ));

    let sql = format!(
        "SELECT\n  CAST({date} AS date) AS usage_date,\n  {account} AS account_id,\n  \
         {product} AS product,\n  CASE WHEN {is_usage} THEN {usage_type} ELSE {kind} END AS usage_type,\n  \
         {team} AS team_tag,\n  {principal} AS principal,\n  {cost} AS cost_usd,\n  \
         {quantity} AS usage_quantity,\n  {public} AS public_cost_usd,\n  count(*) AS line_items\n\
         FROM \"{db}\".\"{table}\"\nWHERE {filters}\nGROUP BY 1, 2, 3, 4, 5, 6",
        date = c.date,
        account = c.account,
        kind = c.kind,
        cost = sum_or_zero(Some(c.cost)),
        quantity = sum_or_zero(quantity),
        db = target.database,
        table = target.table,
        filters = filters.join("\n  AND "),
    );
    let day = |d: NaiveDate| quote(&format!("{} 00:00:00", d.format("%Y-%m-%d")));
    let mut parameters: Vec<String> = periods.iter().map(|p| quote(p)).collect();
    parameters.push(day(start));
    parameters.push(day(end + Duration::days(1)));
    Query {
        sql,
        parameters,
        reads_principal: caller.is_some(),
        absent,
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} -- parameters: {}",
            self.sql,
            self.parameters.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn cur2_table(principal: bool) -> TableColumns {
        let mut cols = vec![
            "line_item_usage_start_date",
            "line_item_usage_account_id",
            "product",
            "line_item_usage_type",
            "line_item_unblended_cost",
            "line_item_usage_amount",
            "pricing_public_on_demand_cost",
            "resource_tags",
            "line_item_line_item_type",
            "bill_billing_entity",
            "billing_period",
        ];
        if principal {
            cols.push("line_item_iam_principal");
        }
        TableColumns::new(cols)
    }

    /// The query over `cid_data_export.cur2` from `start` to 2026-10-03.
    fn cur2_query(principal: bool, start: &str) -> Query {
        let t = Target::new("cid_data_export", "cur2", "team").unwrap();
        let table = cur2_table(principal);
        build(Format::Cur2, &t, &table, day(start), day("2026-10-03"))
    }

    #[test]
    fn names_are_checked_before_they_reach_the_sql() {
        assert!(Target::new("cid_data_export", "cur2", "team").is_ok());
        assert!(Target::new("cid_data_export", "cur2", "cost-center:app/x@y=z+1 2").is_ok());
        assert!(Target::new("cid_data_export", "cur2", "équipe").is_ok());
        for (db, table) in [
            ("cid_data_export\"; DROP TABLE x; --", "cur2"),
            ("cid_data_export", "cur2\" --"),
            ("Cid", "cur2"),
            ("", "cur2"),
            ("1db", "cur2"),
            ("db", "cur-2"),
            ("db.x", "cur2"),
        ] {
            let err = Target::new(db, table, "team").unwrap_err();
            assert!(matches!(err, BadName::Identifier { .. }), "{db}.{table}");
        }
        for key in ["team'", "te\\am", "", "a\nb", &"k".repeat(129), "t;eam"] {
            assert_eq!(
                Target::new("db", "t", key).unwrap_err(),
                BadName::TagKey(key.to_string())
            );
        }
    }

    #[test]
    fn periods_are_the_months_the_window_touches() {
        assert_eq!(
            billing_periods(day("2026-07-06"), day("2026-10-03")),
            ["2026-07", "2026-08", "2026-09", "2026-10"]
        );
        assert_eq!(
            billing_periods(day("2026-12-31"), day("2027-01-01")),
            ["2026-12", "2027-01"]
        );
        assert_eq!(
            billing_periods(day("2026-10-01"), day("2026-10-01")),
            ["2026-10"]
        );
    }

    #[test]
    fn values_are_parameters_in_the_where_clause_only() {
        let q = cur2_query(true, "2026-09-29");
        assert_eq!(
            q.parameters,
            [
                "'2026-09'",
                "'2026-10'",
                "'2026-09-29 00:00:00'",
                "'2026-10-04 00:00:00'"
            ]
        );
        assert_eq!(q.sql.matches('?').count(), q.parameters.len());
        let (head, filter) = q.sql.split_once("WHERE").unwrap();
        assert!(!head.contains('?'));
        assert!(filter.contains("billing_period IN (?, ?)"));
        assert!(filter.contains("line_item_usage_start_date >= CAST(? AS timestamp)"));
        assert!(filter.contains("line_item_usage_start_date < CAST(? AS timestamp)"));
        assert!(filter.contains("bill_billing_entity = 'AWS Marketplace'"));
        assert!(filter.contains(
            "rtrim(element_at(product, 'product_name')) LIKE '%(Amazon Bedrock Edition)'"
        ));
        assert!(head.contains("FROM \"cid_data_export\".\"cur2\""));
        assert!(head.contains("element_at(resource_tags, 'user_team')"));
        assert!(head.contains("line_item_iam_principal AS principal"));
        assert!(q.reads_principal);
        assert_eq!(q.absent, ["tags"]);
        // Dates are never written into the text.
        assert!(!q.sql.contains("2026"));
    }

    #[test]
    fn a_table_without_the_principal_column_reads_it_as_null_and_says_so() {
        let q = cur2_query(false, "2026-10-01");
        assert!(!q.reads_principal);
        assert!(!q.sql.contains("line_item_iam_principal"));
        assert!(q.sql.contains("CAST(NULL AS varchar) AS principal"));
        assert!(q.absent.contains(&"line_item_iam_principal"));
    }

    #[test]
    fn required_columns_are_named_when_missing() {
        let mut t = cur2_table(true);
        assert!(missing_columns(Format::Cur2, &t).is_empty());
        t.0.remove("product");
        t.0.remove("billing_period");
        assert_eq!(
            missing_columns(Format::Cur2, &t),
            ["product", "billing_period"]
        );
    }

    #[test]
    fn focus_reads_its_own_columns_without_the_entity_filter() {
        let t = Target::new("cid_data_export", "focus", "team").unwrap();
        let cols = TableColumns::new([
            "chargeperiodstart",
            "subaccountid",
            "servicename",
            "billedcost",
            "consumedquantity",
            "listcost",
            "chargecategory",
            "tags",
            "billing_period",
        ]);
        assert!(missing_columns(Format::Focus, &cols).is_empty());
        let q = build(
            Format::Focus,
            &t,
            &cols,
            day("2026-10-01"),
            day("2026-10-03"),
        );
        assert!(q.sql.contains("CAST(ChargePeriodStart AS date)"));
        assert!(q.sql.contains("rtrim(ServiceName) LIKE"));
        assert!(q.sql.contains("element_at(Tags, 'user:team')"));
        assert!(!q.sql.contains("bill_billing_entity"));
        assert_eq!(q.absent, ["x_UsageType"]);
    }
}
