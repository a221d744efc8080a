#!/usr/bin/env bash
# Runs the commands of docs/walkthrough.md against a Parley server, in the page's order, and
# compares what the server answers with the output the page shows. It stops at the first
# difference with a non-zero exit, so the page cannot drift from the server: CI runs it.
#
#   bash docs/walkthrough.sh [URL] [SECOND_URL]
#
# URL defaults to http://127.0.0.1:8080 and must be a fresh server (an empty --data-dir or
# database): the page registers alice and bob and shows message ids from 1. SECOND_URL is a
# second server on the same database, for the page's "Several servers" section; without it
# the run stops before that section. Needs bash, curl and jq.
#
# The page marks what runs with the info string of a fenced block (GitHub shows only the
# first word, the language) or an HTML comment (not shown at all):
#   ```sh run           commands run one after another in this shell, so variables persist
#   ```text expect      what the run block just before printed: each HTTP response's status
#                       line, the headers shown (in any order) and the body lines shown (in
#                       order). Any 4xx or 5xx answer the page does not show fails the run.
#   ```sh watch=N       one `curl -N` event stream, kept open in the background as stream N;
#                       the run goes on once the stream has sent `ready`
#   ```text stream=N,M  the next frames streams N and M print, in this order; comment
#                       lines (keep-alives, which have no frame of their own) are ignored
#                       wherever they come
#   <!-- stop N -->     stream N is closed (Ctrl-C, on the page)
#   <!-- second server -->  the rest needs SECOND_URL
# Every other block is not run. Values that differ on every run are compared by their shape:
# times, tokens, cookie expiry dates, the creation time inside an ETag, log positions, and
# `retry:` (which must be 2000 to 3000 ms). A log position the page shows in a frame is mapped
# to the one the server sent in the same frame: the page must use each one consistently, and
# a command that quotes one (Last-Event-ID: 746-11) is sent the real one.
set -euo pipefail

wt_doc="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/walkthrough.md"
wt_url=${1:-http://127.0.0.1:8080}
wt_url=${wt_url%/}
wt_url2=${2:-}
wt_url2=${wt_url2%/}
# How long an event may take to reach a stream, and any one request to be answered.
wt_wait=10
wt_stream_max_time=120

for wt_tool in curl jq; do
  command -v "$wt_tool" >/dev/null || { echo "walkthrough: needs $wt_tool" >&2; exit 2; }
done

wt_dir=$(mktemp -d)
declare -A wt_pid=() wt_seen=() wt_pos=()
wt_cleanup() {
  local n
  for n in "${!wt_pid[@]}"; do kill "${wt_pid[$n]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$wt_dir"
}
trap wt_cleanup EXIT
cd "$wt_dir" # the page's cookies.txt lands here

wt_line=""
wt_fail() {
  echo "walkthrough: FAILED${wt_line:+ at docs/walkthrough.md line $wt_line}: $*" >&2
  exit 1
}

# Every request of the page goes through this: bounded in time, and its status recorded on
# stderr, where wt_run collects it.
curl() {
  command curl --max-time "${WT_MAX_TIME:-$wt_wait}" \
    -w '%{stderr}walkthrough-status %{http_code}\n' "$@"
}

wt_mask() {
  sed -E -e 's/\r$//' \
    -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z/<time>/g' \
    -e 's/("token":")[^"]+"/\1<token>"/g' \
    -e 's/parley_session=[A-Za-z0-9_-]+/parley_session=<token>/g' \
    -e 's/Expires=[^;]*GMT/Expires=<date>/g' \
    -e 's/([0-9]+)-[0-9]{12,}/\1-<created>/g' \
    -e 's/^(id: |stream-position: )[0-9]+-[0-9]+$/\1<position>/' \
    -e 's/("position":")[0-9]+-[0-9]+"/\1<position>"/g' \
    -e 's/^retry: (2[0-9]{3}|3000)$/retry: <2 to 3 s>/'
}

# Tags each line of curl output with its response number (0: output before any status line,
# from commands without -i) and its kind: S status line, H header, B body.
wt_tag() {
  wt_mask | awk '
    BEGIN { k = 0 }
    /^HTTP\// { k++; print k " S " $0; hdr = 1; next }
    hdr && $0 == "" { hdr = 0; next }
    hdr { print k " H " tolower(substr($0, 1, index($0, ":"))) substr($0, index($0, ":") + 1); next }
    $0 == "" { next }
    { print k " B " $0 }'
}

# The URLs of the page become the servers under test, and the positions it quotes the real ones.
wt_subst() {
  local c=$1 k
  c=${c//http:\/\/127.0.0.1:8080/$wt_url}
  c=${c//localhost:8080/$wt_url}
  [ -n "$wt_url2" ] && c=${c//localhost:8081/$wt_url2}
  for k in "${!wt_pos[@]}"; do
    c=$(sed -E "s/(^|[^0-9-])$k([^0-9-]|\$)/\1${wt_pos[$k]}\2/g" <<<"$c")
  done
  printf '%s' "$c"
}

wt_run() {
  local wt_cmd="" wt_l
  : >out
  : >err
  while IFS= read -r wt_l || [ -n "$wt_l" ]; do
    wt_cmd+="$wt_l"$'\n'
    [[ $wt_l == *\\ ]] && continue
    if [[ $wt_cmd =~ ^[[:space:]]*(#.*)?$'\n'$ ]]; then wt_cmd=""; continue; fi
    wt_cmd=$(wt_subst "$wt_cmd")
    eval "$wt_cmd" >>out 2>>err || wt_fail "this command failed: $wt_cmd$(cat err)"
    # curl prints no newline after a body; the page shows each answer on its own line.
    if [ -s out ] && [ "$(tail -c 1 out | od -An -tx1 | tr -d ' \n')" != 0a ]; then echo >>out; fi
    wt_cmd=""
  done <<<"$1"
}

wt_errors_sent() { grep -o 'walkthrough-status [0-9]*' err | awk '$2 >= 400 || $2 == 0' | wc -l; }

wt_check_no_errors() {
  [ "$(wt_errors_sent)" -eq 0 ] ||
    wt_fail "a request got an error the page does not show:"$'\n'"$(wt_mask <out)"
}

wt_expect() {
  local want got wt_l i=0
  want=$(wt_tag <<<"$1")
  got=$(wt_tag <out)
  local why="the server answered:"$'\n'"$(wt_mask <out)"
  [ "$(grep ' S ' <<<"$want" || true)" = "$(grep ' S ' <<<"$got" || true)" ] ||
    wt_fail "the status lines differ from the page's; $why"
  local shown
  shown=$(awk '($2 == "S" && $4 >= 400) || ($1 == 0 && /"type":"urn:parley:problem:/)' <<<"$want" | wc -l)
  [ "$(wt_errors_sent)" -eq "$shown" ] ||
    wt_fail "requests that got an error: $(wt_errors_sent), and the page shows $shown; $why"
  while IFS= read -r wt_l; do
    grep -qxF -- "$wt_l" <<<"$got" || wt_fail "the page shows the header '${wt_l#* H }'; $why"
  done < <(grep ' H ' <<<"$want" || true)
  # Body lines: in the page's order, each found after the one before.
  mapfile -t got < <(grep ' B ' <<<"$got" || true)
  while IFS= read -r wt_l; do
    while [ "$i" -lt "${#got[@]}" ] && [ "${got[$i]}" != "$wt_l" ]; do i=$((i + 1)); done
    [ "$i" -lt "${#got[@]}" ] || wt_fail "the page shows '${wt_l#* B }'; $why"
    i=$((i + 1))
  done < <(grep ' B ' <<<"$want" || true)
}

# The complete frames (each followed by a blank line) a stream has printed, NUL-separated.
wt_frames() {
  local f=$1
  [ -s "$f" ] || return 0
  local complete=0
  [ "$(tail -c 2 "$f" | od -An -tx1 | tr -d ' \n')" = 0a0a ] && complete=1
  awk -v complete="$complete" 'BEGIN { RS = "" } { if (NR > 1) printf "%s%c", prev, 0; prev = $0 }
    END { if (NR > 0 && complete) printf "%s%c", prev, 0 }' "$f"
}

wt_watch() {
  local n=$1 cmd
  cmd=$(wt_subst "$2")
  [ -z "${wt_pid[$n]:-}" ] || wt_stop "$n"
  : >"stream-$n"
  # A watch is one curl command: run it with `exec` (and the options of the `curl` function
  # above, which `exec` does not see), so that it is the process `wt_stop` kills and
  # stopping a stream closes its connection, as Ctrl-C does. The server counts an open
  # stream among the room's watchers.
  [[ $cmd == "curl "* ]] || wt_fail "a watch must be one curl command: $cmd"
  cmd="curl --max-time $wt_stream_max_time -w '%{stderr}walkthrough-status %{http_code}\n' ${cmd#curl }"
  (eval "exec $cmd") >"stream-$n" 2>"stream-$n.err" &
  wt_pid[$n]=$!
  wt_seen[$n]=0
  local deadline=$((SECONDS + wt_wait))
  until grep -qx 'event: ready' "stream-$n"; do
    kill -0 "${wt_pid[$n]}" 2>/dev/null ||
      wt_fail "stream $n ended before 'ready': $(cat "stream-$n")"
    [ "$SECONDS" -lt "$deadline" ] || wt_fail "stream $n sent no 'ready' within ${wt_wait}s"
    sleep 0.05
  done
}

wt_stop() {
  kill "${wt_pid[$1]}" 2>/dev/null || true
  wait "${wt_pid[$1]}" 2>/dev/null || true
  unset "wt_pid[$1]"
}

# Consumes stream n's next frames, which must be the page's frames, waiting for them to arrive.
wt_stream() {
  local n=$1 want wm got gm deadline wid gid
  local -a wants frames
  [ -n "${wt_pid[$n]:-}" ] || wt_fail "the page shows stream $n, which is not open"
  mapfile -t -d '' wants < <(printf '%s\n\n' "$2" | awk 'BEGIN { RS = "" } { printf "%s%c", $0, 0 }')
  for want in "${wants[@]}"; do
    wm=$(sed '/^:/d' <<<"$want" | wt_mask)
    deadline=$((SECONDS + wt_wait))
    while :; do
      mapfile -t -d '' frames < <(wt_frames "stream-$n")
      if [ "${wt_seen[$n]}" -lt "${#frames[@]}" ]; then
        got=${frames[${wt_seen[$n]}]}
        wt_seen[$n]=$((wt_seen[$n] + 1))
        gm=$(sed '/^:/d' <<<"$got" | wt_mask)
        if [ "$gm" = "$wm" ]; then break; fi
        wt_fail "stream $n: the page shows"$'\n'"$wm"$'\n'"but the server sent"$'\n'"$gm"$'\n'"(the whole stream so far:"$'\n'"$(cat "stream-$n"))"
      fi
      [ "$SECONDS" -lt "$deadline" ] ||
        wt_fail "stream $n: this frame did not arrive within ${wt_wait}s:"$'\n'"$wm"
      sleep 0.05
    done
    wid=$(sed -n 's/^id: //p' <<<"$want")
    gid=$(sed -n 's/^id: //p' <<<"$got")
    if [ -n "$wid" ]; then
      [ -z "${wt_pos[$wid]:-}" ] || [ "${wt_pos[$wid]}" = "$gid" ] ||
        wt_fail "stream $n: the page's position $wid was ${wt_pos[$wid]} before, and is $gid here"
      wt_pos[$wid]=$gid
    fi
  done
}

# The page as a list of steps: kind, argument, body, line.
declare -a wt_kind=() wt_arg=() wt_body=() wt_at=()
wt_parse() {
  local l n=0 info="" body="" infence=0 start=0
  while IFS= read -r l || [ -n "$l" ]; do
    n=$((n + 1))
    if [ "$infence" = 1 ]; then
      if [[ $l == '```'* ]]; then
        infence=0
        local kind="" arg=""
        case "$info" in
          "sh run") kind=run ;;
          "text expect") kind=expect ;;
          "sh watch="*) kind=watch arg=${info#sh watch=} ;;
          "text stream="*) kind=stream arg=${info#text stream=} ;;
        esac
        if [ -n "$kind" ]; then
          wt_kind+=("$kind") wt_arg+=("$arg") wt_body+=("$body") wt_at+=("$start")
        fi
      else
        body+="$l"$'\n'
      fi
    elif [[ $l == '```'* ]]; then
      infence=1 info=${l#\`\`\`} body="" start=$n
    elif [[ $l =~ ^\<!--\ stop\ ([0-9]+)\ --\>$ ]]; then
      wt_kind+=(stop) wt_arg+=("${BASH_REMATCH[1]}") wt_body+=("") wt_at+=("$n")
    elif [[ $l == '<!-- second server -->' ]]; then
      wt_kind+=(second) wt_arg+=("") wt_body+=("") wt_at+=("$n")
    fi
  done <"$wt_doc"
}

wt_parse
[ "${#wt_kind[@]}" -gt 0 ] || wt_fail "no marked blocks found"

wt_notes=$(command curl -sf --max-time "$wt_wait" "$wt_url/api/notes") ||
  wt_fail "no Parley server answers at $wt_url"
[ "$(jq '.items | length' <<<"$wt_notes")" = 0 ] ||
  wt_fail "$wt_url already has notes: the walkthrough needs a fresh server (an empty --data-dir)"

wt_steps=0
for wt_i in "${!wt_kind[@]}"; do
  wt_line=${wt_at[$wt_i]}
  wt_next=${wt_kind[$((wt_i + 1))]:-}
  case "${wt_kind[$wt_i]}" in
    run)
      wt_run "${wt_body[$wt_i]}"
      [ "$wt_next" = expect ] || wt_check_no_errors
      ;;
    expect)
      [ "$wt_i" -gt 0 ] && [ "${wt_kind[$((wt_i - 1))]}" = run ] ||
        wt_fail "an expect block must follow a run block"
      wt_expect "${wt_body[$wt_i]}"
      ;;
    watch) wt_watch "${wt_arg[$wt_i]}" "${wt_body[$wt_i]}" ;;
    stream)
      IFS=, read -r -a wt_ns <<<"${wt_arg[$wt_i]}"
      for wt_n in "${wt_ns[@]}"; do wt_stream "$wt_n" "${wt_body[$wt_i]}"; done
      ;;
    stop) wt_stop "${wt_arg[$wt_i]}" ;;
    second)
      if [ -z "$wt_url2" ]; then
        echo "walkthrough: stopping before line $wt_line, which needs a second server (SECOND_URL)"
        break
      fi
      ;;
  esac
  wt_steps=$((wt_steps + 1))
done
echo "walkthrough: $wt_steps steps of docs/walkthrough.md passed against $wt_url${wt_url2:+ and $wt_url2}"
