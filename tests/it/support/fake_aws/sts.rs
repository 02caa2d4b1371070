//! STS (query protocol, XML answers): `GetCallerIdentity` (`AssumeRole` is in [`super::members`]).

use super::{Answer, State};

/// The access key id of the credentials `AssumeRole` hands out.
pub const ASSUMED_ACCESS_KEY: &str = "ASIAFAKEASSUMEDROLE";

pub(super) fn respond(st: &State, op: &str) -> Answer {
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
