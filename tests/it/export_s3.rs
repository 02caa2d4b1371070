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
use serde_json::json;

use crate::athena::{csv_cents, demo_lines, read_json, to_cents, write_cur2_table};
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
        let key = format!("{EXPORT}/data/BILLING_PERIOD={period}/cid-cur2-00001.snappy.parquet");
        put(moto, &key, std::fs::read(path).unwrap());
        let manifest = json!({
            "executionId": format!("exec-{period}"),
            "exportArn": "arn:aws:bcm-data-exports:us-east-1:123456789012:export/cid-cur2-a1b2",
            "dataFiles": [format!("s3://{BUCKET}/{key}")],
        });
        put(
            moto,
            &format!("{EXPORT}/metadata/BILLING_PERIOD={period}/cid-cur2-Manifest.json"),
            manifest.to_string().into_bytes(),
        );
    }
}

/// The item 3: the demo's usage as a CUR 2.0 export in S3 gives what the same export on
/// disk gives, although one period also holds an earlier delivery's file its manifest no longer
/// names (read, it would double that period) and a period outside the window has a manifest that
/// is not JSON (read, it would fail the run).
#[test]
fn an_export_in_s3_reads_the_window_periods_its_manifests_name() {
    let Some(moto) = Moto::start() else { return };
    let snap = entitlement_audit::inputs::demo::builtin();
    let local = tempfile::tempdir().unwrap();
    write_cur2_table(local.path(), &demo_lines(&snap));
    let files = parquet_by_period(&local.path().join("cur2"));
    assert!(files.len() >= 3, "{files:?}");
    upload_export(&moto, &files);
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

    let m = &snap.manifest;
    let days = ((m.period_end - m.period_start).num_days() + 1).to_string();
    let now = m.collected_at.to_rfc3339();
    let run = |export: &str| {
        let cwd = tempfile::tempdir().unwrap();
        let out = moto
            .bin(cwd.path())
            .args(["run", "--demo", "--no-history", "--out", "reports"])
            .args(["--now", &now, "--days", &days, "--cost-export", export])
            .run();
        (out, cwd)
    };
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

/// A period whose data is there without a manifest, or whose manifest names a file that is
/// gone, is being written: read again after the wait, and refused after the last attempt.
#[test]
fn a_period_being_written_is_read_again_then_refused() {
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
    let err = moto
        .rt
        .block_on(export_s3::fetch(&moto.client, &url, &periods, patience))
        .unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains("2026-09") && text.contains("without a manifest"),
        "{text}"
    );
    assert!(text.contains("after 2 reads"), "{text}");

    let manifest = json!({"executionId": "e-2", "dataFiles": [
        format!("s3://{BUCKET}/{EXPORT}/data/BILLING_PERIOD=2026-09/cid-cur2-00002.snappy.parquet")
    ]});
    put(
        &moto,
        &format!("{EXPORT}/metadata/BILLING_PERIOD=2026-09/cid-cur2-Manifest.json"),
        manifest.to_string().into_bytes(),
    );
    let err = moto
        .rt
        .block_on(export_s3::fetch(&moto.client, &url, &periods, patience))
        .unwrap_err();
    assert!(format!("{err:#}").contains("names is gone"), "{err:#}");

    // A period with nothing at all is empty, not an error.
    let got = moto
        .rt
        .block_on(export_s3::fetch(
            &moto.client,
            &url,
            &["2026-01".to_string()],
            patience,
        ))
        .unwrap();
    assert_eq!(got.empty, ["2026-01"]);
    assert!(got.periods.is_empty());
}
