#!/bin/bash
# Container health check for the compiled programs (the runtime image has no
# curl): exits 0 when http://127.0.0.1:PORT/PATH answers 200.
# Usage: healthcheck PORT [PATH]
set -u
exec 3<>"/dev/tcp/127.0.0.1/${1:?usage: healthcheck PORT [PATH]}" || exit 1
printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "${2:-/healthz}" >&3
IFS= read -r -t 5 status <&3 || exit 1
[[ $status == "HTTP/1."[01]" 200"* ]]
