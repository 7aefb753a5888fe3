# shellcheck shell=bash
# Helpers sourced by scripts/serve and scripts/test: the project venv and a
# private, socket-only PostGIS cluster in .data/ that needs no system service.

RF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
RF_DATA=$RF_ROOT/.data
RF_PGPORT=${RF_PGPORT:-54329}
# Settings of the local cluster (see cluster_start).
RF_PG_SETTINGS=${RF_PG_SETTINGS:--c shared_buffers=2GB -c max_wal_size=8GB -c checkpoint_timeout=15min}
RF_CLUSTER_STARTED=0

die() { printf 'error: %s\n' "$*" >&2; exit 1; }
note() { printf '%s\n' "$*" >&2; }

[[ $RF_PGPORT =~ ^[0-9]+$ ]] || die "RF_PGPORT must be a port number, got '$RF_PGPORT'"

# Hex SHA-256 of stdin.
sha256() {
  if command -v sha256sum >/dev/null; then sha256sum; else shasum -a 256; fi | cut -d' ' -f1
}

# --- Python ---------------------------------------------------------------

_find_python() {
  local py
  for py in python3.11 python3; do
    # a pyenv shim may exist without its version installed, so ask it
    if "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$py"
      return 0
    fi
  done
  die "Python 3.11 or newer is needed (tried python3.11 and python3)"
}

# Reinstall only when pyproject.toml changed, so a second run starts in seconds.
ensure_venv() {
  local venv=$RF_ROOT/.venv py sum
  local stamp=$venv/.pyproject.sha256
  if [[ ! -x $venv/bin/python ]]; then
    py=$(_find_python)
    note "Creating .venv with $py"
    "$py" -m venv "$venv"
  fi
  sum=$(sha256 <"$RF_ROOT/pyproject.toml")
  # find_spec also catches an install made before app/ existed
  if [[ -f $stamp && $(<"$stamp") == "$sum" ]] &&
    "$venv/bin/python" -c 'import importlib.util as u, sys; sys.exit(not u.find_spec("app"))'; then
    return 0
  fi
  note "Installing the project into .venv"
  local log
  # pip -q still relays build-backend warnings; show them only on failure
  if ! log=$(cd "$RF_ROOT" && "$venv/bin/python" -m pip install -q --disable-pip-version-check -e '.[dev]' 2>&1); then
    printf '%s\n' "$log" >&2
    die "pip install -e '.[dev]' failed"
  fi
  echo "$sum" >"$stamp"
}

rf() { "$RF_ROOT/.venv/bin/rf" "$@"; }

# The planner settings of the API's hot-read sessions (app.db.session.READ_OPTIONS), for
# PGOPTIONS: a benchmark's SQL floor must be planned as the API's statements are.
read_session_options() {
  "$RF_ROOT/.venv/bin/python" -c 'from app.db.session import READ_OPTIONS; print(READ_OPTIONS)'
}

# --- PostgreSQL / PostGIS binaries -----------------------------------------

# Sets PG_BIN and PG_MAJOR; Debian keeps server binaries off PATH.
_pg_find() {
  local dir found=()
  for dir in /usr/lib/postgresql/*/bin; do
    [[ -x $dir/initdb ]] && found+=("$dir")
  done
  if ((${#found[@]})); then
    PG_BIN=$(printf '%s\n' "${found[@]}" | sort -V | tail -n1)
  elif command -v initdb >/dev/null; then
    PG_BIN=$(dirname "$(command -v initdb)")
  else
    return 1
  fi
  PG_MAJOR=$("$PG_BIN/initdb" --version | sed -E 's/^[^0-9]*([0-9]+).*/\1/')
}

_postgis_present() {
  local share
  share=$("$PG_BIN/pg_config" --sharedir 2>/dev/null) || share=/usr/share/postgresql/$PG_MAJOR
  [[ -f $share/extension/postgis.control || -f /usr/share/postgresql/$PG_MAJOR/extension/postgis.control ]]
}

_as_admin() {
  if ((EUID == 0)); then "$@"; else sudo -n "$@"; fi
}

_apt_install() {
  _as_admin env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null ||
    die "apt-get install $* failed"
}

ensure_postgis() {
  if _pg_find && _postgis_present; then
    return 0
  fi
  local wanted="postgresql postgresql-${PG_MAJOR:-<major>}-postgis-3"
  if ! command -v apt-get >/dev/null; then
    die "PostgreSQL with PostGIS 3 is missing; install them (Debian names: $wanted)"
  fi
  if ((EUID != 0)) && ! { command -v sudo >/dev/null && sudo -n true 2>/dev/null; }; then
    die "PostgreSQL with PostGIS 3 is missing; run: sudo apt-get install $wanted"
  fi
  note "Installing $wanted with apt-get (one time only)"
  _as_admin apt-get update -qq >/dev/null || die "apt-get update failed"
  if ! _pg_find; then
    # the distribution's default major version decides the PostGIS package name
    _apt_install postgresql
    _pg_find || die "postgresql installed but its server binaries were not found"
  fi
  _apt_install postgresql "postgresql-$PG_MAJOR-postgis-3"
  _postgis_present || die "postgresql-$PG_MAJOR-postgis-3 installed but postgis.control was not found"
}

# Installs the Debian package that brings a command, when the command is missing.
ensure_command() {
  local command=$1 package=$2
  command -v "$command" >/dev/null && return 0
  command -v apt-get >/dev/null || die "$command is missing; install it (Debian: $package)"
  note "Installing $package with apt-get (one time only)"
  _as_admin apt-get update -qq >/dev/null || die "apt-get update failed"
  _apt_install "$package"
}

# --- the local cluster -------------------------------------------------------

# initdb and postgres refuse to run as root. From / because postgres may not
# be allowed into the project folder.
_as_cluster_user() {
  if ((EUID == 0)); then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

_sh_quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

_resolve() {
  if [[ -L $1 ]]; then readlink "$1"; else echo "$1"; fi
}

# The cluster user must reach the directory, and a Unix socket path is limited
# to 107 bytes.
_cluster_fits_in() {
  local LC_ALL=C socket="$1/run/.s.PGSQL.$RF_PGPORT"
  ((${#socket} <= 107)) || return 1
  ((EUID != 0)) || runuser -u postgres -- test -x "$1"
}

# Sets PG_DATA, PG_RUN and PG_LOG to physical paths, creating them if needed.
_cluster_paths() {
  mkdir -p "$RF_DATA"
  if [[ ! -e $RF_DATA/pg && ! -L $RF_DATA/pg ]] && ! _cluster_fits_in "$RF_DATA"; then
    local base
    base=/var/tmp/rf-pg-$(printf '%s' "$RF_ROOT" | sha256 | cut -c1-8)
    mkdir -p "$base"
    chmod 0755 "$base"
    ln -sfn "$base/pg" "$RF_DATA/pg"
    ln -sfn "$base/run" "$RF_DATA/run"
    ln -sfn "$base/pg.log" "$RF_DATA/pg.log"
    note "Note: the cluster lives in $base (linked from .data/), as $RF_DATA is unreachable for the cluster user or too long for a socket path"
  fi
  PG_DATA=$(_resolve "$RF_DATA/pg")
  PG_RUN=$(_resolve "$RF_DATA/run")
  PG_LOG=$(_resolve "$RF_DATA/pg.log")
  mkdir -p "$PG_DATA" "$PG_RUN"
  touch "$PG_LOG"
  # trust auth is safe only because nobody else can enter the socket directory
  chmod 0700 "$PG_DATA" "$PG_RUN"
  if ((EUID == 0)); then
    chown postgres: "$PG_DATA" "$PG_RUN" "$PG_LOG"
  fi
}

cluster_start() {
  [[ -n ${PG_BIN:-} ]] || _pg_find || die "PostgreSQL server binaries not found (run ensure_postgis)"
  ((EUID != 0)) || id postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' system user"
  _cluster_paths
  if [[ ! -f $PG_DATA/PG_VERSION ]]; then
    note "Creating a PostgreSQL $PG_MAJOR cluster in .data/pg"
    # pg_trgm on Chinese text needs a UTF-8 ctype
    _as_cluster_user "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust \
      -E UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$RF_DATA/seeded"
  fi
  if _as_cluster_user "$PG_BIN/pg_ctl" status -D "$PG_DATA" >/dev/null 2>&1; then
    return 0
  fi
  # No TCP listener (-h ''), so no clash with a system PostgreSQL. With the stock WAL
  # size a million-row import checkpoints every minute, and after each checkpoint
  # writes whole pages into the WAL again.
  if ! _as_cluster_user "$PG_BIN/pg_ctl" start -w -D "$PG_DATA" -l "$PG_LOG" \
    -o "-h '' -p $RF_PGPORT -k $(_sh_quote "$PG_RUN") $RF_PG_SETTINGS" >/dev/null; then
    tail -n 5 "$PG_LOG" >&2
    die "PostgreSQL did not start; see .data/pg.log"
  fi
  RF_CLUSTER_STARTED=1
}

# Stops the cluster only if this shell started it, so a cluster shared with
# another running script stays up.
cluster_stop() {
  if ((RF_CLUSTER_STARTED)); then
    _as_cluster_user "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m fast >/dev/null
    RF_CLUSTER_STARTED=0
  fi
}

_urlencode() {
  local LC_ALL=C s=$1 out='' c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in
      [A-Za-z0-9/._~-]) out+=$c ;;
      *) printf -v c '%%%02X' "'$c" && out+=$c ;;
    esac
  done
  echo "$out"
}

cluster_url() {
  [[ -n ${PG_RUN:-} ]] || _cluster_paths
  echo "postgresql+psycopg://postgres@/$1?host=$(_urlencode "$PG_RUN")&port=$RF_PGPORT"
}

cluster_psql() {
  local db=$1
  shift
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_RUN" -p "$RF_PGPORT" -U postgres -d "$db" "$@"
}

ensure_database() {
  cluster_psql postgres -v db="$1" <<'SQL'
SELECT format('CREATE DATABASE %I', :'db')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db')\gexec
SQL
}
