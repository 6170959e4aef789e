#!/usr/bin/env bash
# Creates one database per service, each owned by a login role of the same name, on a fresh
# PostgreSQL data directory. The official postgres image runs this once, from
# /docker-entrypoint-initdb.d/, as the superuser; a second start of the same volume skips it.
#
#   SERVICE_DATABASES     space-separated database (and role) names
#                         (default: order payment store delivery notification review)
#   SERVICE_DB_PASSWORD   the password of every service role (required)
#
# No service can connect to another service's database: CONNECT is revoked from PUBLIC.
set -euo pipefail

databases=${SERVICE_DATABASES:-order payment store delivery notification review}
password=${SERVICE_DB_PASSWORD:?SERVICE_DB_PASSWORD must be set}

psql=(psql -v ON_ERROR_STOP=1 -qAt --username "${POSTGRES_USER:-postgres}" --dbname postgres)

for db in $databases; do
  # Names are quoted identifiers: "order" is an SQL keyword.
  if [[ $("${psql[@]}" -c "select 1 from pg_roles where rolname = '$db'") != 1 ]]; then
    # The password goes through a psql variable (:'pw' quotes it), never into the SQL text.
    "${psql[@]}" -v pw="$password" <<<"create role \"$db\" login password :'pw'"
  fi
  if [[ $("${psql[@]}" -c "select 1 from pg_database where datname = '$db'") != 1 ]]; then
    "${psql[@]}" -c "create database \"$db\" owner \"$db\" encoding 'UTF8'"
  fi
  "${psql[@]}" -c "revoke connect on database \"$db\" from public"
  "${psql[@]}" -c "grant connect on database \"$db\" to \"$db\""
  echo "database $db ready (owner $db)"
done
