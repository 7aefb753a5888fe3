"""A PostgreSQL cluster on one machine, for failover drills and demonstrations: three etcd
members, three PostgreSQL nodes under Patroni (a synchronous standby and an asynchronous
one), pgbouncer in transaction mode before each node, and HAProxy routing to the
primary by Patroni's health checks. All from the distribution's packages, all on
loopback ports from RF_CLUSTER_PORT (25400):

    +0..+5   etcd members 1-3 (client, peer)
    +11..13  PostgreSQL of nodes 1-3      +21..23  their Patroni REST APIs
    +31..33  their pgbouncers             +40      HAProxy: the primary's pgbouncer

Used by scripts/cluster (up, down, status, env) and scripts/bench/drill_cluster.py.
Trust authentication on loopback: a drill cluster, not a production one (see
docs/operations.md for the production settings)."""

import contextlib
import hashlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Below Linux's ephemeral ports (32768-60999): within them, a client's connection made
# while the cluster is down may take one as its source port and hold it for a minute.
BASE = int(os.environ.get("RF_CLUSTER_PORT", "25400"))
NODES = (1, 2, 3)
PG_BIN = Path(os.environ.get("PG_BIN") or sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1])
# The cluster user must be able to enter it: under /var/tmp, named after the project.
HOME = Path("/var/tmp") / f"rf-cluster-{hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]}"
DATABASE = "rf"
READER = "rf_read"


def etcd_ports(member: int) -> tuple[int, int]:
    return BASE + 2 * (member - 1), BASE + 2 * (member - 1) + 1


@dataclass(frozen=True)
class Node:
    number: int

    @property
    def name(self) -> str:
        return f"node{self.number}"

    @property
    def pg_port(self) -> int:
        return BASE + 10 + self.number

    @property
    def rest_port(self) -> int:
        return BASE + 20 + self.number

    @property
    def bouncer_port(self) -> int:
        return BASE + 30 + self.number

    @property
    def home(self) -> Path:
        return HOME / self.name

    @property
    def data(self) -> Path:
        return self.home / "pg"

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None


NODE = {n: Node(n) for n in NODES}
PRIMARY_PORT = BASE + 40


def as_cluster_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def spawn(name: str, command: list[str]) -> None:
    """Starts `command` as the cluster user, detached, its output in HOME/log/NAME.log."""
    log = open(HOME / "log" / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it
    # The child becomes the cluster user itself, not through runuser, so that the pid kept
    # is the server's and a stop reaches it: runuser kills its child 2 s after passing a
    # SIGTERM on, too soon for Patroni to stop PostgreSQL and give up the leader key.
    user = {}
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        user = {
            "user": account.pw_uid,
            "group": account.pw_gid,
            "extra_groups": [],
            "env": {
                **os.environ,
                "HOME": account.pw_dir,
                "USER": "postgres",
                "LOGNAME": "postgres",
            },
        }
    process = subprocess.Popen(
        command,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        cwd="/",
        **user,
    )
    (HOME / "pid" / f"{name}.pid").write_text(str(process.pid))


def get_json(url: str, timeout: float = 1) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return json.loads(answer.read())
    except (OSError, ValueError):
        return None


def members() -> list[dict]:
    """Patroni's view of the cluster (name, role, state, lag), from any node that answers."""
    for node in NODE.values():
        found = get_json(f"http://127.0.0.1:{node.rest_port}/cluster")
        if found is not None:
            return found.get("members", [])
    return []


def leader() -> Node | None:
    for member in members():
        if member["role"] == "leader" and member["state"] == "running":
            node = NODE[int(member["name"].removeprefix("node"))]
            # The members are as etcd last heard of them, which on a restart is before the
            # stop: the node's own Patroni answers for now (200 on the primary only).
            if get_json(f"http://127.0.0.1:{node.rest_port}/primary") is not None:
                return node
    return None


def ready_leader() -> Node | None:
    """The leader, once its PostgreSQL takes connections (Patroni holds the leader key
    before it has started it)."""
    node = leader()
    if node is None:
        return None
    ready = subprocess.run(
        [str(PG_BIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(node.pg_port)],
        check=False,
    )
    return node if ready.returncode == 0 else None


def wait(condition, what: str, seconds: float = 120):
    deadline = time.monotonic() + seconds
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            sys.exit(f"cluster: {what} (logs in {HOME / 'log'})")
        time.sleep(0.5)


# --- configuration -----------------------------------------------------------------------


def etcd_command(member: int) -> list[str]:
    client, peer = etcd_ports(member)
    everyone = ",".join(f"e{m}=http://127.0.0.1:{etcd_ports(m)[1]}" for m in NODES)
    return [
        "etcd",
        f"--name=e{member}",
        f"--data-dir={HOME / f'etcd{member}'}",
        f"--listen-client-urls=http://127.0.0.1:{client}",
        f"--advertise-client-urls=http://127.0.0.1:{client}",
        f"--listen-peer-urls=http://127.0.0.1:{peer}",
        f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
        f"--initial-cluster={everyone}",
        "--initial-cluster-state=new",
        "--initial-cluster-token=rf",
    ]


def patroni_config(node: Node) -> dict:
    # JSON is YAML: Patroni reads it as written.
    return {
        "scope": "rf",
        "namespace": "/rf/",
        "name": node.name,
        "restapi": {
            "listen": f"127.0.0.1:{node.rest_port}",
            "connect_address": f"127.0.0.1:{node.rest_port}",
        },
        "etcd3": {"hosts": [f"127.0.0.1:{etcd_ports(m)[0]}" for m in NODES]},
        "bootstrap": {
            "dcs": {
                "ttl": 20,
                "loop_wait": 1,
                "retry_timeout": 5,
                # A primary whose PostgreSQL dies is failed over at once, not restarted in
                # place: its synchronous standby holds every acknowledged commit.
                "primary_start_timeout": 0,
                "synchronous_mode": True,
                "maximum_lag_on_failover": 16 * 1024 * 1024,
                "postgresql": {
                    "use_pg_rewind": True,
                    "use_slots": True,
                    "parameters": {
                        "wal_level": "replica",
                        "hot_standby": "on",
                        "wal_log_hints": "on",
                        "max_wal_senders": 10,
                        "max_replication_slots": 10,
                        "max_connections": 200,
                        "shared_buffers": "256MB",
                    },
                },
            },
            "initdb": [{"encoding": "UTF8"}, {"locale": "C.UTF-8"}, "data-checksums"],
            "pg_hba": [
                "local all all trust",
                "host all all 127.0.0.1/32 trust",
                "host replication all 127.0.0.1/32 trust",
            ],
        },
        "postgresql": {
            "listen": f"127.0.0.1:{node.pg_port}",
            "connect_address": f"127.0.0.1:{node.pg_port}",
            "data_dir": str(node.data),
            "bin_dir": str(PG_BIN),
            "pgpass": str(node.home / "pgpass"),
            "authentication": {
                "superuser": {"username": "postgres"},
                "replication": {"username": "postgres"},
                "rewind": {"username": "postgres"},
            },
            "parameters": {"unix_socket_directories": str(node.home)},
        },
        # synchronous_mode keeps one standby synchronous (synchronous_node_count 1) and
        # the other asynchronous; after a failover either may become the synchronous one.
    }


def bouncer_config(node: Node) -> str:
    return f"""[databases]
* = host=127.0.0.1 port={node.pg_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {node.bouncer_port}
unix_socket_dir =
auth_type = trust
auth_file = {HOME / "users.txt"}
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 40
; after a restart of its PostgreSQL, try again at once rather than after 15 s
server_login_retry = 1
logfile =
pidfile =
"""


def haproxy_config() -> str:
    servers = "\n".join(
        f"  server {n.name} 127.0.0.1:{n.bouncer_port} check port {n.rest_port}"
        for n in NODE.values()
    )
    return f"""global
  maxconn 4000

defaults
  mode tcp
  timeout connect 2s
  timeout client 1h
  timeout server 1h
  timeout check 1s

# Patroni answers GET /primary with 200 on the leader only.
listen primary
  bind 127.0.0.1:{PRIMARY_PORT}
  option httpchk GET /primary
  http-check expect status 200
  default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions
{servers}
"""


# --- commands ------------------------------------------------------------------------------


def ports() -> list[int]:
    return [
        *(port for member in NODES for port in etcd_ports(member)),
        *(port for n in NODE.values() for port in (n.pg_port, n.rest_port, n.bouncer_port)),
        PRIMARY_PORT,
    ]


def taken(port: int) -> bool:
    with socket.socket() as probe:
        # As the servers bind: a port whose last connections linger in TIME_WAIT is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def ours() -> bool:
    """Whether this checkout's Patroni runs: another checkout's cluster on the same ports
    answers Patroni's API just as well, and must be neither used nor stopped from here."""
    return any(
        _alive(int(path.read_text()))
        for path in (HOME / "pid").glob("node*.pid")
        if path.read_text().strip().isdigit()
    )


def up(demo_size: int) -> None:
    for tool in ("etcd", "patroni", "pgbouncer", "haproxy"):
        if shutil.which(tool) is None:
            sys.exit(f"cluster: {tool} is missing (scripts/cluster installs it)")
    # Ours may be between leaders (a drill's failover): its leader is waited for.
    running = wait(ready_leader, "no leader elected") if ours() else None
    busy = [] if running else [port for port in ports() if taken(port)]
    if busy:
        sys.exit(
            f"cluster: ports {', '.join(map(str, busy))} are taken, by another cluster or"
            f" program; set RF_CLUSTER_PORT to a base with {PRIMARY_PORT - BASE} free ports"
            " after it"
        )
    if running is not None:
        _prepare(running, demo_size)
        print(f"cluster: already up, led by {running.name}", file=sys.stderr)
        return
    for sub in ("log", "pid"):
        (HOME / sub).mkdir(parents=True, exist_ok=True)
    (HOME / "users.txt").write_text(f'"postgres" ""\n"{READER}" ""\n')
    for node in NODE.values():
        node.home.mkdir(exist_ok=True)
        (node.home / "patroni.yml").write_text(json.dumps(patroni_config(node), indent=1))
        (node.home / "pgbouncer.ini").write_text(bouncer_config(node))
    (HOME / "haproxy.cfg").write_text(haproxy_config())
    if os.geteuid() == 0:
        subprocess.run(["chown", "-R", "postgres:", str(HOME)], check=True)
        os.chmod(HOME, 0o755)
    for member in NODES:
        spawn(f"etcd{member}", etcd_command(member))
    for node in NODE.values():
        spawn(node.name, ["patroni", str(node.home / "patroni.yml")])
    wait(ready_leader, "no leader elected")
    wait(lambda: _streaming() == 2, "the standbys did not start streaming", seconds=180)
    for node in NODE.values():
        spawn(f"pgbouncer{node.number}", ["pgbouncer", str(node.home / "pgbouncer.ini")])
    spawn("haproxy", ["haproxy", "-db", "-f", str(HOME / "haproxy.cfg")])
    first = wait(ready_leader, "no leader elected")
    _prepare(first, demo_size)
    print(f"cluster: up, led by {first.name}", file=sys.stderr)


def _streaming() -> int:
    return sum(m["role"] != "leader" and m["state"] in ("streaming", "running") for m in members())


def psql(node: Node, sql: str, database: str = "postgres") -> str:
    return subprocess.run(
        as_cluster_user(
            [str(PG_BIN / "psql"), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1",
             "-h", "127.0.0.1", "-p", str(node.pg_port), "-U", "postgres", "-d", database,
             "-c", sql]
        ),
        check=True, capture_output=True, text=True, cwd="/",
    ).stdout.strip()  # fmt: skip


def _prepare(primary: Node, demo_size: int) -> None:
    """The registry's database on the primary: migrated, with demo data, and a reader role
    carrying the hot reads' planner settings, which pgbouncer in transaction mode cannot
    take as startup options (app.db.session.connect_args)."""
    if psql(primary, f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'") != "1":
        psql(primary, f"CREATE DATABASE {DATABASE}")
        psql(primary, f"ALTER DATABASE {DATABASE} SET jit = off")
        psql(
            primary,
            f"CREATE ROLE {READER} LOGIN; GRANT pg_read_all_data TO {READER};"
            f" ALTER ROLE {READER} SET enable_bitmapscan = off;"
            f" ALTER ROLE {READER} SET max_parallel_workers_per_gather = 0;"
            f" ALTER ROLE {READER} SET default_transaction_read_only = on;"
            # RF_READ_STATEMENT_TIMEOUT_S, which pgbouncer keeps the API from sending
            f" ALTER ROLE {READER} SET statement_timeout = '5s'",
        )
    env = {**os.environ, "DATABASE_URL": direct_url(primary)}
    rf = str(ROOT / ".venv" / "bin" / "rf")
    subprocess.run([rf, "db", "upgrade"], env=env, check=True)
    if psql(primary, "SELECT count(*) FROM facility", DATABASE) == "0":
        subprocess.run([rf, "divisions", "import-cnmaps"], env=env, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        subprocess.run([rf, "demo", "load", "--size", str(demo_size)], env=env, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        psql(primary, "VACUUM ANALYZE", DATABASE)


def direct_url(node: Node) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:{node.pg_port}/{DATABASE}"


def environment() -> dict[str, str]:
    """What the API needs to use the cluster: writes through HAProxy to the primary's
    pgbouncer, hot reads on every node's pgbouncer as the reader (only standbys take them)."""
    return {
        "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{PRIMARY_PORT}/{DATABASE}",
        "DATABASE_REPLICA_URLS": ",".join(
            f"postgresql+psycopg://{READER}@127.0.0.1:{n.bouncer_port}/{DATABASE}"
            for n in NODE.values()
        ),
        "RF_DB_PGBOUNCER": "1",
    }


# The poolers first, whose connections would hold a PostgreSQL's shutdown; then Patroni,
# which stops its PostgreSQL and gives up the leader key while etcd still answers: a key
# left behind names a leader that the restarted cluster does not have yet.
STOP_ORDER = ("haproxy", "pgbouncer", "node", "etcd")


def down() -> None:
    for name in STOP_ORDER:
        _stop(sorted((HOME / "pid").glob(f"{name}*.pid")))
    # A PostgreSQL whose Patroni was killed outlives it.
    for node in NODE.values():
        pid = node.postmaster_pid()
        if pid and _alive(pid):
            subprocess.run(as_cluster_user([str(PG_BIN / "pg_ctl"), "stop", "-D", str(node.data),
                                            "-m", "immediate"]), cwd="/", check=False)  # fmt: skip


def _stop(pids: list[Path]) -> None:
    for path in pids:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.killpg(int(path.read_text()), signal.SIGTERM)
    deadline = time.monotonic() + 30
    for path in pids:
        pid = int(path.read_text())
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(pid):
            os.killpg(pid, signal.SIGKILL)
        path.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"


def status() -> None:
    for member in members():
        print(
            f"{member['name']:6} {member['role']:13} {member['state']:10}"
            f" lag {member.get('lag', 0)!s:>6}  postgres :{member['port']}"
            f"  pgbouncer :{NODE[int(member['name'][4:])].bouncer_port}"
        )
    print(f"primary (HAProxy) :{PRIMARY_PORT}")


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "up":
        up(int(sys.argv[2]) if len(sys.argv) > 2 else 6000)
    elif command == "down":
        down()
    elif command == "destroy":
        down()
        shutil.rmtree(HOME, ignore_errors=True)
    elif command == "status":
        status()
    elif command == "env":
        for name, value in environment().items():
            print(f"export {name}='{value}'")
    else:
        sys.exit("usage: cluster.py up [DEMO_SIZE] | down | destroy | status | env")


if __name__ == "__main__":
    main()
