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

# ==== 114 finding(s) no command closes: a person decides (fix-plan.json, "decisions")
# EA015 EA015-fd18ff9defc6fc7e 999900000032 Claude 3.7 Sonnet: billing already shows these days as `EA001-b72d04af928e3986`: what this plan does or asks for that finding answers this one too
# EA001 EA001-b72d04af928e3986 999900000032 Claude 3.7 Sonnet: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA001 EA001-604f18f59e375125 999900000002 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA015 EA015-da0881da47ef386f 999900000002 Claude 3.7 Sonnet: billing already shows these days as `EA001-604f18f59e375125`: what this plan does or asks for that finding answers this one too
# EA005 EA005-ac9200a07fecbc60 999900000002 Command R+: whether the account should stop using the model, or the subscription be renewed
# EA015 EA015-ddd295c68598e62a 210987654321 Claude 3.7 Sonnet: billing already shows these days as `EA001-0bddfb768308bfac`: what this plan does or asks for that finding answers this one too
# EA001 EA001-0bddfb768308bfac 210987654321 Claude 3.7 Sonnet: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA001 EA001-8ad8fef52aac893c 999900000026 Claude 3.7 Sonnet: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA015 EA015-5bf279b0fa25d348 999900000026 Claude 3.7 Sonnet: billing already shows these days as `EA001-8ad8fef52aac893c`: what this plan does or asks for that finding answers this one too
# EA015 EA015-05aef9c942bc5c3b 111122223333 Claude 3.7 Sonnet: billing already shows these days as `EA001-eff705eee6aaed1c`: what this plan does or asks for that finding answers this one too
# EA001 EA001-eff705eee6aaed1c 111122223333 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA015 EA015-6f2cbc25535a4351 999900000007 Claude 3.7 Sonnet: billing already shows these days as `EA001-0712b40c46d51ee8`: what this plan does or asks for that finding answers this one too
# EA001 EA001-0712b40c46d51ee8 999900000007 Claude 3.7 Sonnet: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA001 EA001-cd27d1741453a518 999900000020 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA015 EA015-61d51e9eccd4faeb 999900000020 Claude 3.7 Sonnet: billing already shows these days as `EA001-cd27d1741453a518`: what this plan does or asks for that finding answers this one too
# EA015 EA015-418cf86c87872255 999900000009 Claude 3.7 Sonnet: billing already shows these days as `EA001-830df3b3cb8e0f67`: what this plan does or asks for that finding answers this one too
# EA001 EA001-830df3b3cb8e0f67 999900000009 Claude 3.7 Sonnet: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA015 EA015-bd586f43721eb7e9 210987654321 Claude 3 Haiku: billing already shows these days as `EA001-6eb091e0dd43a889`: what this plan does or asks for that finding answers this one too
# EA015 EA015-3eb3144d25e75d6d 999900000007 Claude 3 Haiku: billing already shows these days as `EA001-554b81d65226de46`: what this plan does or asks for that finding answers this one too
# EA001 EA001-4351c139eb1636d1 111122223333 Command R+: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA001 EA001-357105ab74260d7b 999900000014 Claude 3.7 Sonnet: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA015 EA015-bc5155064c45bd63 999900000014 Claude 3.7 Sonnet: billing already shows these days as `EA001-357105ab74260d7b`: what this plan does or asks for that finding answers this one too
# EA001 EA001-f84508bb598e17cb 999900000002 Command R+: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA001 EA001-23b8b1ebf94821a1 777788889999 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA015 EA015-af54e228775911fe 777788889999 Claude 3.7 Sonnet: billing already shows these days as `EA001-23b8b1ebf94821a1`: what this plan does or asks for that finding answers this one too
# EA001 EA001-daca166700f03ac0 999900000015 Claude 3.7 Sonnet: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA015 EA015-3269288bf3a1733f 999900000015 Claude 3.7 Sonnet: billing already shows these days as `EA001-daca166700f03ac0`: what this plan does or asks for that finding answers this one too
# EA015 EA015-57ffbad53a81e49a 111122223333 Claude 3 Haiku: billing already shows these days as `EA001-1271ae903ec5d9aa`: what this plan does or asks for that finding answers this one too
# EA001 EA001-1271ae903ec5d9aa 111122223333 Claude 3 Haiku: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA015 EA015-b83f5779b4e8f3ea 999900000024 Claude 3.7 Sonnet: billing already shows these days as `EA001-f1c21a439e3d8cbf`: what this plan does or asks for that finding answers this one too
# EA001 EA001-f1c21a439e3d8cbf 999900000024 Claude 3.7 Sonnet: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA001 EA001-560db33cbf1d3807 999900000030 Claude 3.7 Sonnet: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA015 EA015-7e50a667c3847eff 999900000030 Claude 3.7 Sonnet: billing already shows these days as `EA001-560db33cbf1d3807`: what this plan does or asks for that finding answers this one too
# EA001 EA001-359b3e0c9c5049fb 999900000036 Claude 3.7 Sonnet: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA015 EA015-0a8b3e47e76bb985 999900000036 Claude 3.7 Sonnet: billing already shows these days as `EA001-359b3e0c9c5049fb`: what this plan does or asks for that finding answers this one too
# EA001 EA001-88d903134304f72d 999900000002 Claude 3 Haiku: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA015 EA015-118930202d5ac07e 999900000002 Claude 3 Haiku: billing already shows these days as `EA001-88d903134304f72d`: what this plan does or asks for that finding answers this one too
# EA001 EA001-7214a0478ecc9ce9 999900000035 Claude 3.7 Sonnet: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA015 EA015-8683a6b04267b5c2 999900000035 Claude 3.7 Sonnet: billing already shows these days as `EA001-7214a0478ecc9ce9`: what this plan does or asks for that finding answers this one too
# EA001 EA001-fc75910e9f8acb0c 999900000027 Claude 3.7 Sonnet: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA015 EA015-d12f51379c24a6d0 999900000027 Claude 3.7 Sonnet: billing already shows these days as `EA001-fc75910e9f8acb0c`: what this plan does or asks for that finding answers this one too
# EA001 EA001-7220605aea375dc3 999900000029 Claude 3.7 Sonnet: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA015 EA015-7866c84951b5881c 999900000029 Claude 3.7 Sonnet: billing already shows these days as `EA001-7220605aea375dc3`: what this plan does or asks for that finding answers this one too
# EA001 EA001-1905e3a483244ac5 999900000014 Claude 3 Haiku: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA015 EA015-dabb645bbaa91503 999900000014 Claude 3 Haiku: billing already shows these days as `EA001-1905e3a483244ac5`: what this plan does or asks for that finding answers this one too
# EA001 EA001-cd1cd96622d335bb 999900000008 Claude 3.7 Sonnet: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA015 EA015-64840ff0f4508bb6 999900000008 Claude 3.7 Sonnet: billing already shows these days as `EA001-cd1cd96622d335bb`: what this plan does or asks for that finding answers this one too
# EA015 EA015-63c4151e1c871027 999900000020 Claude 3 Haiku: billing already shows these days as `EA001-0d0a047a151391f6`: what this plan does or asks for that finding answers this one too
# EA001 EA001-0d0a047a151391f6 999900000020 Claude 3 Haiku: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA015 EA015-61e31cb5e8677bc9 444455556666 Claude 3.7 Sonnet: billing already shows these days as `EA001-fa3f6de1fc2b34a0`: what this plan does or asks for that finding answers this one too
# EA001 EA001-fa3f6de1fc2b34a0 444455556666 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA001 EA001-15a255555d388809 999900000039 Claude 3.7 Sonnet: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA015 EA015-9a664e21e0c42e39 999900000039 Claude 3.7 Sonnet: billing already shows these days as `EA001-15a255555d388809`: what this plan does or asks for that finding answers this one too
# EA001 EA001-54da4cd19ab4b7f8 999900000038 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA015 EA015-7f0bb555dd602cd8 999900000038 Claude 3.7 Sonnet: billing already shows these days as `EA001-54da4cd19ab4b7f8`: what this plan does or asks for that finding answers this one too
# EA015 EA015-4990269556928d2c 999900000016 Claude 3.7 Sonnet: billing already shows these days as `EA001-cc26cf6cd61f2ac3`: what this plan does or asks for that finding answers this one too
# EA001 EA001-cc26cf6cd61f2ac3 999900000016 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA001 EA001-2b6d11d267fb8e18 999900000023 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA015 EA015-991a539859579f6e 999900000023 Claude 3.7 Sonnet: billing already shows these days as `EA001-2b6d11d267fb8e18`: what this plan does or asks for that finding answers this one too
# EA015 EA015-199541b809760428 999900000031 Claude 3.7 Sonnet: billing already shows these days as `EA001-6b5dbaf199e3a098`: what this plan does or asks for that finding answers this one too
# EA001 EA001-6b5dbaf199e3a098 999900000031 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA015 EA015-dad18d32d8832208 999900000030 Claude 3 Haiku: billing already shows these days as `EA001-dda4cfdddbda0c6d`: what this plan does or asks for that finding answers this one too
# EA015 EA015-f0a8f52ddf80bbf4 999900000021 Claude 3.7 Sonnet: billing already shows these days as `EA001-528f84d542a39f1c`: what this plan does or asks for that finding answers this one too
# EA001 EA001-528f84d542a39f1c 999900000021 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA015 EA015-90006348d493d237 999900000028 Claude 3 Haiku: billing already shows these days as `EA001-c8c5fd348377eb74`: what this plan does or asks for that finding answers this one too
# EA015 EA015-fda3388e13c2ba0c 999900000025 Claude 3.7 Sonnet: billing already shows these days as `EA001-4a5af5fbe5614892`: what this plan does or asks for that finding answers this one too
# EA001 EA001-4a5af5fbe5614892 999900000025 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA015 EA015-caee3679165258c4 999900000029 Claude 3 Haiku: billing already shows these days as `EA001-c2b86ef737bb17d5`: what this plan does or asks for that finding answers this one too
# EA015 EA015-458ad9380c2c0883 999900000019 Claude 3.7 Sonnet: billing already shows these days as `EA001-b31ca1672b0821b5`: what this plan does or asks for that finding answers this one too
# EA001 EA001-b31ca1672b0821b5 999900000019 Claude 3.7 Sonnet: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA015 EA015-4130a4e862e4b394 999900000028 Claude 3.7 Sonnet: billing already shows these days as `EA001-6d46a80fa5bd349e`: what this plan does or asks for that finding answers this one too
# EA001 EA001-6d46a80fa5bd349e 999900000028 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA001 EA001-0e44a174b74ba808 999900000033 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA015 EA015-740b8488b072b937 999900000033 Claude 3.7 Sonnet: billing already shows these days as `EA001-0e44a174b74ba808`: what this plan does or asks for that finding answers this one too
# EA001 EA001-c2f64752e7717a4d 999900000039 Claude 3 Haiku: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA015 EA015-4e0e6417e440a123 999900000039 Claude 3 Haiku: billing already shows these days as `EA001-c2f64752e7717a4d`: what this plan does or asks for that finding answers this one too
# EA013 EA013-50bd40b79c327bd2 777788889999 Claude 3 Haiku: open a case with AWS Marketplace billing with the account, the days and the agreement; check that the grant is ACTIVE in the member account itself and covers the region and operations used
# EA001 EA001-57d20aae30fd2ab8 999900000006 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA015 EA015-1ebdf831b148d26f 999900000006 Claude 3.7 Sonnet: billing already shows these days as `EA001-57d20aae30fd2ab8`: what this plan does or asks for that finding answers this one too
# EA001 EA001-503489fa6ae01f2b 999900000037 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA015 EA015-8b0498ae56c42323 999900000037 Claude 3.7 Sonnet: billing already shows these days as `EA001-503489fa6ae01f2b`: what this plan does or asks for that finding answers this one too
# EA001 EA001-70233ff643276ffb 777788889999 Claude 3 Haiku: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA015 EA015-bea0556d954c1edb 777788889999 Claude 3 Haiku: billing already shows these days as `EA001-70233ff643276ffb`: what this plan does or asks for that finding answers this one too
# EA001 EA001-168fdb86123e6348 999900000019 Claude 3 Haiku: the account's grant waits for activation: the EA002 step activates it; the spend already billed at public price stays billed
# EA002 EA002-dbd5e08ab942d50d 999900000019 Claude 3 Haiku: the grant is PENDING_WORKFLOW: wait for AWS's workflow to finish, or recreate the grant
# EA015 EA015-da8ebe84b71fec0b 999900000019 Claude 3 Haiku: billing already shows these days as `EA001-168fdb86123e6348`: what this plan does or asks for that finding answers this one too
# EA015 EA015-f4dde0b30550ffca 999900000013 Claude 3.7 Sonnet: billing already shows these days as `EA001-1350ec60e5a895e7`: what this plan does or asks for that finding answers this one too
# EA001 EA001-1350ec60e5a895e7 999900000013 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA001 EA001-9360290165f344fe 999900000012 Claude 3.7 Sonnet: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA015 EA015-1905c4331c7e2a29 999900000012 Claude 3.7 Sonnet: billing already shows these days as `EA001-9360290165f344fe`: what this plan does or asks for that finding answers this one too
# EA015 EA015-be1fe673b6c99f2c 999900000037 Claude 3 Haiku: billing already shows these days as `EA001-487fc37879a655da`: what this plan does or asks for that finding answers this one too
# EA001 EA001-487fc37879a655da 999900000037 Claude 3 Haiku: covered again by the as-of date: the spend already billed at public price stays billed; check why it was exposed
# EA015 EA015-c0695a9088f764ea 111122223333 Command R+: billing already shows these days as `EA001-4351c139eb1636d1`: what this plan does or asks for that finding answers this one too
# EA015 EA015-849946ec3d41f41d 999900000002 Command R+: billing already shows these days as `EA001-f84508bb598e17cb`: what this plan does or asks for that finding answers this one too
# EA016 EA016-90de1cb1d0d8e0b8 999900000014 Claude 3.7 Sonnet: in the member account, cancel its own subscription in AWS Marketplace > Manage subscriptions (no API) once the organization's grant covers the account; until then it pays at its own terms
# EA009 EA009-2019e0a0bb9ff712 999900000009 Jamba 1.5 Large (Amazon Bedrock Edition): map the product to a license in the config, or subscribe centrally
# EA014 EA014-43da2908c661423b 210987654321 Claude 3.7 Sonnet: find the grant that covers the account (a license or grant the run could not read, a member's own subscription, or a grant activated at a time no event dates) and check the collection's permissions and `doctor`
# EA009 EA009-647b1ed45369c1d4 999900000036 Jamba 1.5 Large (Amazon Bedrock Edition): map the product to a license in the config, or subscribe centrally
# EA003 EA003-f44e2f5b6c93c528 999900000012 Claude 3 Haiku: whether to recreate the grant for the account (create the replacement before deleting this one)
# EA003 EA003-bde32f16477e09ac 999900000013 Claude 3 Haiku: whether to recreate the grant for the account (create the replacement before deleting this one)
# EA011 EA011-76a1cd5b012998b9 123456789012 Claude 3.7 Sonnet: renew or replace the private offer with the seller before it ends (AWS Marketplace > Manage subscriptions), or plan the public-price spend
# EA012 EA012-39507352d4a46b6d 123456789012 Command R+: check the subscription in AWS Marketplace > Manage subscriptions; delete the license's grants if the cancellation stands, then run `verify-cleanup`
# EA017 EA017-8327b18ba4feac54 999900000009 ai21.jamba-1-5-large-v1:0: map the model id to a product in `[[model_mappings]]` if the organization licenses it, or confirm it is a model the organization does not buy
# EA017 EA017-67c4520417b588af 999900000036 ai21.jamba-1-5-large-v1:0: map the model id to a product in `[[model_mappings]]` if the organization licenses it, or confirm it is a model the organization does not buy
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
