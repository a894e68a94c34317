#!/usr/bin/env bash
# Mesa lavapipe ≥ 25 (a software Vulkan driver) from Debian bookworm-backports, so Dawn's WebGPU
# has an adapter on machines without a GPU and the WebGPU tests run for real. Idempotent.
#
# No archive is named here: the bookworm-backports source is a copy of the machine's own apt
# source for the `bookworm` suite (the same URIs, keyring and options; only the suite changes),
# read from sources.list and sources.list.d/*.list (one-line format) or *.sources (deb822).
#
# LAVAPIPE_APT_ROOT=DIR (for tests) reads and writes DIR/etc/apt and DIR/usr/share/vulkan instead
# of the machine's, and stops after writing the source: nothing is installed.
set -euo pipefail
root="${LAVAPIPE_APT_ROOT:-}"
apt="$root/etc/apt"

if [ -n "$(ls "$root"/usr/share/vulkan/icd.d/lvp_icd*.json 2>/dev/null)" ] && dpkg --compare-versions "$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || echo 0)" ge 25; then
  echo "lavapipe already installed: mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
  exit 0
fi

# The files apt reads, in its order: sources.list, then sources.list.d/ by name (.list and .sources
# only; apt ignores other names, such as *.disabled).
source_files() {
  [ -f "$apt/sources.list" ] && echo "$apt/sources.list"
  for f in "$apt"/sources.list.d/*; do
    case "$f" in *.list | *.sources) [ -f "$f" ] && echo "$f" ;; esac
  done
  return 0
}

# Prints the first enabled binary (`deb`) entry of FILE that lists suite WANT, rewritten to suite
# NEW (deb822: a stanza without comments, Types: deb; one-line: the line); nothing if none.
entry() {
  local file=$1 want=$2 new=$3
  case "$file" in
    *.sources) awk -v want="$want" -v new="$new" '
      function has(list, word,   n, i, w) { n = split(list, w, /[ \t]+/); for (i = 1; i <= n; i++) if (w[i] == word) return 1; return 0 }
      BEGIN { RS = ""; FS = "\n" }
      {
        types = ""; suites = ""; enabled = "yes"; out = ""; key = ""
        for (i = 1; i <= NF; i++) {
          line = $i
          if (line ~ /^#/) continue
          if (line ~ /^[ \t]/) {   # a continuation line belongs to the field above it
            if (key == "types") types = types " " line; else if (key == "suites") suites = suites " " line; else if (key != "enabled") out = out "\n" line
            continue
          }
          key = tolower(substr(line, 1, index(line, ":") - 1))
          value = substr(line, index(line, ":") + 1)
          if (key == "types") types = value; else if (key == "suites") suites = value
          else if (key == "enabled") { gsub(/[ \t]/, "", value); enabled = tolower(value) }
          else out = out "\n" line
        }
        if (enabled != "no" && has(types, "deb") && has(suites, want)) { print "Types: deb" out "\nSuites: " new; exit }
      }' "$file" ;;
    *) awk -v want="$want" -v new="$new" '
      {
        sub(/#.*/, "")
        if ($1 != "deb") next
        i = 2; opts = ""
        if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) opts = opts $(i++) " "; opts = opts $(i++) " " }
        if ($(i + 1) != want) next
        line = "deb " opts $i " " new
        for (j = i + 2; j <= NF; j++) line = line " " $j
        print line; exit
      }' "$file" ;;
  esac
}

# The first entry over all source files that lists suite $1, rewritten to suite $2, and its file.
find_entry() {
  local f e
  while IFS= read -r f; do
    e=$(entry "$f" "$1" "$2")
    if [ -n "$e" ]; then
      printf '%s\n%s\n' "$f" "$e"
      return 0
    fi
  done < <(source_files)
  return 0
}

export DEBIAN_FRONTEND=noninteractive
if [ -n "$(find_entry bookworm-backports bookworm-backports)" ]; then
  echo "bookworm-backports is already an apt source"
else
  found=$(find_entry bookworm bookworm-backports)
  if [ -z "$found" ]; then
    echo "no apt source for Debian bookworm in $apt/sources.list or $apt/sources.list.d/ to copy for bookworm-backports; add a bookworm-backports source by hand" >&2
    exit 1
  fi
  from=$(head -n 1 <<<"$found")
  case "$from" in *.sources) target="$apt/sources.list.d/bookworm-backports.sources" ;; *) target="$apt/sources.list.d/bookworm-backports.list" ;; esac
  tail -n +2 <<<"$found" >"$target"
  echo "wrote $target from the bookworm source in $from"
fi
if [ -n "$root" ]; then
  echo "LAVAPIPE_APT_ROOT is set: sources only, nothing installed"
  exit 0
fi
apt-get update -qq
apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
echo "installed mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
