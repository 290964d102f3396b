#!/bin/sh
# A CLI session, as a person at a terminal has it: two agents run in the background; from
# another shell you send, see what waits for your approval, approve it with a reply, trust a
# contact, and read the inbox and the signed log. Runs any number of times (the agents keep
# their keys in .parley/).
#   PARLEY_RELAY=$(head -1 .parley/relay/multiaddrs) sh cli-session.sh
# (run it in a project that installed parley-mesh; PARLEY names another parley command)
set -eu
: "${PARLEY_RELAY:?set PARLEY_RELAY to a relay address (npm start prints it)}"
PARLEY="${PARLEY:-./node_modules/.bin/parley}"
PLUMBER=.parley/cli-plumber
ME=.parley/cli-me

# start an agent in the background and wait for its "ready" line
start_agent () { # handle, data dir
  mkdir -p "$2"
  $PARLEY agent --handle "$1" --data-dir "$2" > "$2/out.jsonl" 2> "$2/err.log" &
  echo $! > "$2/pid"
  i=0
  until grep -q '"event":"ready"' "$2/out.jsonl" 2>/dev/null; do
    i=$((i + 1))
    if [ "$i" -gt 300 ] || ! kill -0 "$(cat "$2/pid")" 2>/dev/null; then
      echo "agent @$1 did not start:" >&2; cat "$2/err.log" >&2; exit 1
    fi
    sleep 0.1
  done
}
stop_agents () {
  for dir in "$PLUMBER" "$ME"; do
    [ -f "$dir/pid" ] && kill "$(cat "$dir/pid")" 2>/dev/null || true
  done
  wait
}
trap stop_agents EXIT

start_agent cli-plumber "$PLUMBER"
start_agent cli-me "$ME"

# a stranger's message waits for the plumber's human (level 0: so this script can run again)
$PARLEY trust @cli-me 0 --node "$PLUMBER"
$PARLEY send @cli-plumber "hello, can you fix a leaking tap today?" --node "$ME"
$PARLEY pending --node "$PLUMBER"
ID=$($PARLEY pending --node "$PLUMBER" --json | node -e "let t='';process.stdin.on('data',d=>t+=d).on('end',()=>{const l=JSON.parse(t);console.log(l[l.length-1].id)})")
$PARLEY approve "$ID" --reply "yes, after 2pm" --node "$PLUMBER"

# the plumber's human now knows this contact: their messages go straight to the inbox
$PARLEY trust @cli-me 1 --node "$PLUMBER"
$PARLEY send @cli-plumber "2pm is fine, thanks" --node "$ME"
$PARLEY inbox --node "$PLUMBER"

# the signed, hash-chained event log, checked as a third party would
$PARLEY log --export --node "$PLUMBER" > "$PLUMBER/log.json"
$PARLEY verify "$PLUMBER/log.json"
