//! `--cost-export s3://BUCKET/PREFIX` against moto's S3 (as the S3 history tests run it):
//! only the window's billing periods, each from the files its manifest names, read to the same
//! findings and allocation as the same export on disk; a period being written is read again and
//! then refused, never half read.
//!
//! Needs moto (see `schedule`) and DuckDB (see `athena`) to write the export's Parquet files.

use std::path::{Path, PathBuf};
use std::time::Duration;

use entitlement_audit::deliver::remote::S3Url;
use entitlement_audit::inputs::export_s3::{self, Patience};
use entitlement_audit::snapshot::Table;
use serde_json::json;

use crate::athena::{csv_cents, demo_lines, read_json, to_cents, usage_gap, write_cur2_table};
use crate::schedule::{Moto, BUCKET};

const EXPORT: &str = "exports/cid-cur2";

fn put(moto: &Moto, key: &str, body: Vec<u8>) {
    moto.rt
        .block_on(
            moto.client
                .put_object()
                .bucket(BUCKET)
                .key(key)
                .body(body.into())
                .send(),
        )
        .unwrap();
}

/// The Parquet files of a local CID-layout tree by billing period.
fn parquet_by_period(root: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "parquet") {
                let period = p
                    .parent()
                    .and_then(|d| d.file_name())
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_prefix("billing_period="))
                    .unwrap()
                    .to_string();
                out.push((period, p));
            }
        }
    }
    out.sort();
    out
}

/// Uploads each period as Data Exports delivers it: `data/BILLING_PERIOD=P/` and a manifest
/// under `metadata/BILLING_PERIOD=P/` naming the data files.
fn upload_export(moto: &Moto, files: &[(String, PathBuf)]) {
    for (period, path) in files {
        let key = data_key(period);
        put(moto, &key, std::fs::read(path).unwrap());
        put(
            moto,
            &format!("{EXPORT}/metadata/BILLING_PERIOD={period}/cid-cur2-Manifest.json"),
            manifest(&format!("exec-{period}"), &[&key]),
        );
    }
}

/// The key of a period's data file as [`upload_export`] writes it.
fn data_key(period: &str) -> String {
    format!("{EXPORT}/data/BILLING_PERIOD={period}/cid-cur2-00001.snappy.parquet")
}

/// A delivery's manifest naming the data files `keys`.
fn manifest(execution: &str, keys: &[&str]) -> Vec<u8> {
    json!({
        "executionId": execution,
        "exportArn": "arn:aws:bcm-data-exports:us-east-1:123456789012:export/cid-cur2-a1b2",
        "dataFiles": keys.iter().map(|k| format!("s3://{BUCKET}/{k}")).collect::<Vec<_>>(),
    })
    .to_string()
    .into_bytes()
}

/// The demo's usage as CID-layout CUR 2.0 files on disk (the directory) and uploaded as an
/// export, by billing period.
fn demo_export(moto: &Moto) -> (tempfile::TempDir, Vec<(String, PathBuf)>) {
    let snap = entitlement_audit::inputs::demo::builtin();
    let local = tempfile::tempdir().unwrap();
    write_cur2_table(local.path(), &demo_lines(&snap));
    let files = parquet_by_period(&local.path().join("cur2"));
    assert!(files.len() >= 3, "{files:?}");
    upload_export(moto, &files);
    (local, files)
}

/// `run --demo --cost-export EXPORT` over the demo's window, in a new directory holding
/// `reports/`.
fn run_demo(moto: &Moto, export: &str) -> (crate::support::cli::Outcome, tempfile::TempDir) {
    let m = entitlement_audit::inputs::demo::builtin().manifest;
    let days = ((m.period_end - m.period_start).num_days() + 1).to_string();
    let now = m.collected_at.to_rfc3339();
    let cwd = tempfile::tempdir().unwrap();
    let out = moto
        .bin(cwd.path())
        .args(["run", "--demo", "--no-history", "--out", "reports"])
        .args(["--now", &now, "--days", &days, "--cost-export", export])
        .run();
    (out, cwd)
}

/// The item 3: the demo's usage as a CUR 2.0 export in S3 gives what the same export on
/// disk gives, although one period also holds an earlier delivery's file its manifest no longer
/// names (read, it would double that period) and a period outside the window has a manifest that
/// is not JSON (read, it would fail the run).
#[test]
fn an_export_in_s3_reads_the_window_periods_its_manifests_name() {
    let Some(moto) = Moto::start() else { return };
    let (local, files) = demo_export(&moto);
    let (first, first_path) = &files[0];
    put(
        &moto,
        &format!("{EXPORT}/data/BILLING_PERIOD={first}/old-delivery-00001.snappy.parquet"),
        std::fs::read(first_path).unwrap(),
    );
    put(
        &moto,
        &format!("{EXPORT}/metadata/BILLING_PERIOD=2025-01/cid-cur2-Manifest.json"),
        b"not json".to_vec(),
    );

    let run = |export: &str| run_demo(&moto, export);
    let (s3, s3_dir) = run(&format!("s3://{BUCKET}/{EXPORT}"));
    assert_eq!(s3.code, 0, "{}", s3.stderr);
    assert!(
        s3.stderr.contains(&format!(
            "billing period {first}: 1 files (delivery `exec-{first}`)"
        )),
        "{}",
        s3.stderr
    );
    let local_arg = local.path().join("cur2").display().to_string();
    let (disk, disk_dir) = run(&local_arg);
    assert_eq!(disk.code, 0, "{}", disk.stderr);

    let reports = |d: &tempfile::TempDir| d.path().join("reports");
    let findings =
        |d: &tempfile::TempDir| to_cents(&read_json(&reports(d), "findings.json")["findings"]);
    assert!(findings(&s3_dir).as_array().unwrap().len() > 5);
    assert_eq!(findings(&s3_dir), findings(&disk_dir));
    assert_eq!(
        csv_cents(&reports(&s3_dir).join("cost_allocation.csv")),
        csv_cents(&reports(&disk_dir).join("cost_allocation.csv"))
    );
    let totals =
        |d: &tempfile::TempDir| to_cents(&read_json(&reports(d), "summary.json")["totals"]);
    assert_eq!(totals(&s3_dir), totals(&disk_dir));
}

/// aws-apis.md leaves open whether a refreshed period is overwritten (the test above) or kept
/// as a new version ("create new" delivery): then the period's metadata holds one manifest per
/// delivery, and only the newest one's files are the period. Here an earlier delivery's
/// manifest, in a folder of its own, names its own data file and the current one (read, it
/// would double the period); the current manifest is written after it.
#[test]
fn a_versioned_export_reads_each_period_from_its_newest_manifest_only() {
    let Some(moto) = Moto::start() else { return };
    let (local, files) = demo_export(&moto);
    let (first, first_path) = &files[0];
    let old =
        format!("{EXPORT}/data/BILLING_PERIOD={first}/exec-old/cid-cur2-00001.snappy.parquet");
    put(&moto, &old, std::fs::read(first_path).unwrap());
    put(
        &moto,
        &format!("{EXPORT}/metadata/BILLING_PERIOD={first}/exec-old/cid-cur2-Manifest.json"),
        manifest("exec-old", &[&old, &data_key(first)]),
    );
    // S3 dates objects to the second: the current delivery comes a second later.
    std::thread::sleep(Duration::from_millis(1100));
    put(
        &moto,
        &format!("{EXPORT}/metadata/BILLING_PERIOD={first}/cid-cur2-Manifest.json"),
        manifest(&format!("exec-{first}"), &[&data_key(first)]),
    );

    let (s3, s3_dir) = run_demo(&moto, &format!("s3://{BUCKET}/{EXPORT}"));
    assert_eq!(s3.code, 0, "{}", s3.stderr);
    assert!(
        s3.stderr.contains(&format!(
            "billing period {first}: 1 files (delivery `exec-{first}`)"
        )),
        "{}",
        s3.stderr
    );
    let (disk, disk_dir) = run_demo(&moto, &local.path().join("cur2").display().to_string());
    assert_eq!(disk.code, 0, "{}", disk.stderr);
    let totals = |d: &tempfile::TempDir| {
        to_cents(&read_json(&d.path().join("reports"), "summary.json")["totals"])
    };
    assert_eq!(totals(&s3_dir), totals(&disk_dir));
}

/// A period whose data is there without a manifest, or whose manifest names a file that is
/// gone, is being written: read again after the wait, and after the last attempt left out as a
/// gap naming the period (the run then reports, incomplete), never read half.
#[test]
fn a_period_being_written_is_read_again_then_left_out_as_a_gap() {
    let Some(moto) = Moto::start() else { return };
    let url = S3Url {
        bucket: BUCKET.to_string(),
        key: EXPORT.to_string(),
    };
    let patience = Patience {
        attempts: 2,
        wait: Duration::from_millis(10),
    };
    put(
        &moto,
        &format!("{EXPORT}/data/BILLING_PERIOD=2026-09/cid-cur2-00001.snappy.parquet"),
        b"PAR1".to_vec(),
    );
    let periods = ["2026-09".to_string()];
    let fetch = |periods: &[String]| {
        moto.rt
            .block_on(export_s3::fetch(&moto.client, &url, periods, patience))
            .unwrap()
    };
    let got = fetch(&periods);
    assert!(got.periods.is_empty());
    let [gap] = &got.gaps[..] else {
        panic!("{:?}", got.gaps)
    };
    assert_eq!(gap.error_code, export_s3::BEING_WRITTEN);
    assert_eq!(gap.service, "cost-export");
    assert_eq!(gap.tables, [Table::Usage]);
    assert!(
        gap.message.contains("billing period 2026-09")
            && gap.message.contains("without a manifest")
            && gap.message.contains("after 2 reads"),
        "{gap:?}"
    );
    assert_eq!(
        gap.scope,
        format!("s3://{BUCKET}/{EXPORT}/metadata/BILLING_PERIOD=2026-09/")
    );
    // Nothing of the period is left for the reader.
    assert!(!got.dir.path().join("BILLING_PERIOD=2026-09").exists());

    let manifest = json!({"executionId": "e-2", "dataFiles": [
        format!("s3://{BUCKET}/{EXPORT}/data/BILLING_PERIOD=2026-09/cid-cur2-00002.snappy.parquet")
    ]});
    put(
        &moto,
        &format!("{EXPORT}/metadata/BILLING_PERIOD=2026-09/cid-cur2-Manifest.json"),
        manifest.to_string().into_bytes(),
    );
    let got = fetch(&periods);
    assert!(
        got.gaps[0].message.contains("names is gone"),
        "{:?}",
        got.gaps
    );

    // A period with nothing at all is empty, not a gap.
    let got = fetch(&["2026-01".to_string()]);
    assert_eq!(got.empty, ["2026-01"]);
    assert!(got.periods.is_empty() && got.gaps.is_empty());
}

/// A manifest that is not JSON will not mend by waiting: the run stops naming it (exit 3), as
/// an unreadable local export does.
#[test]
fn a_malformed_manifest_in_the_window_stops_the_run_naming_it() {
    let Some(moto) = Moto::start() else { return };
    let key = format!("{EXPORT}/metadata/BILLING_PERIOD=2026-08/cid-cur2-Manifest.json");
    put(&moto, &key, b"not json".to_vec());
    let url = S3Url {
        bucket: BUCKET.to_string(),
        key: EXPORT.to_string(),
    };
    let err = moto
        .rt
        .block_on(export_s3::fetch(
            &moto.client,
            &url,
            &["2026-08".to_string()],
            Patience::default(),
        ))
        .unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains(&format!("s3://{BUCKET}/{key}")) && text.contains("is not JSON"),
        "{text}"
    );
}

/// A request S3 refuses (here: a data file in a bucket that does not exist) leaves its period
/// out as a gap; the other periods are read, and `run` reports, incomplete (exit 2), with the
/// gap in summary.json and less spend than the whole export.
#[test]
fn an_unreadable_period_is_a_gap_and_the_run_reports_incomplete() {
    let Some(moto) = Moto::start() else { return };
    let (local, files) = demo_export(&moto);
    let (last, _) = files.last().unwrap();
    let gone = "s3://no-such-bucket-123456789012/cid-cur2-00001.snappy.parquet";
    put(
        &moto,
        &format!("{EXPORT}/metadata/BILLING_PERIOD={last}/cid-cur2-Manifest.json"),
        json!({"executionId": "e-9", "dataFiles": [gone]})
            .to_string()
            .into_bytes(),
    );

    let url = S3Url {
        bucket: BUCKET.to_string(),
        key: EXPORT.to_string(),
    };
    let periods: Vec<String> = files.iter().map(|(p, _)| p.clone()).collect();
    let got = moto
        .rt
        .block_on(export_s3::fetch(
            &moto.client,
            &url,
            &periods,
            Patience::default(),
        ))
        .unwrap();
    assert_eq!(got.periods.len(), periods.len() - 1);
    let [gap] = &got.gaps[..] else {
        panic!("{:?}", got.gaps)
    };
    assert_eq!(gap.operation, "GetObject");
    assert_eq!(gap.scope, gone);
    assert_eq!(gap.error_code, "NoSuchBucket");
    assert!(
        gap.message.contains(&format!("billing period {last}")),
        "{gap:?}"
    );

    let run = |export: &str| run_demo(&moto, export);
    let (out, cwd) = run(&format!("s3://{BUCKET}/{EXPORT}"));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("usage not read from the export"),
        "{}",
        out.stderr
    );
    let reports = cwd.path().join("reports");
    let s = read_json(&reports, "summary.json");
    assert_eq!(usage_gap(&s, "cost-export")["scope"], gone);
    assert!(reports.join("findings.json").exists());
    // The periods read are there, the gap's is not.
    let (whole, _whole_dir) = run(&local.path().join("cur2").display().to_string());
    assert_eq!(whole.code, 0, "{}", whole.stderr);
    let spend = |v: &serde_json::Value| v["totals"]["spend_usd"].as_f64().unwrap();
    let partial = spend(&s);
    let all = spend(&read_json(
        &_whole_dir.path().join("reports"),
        "summary.json",
    ));
    assert!(partial > 0.0 && partial < all, "{partial} vs {all}");

    // No bucket at all: every period a gap, an empty usage table, still exit 2 with reports.
    let (out, cwd) = run("s3://no-such-bucket-123456789012/exports/cid-cur2");
    assert_eq!(out.code, 2, "{}", out.stderr);
    let s = read_json(&cwd.path().join("reports"), "summary.json");
    assert_eq!(s["totals"]["usage_rows"], 0);
    assert!(
        s["run"]["source"]
            .as_str()
            .unwrap()
            .ends_with("cost-export:s3://no-such-bucket-123456789012/exports/cid-cur2 (0 files)"),
        "{}",
        s["run"]["source"]
    );
    assert_eq!(usage_gap(&s, "cost-export")["error_code"], "NoSuchBucket");
}

/// S3 denying the listing (the fake's `AccessDenied`) is a gap naming `ListObjectsV2` and the
/// prefix, with nothing read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_listing_is_a_gap() {
    use crate::support::{self, fake_aws::FakeAws, fake_aws::Faults};
    let mut faults = Faults::default();
    faults.deny.insert("ListObjectsV2".into());
    let fake = FakeAws::start(support::scenario(), faults).await;
    let clients = support::clients(&fake, &support::options()).await;
    let url = S3Url {
        bucket: "cid-123456789012-data-exports".to_string(),
        key: EXPORT.to_string(),
    };
    let got = export_s3::fetch(
        &clients.s3,
        &url,
        &["2026-10".to_string()],
        Patience::default(),
    )
    .await
    .unwrap();
    assert!(got.periods.is_empty() && got.empty.is_empty());
    let [gap] = &got.gaps[..] else {
        panic!("{:?}", got.gaps)
    };
    assert_eq!(gap.operation, "ListObjectsV2");
    assert_eq!(gap.error_code, "AccessDenied");
    assert_eq!(
        gap.scope,
        format!("s3://cid-123456789012-data-exports/{EXPORT}/metadata/BILLING_PERIOD=2026-10/")
    );
}
