# Sourced by the process tests after they define `fail` (what to print when a wait runs out).
#   free_port      a TCP port free on 127.0.0.1 now, for a server to listen on
#   wait_http URL  waits until URL answers at all (any status), at most 30 s, else fails
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { # URL
  for _ in $(seq 120); do curl -s --max-time 5 -o /dev/null "$1" && return 0; sleep 0.25; done
  fail "no answer from $1"
}
