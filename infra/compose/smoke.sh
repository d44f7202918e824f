#!/usr/bin/env bash
# Compose smoke test (needs a Docker engine; run by CI, `make compose-smoke` locally): builds the images,
# starts the whole stack, waits for /health of every service, checks that the scorer scores the
# simulator's stream and that Prometheus scrapes it, then tears everything down (volumes too).
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p test-artifacts
TIMEOUT=${SMOKE_TIMEOUT:-600}

cleanup() {
  docker compose ps -a > test-artifacts/compose-ps.txt 2>&1 || true
  docker compose logs --no-color > test-artifacts/compose.log 2>&1 || true
  docker compose down -v --remove-orphans > /dev/null 2>&1 || true
}
trap cleanup EXIT

wait_for() { # name url [grep-pattern]
  local name=$1 url=$2 pattern=${3:-} deadline=$((SECONDS + TIMEOUT)) body
  while ((SECONDS < deadline)); do
    if body=$(curl -fsS --max-time 5 "$url" 2> /dev/null) && { [ -z "$pattern" ] || grep -Eq "$pattern" <<< "$body"; }; then
      echo "ok   $name ($url)"
      return 0
    fi
    sleep 3
  done
  echo "FAIL $name: $url did not answer${pattern:+ with /$pattern/} within ${TIMEOUT}s" >&2
  return 1
}

docker compose up -d --build

# The registry's health is on its management port (9000, not published); from the host, its API answering.
wait_for registry http://127.0.0.1:18081/apis/ccompat/v7/subjects
# The scorer and the drift monitor scale, so Docker picks their loopback host ports.
SCORER=$(docker compose port scorer 8080)
DRIFT=$(docker compose port drift 8080)
wait_for scorer "http://$SCORER/health" '"status":"ok"'
wait_for drift "http://$DRIFT/health"
wait_for prometheus http://127.0.0.1:9090/-/ready
wait_for grafana http://127.0.0.1:3000/api/health '"database": ?"ok"'
wait_for scorer-ready "http://$SCORER/ready" '"ready":true'
wait_for scorer-scoring "http://$SCORER/metrics" '^scorer_applications_scored_total [1-9]'
wait_for prometheus-scrapes-scorer 'http://127.0.0.1:9090/api/v1/query?query=up%7Bjob%3D%22scorer%22%7D' '"value":\[[0-9.]+,"1"\]'
wait_for grafana-dashboard 'http://127.0.0.1:3000/api/dashboards/uid/credit-risk' '"uid":"credit-risk"'
# The documented scale-out (docs/operations.md) works: three scorers, all healthy.
docker compose up -d --no-build --scale scorer=3 scorer
for port in $(docker compose ps -q scorer | xargs -n1 docker port | sed -n 's/^8080\/tcp -> //p'); do
  wait_for "scorer-replica ($port)" "http://$port/health" '"status":"ok"'
done
echo "compose smoke test: all services healthy"
