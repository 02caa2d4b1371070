//! The standard endpoint overrides reach the collector unchanged: `AWS_ENDPOINT_URL` for all
//! services, `AWS_ENDPOINT_URL_LICENSE_MANAGER` for one. It sets the process environment,
//! which the other tests of the binary never read: their in-process clients are built without
//! it (`support::clients`) and every command they start (`support::cli::Bin`) drops the `AWS_*`
//! variables first.

use crate::support;

use std::sync::Mutex;

use entitlement_audit::inputs::collect::collect;
use support::fake_aws::{FakeAws, Faults, ASSUMED_ACCESS_KEY};
use support::*;

#[tokio::test]
async fn endpoint_overrides_from_the_environment_just_work() {
    let everything = start(Faults::default()).await;
    let license_manager = start(Faults::default()).await;
    // Read only by this test's own `collect` (see the module docs).
    for (k, v) in [
        ("AWS_ENDPOINT_URL", everything.url.as_str()),
        (
            "AWS_ENDPOINT_URL_LICENSE_MANAGER",
            license_manager.url.as_str(),
        ),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_CONFIG_FILE", "/nonexistent/config"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ] {
        std::env::set_var(k, v);
    }
    std::env::remove_var("AWS_PROFILE");
    std::env::remove_var("AWS_SESSION_TOKEN");

    let lines = Mutex::new(Vec::new());
    let progress = |line: &str| lines.lock().unwrap().push(line.to_string());
    let s = collect(&options(), now(), &progress).await.unwrap();

    assert!(s.is_complete(), "{:?}", s.manifest.completeness);
    assert_eq!(s.accounts.len(), 5);
    assert_eq!(s.grants.len(), 8);
    let lm = |f: &FakeAws| {
        f.calls()
            .iter()
            .filter(|c| c.prefix == "AWSLicenseManager")
            .count()
    };
    assert_eq!(lm(&everything), 0, "License Manager used its own override");
    assert!(lm(&license_manager) > 0);
    assert_eq!(license_manager.calls().len(), lm(&license_manager));
    assert!(everything.ok_calls("ListAccountsForParent") > 0);
    assert!(everything.ok_calls("GetCostAndUsage") > 0);
    assert!(everything.ok_calls("LookupEvents") > 0);
    // Pinned to us-east-1 whatever `AWS_REGION` says.
    for c in everything.calls().iter().chain(&license_manager.calls()) {
        assert_eq!(c.region.as_deref(), Some("us-east-1"), "{}", c.op);
    }
    assert!(
        !lines.lock().unwrap().is_empty(),
        "progress lines were sent"
    );
    assert!(everything
        .calls()
        .iter()
        .all(|c| c.access_key.as_deref() == Some("test")));

    // `--role-arn`: the role is assumed through STS (same endpoint override) and its
    // credentials sign every call.
    let before = everything.calls().len();
    let mut opts = options();
    opts.role_arn = Some(format!("arn:aws:iam::{MGMT}:role/Audit"));
    let s = collect(&opts, now(), &progress).await.unwrap();
    assert!(s.is_complete(), "{:?}", s.manifest.completeness);
    let calls = everything.calls();
    let (sts, rest): (Vec<_>, Vec<_>) = calls[before..].iter().partition(|c| c.prefix == "STS");
    assert_eq!(sts.len(), 1);
    assert_eq!(sts[0].op, "AssumeRole");
    assert!(sts[0]
        .body
        .as_str()
        .unwrap()
        .contains("RoleSessionName=entitlement-audit"));
    assert!(!rest.is_empty());
    assert!(rest
        .iter()
        .all(|c| c.access_key.as_deref() == Some(ASSUMED_ACCESS_KEY)));
}
