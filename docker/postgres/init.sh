#!/usr/bin/env bash
# Runs once, when the postgres container initialises an empty data volume
# (it is mounted into /docker-entrypoint-initdb.d). Creates the activity
# database and its two login roles:
#   - the consumer's writer, which owns the database and therefore every table
#     its migrations create, and is no superuser;
#   - Grafana's reader, which may only connect here; the migrations grant it
#     SELECT on the dashboard tables, and its sessions are read-only even if
#     someone grants it more by mistake.
# Safe to run again: existing roles get their password and limits reset.
# Passwords come from the environment; psql quotes every value (:'var'), so
# any password works. Outside the container (tests) the libpq PG* variables
# say where the server is.
set -euo pipefail

: "${ACTIVITY_WRITER_PASSWORD:?ACTIVITY_WRITER_PASSWORD must be set (see .env.example)}"
: "${GRAFANA_READER_PASSWORD:?GRAFANA_READER_PASSWORD must be set (see .env.example)}"

psql \
  -v ON_ERROR_STOP=1 --no-psqlrc --quiet \
  --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
  -v db="${ACTIVITY_DATABASE:-activity}" \
  -v writer="${ACTIVITY_WRITER_USER:-activity_writer}" \
  -v reader="${GRAFANA_READER_USER:-grafana_reader}" \
  -v writer_password="$ACTIVITY_WRITER_PASSWORD" \
  -v reader_password="$GRAFANA_READER_PASSWORD" <<'SQL'
-- psql does not expand :'vars' inside DO blocks, so each statement is built
-- with format() and run by \gexec.
SELECT format('CREATE ROLE %I LOGIN', :'writer')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'writer') \gexec
SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION '
              'NOBYPASSRLS PASSWORD %L', :'writer', :'writer_password') \gexec

SELECT format('CREATE ROLE %I LOGIN', :'reader')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'reader') \gexec
SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION '
              'NOBYPASSRLS PASSWORD %L', :'reader', :'reader_password') \gexec
SELECT format('ALTER ROLE %I SET default_transaction_read_only = on', :'reader') \gexec

SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'writer')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'db', :'writer') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'db') \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', :'db', :'reader') \gexec

\connect :"db"
-- The database owner (the writer) may create in public (PostgreSQL 15+);
-- nobody else may.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SELECT format('GRANT USAGE ON SCHEMA public TO %I', :'reader') \gexec
-- Which tables (and columns) the reader may SELECT is granted by the
-- consumer's migrations (sql/0002_grafana_reader.sql), table by table.
SQL

echo "activity init: database ${ACTIVITY_DATABASE:-activity}, writer ${ACTIVITY_WRITER_USER:-activity_writer}, reader ${GRAFANA_READER_USER:-grafana_reader}"
