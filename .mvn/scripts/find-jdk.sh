# Sourced by ./mvnw and ./hanse. Sets HANSE_JAVA_HOME to a JDK >= 21, or prints what is missing and
# returns 1. Order: JAVA_HOME if it is new enough, then the newest JDK under /usr/lib/jvm.

hanse_java_major() { # prints the feature version of the JDK at $1, or nothing
  local release="$1/release" v
  [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 0
  if [ -f "$release" ]; then
    v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$release")
  else
    v=$("$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)
  fi
  echo "$v"
}

hanse_find_jdk() {
  local want=21 best="" best_v=0 dir v
  if [ -n "${JAVA_HOME:-}" ]; then
    v=$(hanse_java_major "$JAVA_HOME")
    if [ -n "$v" ] && [ "$v" -ge "$want" ]; then HANSE_JAVA_HOME="$JAVA_HOME"; return 0; fi
  fi
  for dir in /usr/lib/jvm/* /usr/local/lib/jvm/* /opt/java/*; do
    [ -d "$dir" ] || continue
    v=$(hanse_java_major "$dir")
    if [ -n "$v" ] && [ "$v" -ge "$want" ] && [ "$v" -gt "$best_v" ]; then best="$dir"; best_v="$v"; fi
  done
  if [ -n "$best" ]; then HANSE_JAVA_HOME="$best"; return 0; fi
  echo "hanse: no JDK $want or newer found (JAVA_HOME=${JAVA_HOME:-unset}; looked under /usr/lib/jvm)." >&2
  echo "hanse: install one, e.g. 'apt-get install openjdk-21-jdk-headless', or point JAVA_HOME at it." >&2
  return 1
}
