#!/usr/bin/env bash
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

# ==== account 123456789012 (subscriber): run with credentials of this account
account '123456789012'

# step 1: stops further exposure of EA001 EA001-6eb091e0dd43a889 ($279.87 of Claude 3 Haiku spend at public price between 2026-08-03 and 2026-10-30; no grant covered the account; estimated overspend $55.97 (agreement-terms))
run 'aws' 'license-manager' 'create-grant' '--client-token' 'ea-EA001-6eb091e0dd43a889' '--grant-name' 'Claude 3 Haiku' '--license-arn' 'arn:aws:license-manager::123456789012:license:l-8708ed4525ab0e85325799913cbc896a' '--principals' 'arn:aws:iam::210987654321:root' '--home-region' 'us-east-1' '--allowed-operations' 'CheckInLicense' 'CheckoutLicense' '--region' 'us-east-1'

# step 2: stops further exposure of EA001 EA001-554b81d65226de46 ($263.36 of Claude 3 Haiku spend at public price between 2026-08-03 and 2026-10-31; no grant covered the account; estimated overspend $52.67 (agreement-terms))
run 'aws' 'license-manager' 'create-grant' '--client-token' 'ea-EA001-554b81d65226de46' '--grant-name' 'Claude 3 Haiku' '--license-arn' 'arn:aws:license-manager::123456789012:license:l-8708ed4525ab0e85325799913cbc896a' '--principals' 'arn:aws:iam::999900000007:root' '--home-region' 'us-east-1' '--allowed-operations' 'CheckInLicense' 'CheckoutLicense' '--region' 'us-east-1'

# step 3: stops further exposure of EA001 EA001-dda4cfdddbda0c6d ($28.45 of Claude 3 Haiku spend at public price between 2026-08-03 and 2026-10-31; no grant covered the account; estimated overspend $5.69 (agreement-terms))
run 'aws' 'license-manager' 'create-grant' '--client-token' 'ea-EA001-dda4cfdddbda0c6d' '--grant-name' 'Claude 3 Haiku' '--license-arn' 'arn:aws:license-manager::123456789012:license:l-8708ed4525ab0e85325799913cbc896a' '--principals' 'arn:aws:iam::999900000030:root' '--home-region' 'us-east-1' '--allowed-operations' 'CheckInLicense' 'CheckoutLicense' '--region' 'us-east-1'

# step 4: stops further exposure of EA001 EA001-c8c5fd348377eb74 ($23.37 of Claude 3 Haiku spend at public price between 2026-08-04 and 2026-10-31; no grant covered the account; estimated overspend $4.67 (agreement-terms))
run 'aws' 'license-manager' 'create-grant' '--client-token' 'ea-EA001-c8c5fd348377eb74' '--grant-name' 'Claude 3 Haiku' '--license-arn' 'arn:aws:license-manager::123456789012:license:l-8708ed4525ab0e85325799913cbc896a' '--principals' 'arn:aws:iam::999900000028:root' '--home-region' 'us-east-1' '--allowed-operations' 'CheckInLicense' 'CheckoutLicense' '--region' 'us-east-1'

# step 5: stops further exposure of EA001 EA001-c2b86ef737bb17d5 ($20.35 of Claude 3 Haiku spend at public price between 2026-08-05 and 2026-10-26; no grant covered the account; estimated overspend $4.07 (agreement-terms))
run 'aws' 'license-manager' 'create-grant' '--client-token' 'ea-EA001-c2b86ef737bb17d5' '--grant-name' 'Claude 3 Haiku' '--license-arn' 'arn:aws:license-manager::123456789012:license:l-8708ed4525ab0e85325799913cbc896a' '--principals' 'arn:aws:iam::999900000029:root' '--home-region' 'us-east-1' '--allowed-operations' 'CheckInLicense' 'CheckoutLicense' '--region' 'us-east-1'

# step 6: closes EA004 EA004-0f7bc7d8774acc36 (grant `Command R+` to account `999900000002` is still ACTIVE but its agreement `agmt-9159957e9665816ba3a66688` is CANCELLED since 2026-10-02)
run 'aws' 'license-manager' 'delete-grant' '--grant-arn' 'arn:aws:license-manager::123456789012:grant:g-698302151457e006ac91b6bdbce85bb5' '--version' '1' '--region' 'us-east-1'

# step 7: closes EA007 EA007-3b09689456fc5432 (grant `Claude 3 Haiku` (WORKFLOW_COMPLETED) targets ou `ou-ex01-b47b999d`, which does not exist in the organization)
run 'aws' 'license-manager' 'delete-grant' '--grant-arn' 'arn:aws:license-manager::123456789012:grant:g-0a4f567220a64b1c6cbefa129e113e27' '--version' '1' '--region' 'us-east-1'

# step 8: closes EA007 EA007-9ecddaaa94db5d85 (grant `Claude 3 Haiku` (ACTIVE) targets account `999900000010`, which is SUSPENDED)
run 'aws' 'license-manager' 'delete-grant' '--grant-arn' 'arn:aws:license-manager::123456789012:grant:g-e289f2a7b4340396d3dd776dc8e15839' '--version' '1' '--region' 'us-east-1'

# step 9: closes EA007 EA007-43a33617bfed60b0 (grant `Claude 3 Haiku` (ACTIVE) targets account `999900000011`, which is CLOSED)
run 'aws' 'license-manager' 'delete-grant' '--grant-arn' 'arn:aws:license-manager::123456789012:grant:g-92f9ddca962cf3f039f619407b6602e2' '--version' '1' '--region' 'us-east-1'

# step 10: closes EA008 EA008-fc08aa641d4cb3d9 (grant `Claude 3 Haiku` (ACTIVE) duplicates grant `Claude 3 Haiku` (ACTIVE) to account `777788889999`)
run 'aws' 'license-manager' 'delete-grant' '--grant-arn' 'arn:aws:license-manager::123456789012:grant:g-bb00833b00476ec645332e1035aa6f59' '--version' '1' '--region' 'us-east-1'

# ==== account 210987654321 (member): run with credentials of this account
account '210987654321'

# step 11: closes EA002 EA002-93a3cdb84b1fa6b8 (organization grant `Claude 3.7 Sonnet` for Claude 3.7 Sonnet is DISABLED for 89 days; the account spent $972.85 at public price meanwhile)
run 'aws' 'license-manager' 'create-grant-version' '--grant-arn' 'arn:aws:license-manager::123456789012:grant:g-434011489f56ee31206a06c434f02775' '--status' 'ACTIVE' '--source-version' '1' '--client-token' 'ea-EA002-93a3cdb84b1fa6b8' '--region' 'us-east-1'

# ==== account 999900000007 (member): run with credentials of this account
account '999900000007'

# step 12: closes EA002 EA002-1664759965ce2ad1 (organization grant `Claude 3.7 Sonnet` for Claude 3.7 Sonnet is DISABLED for 89 days; the account spent $929.19 at public price meanwhile)
run 'aws' 'license-manager' 'create-grant-version' '--grant-arn' 'arn:aws:license-manager::123456789012:grant:g-faa74a73ad2a697c22a9021af4dd34df' '--status' 'ACTIVE' '--source-version' '1' '--client-token' 'ea-EA002-1664759965ce2ad1' '--region' 'us-east-1'

# ==== account 999900000008 (member): run with credentials of this account
account '999900000008'

# step 13: closes EA002 EA002-f3b1c3127bc8e7bc (organization grant `Claude 3.7 Sonnet` for Claude 3.7 Sonnet is DISABLED for 89 days; the account spent $61.20 at public price meanwhile)
run 'aws' 'license-manager' 'create-grant-version' '--grant-arn' 'arn:aws:license-manager::123456789012:grant:g-117dd8afac222fdf67ce0460a16eca60' '--status' 'ACTIVE' '--source-version' '1' '--client-token' 'ea-EA002-f3b1c3127bc8e7bc' '--region' 'us-east-1'

# step 14: closes EA002 EA002-7a617a08be7bff7a (account grant `Claude 3 Haiku` for Claude 3 Haiku is PENDING_ACCEPT for 19 days)
run 'aws' 'license-manager' 'accept-grant' '--grant-arn' 'arn:aws:license-manager::123456789012:grant:g-8f667490e8c955245fade2d214460483' '--region' 'us-east-1'

# step 15: closes EA002 EA002-7a617a08be7bff7a (account grant `Claude 3 Haiku` for Claude 3 Haiku is PENDING_ACCEPT for 19 days)
run 'aws' 'license-manager' 'create-grant-version' '--grant-arn' 'arn:aws:license-manager::123456789012:grant:g-8f667490e8c955245fade2d214460483' '--status' 'ACTIVE' '--source-version' '1' '--client-token' 'ea-EA002-7a617a08be7bff7a' '--region' 'us-east-1'

# ==== account 999900000009 (member): run with credentials of this account
account '999900000009'

# step 16: closes EA002 EA002-c64fd7191e986590 (organization grant `Claude 3.7 Sonnet` for Claude 3.7 Sonnet is DISABLED for 89 days; the account spent $447.12 at public price meanwhile)
run 'aws' 'license-manager' 'create-grant-version' '--grant-arn' 'arn:aws:license-manager::123456789012:grant:g-d84351e7bf3a8c9f278f4fcf111c067c' '--status' 'ACTIVE' '--source-version' '1' '--client-token' 'ea-EA002-c64fd7191e986590' '--region' 'us-east-1'

# ==== account 999900000014 (member): run with credentials of this account
account '999900000014'

# step 17: closes EA002 EA002-90a7bc8f6ba82285 (organization grant `Claude 3.7 Sonnet` for Claude 3.7 Sonnet is DISABLED for 44 days; the account spent $236.96 at public price meanwhile)
run 'aws' 'license-manager' 'create-grant-version' '--grant-arn' 'arn:aws:license-manager::123456789012:grant:g-f0184a86223cc996a1763549433d2070' '--status' 'ACTIVE' '--source-version' '1' '--client-token' 'ea-EA002-90a7bc8f6ba82285' '--region' 'us-east-1'

# step 18: closes EA002 EA002-fac4cabbb6f88a51 (ou grant `Claude 3 Haiku` for Claude 3 Haiku is DISABLED for 44 days; the account spent $65.78 at public price meanwhile)
run 'aws' 'license-manager' 'create-grant-version' '--grant-arn' 'arn:aws:license-manager::123456789012:grant:g-940ac3ac8d307efcc8fdc189f699b6d4' '--status' 'ACTIVE' '--source-version' '1' '--client-token' 'ea-EA002-fac4cabbb6f88a51' '--region' 'us-east-1'

# ==== account 999900000015 (member): run with credentials of this account
account '999900000015'

# step 19: closes EA002 EA002-11f6cb4c7f6d30a4 (organization grant `Claude 3.7 Sonnet` for Claude 3.7 Sonnet is DISABLED for 89 days; the account spent $187.22 at public price meanwhile)
run 'aws' 'license-manager' 'create-grant-version' '--grant-arn' 'arn:aws:license-manager::123456789012:grant:g-9bd6a3f959cab722834052411bd8626d' '--status' 'ACTIVE' '--source-version' '1' '--client-token' 'ea-EA002-11f6cb4c7f6d30a4' '--region' 'us-east-1'

# ==== account 999900000019 (member): run with credentials of this account
account '999900000019'

# step 20: closes EA002 EA002-335c3d38d91b74c7 (organization grant `Claude 3.7 Sonnet` for Claude 3.7 Sonnet is DISABLED for 89 days; the account spent $18.16 at public price meanwhile)
run 'aws' 'license-manager' 'create-grant-version' '--grant-arn' 'arn:aws:license-manager::123456789012:grant:g-fb8034d75e12122a5511056449476458' '--status' 'ACTIVE' '--source-version' '1' '--client-token' 'ea-EA002-335c3d38d91b74c7' '--region' 'us-east-1'

# ==== account 999900000024 (member): run with credentials of this account
account '999900000024'

# step 21: closes EA002 EA002-a3ed164516ccb590 (organization grant `Claude 3.7 Sonnet` for Claude 3.7 Sonnet is DISABLED for 89 days; the account spent $105.77 at public price meanwhile)
run 'aws' 'license-manager' 'create-grant-version' '--grant-arn' 'arn:aws:license-manager::123456789012:grant:g-2bbec207aa2f62160b21edb4d18c54be' '--status' 'ACTIVE' '--source-version' '1' '--client-token' 'ea-EA002-a3ed164516ccb590' '--region' 'us-east-1'

# ==== account 999900000026 (member): run with credentials of this account
account '999900000026'

# step 22: closes EA002 EA002-10573e09381636ff (organization grant `Claude 3.7 Sonnet` for Claude 3.7 Sonnet is DISABLED for 89 days; the account spent $952.21 at public price meanwhile)
run 'aws' 'license-manager' 'create-grant-version' '--grant-arn' 'arn:aws:license-manager::123456789012:grant:g-08a7c435c2bee057240710e91cb1a10e' '--status' 'ACTIVE' '--source-version' '1' '--client-token' 'ea-EA002-10573e09381636ff' '--region' 'us-east-1'

# ==== account 999900000027 (member): run with credentials of this account
account '999900000027'

# step 23: closes EA002 EA002-7f05b303e4e5a89c (organization grant `Claude 3.7 Sonnet` for Claude 3.7 Sonnet is DISABLED for 70 days; the account spent $86.17 at public price meanwhile)
run 'aws' 'license-manager' 'create-grant-version' '--grant-arn' 'arn:aws:license-manager::123456789012:grant:g-20aebf94f917a30aa2e81c0f1af05b6d' '--status' 'ACTIVE' '--source-version' '1' '--client-token' 'ea-EA002-7f05b303e4e5a89c' '--region' 'us-east-1'

# ==== account 999900000029 (member): run with credentials of this account
account '999900000029'

# step 24: closes EA002 EA002-5c846b1d201cd6d7 (organization grant `Claude 3.7 Sonnet` for Claude 3.7 Sonnet is DISABLED for 89 days; the account spent $77.28 at public price meanwhile)
run 'aws' 'license-manager' 'create-grant-version' '--grant-arn' 'arn:aws:license-manager::123456789012:grant:g-233182d82ae6c86376717c93128df6fc' '--status' 'ACTIVE' '--source-version' '1' '--client-token' 'ea-EA002-5c846b1d201cd6d7' '--region' 'us-east-1'

# ==== account 999900000030 (member): run with credentials of this account
account '999900000030'

# step 25: closes EA002 EA002-530a6e332c75dd06 (organization grant `Claude 3.7 Sonnet` for Claude 3.7 Sonnet is DISABLED for 89 days; the account spent $101.92 at public price meanwhile)
run 'aws' 'license-manager' 'create-grant-version' '--grant-arn' 'arn:aws:license-manager::123456789012:grant:g-bf451c278358edb39d1e1ece18edf4f2' '--status' 'ACTIVE' '--source-version' '1' '--client-token' 'ea-EA002-530a6e332c75dd06' '--region' 'us-east-1'

# ==== account 999900000032 (member): run with credentials of this account
account '999900000032'

# step 26: closes EA002 EA002-902a393bad08f6ee (organization grant `Claude 3.7 Sonnet` for Claude 3.7 Sonnet is DISABLED for 89 days; the account spent $2,248.78 at public price meanwhile)
run 'aws' 'license-manager' 'create-grant-version' '--grant-arn' 'arn:aws:license-manager::123456789012:grant:g-1e2fe91c356fc282844cef3c505774c8' '--status' 'ACTIVE' '--source-version' '1' '--client-token' 'ea-EA002-902a393bad08f6ee' '--region' 'us-east-1'

# ==== account 999900000035 (member): run with credentials of this account
account '999900000035'

# step 27: closes EA002 EA002-7a47e1a5c1eb81e3 (organization grant `Claude 3.7 Sonnet` for Claude 3.7 Sonnet is DISABLED for 89 days; the account spent $86.75 at public price meanwhile)
run 'aws' 'license-manager' 'create-grant-version' '--grant-arn' 'arn:aws:license-manager::123456789012:grant:g-962d73abf3369d1914e611875717c42a' '--status' 'ACTIVE' '--source-version' '1' '--client-token' 'ea-EA002-7a47e1a5c1eb81e3' '--region' 'us-east-1'

# step 28: closes EA002 EA002-7004340049ccea62 (ou grant `Claude 3 Haiku` for Claude 3 Haiku is DISABLED for 88 days)
run 'aws' 'license-manager' 'create-grant-version' '--grant-arn' 'arn:aws:license-manager::123456789012:grant:g-fde492489327a19abed63303279356f0' '--status' 'ACTIVE' '--source-version' '1' '--client-token' 'ea-EA002-7004340049ccea62' '--region' 'us-east-1'

# ==== account 999900000036 (member): run with credentials of this account
account '999900000036'

# step 29: closes EA002 EA002-04ecc2a8b9e1c0bd (organization grant `Claude 3.7 Sonnet` for Claude 3.7 Sonnet is DISABLED for 89 days; the account spent $93.61 at public price meanwhile)
run 'aws' 'license-manager' 'create-grant-version' '--grant-arn' 'arn:aws:license-manager::123456789012:grant:g-2c74108efd187e1298e4ad35e80ee7a5' '--status' 'ACTIVE' '--source-version' '1' '--client-token' 'ea-EA002-04ecc2a8b9e1c0bd' '--region' 'us-east-1'

# ==== account 999900000039 (member): run with credentials of this account
account '999900000039'

# step 30: closes EA002 EA002-5fcb11cec86774f9 (organization grant `Claude 3.7 Sonnet` for Claude 3.7 Sonnet is DISABLED for 89 days; the account spent $51.85 at public price meanwhile)
run 'aws' 'license-manager' 'create-grant-version' '--grant-arn' 'arn:aws:license-manager::123456789012:grant:g-0f551507e24c8f5dea517e20e255a808' '--status' 'ACTIVE' '--source-version' '1' '--client-token' 'ea-EA002-5fcb11cec86774f9' '--region' 'us-east-1'

# step 31: closes EA002 EA002-ae2b5ce94ca1e9d0 (ou grant `Claude 3 Haiku` for Claude 3 Haiku is DISABLED for 88 days; the account spent $14.45 at public price meanwhile)
run 'aws' 'license-manager' 'create-grant-version' '--grant-arn' 'arn:aws:license-manager::123456789012:grant:g-ac253f7c52bc8287d88567550b515d93' '--status' 'ACTIVE' '--source-version' '1' '--client-token' 'ea-EA002-ae2b5ce94ca1e9d0' '--region' 'us-east-1'

# ==== 63 finding(s) no command closes: a person decides (fix-plan.json, "decisions")
# EA001 EA001-b72d04af928e3986 999900000032 Claude 3.7 Sonnet: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA001 EA001-604f18f59e375125 999900000002 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA005 EA005-ac9200a07fecbc60 999900000002 Command R+: whether the account should stop using the model, or the subscription be renewed
# EA001 EA001-0bddfb768308bfac 210987654321 Claude 3.7 Sonnet: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA001 EA001-8ad8fef52aac893c 999900000026 Claude 3.7 Sonnet: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA001 EA001-eff705eee6aaed1c 111122223333 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA001 EA001-0712b40c46d51ee8 999900000007 Claude 3.7 Sonnet: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA001 EA001-cd27d1741453a518 999900000020 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA001 EA001-830df3b3cb8e0f67 999900000009 Claude 3.7 Sonnet: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA001 EA001-4351c139eb1636d1 111122223333 Command R+: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA001 EA001-357105ab74260d7b 999900000014 Claude 3.7 Sonnet: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA001 EA001-f84508bb598e17cb 999900000002 Command R+: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA001 EA001-23b8b1ebf94821a1 777788889999 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA001 EA001-daca166700f03ac0 999900000015 Claude 3.7 Sonnet: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA001 EA001-1271ae903ec5d9aa 111122223333 Claude 3 Haiku: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA001 EA001-f1c21a439e3d8cbf 999900000024 Claude 3.7 Sonnet: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA001 EA001-560db33cbf1d3807 999900000030 Claude 3.7 Sonnet: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA001 EA001-359b3e0c9c5049fb 999900000036 Claude 3.7 Sonnet: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA001 EA001-88d903134304f72d 999900000002 Claude 3 Haiku: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA001 EA001-7214a0478ecc9ce9 999900000035 Claude 3.7 Sonnet: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA001 EA001-fc75910e9f8acb0c 999900000027 Claude 3.7 Sonnet: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA001 EA001-7220605aea375dc3 999900000029 Claude 3.7 Sonnet: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA001 EA001-1905e3a483244ac5 999900000014 Claude 3 Haiku: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA001 EA001-cd1cd96622d335bb 999900000008 Claude 3.7 Sonnet: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA001 EA001-0d0a047a151391f6 999900000020 Claude 3 Haiku: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA001 EA001-fa3f6de1fc2b34a0 444455556666 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA001 EA001-15a255555d388809 999900000039 Claude 3.7 Sonnet: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA001 EA001-54da4cd19ab4b7f8 999900000038 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA001 EA001-cc26cf6cd61f2ac3 999900000016 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA001 EA001-2b6d11d267fb8e18 999900000023 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA001 EA001-6b5dbaf199e3a098 999900000031 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA001 EA001-528f84d542a39f1c 999900000021 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA001 EA001-4a5af5fbe5614892 999900000025 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA001 EA001-b31ca1672b0821b5 999900000019 Claude 3.7 Sonnet: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA001 EA001-6d46a80fa5bd349e 999900000028 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA001 EA001-0e44a174b74ba808 999900000033 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA001 EA001-c2f64752e7717a4d 999900000039 Claude 3 Haiku: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA013 EA013-50bd40b79c327bd2 777788889999 Claude 3 Haiku: open a case with AWS Marketplace billing with the account, the days and the agreement; check that the grant is ACTIVE in the member account itself and covers the region and operations used
# EA001 EA001-57d20aae30fd2ab8 999900000006 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA001 EA001-503489fa6ae01f2b 999900000037 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA001 EA001-70233ff643276ffb 777788889999 Claude 3 Haiku: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA001 EA001-168fdb86123e6348 999900000019 Claude 3 Haiku: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA002 EA002-dbd5e08ab942d50d 999900000019 Claude 3 Haiku: the grant is PENDING_WORKFLOW: wait for AWS's workflow to finish, or recreate the grant
# EA001 EA001-1350ec60e5a895e7 999900000013 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA001 EA001-9360290165f344fe 999900000012 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA001 EA001-487fc37879a655da 999900000037 Claude 3 Haiku: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA009 EA009-2019e0a0bb9ff712 999900000009 Jamba 1.5 Large (Amazon Bedrock Edition): map the product to a license in the config, or subscribe centrally
# EA014 EA014-43da2908c661423b 210987654321 Claude 3.7 Sonnet: find the grant that covers the account (a license or grant the run could not read, a member's own subscription, or a grant activated at a time no event dates) and check the collection's permissions and `doctor`
# EA009 EA009-647b1ed45369c1d4 999900000036 Jamba 1.5 Large (Amazon Bedrock Edition): map the product to a license in the config, or subscribe centrally
# EA003 EA003-f44e2f5b6c93c528 999900000012 Claude 3 Haiku: whether to recreate the grant for the account (create the replacement before deleting this one)
# EA003 EA003-bde32f16477e09ac 999900000013 Claude 3 Haiku: whether to recreate the grant for the account (create the replacement before deleting this one)
# EA011 EA011-76a1cd5b012998b9 123456789012 Claude 3.7 Sonnet: renew or replace the private offer with the seller before it ends (AWS Marketplace > Manage subscriptions), or plan the public-price spend
# EA012 EA012-39507352d4a46b6d 123456789012 Command R+: check the subscription in AWS Marketplace > Manage subscriptions; delete the license's grants if the cancellation stands, then run `verify-cleanup`
# EA010 EA010-701f5d43c0c24afd 999900000032 : tag the account or the usage with the team, or add an OU rule
# EA010 EA010-60410432b2a16f84 999900000007 : tag the account or the usage with the team, or add an OU rule
# EA010 EA010-a9f59ca762e53e30 999900000026 : tag the account or the usage with the team, or add an OU rule
# EA010 EA010-1a53cac8b5da9560 999900000009 : tag the account or the usage with the team, or add an OU rule
# EA010 EA010-596cc27ea0794ecb 999900000030 : tag the account or the usage with the team, or add an OU rule
# EA010 EA010-9fabe647f5c6c571 999900000029 : tag the account or the usage with the team, or add an OU rule
# EA010 EA010-8c819ae92712ff40 999900000035 : tag the account or the usage with the team, or add an OU rule
# EA010 EA010-bd5ae224e489c27f 999900000008 : tag the account or the usage with the team, or add an OU rule
# EA010 EA010-fa4f70b99555e7f7 999900000019 : tag the account or the usage with the team, or add an OU rule
# EA006 EA006-9edfa9f2835090cd 444455556666 Claude 3.7 Sonnet: in the member account, cancel its own subscription in AWS Marketplace > Manage subscriptions (no API): the organization's grant covers it

echo "fix-plan: done"
