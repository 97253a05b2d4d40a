#!/bin/sh
# Entrypoint of llm-gateway-offline/litellm: like the upstream image it ends in `exec litellm "$@"`, after
#  1. loading litellm-offline's settings (/opt/litellm-offline/env.sh: Prisma engine paths, DISABLE_SCHEMA_UPDATE=true);
#  2. when DATABASE_URL is set (only that variable: LiteLLM's DATABASE_HOST/... alternative is not handled here):
#     waiting for the database with pg_isready, at most LITELLM_DB_WAIT_SECONDS (default 120; exit 1 after),
#     then applying LiteLLM's SQL migrations with apply-migrations.sh (only new ones; exit 1 if one fails).
# With --prepare-only as its only argument it ends there (exit 0) instead: the playbook's replica launcher runs it so
# before it starts LiteLLM itself.
set -eu

. /opt/litellm-offline/env.sh

log() { echo "$(date -u '+%Y-%m-%d %H:%M:%S') [entrypoint] $*" >&2; }

if [ -n "${DATABASE_URL:-}" ]; then
  # libpq (pg_isready, psql) rejects Prisma-only URL parameters such as ?schema= or ?connection_limit=;
  # give it the URL without its query string, keeping sslmode if present.
  pg_url=${DATABASE_URL%%\?*}
  case $DATABASE_URL in
    *\?*) sslmode=$(printf '%s' "${DATABASE_URL#*\?}" | tr '&' '\n' | grep '^sslmode=' | head -n 1 || true)
          [ -n "$sslmode" ] && pg_url="$pg_url?$sslmode" ;;
  esac

  wait_s=${LITELLM_DB_WAIT_SECONDS:-120}
  start=$(date +%s)
  until pg_isready -q -d "$pg_url" -t 5; do
    if [ $(( $(date +%s) - start )) -ge "$wait_s" ]; then
      log "database not ready after ${wait_s}s (pg_isready on DATABASE_URL); giving up"
      exit 1
    fi
    sleep 2
  done
  log "database ready after $(( $(date +%s) - start ))s; applying LiteLLM migrations"
  t=$(date +%s)
  # (NOTICEs such as "column ... already exists, skipping" are expected: hide them)
  PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" /opt/litellm-offline/apply-migrations.sh "$pg_url"
  log "migrations up to date ($(( $(date +%s) - t ))s)"
fi

if [ "$*" = "--prepare-only" ]; then exit 0; fi
exec litellm "$@"
