# Sourced by the run scripts: free local ports.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() { # preferred port, else the first free one above it
  local p=$1
  while ! port_free "$p"; do p=$((p + 1)); done
  echo "$p"
}
