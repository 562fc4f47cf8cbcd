# Sourced by the run scripts: free local ports, and the processes started,
# stopped one at a time in reverse order on exit (each waited for before
# the next: agents end their tasks before gantryd goes, gantryd flushes
# before Redis goes).
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
  for ((i=${#pids[@]}-1; i>=0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || :
    wait "${pids[i]}" 2>/dev/null || :
  done
  echo "stopped."
}
trap cleanup INT TERM EXIT
