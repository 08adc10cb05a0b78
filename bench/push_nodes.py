"""Benchmark: pushing the configuration of 10 and of 50 WebRTC nodes through real Celery
workers, over real SSH, on MariaDB + Redis; then 1,000 user edits in one transaction.

Every node is a real OpenSSH sshd on loopback (its own host key and client key) serving a
fake node file tree whose /etc/init.d/serCen and janus scripts sleep a little on "restart",
like a real daemon. Two Celery worker processes (threads pool) run the pushes from a queue
of their own. For each size the pushes of all nodes are requested in one transaction and
the wall time until the last one finished is printed; t(50)/t(10) ≤ 2.5 means the nodes
are pushed in parallel, not one after another. Then 1,000 users are created/updated
through users.services in one transaction, which must leave exactly one new push per
WebRTC node (requests coalesce) and none for the corporate node.

Runs in a throw-away database (test NAME portal_bench_push, or $BENCH_DB_NAME), dropped at the
end with every sshd, worker and temporary directory, even on failure.

    DEBUG=1 .venv/bin/python bench/push_nodes.py [--sizes 10 50] [--restart-seconds 0.2]
        [--pool threads] [--concurrency 25] [--edits 1000] [--timeout 300]
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "mysql://root:@127.0.0.1:3306/test")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/13")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
# A queue of its own: no other worker on the same Redis takes these pushes.
os.environ["CELERY_QUEUE"] = f"bench-push-{uuid.uuid4().hex[:8]}"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Count  # noqa: E402

from core.actors import Actor  # noqa: E402
from extensions.services import extension_create, pool_create, pool_create_range  # noqa: E402
from licensing.models import LicenseStock  # noqa: E402
from nodes.models import Node, Push  # noqa: E402
from nodes.services import push_request  # noqa: E402
from tests.celery_worker import Worker as CeleryWorker  # noqa: E402
from tests.integration.ssh_server import SshServer, start_ssh_server  # noqa: E402
from tests.nodes.fake_node import calls, fake_node_settings, make_fake_node  # noqa: E402
from users.services import portal_user_create, portal_user_update  # noqa: E402

QUEUE = os.environ["CELERY_QUEUE"]
WORKERS = 2
EXPECTED_CALLS = [
    "serCen restart",
    "serCen status",
    "janus restart",
    "janus status",
    "fail2ban restart",
    "fail2ban status",
]
SUCCEEDED = "Task nodes.push_node["
# Issue #18's goal for the 1,000 user edits in one transaction.
EDITS_GOAL_SECONDS = 3.0
EDITS_GOAL_QUERIES = 8
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class Worker(CeleryWorker):
    """One `celery worker` process on the bench queue and database (the tests' launcher),
    with the production leases, counting the pushes it finished."""

    def __init__(self, name: str, log: Path, pool: str, concurrency: int):
        super().__init__(
            QUEUE,
            log,
            # An unreachable node fails after one quick retry instead of minutes of backoff;
            # a push's lease and grace as in production.
            env={
                "PUSH_RUNNING_LEASE_SECONDS": str(settings.PUSH_RUNNING_LEASE_SECONDS),
                "PUSH_PENDING_GRACE_SECONDS": str(settings.PUSH_PENDING_GRACE_SECONDS),
            },
            name=name,
            pool=pool,
            concurrency=concurrency,
        )

    def tasks_done(self) -> int:
        return sum(
            1 for line in self.text().splitlines() if SUCCEEDED in line and "succeeded" in line
        )


@dataclass
class Env:
    """Everything the bench started, so the finally block can take it all down."""

    workdir: Path
    servers: list[SshServer]
    workers: list[Worker]
    keep_logs: Path | None = None


@dataclass
class Round:
    label: str
    nodes: int
    wall: float
    statuses: Counter
    median_push: float
    max_push: float
    max_wait: float
    per_worker: list[int]
    load: float
    cpu: dict[str, float]


def process_cpu(pid: int) -> float:
    """CPU seconds of a process plus those of the children it reaped (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return sum(int(v) for v in fields[11:15]) / CLOCK_TICKS  # utime stime cutime cstime


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and all its live and reaped descendants (prefork children,
    sshd sessions still open)."""
    total = process_cpu(pid)
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        with suppress(OSError):
            for child in children.read_text().split():
                total += tree_cpu(int(child))
    return total


def database_pid() -> int | None:
    """The local MariaDB server's pid, to account its CPU (None if it runs elsewhere)."""
    for comm in Path("/proc").glob("[0-9]*/comm"):
        with suppress(OSError):
            if comm.read_text().strip() in {"mariadbd", "mysqld"}:
                return int(comm.parent.name)
    return None


def cpu_sample(env: Env, db_pid: int | None) -> dict[str, float]:
    """Cumulative CPU seconds: the workers, the sshds (with their sessions and the init
    scripts they ran), MariaDB, this process, and the whole machine (busy and capacity)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    own = os.times()
    return {
        "workers": sum(tree_cpu(w.process.pid) for w in env.workers),
        "sshd": sum(tree_cpu(s.process.pid) for s in env.servers if s.process),
        "mariadb": process_cpu(db_pid) if db_pid else 0.0,
        "bench": own.user + own.system,
        "busy": (sum(values) - values[3] - values[4]) / CLOCK_TICKS,  # all but idle, iowait
        "capacity": sum(values) / CLOCK_TICKS,
    }


def wait_until(predicate, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def ssh_node(name: str, server: SshServer, root: Path, corporate: Node) -> Node:
    """A WebRTC node whose files and init scripts live under ``root`` on ``server``.

    Written directly (as tests.factories does): node_create would request a push itself.
    """
    return Node.objects.create(
        name=name,
        kind=Node.Kind.WEBRTC,
        transport=Node.Transport.SSH,
        address="127.0.0.1",
        domain="labmeet.mdnova.local",
        local_ip="10.10.0.31",
        corporate_node=corporate,
        ssh_port=server.port,
        ssh_user=server.user,
        ssh_private_key=server.private_key,
        ssh_host_key=server.host_key,
        **fake_node_settings(root),
    )


def start_node_sshd(env: Env, login_bashrc: bool) -> SshServer:
    """A real sshd with its own temp dir, host key and client key (tests' start_ssh_server).

    Unless ``login_bashrc``, its sessions get HOME=<its dir>/home: bash run by sshd reads
    ~/.bashrc, and this machine's root .bashrc runs `pyenv init` (~0.2-0.4 s per command,
    10x the SSH round trip), which a real node's root does not.
    """
    server = start_ssh_server()
    env.servers.append(server)
    if not login_bashrc:
        home = server.directory / "home"
        home.mkdir()
        config = server.directory / "sshd_config"
        config.write_text(config.read_text() + f"SetEnv HOME={home}\n")
        server.stop()
        server.start()
    return server


def make_nodes(
    env: Env, prefix: str, count: int, corporate: Node, args: argparse.Namespace
) -> list[tuple[Node, Path]]:
    made = []
    for i in range(count):
        server = start_node_sshd(env, args.login_bashrc)
        root = make_fake_node(env.workdir / f"{prefix}-{i:03d}")
        for daemon in ("serCen", "janus"):
            (root / f"slow-{daemon}-restart").write_text(f"{args.restart_seconds}")
        made.append((ssh_node(f"{prefix}-{i:03d}", server, root, corporate), root))
    return made


def finished_count(ids: list[int]) -> int:
    return Push.objects.filter(pk__in=ids, status__in=Push.FINISHED).count()


def wait_pushes(ids: list[int], timeout: float, what: str) -> None:
    wait_until(lambda: finished_count(ids) == len(ids), timeout, what)


def summarise(
    label: str, ids: list[int], wall: float, env: Env, before: list[int], cpu: dict[str, float]
) -> Round:
    pushes = list(Push.objects.filter(pk__in=ids))
    runs = [(p.finished_at - p.started_at).total_seconds() for p in pushes if p.started_at]
    waits = [(p.started_at - p.requested_at).total_seconds() for p in pushes if p.started_at]
    return Round(
        label=label,
        nodes=len(ids),
        wall=wall,
        statuses=Counter(p.status for p in pushes),
        median_push=statistics.median(runs) if runs else 0.0,
        max_push=max(runs, default=0.0),
        max_wait=max(waits, default=0.0),
        per_worker=[w.tasks_done() - b for w, b in zip(env.workers, before, strict=True)],
        load=os.getloadavg()[0],
        cpu=cpu,
    )


def push_round(
    env: Env, label: str, count: int, corporate: Node, args: argparse.Namespace
) -> Round:
    timeout = args.timeout
    nodes = make_nodes(env, label, count, corporate, args)
    db_pid = database_pid()
    before = [w.tasks_done() for w in env.workers]
    cpu_before = cpu_sample(env, db_pid)
    began = time.perf_counter()
    with transaction.atomic():
        ids = [
            push_request(node=node, reason="bench", requested_by="bench").pk for node, _ in nodes
        ]
    wait_pushes(ids, timeout, f"{count} pushes ({label})")
    wall = time.perf_counter() - began
    # The worker logs its "succeeded" line just after the push row is finished.
    wait_until(
        lambda: sum(w.tasks_done() for w in env.workers) - sum(before) >= count,
        10,
        "the workers' log lines",
    )
    time.sleep(0.5)  # each sshd reaps its last sessions (their CPU is counted then)
    cpu_after = cpu_sample(env, db_pid)
    cpu = {key: cpu_after[key] - cpu_before[key] for key in cpu_before}
    result = summarise(label, ids, wall, env, before, cpu)
    wrong = [root.name for _node, root in nodes if calls(root) != EXPECTED_CALLS]
    if result.statuses != Counter({Push.Status.APPLIED: count}) or wrong:
        failed = Push.objects.filter(pk__in=ids).exclude(status=Push.Status.APPLIED).first()
        raise RuntimeError(
            f"{label}: statuses {dict(result.statuses)}, nodes with unexpected init calls "
            f"{wrong[:5]}; first not applied: {failed and (failed.status, failed.detail)}"
        )
    return result


def print_rounds(rounds: list[Round]) -> None:
    print(
        f"{'round':>8} {'nodes':>6} {'wall s':>7} {'median push s':>14} {'max push s':>11} "
        f"{'max queued s':>13} {'by worker':>10} {'load':>5}  statuses"
    )
    for r in rounds:
        by_worker = "/".join(str(n) for n in r.per_worker)
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(r.statuses.items()))
        print(
            f"{r.label:>8} {r.nodes:>6} {r.wall:>7.2f} {r.median_push:>14.2f} "
            f"{r.max_push:>11.2f} {r.max_wait:>13.2f} {by_worker:>10} {r.load:>5.1f}  {statuses}"
        )
    print()
    print("CPU seconds used from the request to the last push finished (+0.5 s):")
    print(
        f"{'round':>8} {'workers':>8} {'sshd+scripts':>13} {'mariadb':>8} {'bench':>6} "
        f"{'other procs':>12} {'machine busy':>13} {'of capacity':>12}"
    )
    for r in rounds:
        c = r.cpu
        ours = c["workers"] + c["sshd"] + c["mariadb"] + c["bench"]
        print(
            f"{r.label:>8} {c['workers']:>8.2f} {c['sshd']:>13.2f} {c['mariadb']:>8.2f} "
            f"{c['bench']:>6.2f} {max(c['busy'] - ours, 0):>12.2f} {c['busy']:>13.2f} "
            f"{c['busy'] / c['capacity']:>11.0%}"
        )
    cpus = os.cpu_count() or 1
    for r in rounds[1:]:
        c = r.cpu
        ours = c["workers"] + c["sshd"] + c["mariadb"] + c["bench"]
        print(
            f"{r.label}: the bench's own processes used {ours / r.nodes:.2f} CPU s per push; "
            f"{r.nodes} pushes need ≥ {ours / cpus:.2f} s of wall time on {cpus} idle CPUs"
        )
    print()
    print(
        "Per push, in CPU milliseconds (portal side: what the portal's machine spends; node side:"
    )
    print(
        "the simulated nodes' sshd and init scripts, which share this machine's CPUs here but run"
    )
    print("on each node in an installation):")
    for r in rounds[1:]:
        c = r.cpu
        print(
            f"{r.label:>8}: portal side {1000 * (c['workers'] + c['mariadb']) / r.nodes:5.1f} "
            f"(workers {1000 * c['workers'] / r.nodes:5.1f}, MariaDB "
            f"{1000 * c['mariadb'] / r.nodes:4.1f}); node side {1000 * c['sshd'] / r.nodes:5.1f}"
        )


def user_edits(env: Env, corporate: Node, edits: int, timeout: float) -> None:
    """``edits`` creations/updates of users in one transaction → one push per WebRTC node."""
    actor = Actor.system("bench")
    updates = edits * 3 // 10  # 70 % creations, 30 % updates (pool ↔ fixed extension)
    creations = edits - updates
    LicenseStock.objects.update_or_create(id=1, defaults={"stock": 1_000_000})
    base = extension_create(
        actor=actor, number="7000000", kind="webfon", node=corporate, site="Sede", department="D"
    )
    pool = pool_create(actor=actor, name="bench-pool", base_extension=base)
    pool_create_range(actor=actor, pool=pool, first="7100000", last="7100099")
    fixed_needed = (creations + 1) // 2 + updates // 2
    fixed = [
        extension_create(
            actor=actor,
            number=str(7_200_000 + i),
            kind="webfon",
            node=corporate,
            site="Sede",
            department="D",
        )
        for i in range(fixed_needed)
    ]
    webrtc = list(Node.objects.filter(kind=Node.Kind.WEBRTC).values_list("pk", flat=True))
    assert not Push.objects.exclude(status__in=Push.FINISHED).exists(), "a push is still open"
    last_id = Push.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    queries: Counter = Counter()

    def count_queries(execute, sql, params, many, context):
        text = sql.lstrip().upper()
        if text.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
            queries["savepoint"] += 1
        elif "`NODES_PUSH`" in text and text.startswith("SELECT") and "FOR UPDATE" in text:
            queries["pending push lookup"] += 1
        else:
            queries["other"] += 1
        return execute(sql, params, many, context)

    free_fixed = iter(fixed)
    db_pid = database_pid()
    cpu_before = cpu_sample(env, db_pid)
    began = time.perf_counter()
    with connection.execute_wrapper(count_queries), transaction.atomic():
        pooled, fixed_users = [], []
        for i in range(creations):
            account = f"bench{i:04d}"
            if i % 2 == 0:
                pooled.append(
                    portal_user_create(actor=actor, account=account, name=account, pool=pool)
                )
            else:
                fixed_users.append(
                    portal_user_create(
                        actor=actor,
                        account=account,
                        name=account,
                        webfon_extension=next(free_fixed),
                    )
                )
        for i in range(updates):
            if i % 2 == 0:  # pool → a fixed extension of its own
                portal_user_update(
                    actor=actor, user=pooled[i // 2], pool=None, webfon_extension=next(free_fixed)
                )
            else:  # fixed extension → the pool (the extension is left free)
                portal_user_update(
                    actor=actor, user=fixed_users[i // 2], webfon_extension=None, pool=pool
                )
    elapsed = time.perf_counter() - began
    committed = time.perf_counter()
    cpu_after = cpu_sample(env, db_pid)
    cpu = {key: cpu_after[key] - cpu_before[key] for key in cpu_before}

    new = Push.objects.filter(pk__gt=last_id)
    per_node = dict(new.values_list("node_id").annotate(n=Count("pk")))
    histogram = Counter(per_node.get(pk, 0) for pk in webrtc)
    corporate_pushes = per_node.get(corporate.pk, 0)
    ids = list(new.values_list("pk", flat=True))
    sample = new.first()
    print()
    print(
        f"{edits} user edits in one transaction ({creations} portal_user_create: "
        f"{(creations + 1) // 2} pool, {creations // 2} fixed; {updates} portal_user_update: "
        f"pool ↔ fixed)"
    )
    total = sum(queries.values())
    print(
        f"  transaction: {elapsed:.2f} s, {total} queries ({total / edits:.1f} per edit, "
        f"{len(webrtc)} WebRTC nodes): "
        + ", ".join(f"{kind} {n}" for kind, n in queries.most_common())
    )
    # The wall time is the CPU time the transaction needs (this process, then MariaDB, one
    # statement at a time) divided by the share of a CPU it got: on a shared machine whose
    # other processes keep both CPUs busy, it grows with them while the CPU seconds do not.
    ours = cpu["bench"] + cpu["mariadb"]
    others = max(cpu["busy"] - ours - cpu["workers"] - cpu["sshd"], 0.0)
    print(
        f"  CPU seconds in the transaction: bench process {cpu['bench']:.2f}, MariaDB "
        f"{cpu['mariadb']:.2f} (together {ours:.2f}); meanwhile workers {cpu['workers']:.2f}, "
        f"sshds {cpu['sshd']:.2f}, other processes {others:.2f}, of the machine's "
        f"{cpu['capacity']:.2f}; load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"  new pushes: {len(ids)} for {len(webrtc)} WebRTC nodes; per WebRTC node "
        f"{dict(sorted(histogram.items()))} (new pushes: number of nodes); corporate node: "
        f"{corporate_pushes}"
    )
    print(f"  reasons on a coalesced push: {sample.reasons if sample else None}")
    ok = histogram == Counter({1: len(webrtc)}) and corporate_pushes == 0
    print(f"  exactly one new push per WebRTC node: {'YES' if ok else 'NO'}")
    fast = elapsed <= EDITS_GOAL_SECONDS and total / edits <= EDITS_GOAL_QUERIES
    print(
        f"  goal ≤ {EDITS_GOAL_SECONDS} s and ≤ {EDITS_GOAL_QUERIES} queries per edit: "
        f"{'met' if fast else 'NOT met'}"
    )
    wait_pushes(ids, timeout, "the pushes after the user edits")
    statuses = Counter(Push.objects.filter(pk__in=ids).values_list("status", flat=True))
    print(
        f"  after commit all {len(ids)} pushes finished in {time.perf_counter() - committed:.2f} s: "
        f"{dict(statuses)}"
    )
    if not ok:
        raise RuntimeError("the user edits did not coalesce into one push per node")


def run(env: Env, args: argparse.Namespace) -> None:
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    print(f"broker: {settings.CELERY_BROKER_URL} queue {QUEUE}")
    print(
        f"workers: {WORKERS} processes, each `celery worker -P {args.pool} -c {args.concurrency} "
        f"--prefetch-multiplier 1` ({WORKERS * args.concurrency} pushes at once)"
    )
    print(
        f"fake nodes: one sshd each; serCen and janus 'restart' sleep {args.restart_seconds} s "
        f"(slow-<daemon>-restart), so a first push waits ≥ {2 * args.restart_seconds:.1f} s "
        "on restarts"
    )
    print(
        "remote shell: "
        + (
            "root's own ~/.bashrc (as is)"
            if args.login_bashrc
            else "HOME=<sshd dir>/home (this machine's root ~/.bashrc runs pyenv on every command)"
        )
    )
    print(f"cpus: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.1f}")
    for i in range(WORKERS):
        env.workers.append(
            Worker(f"bench{i + 1}", env.workdir / f"worker{i + 1}.log", args.pool, args.concurrency)
        )
    for worker in env.workers:
        worker.wait_ready(60)
    corporate = Node.objects.create(name="bench-corp", kind=Node.Kind.CORPORATE, address="10.0.0.1")
    rounds = [push_round(env, "warm-up", args.warmup, corporate, args)]
    for size in args.sizes:
        rounds.append(push_round(env, f"n{size}", size, corporate, args))
    print()
    print_rounds(rounds)
    measured = {r.nodes: r.wall for r in rounds[1:]}
    if len(args.sizes) >= 2:
        small, large = args.sizes[0], args.sizes[-1]
        ratio = measured[large] / measured[small]
        goal = 2.5
        print(
            f"t({large})/t({small}) = {measured[large]:.2f} / {measured[small]:.2f} = {ratio:.2f} "
            f"(goal ≤ {goal}: {'met' if ratio <= goal else 'NOT met'})"
        )
    user_edits(env, corporate, args.edits, args.timeout)


def cleanup(env: Env) -> None:
    for worker in env.workers:
        try:
            worker.stop()
        except Exception as exc:
            print(f"cleanup: worker {worker.name}: {exc}", file=sys.stderr)
    for server in env.servers:
        try:
            server.cleanup()
        except Exception as exc:
            print(f"cleanup: sshd on port {server.port}: {exc}", file=sys.stderr)
    try:
        import redis

        redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=5).delete(QUEUE)
    except Exception as exc:
        print(f"cleanup: redis queue {QUEUE}: {exc}", file=sys.stderr)
    if env.keep_logs:
        env.keep_logs.mkdir(parents=True, exist_ok=True)
        for worker in env.workers:
            with suppress(OSError):
                shutil.copy(worker.log, env.keep_logs / worker.log.name)
    shutil.rmtree(env.workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--warmup", type=int, default=4, help="nodes pushed first, not measured")
    parser.add_argument("--restart-seconds", type=float, default=0.2)
    parser.add_argument("--pool", default="threads", choices=["threads", "prefork"])
    parser.add_argument("--concurrency", type=int, default=25, help="per worker process")
    parser.add_argument("--edits", type=int, default=1000)
    parser.add_argument("--logs", type=Path, help="copy the workers' logs to this directory")
    parser.add_argument(
        "--login-bashrc", action="store_true", help="let remote commands read root's ~/.bashrc"
    )
    parser.add_argument("--timeout", type=float, default=300, help="seconds, for every wait")
    args = parser.parse_args()
    if not settings.CELERY_BROKER_URL or connection.vendor != "mysql":
        sys.exit("needs DATABASE_URL=mysql://… and CELERY_BROKER_URL=redis://…")
    # A database of its own, so a test run (test_<name>) is never clobbered.
    # BENCH_DB_NAME lets two people run the bench on one MariaDB at the same time.
    connection.settings_dict.setdefault("TEST", {})["NAME"] = os.environ.get(
        "BENCH_DB_NAME", "portal_bench_push"
    )
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    env = Env(
        workdir=Path(tempfile.mkdtemp(prefix="portal-bench-push-")),
        servers=[],
        workers=[],
        keep_logs=args.logs,
    )
    try:
        run(env, args)
    except BaseException:
        for worker in env.workers:
            print(f"--- tail of {worker.name}'s log ---\n{worker.text()[-3000:]}", file=sys.stderr)
        raise
    finally:
        cleanup(env)
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
