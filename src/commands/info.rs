//! The commands that read nothing: `rules`, `explain CODE` and `iam-policy`.

use std::io::Write;

use anyhow::{bail, Context, Result};

use super::exit;
use crate::analyze::rules::{self, RULES};
use crate::cli::IamPolicyArgs;
use crate::deliver::remote::{self, Location};
use crate::inputs::collect;

/// `iam-policy`: the least-privilege policy for the collectors' operations, and for the S3
/// locations a scheduled run keeps its history in and publishes to.
pub fn iam_policy(args: &IamPolicyArgs, mut out: impl Write) -> Result<u8> {
    if args.member {
        serde_json::to_writer_pretty(&mut out, &collect::permissions::member_policy())?;
        writeln!(out)?;
        return Ok(exit::CLEAN);
    }
    let parse = |flag: &str, s: &Option<String>| {
        s.as_deref()
            .map(Location::parse)
            .transpose()
            .with_context(|| format!("`{flag}`"))
    };
    let state = parse("--state", &args.state)?;
    let publish = parse("--publish", &args.publish)?;
    let mut policy = collect::iam_policy();
    let mut s3 = remote::iam_statements(state.as_ref(), publish.as_ref())?;
    let s3_url = |flag: &str, s: &Option<String>| -> Result<Option<remote::S3Url>> {
        match parse(flag, s)? {
            None => Ok(None),
            Some(Location::S3(u)) => Ok(Some(u)),
            Some(Location::Local(p)) => {
                anyhow::bail!("`{flag}` must be an S3 location, not `{}`", p.display())
            }
        }
    };
    let data = s3_url("--athena-data", &args.athena_data)?;
    let output = s3_url("--athena-output", &args.athena_output)?;
    if let Some(export) = s3_url("--cost-export", &args.cost_export)? {
        let prefix = match export.key.as_str() {
            "" => String::new(),
            k => format!("{k}/"),
        };
        s3.push(serde_json::json!({
            "Sid": "EntitlementAuditCostExport",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": format!("arn:aws:s3:::{}/{prefix}*", export.bucket),
        }));
        s3.push(serde_json::json!({
            "Sid": "EntitlementAuditCostExportBucket",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": format!("arn:aws:s3:::{}", export.bucket),
        }));
    }
    if let Some(data) = &data {
        s3.extend(collect::permissions::athena_statements(
            (&data.bucket, &data.key),
            output.as_ref().map(|o| (o.bucket.as_str(), o.key.as_str())),
        ));
    }
    if let Some(role) = &args.member_role {
        s3.push(collect::permissions::member_role_statement(role));
    }
    if let Some(statements) = policy["Statement"].as_array_mut() {
        statements.extend(s3);
    }
    serde_json::to_writer_pretty(&mut out, &policy)?;
    writeln!(out)?;
    Ok(exit::CLEAN)
}

/// `rules`: one line per rule.
pub fn rules(mut out: impl Write) -> Result<u8> {
    for r in RULES {
        writeln!(
            out,
            "{}  {:<28} {:<8} {}",
            r.code(),
            r.name(),
            r.default_severity(),
            r.summary()
        )?;
    }
    Ok(exit::CLEAN)
}

/// `explain CODE`: the rule's documentation.
pub fn explain(code: &str, mut out: impl Write) -> Result<u8> {
    let Some(rule) = rules::by_code(code) else {
        bail!("no rule `{code}`: `entitlement-audit rules` lists them");
    };
    out.write_all(rule.doc().as_bytes())?;
    Ok(exit::CLEAN)
}
