#!/usr/bin/env bash
# Entrypoint compatible with the official postgres image, for Debian's PostgreSQL 15.
# - POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE) is required to initialise a new data directory,
#   unless POSTGRES_HOST_AUTH_METHOD=trust. POSTGRES_USER defaults to "postgres", POSTGRES_DB to POSTGRES_USER.
# - POSTGRES_INITDB_ARGS are passed to initdb; POSTGRES_HOST_AUTH_METHOD (default scram-sha-256) is the
#   pg_hba method of remote connections.
# - On first initialisation only: /docker-entrypoint-initdb.d/*.sql, *.sql.gz, *.sql.xz and *.sh run in name order
#   (an executable *.sh is executed, any other *.sh is sourced), against POSTGRES_DB as POSTGRES_USER.
# - An existing data directory (one with PG_VERSION) is never re-initialised or changed.
# - Started as root, it fixes the ownership of PGDATA and re-executes itself as the postgres user.
set -Eeuo pipefail

# VAR_FILE support: file_env VAR [DEFAULT]
file_env() {
  local var=$1 fileVar="${1}_FILE" def=${2:-}
  if [[ -n ${!var:-} && -n ${!fileVar:-} ]]; then
    echo >&2 "error: both $var and $fileVar are set (but are exclusive)"; exit 1
  fi
  local val=$def
  if [[ -n ${!var:-} ]]; then val=${!var}; elif [[ -n ${!fileVar:-} ]]; then val=$(<"${!fileVar}"); fi
  export "$var"="$val"
  unset "$fileVar"
}

log() { printf '%s [entrypoint] %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S UTC')" "$*"; }

# `docker run IMAGE -c foo=bar` means postgres with those options
if [[ ${1:-} == -* ]]; then set -- postgres "$@"; fi

if [[ ${1:-} != postgres ]]; then exec "$@"; fi

: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA

if [[ $(id -u) -eq 0 ]]; then
  mkdir -p "$PGDATA"
  chmod 00700 "$PGDATA" || :
  find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
  mkdir -p /var/run/postgresql
  chown postgres:postgres /var/run/postgresql || :
  chmod 03775 /var/run/postgresql || :
  export HOME=/var/lib/postgresql
  exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

file_env POSTGRES_PASSWORD
file_env POSTGRES_USER postgres
file_env POSTGRES_DB "$POSTGRES_USER"
file_env POSTGRES_INITDB_ARGS
: "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"

if [[ ! -s $PGDATA/PG_VERSION ]]; then
  if [[ -z ${POSTGRES_PASSWORD:-} && $POSTGRES_HOST_AUTH_METHOD != trust ]]; then
    cat >&2 <<'EOF'
Error: the database is uninitialized and the superuser password is not specified.
       Set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE) to a non-empty value,
       or POSTGRES_HOST_AUTH_METHOD=trust to allow all connections without a password (not recommended).
EOF
    exit 1
  fi

  if [[ -n $(ls -A "$PGDATA" 2>/dev/null) ]]; then
    echo >&2 "Error: $PGDATA is not empty but holds no PostgreSQL data directory (no PG_VERSION); refusing to initialise it."
    exit 1
  fi

  log "initialising a new database cluster in $PGDATA"
  pwfile=$(mktemp)
  trap 'rm -f "$pwfile"' EXIT
  printf '%s\n' "${POSTGRES_PASSWORD:-}" >"$pwfile"
  # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a word list, as in the official image
  initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust --auth-host="$POSTGRES_HOST_AUTH_METHOD" \
         --encoding=UTF8 --locale=C.UTF-8 $POSTGRES_INITDB_ARGS >/dev/null
  rm -f "$pwfile"
  trap - EXIT

  # Listen on all addresses; password authentication (scram-sha-256 by default) from any host.
  {
    echo
    echo "listen_addresses = '*'"
    echo "password_encryption = 'scram-sha-256'"
  } >>"$PGDATA/postgresql.conf"
  printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"

  # Temporary server on the Unix socket only, for the database creation and the init scripts.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start >/dev/null
  export PGUSER=$POSTGRES_USER PGHOST=/var/run/postgresql PGPORT=5432
  psql_() { psql -v ON_ERROR_STOP=1 --no-password --no-psqlrc "$@"; }

  if [[ $POSTGRES_DB != postgres ]]; then
    exists=$(psql_ -d postgres -tA --set db="$POSTGRES_DB" <<<"SELECT 1 FROM pg_database WHERE datname = :'db';")
    if [[ -z $exists ]]; then
      psql_ -d postgres -q --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
    fi
  fi

  shopt -s nullglob
  for f in /docker-entrypoint-initdb.d/*; do
    case $f in
      *.sh)
        if [[ -x $f ]]; then log "running $f"; "$f"; else log "sourcing $f"; . "$f"; fi ;;
      *.sql)    log "running $f"; psql_ -d "$POSTGRES_DB" -f "$f" >/dev/null ;;
      *.sql.gz) log "running $f"; gunzip -c "$f" | psql_ -d "$POSTGRES_DB" >/dev/null ;;
      *.sql.xz) log "running $f"; xzcat "$f" | psql_ -d "$POSTGRES_DB" >/dev/null ;;
      *)        log "ignoring $f" ;;
    esac
  done
  shopt -u nullglob

  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  unset PGUSER PGHOST PGPORT
  log "initialisation complete; starting PostgreSQL"
else
  log "PostgreSQL data directory found in $PGDATA; skipping initialisation"
fi

exec "$@"
