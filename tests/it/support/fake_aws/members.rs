//! The member accounts behind `--member-role`: STS `AssumeRole` hands out credentials whose
//! access key names the account ([`member_key`]), and every call signed with such a key is
//! answered from that account's data only: CloudWatch `ListMetrics` / `GetMetricData`
//! (Smithy RPC v2 CBOR, like the crate), its own CloudTrail `LookupEvents` and its own
//! `SearchAgreements`. A CloudWatch call signed with any other key is refused: the collector
//! must sign each member's calls with that member's credentials.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{error, ok, paginate, unknown, Answer, Request};

/// The access key id of the credentials `AssumeRole` hands out for `account`.
pub fn member_key(account: &str) -> String {
    format!("ASIAMEMBER{account}")
}

/// The account a member access key belongs to.
pub fn key_account(key: &str) -> Option<&str> {
    key.strip_prefix("ASIAMEMBER")
}

/// One daily sum of one metric.
#[derive(Debug, Clone)]
pub struct Point {
    pub region: String,
    pub model_id: String,
    /// `Invocations`, `InputTokenCount`, `OutputTokenCount`.
    pub metric: String,
    /// Epoch seconds of the day's start.
    pub time: i64,
    pub value: f64,
}

/// One member account's own data.
#[derive(Debug, Clone, Default)]
pub struct MemberData {
    pub points: Vec<Point>,
    /// `LookupEvents` items of its own trail.
    pub events: Vec<Value>,
    /// `SearchAgreements` summaries of its own agreements.
    pub agreements: Vec<Value>,
    /// Region -> `ListInferenceProfiles` summaries (application profiles).
    pub profiles: BTreeMap<String, Vec<Value>>,
}

/// The member accounts the fake serves.
#[derive(Debug, Clone, Default)]
pub struct Members {
    /// The role name `AssumeRole` accepts; another name is `AccessDenied`.
    pub role_name: String,
    pub accounts: BTreeMap<String, MemberData>,
    /// Account -> the error code its `AssumeRole` answers (the role is not deployed, the
    /// trust policy or an SCP denies).
    pub assume_faults: BTreeMap<String, String>,
    /// Account -> how many of the next calls signed with its credentials are answered with
    /// the service's throttling error (AWS throttles per account: one member over its quota,
    /// the others not).
    pub throttle: BTreeMap<String, u32>,
}

impl Members {
    /// A point for `account`, for the three metrics at once.
    pub fn invoke(
        &mut self,
        account: &str,
        region: &str,
        model_id: &str,
        time: i64,
        (n, input, output): (f64, f64, f64),
    ) {
        let data = self.accounts.entry(account.to_string()).or_default();
        for (metric, value) in [
            ("Invocations", n),
            ("InputTokenCount", input),
            ("OutputTokenCount", output),
        ] {
            data.points.push(Point {
                region: region.into(),
                model_id: model_id.into(),
                metric: metric.into(),
                time,
                value,
            });
        }
    }
}

/// `AssumeRole`: credentials for the account of the role ARN, or its fault.
pub(super) fn assume_role(m: &Members, form: &str, caller: &str) -> Answer {
    let arn = form
        .split('&')
        .find_map(|kv| kv.strip_prefix("RoleArn="))
        .map(percent_decode)
        .unwrap_or_default();
    // arn:aws:iam::<account>:role/<name>
    let mut parts = arn.splitn(6, ':');
    let account = parts.nth(4).unwrap_or_default().to_string();
    let name = arn.rsplit('/').next().unwrap_or_default();
    let fault = m.assume_faults.get(&account).cloned().or_else(|| {
        (!m.role_name.is_empty() && name != m.role_name).then(|| "AccessDenied".to_string())
    });
    if let Some(code) = fault {
        return (
            403,
            "text/xml",
            format!(
                "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>\
                 <Type>Sender</Type><Code>{code}</Code><Message>User: arn:aws:iam::{caller}:user/audit \
                 is not authorized to perform: sts:AssumeRole on resource: {arn}</Message></Error>\
                 <RequestId>fake</RequestId></ErrorResponse>"
            ),
        );
    }
    // `--role-arn` into the run's own account is not a member's role.
    let key = if account.is_empty() || account == caller {
        super::sts::ASSUMED_ACCESS_KEY.to_string()
    } else {
        member_key(&account)
    };
    let session_account = if account.is_empty() { caller } else { &account };
    (
        200,
        "text/xml",
        format!(
            "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
             <AssumeRoleResult><Credentials><AccessKeyId>{key}</AccessKeyId>\
             <SecretAccessKey>fake</SecretAccessKey><SessionToken>fake</SessionToken>\
             <Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>\
             <AssumedRoleUser><AssumedRoleId>AROAFAKE:entitlement-audit</AssumedRoleId>\
             <Arn>arn:aws:sts::{session_account}:assumed-role/Audit/entitlement-audit</Arn>\
             </AssumedRoleUser></AssumeRoleResult>\
             <ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata>\
             </AssumeRoleResponse>"
        ),
    )
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// CloudWatch, in the member account that signed the call, in the region it signed for.
pub(super) fn cloudwatch(
    m: &Members,
    r: &Request,
    op: &str,
    account: Option<&str>,
    region: &str,
) -> Answer {
    let Some(account) = account else {
        return error(
            "AccessDenied",
            "CloudWatch is read in the member accounts, with their credentials",
        );
    };
    let empty = MemberData::default();
    let data = m.accounts.get(account).unwrap_or(&empty);
    let points = data.points.iter().filter(|p| p.region == region);
    match op {
        "ListMetrics" => {
            let name = r.str("MetricName");
            let mut ids: Vec<&str> = points
                .filter(|p| name.is_empty() || p.metric == name)
                .map(|p| p.model_id.as_str())
                .collect();
            ids.sort();
            ids.dedup();
            let metrics: Vec<Value> = ids
                .iter()
                .map(|id| {
                    json!({"Namespace": "AWS/Bedrock", "MetricName": name,
                           "Dimensions": [{"Name": "ModelId", "Value": id}]})
                })
                .collect();
            let items: Vec<&Value> = metrics.iter().collect();
            ok(paginate(
                r.body,
                "Metrics",
                &items,
                500,
                r.faults,
                "NextToken",
            ))
        }
        "GetMetricData" => {
            let start = r.body["StartTime"].as_f64().unwrap_or(f64::MIN);
            let end = r.body["EndTime"].as_f64().unwrap_or(f64::MAX);
            let queries = r.body["MetricDataQueries"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if queries.len() > 500 {
                return error("ValidationError", "at most 500 queries");
            }
            let results: Vec<Value> = queries
                .iter()
                .map(|q| {
                    let metric = &q["MetricStat"]["Metric"];
                    let name = metric["MetricName"].as_str().unwrap_or_default();
                    let model = metric["Dimensions"][0]["Value"]
                        .as_str()
                        .unwrap_or_default();
                    let mut hits: Vec<(i64, f64)> = data
                        .points
                        .iter()
                        .filter(|p| p.region == region && p.metric == name && p.model_id == model)
                        .filter(|p| (p.time as f64) >= start && (p.time as f64) < end)
                        .map(|p| (p.time, p.value))
                        .collect();
                    hits.sort_by_key(|h| h.0);
                    json!({
                        "Id": q["Id"],
                        "Label": name,
                        "Timestamps": hits.iter().map(|h| h.0).collect::<Vec<_>>(),
                        "Values": hits.iter().map(|h| h.1).collect::<Vec<_>>(),
                        "StatusCode": "Complete",
                    })
                })
                .collect();
            let items: Vec<&Value> = results.iter().collect();
            ok(paginate(
                r.body,
                "MetricDataResults",
                &items,
                500,
                r.faults,
                "NextToken",
            ))
        }
        other => unknown(other),
    }
}

/// A member's own CloudTrail, agreements or Bedrock profiles, for a call signed with its key.
pub(super) fn own(m: &Members, r: &Request, op: &str, account: &str, region: &str) -> Answer {
    let empty = MemberData::default();
    let data = m.accounts.get(account).unwrap_or(&empty);
    match op {
        "LookupEvents" => {
            let name = r.body["LookupAttributes"][0]["AttributeValue"].as_str();
            let events = data.events.iter();
            let named = events.filter(|e| name.is_none_or(|n| e["EventName"] == n));
            super::cloudtrail::in_window(r, named.collect())
        }
        "SearchAgreements" => ok(paginate(
            r.body,
            "agreementViewSummaries",
            &data.agreements.iter().collect::<Vec<_>>(),
            50,
            r.faults,
            "nextToken",
        )),
        "ListInferenceProfiles" => {
            let items: Vec<&Value> = data.profiles.get(region).into_iter().flatten().collect();
            ok(paginate(
                r.body,
                "inferenceProfileSummaries",
                &items,
                1000,
                r.faults,
                "nextToken",
            ))
        }
        other => unknown(other),
    }
}
