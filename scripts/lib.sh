# Helpers shared by the set-up scripts (setup_system.sh, fetch_*.sh, gpu_check.sh, step.sh). Sourced, not run.
# Everything fetched or built goes to $CACHE; the repo's models/ and data/ only get copies,
# so a fresh clone (or `rm -rf data`) is restored in seconds without network.
# The output of apt-get, pip, go and the builds goes to one log, $SETUP_LOG ($CACHE/setup.log unless set);
# the terminal gets one line per step (see `step`), and the log's tail when a step fails.

SCRIPTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPTS_DIR/.." && pwd)
CACHE=${YOLO_BENCH_CACHE:-$HOME/.cache/yolo-bench}
CHECKSUMS=$SCRIPTS_DIR/checksums.txt
# Debian's own interpreter: python3-torch and python3-opencv (the OpenCV that gocv links) live there,
# not in a pyenv/venv python3 that may come first in PATH.
PY=${YOLO_BENCH_PYTHON:-/usr/bin/python3}

SETUP_LOG=${SETUP_LOG:-$CACHE/setup.log}
SETUP_LOG_TAIL=${SETUP_LOG_TAIL:-30}   # lines of the log shown when a step fails

say() { echo "[$(basename "$0")] $*" >&2; }
die() { echo "[$(basename "$0")] ERROR: $*" >&2; exit 1; }

# The set-up's terminal lines: "  LABEL ... RESULT" (on stderr: stdout may be captured, see fetch_deb).
note() { printf '  %s ... %s\n' "$1" "$2" >&2; }
skip() { note "$1" "skipped (${2:-already installed})"; }

# step [-h HINT] [-t LINES] LABEL CMD [ARG...]: run CMD (a program or a function of these scripts) with its
# stdout and stderr appended to $SETUP_LOG, and print one line, "  LABEL ... ok". When CMD fails: print
# "FAILED", the last LINES (default $SETUP_LOG_TAIL) lines it wrote, HINT, the log's path, and exit with its status.
# CMD runs in a subshell with `set -e` in force (a function's failing command stops it; its `die` ends the step,
# not the script before the tail is shown); variables it sets do not reach the caller.
step() {
  local hint="" lines=$SETUP_LOG_TAIL label rc start opts=$-
  while [[ ${1-} == -[ht] ]]; do
    case $1 in -h) hint=$2 ;; -t) lines=$2 ;; esac
    shift 2
  done
  label=$1; shift
  mkdir -p "$(dirname "$SETUP_LOG")"
  touch "$SETUP_LOG"
  # Every run appends: past 5 MB the log starts afresh, the previous one kept as .1.
  (($(wc -c <"$SETUP_LOG") < 5000000)) || mv -f "$SETUP_LOG" "$SETUP_LOG.1"
  printf '\n===== %s [%s] %s\n$ %s\n' "$(date '+%F %T')" "$(basename "$0")" "$label" "$*" >>"$SETUP_LOG"
  start=$(($(wc -c <"$SETUP_LOG") + 1))
  printf '  %s ... ' "$label" >&2
  # Not in an if/||: there `set -e` would be off inside CMD too.
  set +e
  (set -e; "$@") </dev/null >>"$SETUP_LOG" 2>&1
  rc=$?
  [[ $opts == *e* ]] && set -e
  if ((rc == 0)); then echo "ok" >&2; return 0; fi
  echo "FAILED (exit $rc; log: $SETUP_LOG)" >&2
  # This step's own lines only (other steps, or other runs with make -j, may have written before).
  tail -c +"$start" "$SETUP_LOG" | tail -n "$lines" | sed 's/^/    | /' >&2
  [[ -z $hint ]] || echo "  hint: $hint" >&2
  echo "  the full output is in $SETUP_LOG" >&2
  exit "$rc"
}

# Column 1 (sha256) or 3 (source) of the checksums.txt line for NAME.
pinned() {
  awk -v n="$1" -v c="$2" '$1 !~ /^#/ && $2 == n { print $c; f = 1 } END { exit !f }' "$CHECKSUMS" ||
    die "$1 is not pinned in $CHECKSUMS"
}
sha_of() { sha256sum "$1" | cut -d' ' -f1; }
# True when FILE exists and matches the sha256 pinned for NAME.
valid() { [[ -f $1 ]] && [[ $(sha_of "$1") == "$(pinned "$2" 1)" ]]; }
# verify FILE NAME ORIGIN: stop unless FILE matches the pin for NAME; ORIGIN says where FILE came from.
verify() {
  local want got
  want=$(pinned "$2" 1); got=$(sha_of "$1")
  [[ $got == "$want" ]] || die "checksum mismatch for $2 (from $3): got $got, pinned $want.
  The upstream package changed, or a cached download is damaged: delete it (in $CACHE/downloads) and re-run;
  if it still fails, check the new file by hand before updating $CHECKSUMS."
}

# Copies, not hard links: a benchmark that rewrote a file in models/ or data/ would otherwise rewrite the cache.
place() { mkdir -p "$(dirname "$2")"; cp -f "$1" "$2.part.$$" && mv -f "$2.part.$$" "$2"; }

# Scratch folders of this run ($$ is the same in subshells), removed however the run ends; other runs
# sharing the cache (make -j models data) keep theirs.
scratch() { mktemp -d "$CACHE/.tmp.$$.XXXX"; }
trap 'rm -rf "$CACHE"/.tmp.$$.*' EXIT

is_debian() { command -v apt-get >/dev/null && command -v dpkg-query >/dev/null; }

# Install Debian packages that are missing (checked with dpkg-query first: no apt-get when all are there).
ensure_debs() {
  is_debian || die "no apt-get/dpkg: this is not Debian. Install by hand the equivalents of: $*"
  local p missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then
    ((${ENSURE_DEBS_QUIET:-0})) || skip "Debian packages ($# checked)"
    return 0
  fi
  [[ $(id -u) == 0 ]] || die "run as root, or first: sudo apt-get install ${missing[*]}"
  step -h "check the network / apt sources" "apt-get install ${missing[*]}" apt_install "${missing[@]}"
}
apt_install() {
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

# pip for `pip download`: Debian's python3-pip, or whatever pip $PY has elsewhere.
ensure_pip() {
  if is_debian; then ENSURE_DEBS_QUIET=1 ensure_debs python3-pip
  else "$PY" -m pip --version >/dev/null 2>&1 || die "no pip for $PY: install pip (or set YOLO_BENCH_PYTHON)"; fi
}

# $CACHE/downloads/NAME, fetched by package name with pip when missing, verified against checksums.txt.
fetch_download() {
  local name=$1 f=$CACHE/downloads/$1 src spec tmp
  valid "$f" "$name" && return 0
  src=$(pinned "$name" 3); spec=${src#*:}
  ensure_pip
  tmp=$(scratch)
  step -h "pip could not download $spec: PyPI reachable? pip config?" "pip download $spec" \
    pip_download "$src" "$spec" "$tmp"
  [[ -f $tmp/$name ]] || die "pip saved '$(ls "$tmp")', not $name: fix the name in $CHECKSUMS"
  verify "$tmp/$name" "$name" "pip download $spec"
  mv "$tmp/$name" "$f"
}

# pip_download SOURCE SPEC DIR: the pinned file of SOURCE (pypi-sdist:SPEC or pypi-wheel:SPEC) into DIR.
pip_download() {
  case $1 in
    # Debian's pip reads the sdist's setup.py with the system setuptools; if that fails, retry with an
    # isolated PEP 517 build env (never --no-build-isolation: "invalid command bdist_wheel").
    pypi-sdist:*) "$PY" -m pip download -q --no-cache-dir --no-deps --no-binary :all: "$2" -d "$3" ||
                  "$PY" -m pip download -q --no-cache-dir --no-deps --no-binary :all: --use-pep517 "$2" -d "$3" ;;
    pypi-wheel:*) "$PY" -m pip download -q --no-cache-dir --no-deps --only-binary :all: "$2" -d "$3" ;;
    *) echo "unknown source $1 (want pypi-sdist: or pypi-wheel:)"; return 1 ;;
  esac
}

# Path of the PACKAGE .deb in $CACHE/downloads, fetched with `apt-get download` (no install) when missing.
fetch_deb() {
  local pkg=$1 deb tmp
  deb=$(ls "$CACHE/downloads/${pkg}"_*.deb 2>/dev/null | head -1 || true)
  if [[ -z $deb ]]; then
    is_debian || die "no apt-get: cannot fetch Debian package $pkg. Copy the files pinned in $CHECKSUMS to $CACHE/data/ by hand (images/dog.jpg, video/vtest.avi, ...)."
    tmp=$(scratch)
    step -h "root? Debian 12 main in apt sources?" "apt-get download $pkg" apt_download "$pkg" "$tmp"
    mv "$tmp"/*.deb "$CACHE/downloads/"
    deb=$(ls "$CACHE/downloads/${pkg}"_*.deb | head -1)
  fi
  echo "$deb"
}

# apt_download PACKAGE DIR: PACKAGE's .deb into DIR, refreshing the package list once if needed.
apt_download() {
  # Sandbox user root: the _apt user cannot write into a cache under /root.
  dl() { (cd "$2" && apt-get download -q -o APT::Sandbox::User=root "$1"); }
  dl "$@" || { echo "refreshing the package list"; apt-get update -q && dl "$@"; }
}

# Make $CACHE/data/NAME valid for each data NAME (images/..., video/...), extracting it from its pinned source.
cache_data() {
  local name src kind from member tmp pkg out
  for name in "$@"; do
    out=$CACHE/data/$name
    valid "$out" "$name" && continue
    src=$(pinned "$name" 3); kind=${src%%:*}; from=${src#*:}; member=${from#*:}; from=${from%%:*}
    tmp=$(scratch)
    case $kind in
      wheel)
        fetch_download "$from"; pkg=$CACHE/downloads/$from
        "$PY" -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' \
          "$pkg" "$member" >"$tmp/f" || die "$member not found in $pkg" ;;
      deb)
        pkg=$(fetch_deb "$from")
        # Debian may store documentation files gzipped: take PATH or PATH.gz, whichever the .deb has.
        dpkg-deb --fsys-tarfile "$pkg" | tar -x -C "$tmp" --wildcards "./$member" "./$member.gz" 2>/dev/null || true
        if [[ -f $tmp/$member ]]; then mv "$tmp/$member" "$tmp/f"
        elif [[ -f $tmp/$member.gz ]]; then gzip -dc "$tmp/$member.gz" >"$tmp/f"
        else die "$member not found in $pkg (delete that file to fetch a fresh one)"; fi ;;
      *) die "unknown source for $name: $src" ;;
    esac
    verify "$tmp/f" "$name" "$member in $pkg"
    mkdir -p "$(dirname "$out")"; mv "$tmp/f" "$out"
  done
}

mkdir -p "$CACHE/downloads"
