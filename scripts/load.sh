#!/usr/bin/env bash
# Load harness for the creates/s figures of docs/performance.md ("Load
# harness"): builds the binary, starts it on a fresh database, creates
# LOAD_USERS users with an API token each through the CLI, and has wrk post
# commitments (scripts/load.lua) rotating the users' tokens until each user
# got LOAD_PER_USER of them; then checks from the API that every user has at
# least LOAD_MIN_OPEN open commitments, and measures GET /healthz with the
# same wrk settings as the same-run reference.
#
#   scripts/load.sh                                  # SQLite, one instance
#   FOLLOWUP_DATABASE=postgres://… LOAD_INSTANCES=2 scripts/load.sh
#   FOLLOWUP_DATABASE=… FOLLOWUP_SECRET_FILE=… LOAD_URLS="http://a http://b" scripts/load.sh
#
# Settings (environment):
#   FOLLOWUP_DATABASE   database for the CLI and the started instances
#                       (default: sqlite: in a fresh temp dir)
#   FOLLOWUP_SECRET_FILE  the instances' key (default: in the temp dir)
#   LOAD_INSTANCES      processes to start on the database (default 1)
#   LOAD_URLS           drive these running instances instead of starting any
#   LOAD_USERS=20 LOAD_PER_USER=510 LOAD_MIN_OPEN=500
#   LOAD_THREADS=2 LOAD_CONNECTIONS=8   wrk -t and -c, split over the URLs
#   LOAD_MAX_DURATION=600s  wrk -d: the run ends earlier, once every thread
#                       has its answers
#   LOAD_REF_DURATION=10s   the /healthz reference
#   LOAD_KEEP=1         keep the temp dir (database, logs, wrk output)
# Exit status 1 when an answer was not 2xx or a user has too few open
# commitments.
set -euo pipefail
cd "$(dirname "$0")/.."

users=${LOAD_USERS:-20}
per_user=${LOAD_PER_USER:-510}
min_open=${LOAD_MIN_OPEN:-500}
threads=${LOAD_THREADS:-2}
conns=${LOAD_CONNECTIONS:-8}
max_duration=${LOAD_MAX_DURATION:-600s}
ref_duration=${LOAD_REF_DURATION:-10s}
instances=${LOAD_INSTANCES:-1}

for tool in wrk curl jq go; do
  command -v "$tool" >/dev/null || { echo "load.sh: $tool is missing (apt-get install -y wrk curl jq)" >&2; exit 2; }
done

work=$(mktemp -d -t followup-load.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "${LOAD_KEEP:-}" ]; then
    echo "== kept $work (database, logs, wrk output)"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

export FOLLOWUP_DATABASE=${FOLLOWUP_DATABASE:-sqlite:$work/followup.db}
export FOLLOWUP_SECRET_FILE=${FOLLOWUP_SECRET_FILE:-$work/secret.key}
export FOLLOWUP_LOG_LEVEL=warn

echo "== $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) cores, $(go version | cut -d' ' -f3), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== database: ${FOLLOWUP_DATABASE%%\?*}" | sed -E 's#(://[^:/@]*):[^@]*@#\1:***@#'

bin=$work/followup
go build -o "$bin" ./cmd/followup

# Users and tokens through the CLI, before any instance starts.
run=$(date +%s)
printf '%s\n' "load password $run" >"$work/password"
zones=(America/New_York Europe/Berlin UTC Asia/Tokyo America/Los_Angeles)
: >"$work/tokens"
for ((i = 0; i < users; i++)); do
  email="load$i-$run@example.com"
  "$bin" user add --email "$email" --password-file "$work/password" --timezone "${zones[i % ${#zones[@]}]}" >/dev/null
  "$bin" token create --email "$email" --name load >>"$work/tokens"
done

# The instances: started here on free ports, or given.
urls=()
if [ -n "${LOAD_URLS:-}" ]; then
  read -r -a urls <<<"$LOAD_URLS"
else
  for ((i = 0; i < instances; i++)); do
    FOLLOWUP_ADDR=127.0.0.1:0 "$bin" serve >"$work/out$i" 2>"$work/err$i" &
    pids+=($!)
  done
  for ((i = 0; i < instances; i++)); do
    for _ in $(seq 100); do
      url=$(grep -o 'http://[^ ]*' "$work/out$i" || true)
      [ -n "$url" ] && break
      sleep 0.1
    done
    [ -n "$url" ] || { echo "load.sh: instance $i did not start:" >&2; cat "$work/err$i" >&2; exit 2; }
    urls+=("$url")
  done
fi
n=${#urls[@]}
t=$(((threads + n - 1) / n))
c=$((conns / n))
[ "$c" -ge "$t" ] || c=$t
per_thread=$(((users * per_user + n * t - 1) / (n * t)))
echo "== ${users} users x ${per_user} creates, ${n} instance(s): ${urls[*]}; wrk -t$t -c$c each, $per_thread answers a thread"

# The creates, one wrk per instance, at once. Each wrk thread marks its
# end in a file; once all have, wrk is interrupted, which ends its run and
# prints its figures over the time it really ran.
for ((i = 0; i < n; i++)); do
  wrk -t"$t" -c"$c" -d"$max_duration" --timeout 30s -s scripts/load.lua "${urls[i]}" -- "$work/tokens" "$per_thread" "$t" "$work/done$i" \
    >"$work/wrk$i" 2>"$work/wrkerr$i" &
  wrks[i]=$!
done
while :; do
  running=0
  for ((i = 0; i < n; i++)); do
    if kill -0 "${wrks[i]}" 2>/dev/null; then
      if [ "$(find "$work" -maxdepth 1 -name "done$i.*" | wc -l)" -ge "$t" ]; then
        kill -INT "${wrks[i]}" 2>/dev/null || true
      else
        running=1
      fi
    fi
  done
  [ "$running" -eq 1 ] || break
  sleep 0.05
done
for ((i = 0; i < n; i++)); do wait "${wrks[i]}" || true; done
total_rate=0
bad=0
for ((i = 0; i < n; i++)); do
  echo "-- creates on ${urls[i]}"
  grep -E 'Requests/sec|requests in|answers:|latency p|Non-2xx|Socket errors' "$work/wrk$i" | sed 's/^ */   /'
  head -3 "$work/wrkerr$i" | sed 's/^/   /'
  rate=$(awk '/Requests\/sec/ {print $2}' "$work/wrk$i")
  total_rate=$(awk -v a="$total_rate" -v b="$rate" 'BEGIN {print a + b}')
  bad=$((bad + $(awk '/not 2xx:/ {print $NF}' "$work/wrk$i")))
done
echo "== load average after the creates: $(cut -d' ' -f1-3 /proc/loadavg)"

# Open commitments per user, from the API.
counts=()
while read -r token; do
  open=0
  offset=0
  while :; do
    page=$(curl -fsS -H "Authorization: Bearer $token" "${urls[0]}/api/v1/commitments?status=open&limit=500&offset=$offset" | jq '.commitments | length')
    open=$((open + page))
    offset=$((offset + 500))
    [ "$page" -eq 500 ] || break
  done
  counts+=("$open")
done <"$work/tokens"
sorted=$(printf '%s\n' "${counts[@]}" | sort -n)
low=$(head -1 <<<"$sorted")
echo "== open commitments per user (API): min $low, max $(tail -1 <<<"$sorted"), total $(awk "{s += \$1} END {print s}" <<<"$sorted")"

# The same-run reference.
ref=$(wrk -t"$threads" -c"$conns" -d"$ref_duration" "${urls[0]}/healthz" | awk '/Requests\/sec/ {print $2}')
echo "== creates/s: $total_rate (not 2xx: $bad); GET /healthz, wrk -t$threads -c$conns: $ref req/s; ratio $(awk -v a="$total_rate" -v b="$ref" 'BEGIN {printf "%.4f", a / b}')"
echo "== load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

status=0
if [ "$bad" -ne 0 ]; then
  echo "load.sh: $bad answers were not 2xx" >&2
  status=1
fi
if [ "$low" -lt "$min_open" ]; then
  echo "load.sh: a user has $low open commitments, want >= $min_open" >&2
  status=1
fi
exit $status
