#!/bin/sh
# scimd-token.sh BASE CLIENT_ID CLIENT_SECRET
#
# Prints a new SCIM connector token (scope "scim") of the scimd at BASE
# (e.g. http://127.0.0.1:8080), minted as docs/idp-setup.md describes: an
# admin access token from the management application's client credentials
# (start scimd with SCIMD_BOOTSTRAP_CLIENT_ID/SECRET set, or read them from
# <data-dir>/bootstrap-credentials), then POST /cis/v1/manage/api-tokens.
# Needs curl and jq.
set -eu
base=$1 id=$2 secret=$3
admin=$(curl -sf "$base/oidc/token" -d grant_type=client_credentials \
  --data-urlencode "client_id=$id" --data-urlencode "client_secret=$secret" | jq -r .access_token)
curl -sf -X POST "$base/cis/v1/manage/api-tokens" -H "Authorization: Bearer $admin" \
  -H 'Content-Type: application/json' -d '{"description":"scimload"}' | jq -r .result.token
