# shellcheck shell=bash
# Sourced by the load scripts (after `log`, with LOAD_PROFILE in PROFILE): the binary to measure
# and a folder of the run's own.
#   prepare_run NAME  builds `elysium` for PROFILE (release or debug) unless LOAD_BINARY names one;
#                     makes WORK, copies the binary to ELYSIUM (a rebuild during the run cannot
#                     replace it) and, at exit, stops SERVER_PID and the private cluster under
#                     $WORK/state and removes WORK
prepare_run() { # NAME
  case "${LOAD_BINARY:+given}:$PROFILE" in
    given:*) PROFILE="given binary" ;;
    :release) cargo build --locked --release -p server ;;
    :debug) cargo build --locked -p server ;;
    *) echo "LOAD_PROFILE: release or debug, not '$PROFILE'" >&2; exit 2 ;;
  esac
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/elysium-$1.XXXXXX")"
  # PostgreSQL runs as `postgres` when this runs as root: it must be able to reach its folder.
  chmod 711 "$WORK"
  ELYSIUM="$WORK/elysium"
  cp "${LOAD_BINARY:-$CARGO_TARGET_DIR/$PROFILE/elysium}" "$ELYSIUM"
  SERVER_PID=""
  trap finish_run EXIT
}
finish_run() {
  [[ -n "$SERVER_PID" ]] && { kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null || true; }
  "$ELYSIUM" pg --data-dir "$WORK/state" stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
