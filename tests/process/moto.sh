# shellcheck shell=bash
# Sourced by the process tests on S3-compatible storage (after common.sh and their `log`):
#   S3_VENV, PY  moto's virtualenv (installed by .ci/setup.sh) and its Python, which has boto3
#   start_moto   starts moto's S3 server on a free port (MOTO_PORT), its pid added to PIDS and its
#                log in $WORK/moto.log, and waits until it answers
S3_VENV="${ELYSIUM_TOOLS:-$HOME/.cache/elysium-tools}/s3-venv"
# shellcheck disable=SC2034 # used by the scripts that source this
PY="$S3_VENV/bin/python"
[[ -x "$S3_VENV/bin/moto_server" ]] || { log "moto is not installed: run .ci/setup.sh"; exit 1; }
start_moto() {
  MOTO_PORT="$(free_port)"
  "$S3_VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" > "$WORK/moto.log" 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$MOTO_PORT/"
}
