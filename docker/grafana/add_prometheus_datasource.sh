#!/bin/sh
# Profile `monitoring`: adds Prometheus to the running Grafana as a second
# datasource, through Grafana's HTTP API, so that the provisioning Grafana
# mounts stays exactly grafana/provisioning (the folder the Grafana tests
# check). Idempotent: does nothing when the datasource is already there.
set -eu
api="http://grafana:3000/api"
user="${GF_SECURITY_ADMIN_USER:-admin}:${GF_SECURITY_ADMIN_PASSWORD:?}"
uid="activity-prometheus"
if curl -fsS -o /dev/null -u "$user" "$api/datasources/uid/$uid"; then
  echo "Grafana already has the Prometheus datasource ($uid)"
  exit 0
fi
curl -fsS -u "$user" -H "Content-Type: application/json" -X POST "$api/datasources" \
  --data "{\"name\":\"Activity Prometheus\",\"uid\":\"$uid\",\"type\":\"prometheus\",
    \"access\":\"proxy\",\"url\":\"http://prometheus:9090\",\"isDefault\":false,
    \"jsonData\":{\"timeInterval\":\"15s\"}}"
echo
echo "Added the Prometheus datasource ($uid) to Grafana"
