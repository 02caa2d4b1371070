//! STS (query protocol, XML answers): `GetCallerIdentity` and `AssumeRole`.

use super::{Answer, State};

/// The access key id of the credentials `AssumeRole` hands out.
pub const ASSUMED_ACCESS_KEY: &str = "ASIAFAKEASSUMEDROLE";

pub(super) fn respond(st: &State, op: &str) -> Answer {
    if op == "AssumeRole" {
        let (account, _) = &st.scenario.caller;
        return (
            200,
            "text/xml",
            format!(
                "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
                 <AssumeRoleResult><Credentials><AccessKeyId>{ASSUMED_ACCESS_KEY}</AccessKeyId>\
                 <SecretAccessKey>fake</SecretAccessKey><SessionToken>fake</SessionToken>\
                 <Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>\
                 <AssumedRoleUser><AssumedRoleId>AROAFAKE:entitlement-audit</AssumedRoleId>\
                 <Arn>arn:aws:sts::{account}:assumed-role/Audit/entitlement-audit</Arn>\
                 </AssumedRoleUser></AssumeRoleResult>\
                 <ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata>\
                 </AssumeRoleResponse>"
            ),
        );
    }
    if op != "GetCallerIdentity" {
        return (400, "text/xml", format!("<ErrorResponse><Error><Code>InvalidAction</Code><Message>{op}</Message></Error></ErrorResponse>"));
    }
    let (account, arn) = &st.scenario.caller;
    (
        200,
        "text/xml",
        format!(
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
             <GetCallerIdentityResult><Arn>{arn}</Arn><UserId>AIDAEXAMPLE</UserId>\
             <Account>{account}</Account></GetCallerIdentityResult>\
             <ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata>\
             </GetCallerIdentityResponse>"
        ),
    )
}
