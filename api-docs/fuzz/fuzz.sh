#!/usr/bin/env bash
# schemathesis over the published API document, through a running gateway, once per role:
# generated requests (valid and invalid) for every operation, each answer checked against the
# document: no server error (a 5xx other than the documented 503), every status, content type,
# header and body as documented, valid data accepted and invalid data refused.
#
#   SCHEMATHESIS   the schemathesis executable (./dev fuzz installs it)
#   GATEWAY_URL    http://127.0.0.1:<the gateway's port in ports.tsv>
#   FUZZ_EXAMPLES  examples per operation and role (10; `./dev fuzz --full`: 100)
#   FUZZ_ROLES     "customer owner rider admin"
#   FUZZ_SEED      a seed, to replay a run exactly (random by default)
#   FUZZ_OUT       where each role's report goes (FD_STATE/fuzz)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
GATEWAY_URL=${GATEWAY_URL:-http://127.0.0.1:$(awk -F '\t' '$1 == "gateway" && $2 == "http" { print $3 }' "$ROOT/ports.tsv")}
FUZZ_EXAMPLES=${FUZZ_EXAMPLES:-10}
FUZZ_ROLES=${FUZZ_ROLES:-customer owner rider admin}
FUZZ_OUT=${FUZZ_OUT:-${FD_STATE:-$HOME/.local/state/fooddelivery}/fuzz}
: "${SCHEMATHESIS:?set SCHEMATHESIS to the schemathesis executable}"

curl -fs -o /dev/null --max-time 5 "$GATEWAY_URL/health/ready" \
  || { echo "fuzz: no ready gateway at $GATEWAY_URL (./dev up)" >&2; exit 1; }
mkdir -p "$FUZZ_OUT"
# schemathesis keeps its cache in the working directory: there, not in the work tree.
cd "$FUZZ_OUT"

token() { # token ROLE: a development token for a user of its own
  curl -fs -X POST "$GATEWAY_URL/auth/dev-token" -H 'content-type: application/json' \
    -d "{\"userId\":\"fuzz-$1\",\"role\":\"$1\"}" | jq -er .accessToken
}

seed_args=()
[[ -n ${FUZZ_SEED:-} ]] && seed_args=(--seed "$FUZZ_SEED")
failed=()
printf '%-9s %-8s %s\n' ROLE RESULT SUMMARY
for role in $FUZZ_ROLES; do
  report=$FUZZ_OUT/$role.txt
  status=0
  # POST /payments is the order service's call: routed for admins (gateway/src/rules.rs) but
  # left out of the public document, so for an admin /payments answers POST and OPTIONS as the
  # payment service does, not as the document says. The per-operation settings cannot name an
  # operation the document does not have: admins leave /payments out (the other roles fuzz it).
  role_args=()
  [[ $role == admin ]] && role_args=(--exclude-path /payments)
  "$SCHEMATHESIS" --no-color --config-file "$ROOT/api-docs/fuzz/schemathesis.toml" run \
    "$ROOT/docs/openapi.json" --url "$GATEWAY_URL" \
    -H "Authorization: Bearer $(token "$role")" \
    --checks all "${role_args[@]}" --max-examples "$FUZZ_EXAMPLES" "${seed_args[@]}" \
    --report junit --report-junit-path "$FUZZ_OUT/$role.xml" >"$report" 2>&1 || status=$?
  summary=$(grep -E '^=+ .* in [0-9.]+s =+$' "$report" | tail -n 1 | tr -d '=' | xargs || true)
  if ((status == 0)); then
    printf '%-9s %-8s %s\n' "$role" ok "$summary"
  else
    printf '%-9s %-8s %s\n' "$role" FAILED "$summary ($report)"
    failed+=("$role")
  fi
done
if ((${#failed[@]})); then
  for role in "${failed[@]}"; do
    echo
    echo "---- $role: failures"
    sed -n '/^=* FAILURES =*$/,/^=* WARNINGS =*$/p' "$FUZZ_OUT/$role.txt" | head -n 200
  done
  exit 1
fi
