# Sourced by the run scripts: free local ports, and the processes started,
# stopped in reverse order on exit.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() { # preferred port, else the first free one above it
  local p=$1
  while ! port_free "$p"; do p=$((p + 1)); done
  echo "$p"
}

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "stopping..."
  for ((i=${#pids[@]}-1; i>=0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || :; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || :; done
  echo "stopped."
}
trap cleanup INT TERM EXIT
