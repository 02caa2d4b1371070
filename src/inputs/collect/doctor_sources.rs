//! `doctor` on the spend source a run will use besides Cost Explorer: with `--cost-source
//! athena`, the workgroup (readable, a results location, a scan cutoff) and the table (readable
//! through the Glue catalog, the required columns, the IAM principal); with `--cost-export
//! s3://...`, the export's `metadata/` prefix listable. Read-only: `GetWorkGroup`,
//! `GetTableMetadata`, `ListObjectsV2` with one key at most; no query is started.

use super::athena::{gigabytes, scan_limit_error, table_columns, work_group, work_group_name};
use super::call::Cx;
use super::doctor::Check;
use super::ledger::CallError;
use super::permissions::{GET_TABLE_METADATA, GET_WORK_GROUP};
use crate::deliver::remote::S3Url;
use crate::inputs::athena::sql::{self, Target};
use crate::inputs::athena::AthenaOptions;

/// The spend source `doctor` checks besides the collection's services.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceChecks {
    /// `--cost-source athena` and its options.
    pub athena: Option<AthenaOptions>,
    /// `--cost-export s3://BUCKET/PREFIX`.
    pub export: Option<S3Url>,
}

/// The checks of `sources`, in a fixed order (none when neither is set).
pub(super) async fn check(cx: &Cx<'_>, sources: &SourceChecks, checks: &mut Vec<Check>) {
    if let Some(athena) = &sources.athena {
        workgroup(cx, athena, checks).await;
        table(cx, athena, checks).await;
    }
    if let Some(url) = &sources.export {
        export(cx, url, checks).await;
    }
}

/// `athena-workgroup` (readable, where the results go) and `athena-scan-cutoff`.
async fn workgroup(cx: &Cx<'_>, opts: &AthenaOptions, checks: &mut Vec<Check>) {
    let name = work_group_name(opts);
    let wg = match work_group(cx, opts).await {
        Ok(wg) => wg,
        Err(err) => {
            checks.push(Check::call_failed(
                "athena-workgroup",
                &GET_WORK_GROUP,
                &err,
                &format!(
                    "check that workgroup `{name}` exists in the configured region (the table's; \
                     `AWS_REGION` / `--profile`), or name another with `--athena-workgroup`"
                ),
            ));
            return;
        }
    };
    let state = wg.as_ref().and_then(|w| w.state()).map(|s| s.as_str());
    let config = wg.as_ref().and_then(|w| w.configuration());
    let managed = config
        .and_then(|c| c.managed_query_results_configuration())
        .is_some_and(|m| m.enabled());
    let enforced = config
        .and_then(|c| c.enforce_work_group_configuration())
        .unwrap_or(false);
    let own = config
        .and_then(|c| c.result_configuration())
        .and_then(|r| r.output_location());
    let results = match (managed, own, &opts.output) {
        (true, _, _) => Some("results managed by Athena (no results bucket)".to_string()),
        (false, Some(own), Some(_)) if enforced => Some(format!(
            "results to the workgroup's `{own}` (it enforces its settings over `--athena-output`)"
        )),
        (false, _, Some(given)) => Some(format!("results to `{given}` (`--athena-output`)")),
        (false, Some(own), None) => Some(format!("results to the workgroup's `{own}`")),
        (false, None, None) => None,
    };
    match (state, results) {
        (Some("DISABLED"), _) => checks.push(Check::fail(
            "athena-workgroup",
            format!("workgroup `{name}` is disabled"),
            format!("enable workgroup `{name}`, or name another with `--athena-workgroup`"),
        )),
        (_, None) => checks.push(Check::fail(
            "athena-workgroup",
            format!("workgroup `{name}` sets no query results location"),
            "give one with `--athena-output s3://BUCKET/PREFIX/` (or `[athena] output`), or set \
             one in the workgroup: a bucket or prefix of the job's own, never the export's",
        )),
        (_, Some(results)) => checks.push(Check::pass(
            "athena-workgroup",
            format!("workgroup `{name}` is readable; {results}"),
        )),
    }
    let cutoff = config.and_then(|c| c.bytes_scanned_cutoff_per_query());
    let guard = "set the workgroup's per-query data usage control (BytesScannedCutoffPerQuery) \
                 to what one run may scan, e.g. a few times the Bedrock months' Parquet size";
    match (opts.max_scan_gb, cutoff) {
        (Some(max_gb), cutoff) => match scan_limit_error(name, max_gb, cutoff) {
            Some(why) => checks.push(Check::fail(
                "athena-scan-cutoff",
                format!("the run will not start its query: {why}"),
                format!("{guard}, at most {max_gb} GB; or raise `--max-athena-scan-gb`"),
            )),
            None => checks.push(Check::pass(
                "athena-scan-cutoff",
                format!(
                    "workgroup `{name}` cancels queries scanning more than {} (`--max-athena-scan-gb {max_gb}` holds)",
                    cutoff.map_or_else(String::new, gigabytes)
                ),
            )),
        },
        (None, Some(c)) => checks.push(Check::pass(
            "athena-scan-cutoff",
            format!(
                "workgroup `{name}` cancels queries scanning more than {}",
                gigabytes(c)
            ),
        )),
        (None, None) => checks.push(Check::warn(
            "athena-scan-cutoff",
            format!(
                "workgroup `{name}` has no BytesScannedCutoffPerQuery: nothing stops a query \
                 scanning the whole table ($5 per TB)"
            ),
            format!("{guard}; `--max-athena-scan-gb N` then makes the run insist on it"),
        )),
    }
}

/// `athena-table` (readable, the required columns) and `athena-iam-principal`.
async fn table(cx: &Cx<'_>, opts: &AthenaOptions, checks: &mut Vec<Check>) {
    let scope = format!("{}.{}", opts.database, opts.table);
    let target = match Target::new(&opts.database, &opts.table, &cx.opts.team_tag_key) {
        Ok(t) => t,
        Err(e) => {
            checks.push(Check::fail(
                "athena-table",
                format!("`{scope}`: {e}"),
                "name the table with `--athena-database` and `--athena-table` (Glue names)",
            ));
            return;
        }
    };
    let columns = match table_columns(cx, opts, &target).await {
        Ok(c) => c,
        Err(err) => {
            checks.push(table_unreadable(&scope, &err));
            return;
        }
    };
    let missing = sql::missing_columns(opts.format, &columns);
    if !missing.is_empty() {
        let names: Vec<String> = missing.iter().map(|c| format!("`{c}`")).collect();
        checks.push(Check::fail(
            "athena-table",
            format!(
                "`{scope}` is not a {} table: no column {}",
                opts.format,
                names.join(", ")
            ),
            format!(
                "point `--athena-database` / `--athena-table` at the Data Export's table \
                 (`--athena-format {}`), or add the columns (docs/cost-sources.md)",
                opts.format.name()
            ),
        ));
        return;
    }
    checks.push(Check::pass(
        "athena-table",
        format!(
            "`{scope}` is readable and has the {} columns the query needs",
            opts.format
        ),
    ));
    match sql::caller_column(opts.format) {
        Some(caller) if columns.has(caller) => checks.push(Check::pass(
            "athena-iam-principal",
            format!("`{scope}` has `{caller}`: spend is allocated to the calling account"),
        )),
        Some(caller) => checks.push(Check::warn(
            "athena-iam-principal",
            format!(
                "`{scope}` has no `{caller}`: callers are unknown, and spend billed to the \
                 subscriber stays in its shared pool"
            ),
            "include IAM principal data in the Data Export (`INCLUDE_IAM_PRINCIPAL_DATA`; from \
             April 2026) and let the crawler add the column",
        )),
        None => {}
    }
}

/// The failed `GetTableMetadata`: Athena reads the Glue catalog as the caller, so a Glue
/// denial comes back through it (named in its message).
fn table_unreadable(scope: &str, err: &CallError) -> Check {
    let text = format!("{} {}", err.code, err.message).to_ascii_lowercase();
    if text.contains("glue:") || text.contains("glue ") {
        return Check::fail(
            "athena-table",
            format!(
                "`{}` failed reading the Glue catalog: `{}`: {}",
                GET_TABLE_METADATA.action(),
                err.code,
                err.message
            ),
            "allow `glue:GetDatabase`, `glue:GetTable` and `glue:GetPartitions` on the table's \
             database (`entitlement-audit iam-policy --athena-data s3://...`)",
        );
    }
    Check::call_failed(
        "athena-table",
        &GET_TABLE_METADATA,
        err,
        &format!(
            "check that `{scope}` exists in the configured region (`--athena-database`, \
             `--athena-table`; the CID stack's crawler creates `cid_data_export.cur2`)"
        ),
    )
}

/// `cost-export-s3`: the export's `metadata/` prefix listable (one key at most).
async fn export(cx: &Cx<'_>, url: &S3Url, checks: &mut Vec<Check>) {
    let prefix = crate::inputs::export_s3::join(&url.key, "metadata/");
    let at = format!("s3://{}/{prefix}", url.bucket);
    let listed = cx
        .clients
        .s3
        .list_objects_v2()
        .bucket(&url.bucket)
        .prefix(&prefix)
        .max_keys(1)
        .send()
        .await
        .map_err(CallError::from_sdk);
    match listed {
        Ok(out) if out.contents().is_empty() => checks.push(Check::warn(
            "cost-export-s3",
            format!("`{at}` is listable but empty: no delivery yet, or not the export's folder"),
            "give the export's own folder, the one holding `data/` and `metadata/` (CID: \
             `s3://cid-<account>-data-exports/cur2/<source_account_id>/cid-cur2`)",
        )),
        Ok(_) => checks.push(Check::pass(
            "cost-export-s3",
            format!("`{at}` is listable and holds the export's manifests"),
        )),
        Err(err) => {
            let detail = format!(
                "`s3:ListBucket` on `{}` (prefix `{prefix}`) failed with `{}`: {}",
                url.bucket, err.code, err.message
            );
            let fix = if err.is_access_denied() {
                format!(
                    "allow `s3:ListBucket` on `{}` and `s3:GetObject` under the prefix \
                     (`entitlement-audit iam-policy --cost-export {url}`)",
                    url.bucket
                )
            } else {
                "check the bucket's name and region (`AWS_REGION`)".to_string()
            };
            checks.push(Check::fail("cost-export-s3", detail, fix));
        }
    }
}
