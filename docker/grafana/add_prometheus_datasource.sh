#!/bin/sh
# Profile `monitoring`: adds Prometheus to the running Grafana as a second
# datasource, through Grafana's HTTP API, so that the provisioning Grafana
# mounts stays exactly grafana/provisioning (the folder the Grafana tests
# check). Idempotent: does nothing when the datasource is already there.
# Bounded: every request times out, a refused login (401/403: the admin
# password differs from the one Grafana was first started with) fails at once
# with the reason, and compose retries a failure at most three times.
set -eu
api="http://grafana:3000/api"
user="${GF_SECURITY_ADMIN_USER:-admin}:${GF_SECURITY_ADMIN_PASSWORD:?}"
uid="activity-prometheus"

# Prints the HTTP status of a request; the body goes to /tmp/response.
request() {
  curl -sS --connect-timeout 5 --max-time 20 -o /tmp/response -w '%{http_code}' -u "$user" "$@"
}

status=$(request "$api/datasources/uid/$uid") || status=000
case "$status" in
  200)
    echo "Grafana already has the Prometheus datasource ($uid)"
    exit 0 ;;
  401 | 403)
    echo "Grafana refused the admin login (HTTP $status): GRAFANA_ADMIN_PASSWORD is not the" \
      "password Grafana keeps in its volume (it is set on Grafana's first start only)" >&2
    exit 1 ;;
  404) ;;
  *)
    echo "Cannot ask Grafana for the datasource $uid: HTTP $status $(cat /tmp/response 2>/dev/null)" >&2
    exit 1 ;;
esac
status=$(request -H "Content-Type: application/json" -X POST "$api/datasources" \
  --data "{\"name\":\"Activity Prometheus\",\"uid\":\"$uid\",\"type\":\"prometheus\",
    \"access\":\"proxy\",\"url\":\"http://prometheus:9090\",\"isDefault\":false,
    \"jsonData\":{\"timeInterval\":\"15s\"}}") || status=000
if [ "$status" != 200 ]; then
  echo "Cannot add the Prometheus datasource: HTTP $status $(cat /tmp/response 2>/dev/null)" >&2
  exit 1
fi
echo "Added the Prometheus datasource ($uid) to Grafana"
