//! The completeness ledger while collecting: a failed call (after the SDK's retries) or a
//! denied one becomes a [`LedgerEntry`] naming what is missing, and the run carries on.

use std::error::Error as StdError;
use std::sync::Mutex;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::permissions::Op;
use crate::snapshot::LedgerEntry;
use crate::snapshot::Table;

/// Error code recorded when the Cost Explorer request cap stopped a query.
pub const REQUEST_CAP_CODE: &str = "RequestCapReached";
/// Error code recorded when a service handed back a page token it had already given.
pub const REPEATED_TOKEN_CODE: &str = "RepeatedPageToken";

/// Why one call failed, reduced to what the ledger needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{code}`: {message}")]
pub struct CallError {
    /// The AWS error code (`AccessDeniedException`), or the kind of local failure
    /// (`TimeoutError`, `DispatchFailure`, `RequestCapReached`).
    pub code: String,
    pub message: String,
}

impl CallError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }

    /// Reduces an SDK error after retries to a code and a message.
    pub fn from_sdk<E, R>(err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
        R: std::fmt::Debug,
    {
        let local = match &err {
            SdkError::ConstructionFailure(_) => "ConstructionFailure",
            SdkError::TimeoutError(_) => "TimeoutError",
            SdkError::DispatchFailure(_) => "DispatchFailure",
            SdkError::ResponseError(_) => "ResponseError",
            _ => "Unknown",
        };
        let code = err.code().unwrap_or(local).to_string();
        let message = match err.message() {
            Some(m) => m.to_string(),
            None => DisplayErrorContext(&err).to_string(),
        };
        Self { code, message }
    }

    /// Access was refused (IAM, SCP, or the account is not allowed to call the operation).
    pub fn is_access_denied(&self) -> bool {
        matches!(
            self.code.as_str(),
            "AccessDeniedException" | "AccessDenied" | "AuthorizationException"
        ) || self.code.contains("NotAuthorized")
    }
}

/// The gaps found during one run. Shared by the concurrent collectors.
#[derive(Debug, Default)]
pub struct Ledger {
    entries: Mutex<Vec<LedgerEntry>>,
}

impl Ledger {
    /// Records that `op` for `scope` could not be read, leaving `tables` incomplete.
    pub fn record(&self, op: &Op, scope: &str, tables: &[Table], err: &CallError) {
        self.push(op, scope, tables, err, None);
    }

    /// Records a gap of one member account: only that account's data in `tables` is missing.
    pub fn record_account(
        &self,
        account: &str,
        op: &Op,
        scope: &str,
        tables: &[Table],
        err: &CallError,
    ) {
        self.push(op, scope, tables, err, Some(account));
    }

    fn push(&self, op: &Op, scope: &str, tables: &[Table], err: &CallError, account: Option<&str>) {
        tracing::warn!(
            service = op.service.ledger_name(),
            operation = op.name,
            scope,
            code = %err.code,
            "data not read: {}",
            err.message
        );
        let entry = LedgerEntry {
            service: op.service.ledger_name().to_string(),
            operation: op.name.to_string(),
            scope: scope.to_string(),
            error_code: err.code.clone(),
            message: err.message.clone(),
            tables: tables.to_vec(),
            account_id: account.map(str::to_string),
        };
        self.entries.lock().expect("ledger lock").push(entry);
    }

    /// Whether a call of one of `ops` could not be read so far.
    pub fn has_gap(&self, ops: &[&Op]) -> bool {
        let entries = self.entries.lock().expect("ledger lock");
        entries.iter().any(|e| {
            ops.iter()
                .any(|op| e.operation == op.name && e.service == op.service.ledger_name())
        })
    }

    /// The entries so far, sorted and without duplicates.
    pub fn entries(&self) -> Vec<LedgerEntry> {
        let mut v = self.entries.lock().expect("ledger lock").clone();
        v.sort();
        v.dedup();
        v
    }

    /// The entries, sorted and without duplicates.
    pub fn into_entries(self) -> Vec<LedgerEntry> {
        let mut v = self.entries.into_inner().expect("ledger lock");
        v.sort();
        v.dedup();
        v
    }
}
