//! `fix-plan.sh`: the plan as a script a person reviews and runs, account by account. Without
//! `--execute` it only prints each command; every argument is single-quoted, and text from
//! AWS or the config (names, messages) only ever lands in comments with its line breaks and
//! control characters removed, so no name can run as a command.

use std::fmt::Write;

use super::Plan;

/// The script for `plan`.
pub fn script(plan: &Plan) -> String {
    let mut s = String::new();
    s.push_str(HEADER);
    let mut account = "";
    for step in &plan.steps {
        if step.account_id != account {
            account = &step.account_id;
            let _ = write!(
                s,
                "\n# ==== account {} ({}): run with credentials of this account\n",
                comment(account),
                step.runs_as
            );
            let _ = writeln!(s, "account {}", quote(account));
        }
        let what = match step.effect {
            "closes" => "closes",
            "stops-further-exposure" => "stops further exposure of",
            _ => "a grant that needs activation, for",
        };
        let _ = writeln!(
            s,
            "\n# step {}: {what} {} {} ({})",
            step.order,
            step.rule,
            comment(&step.finding_id),
            comment(&step.evidence)
        );
        if !step.covers.is_empty() {
            let accounts: Vec<String> =
                step.covers.iter().map(|c| comment(&c.account_id)).collect();
            let _ = writeln!(s, "# for account(s): {}", accounts.join(" "));
        }
        let args: Vec<String> = step.command.iter().map(|a| quote(a)).collect();
        let _ = writeln!(s, "run {}", args.join(" "));
    }
    if !plan.decisions.is_empty() {
        let _ = write!(
            s,
            "\n# ==== {} finding(s) no command closes: a person decides (fix-plan.json, \"decisions\")\n",
            plan.decisions.len()
        );
        for d in &plan.decisions {
            let _ = writeln!(
                s,
                "# {} {} {} {}: {}",
                d.rule,
                comment(&d.finding_id),
                comment(&d.account_id),
                comment(&d.product),
                comment(&d.decide)
            );
        }
    }
    s.push_str("\necho \"fix-plan: done\"\n");
    s
}

const HEADER: &str = r#"#!/usr/bin/env bash
# fix-plan.sh, written by entitlement-audit: the AWS CLI commands that would close the
# findings of this run, grouped by the account that must run them, in order. Review it first.
# Without --execute it only prints the commands. entitlement-audit itself never runs them.
set -euo pipefail

execute=false
case "${1:-}" in
  --execute) execute=true ;;
  "") echo "fix-plan: dry run (pass --execute to run the commands)" ;;
  *) echo "usage: $0 [--execute]" >&2; exit 64 ;;
esac

# Each account's commands need that account's credentials: check them before the first.
account() {
  echo "fix-plan: commands for account $1"
  if [ "$execute" = true ]; then
    current=$(aws sts get-caller-identity --query Account --output text)
    if [ "$current" != "$1" ]; then
      echo "fix-plan: the credentials are for account $current, not $1: stopping" >&2
      exit 65
    fi
  fi
}

run() {
  printf '+'
  printf ' %q' "$@"
  printf '\n'
  if [ "$execute" = true ]; then
    "$@"
  fi
}
"#;

/// `s` single-quoted for the shell: the only character to escape is `'` itself.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `s` safe inside a `#` comment: control characters (a newline would end the comment) become
/// spaces.
fn comment(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_keeps_every_character_literal() {
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("$(rm -rf /)`x`"), "'$(rm -rf /)`x`'");
        assert_eq!(comment("a\nrm -rf /\r"), "a rm -rf / ");
    }
}
