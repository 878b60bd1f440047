# Sourced by the process tests that need a database of their own on DATABASE_URL's server.
#   fresh_database NAME   (re)creates database NAME there and prints its URL (query string kept)
#   drop_database NAME    drops it again (for the EXIT trap; never fails)
SERVER_URL="$DATABASE_URL"
fresh_database() {
  local base="${SERVER_URL%%\?*}"
  PGOPTIONS="-c client_min_messages=warning" psql "$SERVER_URL" -qc "drop database if exists $1" -c "create database $1" >/dev/null
  echo "${base%/*}/$1${SERVER_URL#"$base"}"
}
drop_database() {
  psql "$SERVER_URL" -qc "drop database if exists $1" >/dev/null 2>&1 || true
}
