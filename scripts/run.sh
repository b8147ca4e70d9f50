#!/usr/bin/env bash
# `make run`: the whole portal on this machine: the embedded AWS emulator, seeded with the
# demo world, a Celery worker and beat on the local Redis, and gunicorn. Ctrl-C stops everything;
# so does any part dying. Logs go to var/log/. `make run` runs this through scripts/embedded.py,
# which starts an embedded Redis when none answers (or always, with PORTAL_EMBEDDED=1).
#
# Environment (all optional; .env is read too, by the settings):
#   REDIS_URL             broker, default redis://127.0.0.1:6379/0; `make run` sets it to its
#                         embedded Redis when neither this nor a Redis at 127.0.0.1:6379 is there
#   PORTAL_EMBEDDED       "1": `make run` starts its own Redis even when the machine runs one
#   PORTAL_BIND           where gunicorn listens, default 127.0.0.1:8000
#   PORTAL_WEB_WORKERS    gunicorn workers, default 2 to 4 by CPU count
#   PORTAL_TASK_QUEUE     Celery queue, default portal
#   PORTAL_EMULATOR_PORT  port of the embedded emulator, default 4566
#   PORTAL_EMULATOR       "0" for no emulator at all: real AWS through boto3's default chain
#   AWS_ENDPOINT_URL      set it to use an emulator you run yourself (it is seeded, not started)
set -euo pipefail

cd "$(dirname "$0")/.."
PY=.venv/bin/python
if [[ ! -x $PY ]]; then
    echo "No virtualenv at .venv: run \`make venv\` first." >&2
    exit 1
fi
export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-portal.settings.local}
export PYTHONUNBUFFERED=1
mkdir -p var/log
# Every process's metrics (prometheus-client's multiprocess files) start from nothing each run.
export PROMETHEUS_MULTIPROC_DIR=${PROMETHEUS_MULTIPROC_DIR:-$PWD/var/metrics}
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
fail() {
    printf '\033[31m%s\033[0m\n' "$*" >&2
    exit 1
}

# The settings decide (they also read .env); ask them rather than repeat their defaults here.
settings_line=$("$PY" -c 'from django.conf import settings as s
print(s.REDIS_URL, s.CELERY_TASK_DEFAULT_QUEUE, s.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
      s.AWS_ENDPOINT_URL or "-")') || fail "The settings ($DJANGO_SETTINGS_MODULE) do not load; see above."
read -r REDIS_URL_SETTING QUEUE DB_ENGINE ENDPOINT_SETTING <<<"$settings_line"
BIND=${PORTAL_BIND:-127.0.0.1:8000}
EMULATOR_PORT=${PORTAL_EMULATOR_PORT:-4566}
WORKERS=${PORTAL_WEB_WORKERS:-$("$PY" -c 'import os; print(min(4, max(2, os.cpu_count() or 2)))')}

# --- Redis ----------------------------------------------------------------------------------------
redis_shown=$(sed -E 's#//[^@/]*@#//***@#' <<<"$REDIS_URL_SETTING")
if ! "$PY" -c 'import sys, redis
redis.Redis.from_url(sys.argv[1], socket_connect_timeout=2, socket_timeout=2).ping()' \
    "$REDIS_URL_SETTING" 2>/dev/null; then
    fail "Redis does not answer PING at $redis_shown.
The portal's Celery broker is Redis. Point REDIS_URL at a running one (REDIS_URL=redis://host:6379/0
make run), or leave REDIS_URL unset: \`make run\` then starts an embedded one when none answers."
fi

# port_busy HOST:PORT: true when something already listens there.
port_busy() {
    "$PY" -c 'import socket, sys
host, _, port = sys.argv[1].rpartition(":")
with socket.socket() as s:
    s.settimeout(1)
    sys.exit(0 if s.connect_ex((host.strip("[]") or "127.0.0.1", int(port))) == 0 else 1)' "$1"
}
if port_busy "$BIND"; then
    fail "Something already listens on $BIND. Stop it, or choose another address: PORTAL_BIND=127.0.0.1:8001 make run"
fi

# --- Children: each in its own session, so one signal stops it and everything it forked ----------
declare -A PIDS=()
ORDER=()
START_SESSION='import os, sys; os.setsid(); os.execvp(sys.argv[1], sys.argv[1:])'

start() { # start NAME COMMAND...: in the background, output to var/log/NAME.log
    local name=$1
    shift
    printf '\n--- %s started %s: %s\n' "$name" "$(date -Is)" "$*" >>"var/log/$name.log"
    "$PY" -c "$START_SESSION" "$@" >>"var/log/$name.log" 2>&1 </dev/null &
    PIDS[$name]=$!
    ORDER+=("$name")
}

# A signal while stopping must not cut the stopping short and leave the children running: a
# SIGTERM to the process group comes again, passed on by make and by scripts/embedded.py.
STOPPING=0
# shellcheck disable=SC2317  # called by the traps
on_signal() { # on_signal STATUS
    ((STOPPING)) && return
    STOPPING=1
    exit "$1"
}

# shellcheck disable=SC2317  # called by the EXIT trap
stop_all() {
    local status=$?
    STOPPING=1
    trap - EXIT
    ((${#ORDER[@]})) || exit "$status"
    say "Stopping: ${ORDER[*]}"
    local i name pid alive
    for ((i = ${#ORDER[@]} - 1; i >= 0; i--)); do # the web first, the emulator last
        pid=${PIDS[${ORDER[i]}]}
        kill -TERM -- "-$pid" 2>/dev/null || true
    done
    for _ in $(seq 1 60); do # Celery finishes the task at hand: give it up to 30 seconds
        alive=0
        for name in "${ORDER[@]}"; do
            kill -0 -- "-${PIDS[$name]}" 2>/dev/null && alive=1
        done
        ((alive)) || break
        sleep 0.5
    done
    for name in "${ORDER[@]}"; do
        if kill -KILL -- "-${PIDS[$name]}" 2>/dev/null; then
            echo "  $name did not stop in time: killed" >&2
        fi
    done
    wait 2>/dev/null || true
    exit "$status"
}
trap stop_all EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
trap 'on_signal 129' HUP

show_log_tail() {
    echo "---- last lines of var/log/$1.log ----" >&2
    tail -n 25 "var/log/$1.log" >&2 || true
}

step() { # step NAME COMMAND...: in the foreground; its output goes to var/log/NAME.log
    local name=$1
    shift
    say "$name"
    printf '\n--- %s\n' "$(date -Is)" >>"var/log/$name.log"
    if ! "$@" >>"var/log/$name.log" 2>&1; then
        show_log_tail "$name"
        fail "$name failed; the whole log is var/log/$name.log"
    fi
}

# --- Database and static files --------------------------------------------------------------------
step migrate "$PY" manage.py migrate --noinput
step collectstatic "$PY" manage.py collectstatic --noinput

# --- AWS: the embedded emulator, unless told otherwise --------------------------------------------
seed_args=()
if [[ ${PORTAL_EMULATOR:-1} == 0 ]]; then
    say "No emulator (PORTAL_EMULATOR=0): AWS calls go to ${AWS_ENDPOINT_URL:-real AWS}"
    [[ $ENDPOINT_SETTING != - ]] || seed_args=(--skip-aws)
elif [[ $ENDPOINT_SETTING != - ]]; then
    say "Using the emulator at $ENDPOINT_SETTING (AWS_ENDPOINT_URL); not starting one"
    if [[ -z ${AWS_ACCESS_KEY_ID:-} ]]; then
        unset AWS_SESSION_TOKEN AWS_PROFILE
        export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
    fi
else
    if port_busy "127.0.0.1:$EMULATOR_PORT"; then
        fail "Port $EMULATOR_PORT is taken, so the embedded emulator cannot start there. Stop what
listens on it, pick another port (PORTAL_EMULATOR_PORT=4577 make run), or use that emulator:
AWS_ENDPOINT_URL=http://127.0.0.1:$EMULATOR_PORT make run"
    fi
    say "Emulator (moto server) on 127.0.0.1:$EMULATOR_PORT"
    start emulator .venv/bin/moto_server -H 127.0.0.1 -p "$EMULATOR_PORT"
    # The tooling account: moto files unknown access keys under 123456789012. Never send real
    # credentials to the emulator.
    unset AWS_SESSION_TOKEN AWS_PROFILE
    export AWS_ENDPOINT_URL="http://127.0.0.1:$EMULATOR_PORT"
    export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=eu-central-1
    for i in $(seq 1 60); do
        kill -0 "${PIDS[emulator]}" 2>/dev/null || {
            show_log_tail emulator
            fail "The emulator exited at start."
        }
        "$PY" -c 'import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=1)
except urllib.error.HTTPError:
    pass' "$AWS_ENDPOINT_URL" 2>/dev/null && break
        ((i < 60)) || fail "The emulator did not answer at $AWS_ENDPOINT_URL within 30 seconds."
        sleep 0.5
    done
fi
if [[ ${seed_args[*]:-} != --skip-aws && ${PORTAL_EMULATOR:-1} != 0 ]]; then
    # The demo organization's reader in its management account (aws/demo_world/organization.py):
    # the worker's hourly accounts sync, and POST /api/v1/accounts/sync/, read it.
    export PORTAL_ORGANIZATIONS_ROLE_ARN=${PORTAL_ORGANIZATIONS_ROLE_ARN:-arn:aws:iam::100000000000:role/PortalOrganizationsReader}
fi
step seed "$PY" manage.py seed_demo "${seed_args[@]}"

# --- Worker, beat, web ----------------------------------------------------------------------------
say "Celery worker (queue $QUEUE), beat, gunicorn ($WORKERS workers) on $BIND"
start worker .venv/bin/celery -A portal worker -l info --concurrency 2 -Q "$QUEUE" -n "portal@%h"
start beat .venv/bin/celery -A portal beat -l info -s var/celerybeat-schedule
start web .venv/bin/gunicorn portal.wsgi:application --bind "$BIND" --workers "$WORKERS" \
    --timeout 60 --graceful-timeout 20 --no-control-socket --access-logfile - --error-logfile -

for _ in $(seq 1 60); do
    port_busy "$BIND" && break
    kill -0 "${PIDS[web]}" 2>/dev/null || break
    sleep 0.5
done
if ! kill -0 "${PIDS[web]}" 2>/dev/null; then
    show_log_tail web
    fail "gunicorn exited at start."
fi

box() { # box LINE...: the lines in a frame (ASCII content, so printf pads them right)
    local width=72 line rule
    rule=$(printf '%*s' $((width + 2)) '' | sed 's/ /─/g')
    printf '\n  ┌%s┐\n' "$rule"
    for line in "$@"; do printf '  │ %-*s │\n' "$width" "$line"; done
    printf '  └%s┘\n\n' "$rule"
}
box "Access portal: http://$BIND/" \
    "" \
    "Demo logins (user / password):" \
    "  alice / alice-demo   developer in the source account 111111111111" \
    "  bob   / bob-demo     approver for 999999999999 and 222222222222" \
    "  carol / carol-demo   approver for 999999999999 and 222222222222" \
    "  admin / admin-demo   platform admin, also /admin/" \
    "" \
    "AWS:      ${AWS_ENDPOINT_URL:-real AWS, boto3 default credentials}" \
    "Database: $DB_ENGINE   Broker: $redis_shown   Queue: $QUEUE" \
    "Logs:     var/log/{emulator,seed,worker,beat,web}.log" \
    "Ctrl-C stops everything."

# --- Supervise: the first child to exit stops the rest ------------------------------------------
set +e
wait -n
set -e
for name in "${ORDER[@]}"; do
    if ! kill -0 "${PIDS[$name]}" 2>/dev/null; then
        show_log_tail "$name"
        echo "$name exited; stopping the rest." >&2
        exit 1
    fi
done
exit 1
