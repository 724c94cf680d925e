"""Which distributed engine runs the lab's training jobs on a class's machines: Dask distributed against Ray.

For each engine, in a child process of the Python that has it installed, and on this machine only (loopback):

- install size: the files of the engine and of every package it pulls in that the lab does not already need
  (requirements.txt and what those require), summed from the installed packages' file lists;
- import time: ``import distributed`` / ``import ray`` in a fresh interpreter;
- cluster start: from nothing to a client that sees two worker nodes (Dask: ``dask scheduler`` and two
  ``dask worker --nthreads 1`` processes with their nannies, as docs/distributed.md starts them; Ray: a head node
  and a second node of one CPU each, ``ray.cluster_utils.Cluster``, no dashboard);
- per-task overhead: the round trip of a task that does nothing, sent and awaited 20 times one after the other
  (after one warm-up task per node), the median of the 20 per round;
- memory: the resident memory of every process of the idle cluster after those tasks (the client excluded).

Each figure is the median of the rounds with min-max; the last lines give Ray's figures over Dask's.

    .venv/bin/python bench/engine_choice.py                                   # both from this interpreter
    .venv/bin/python bench/engine_choice.py --dask-python /tmp/eng/dask/bin/python --ray-python /tmp/eng/ray/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
ENGINES = {"dask": ("distributed", ["distributed", "dask"]), "ray": ("ray", ["ray"])}
TASKS = 20


# ----------------------------------------------------------------------------------------------------------------
# the child: one engine, measured in the interpreter that has it


def _names(requirements) -> list[str]:
    from packaging.requirements import Requirement

    names = []
    for line in requirements or []:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            names.append(requirement.name)
    return names


def _closure(roots) -> set[str]:
    from importlib import metadata

    seen, todo = set(), list(roots)
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen.add(name)
        todo.extend(_names(dist.requires))
    return seen


def install_megabytes(roots) -> tuple[float, list[str]]:
    from importlib import metadata

    lab = [line.split("==")[0].split(">")[0].split("<")[0].strip()
           for line in (REPO / "requirements.txt").read_text().splitlines() if line.strip() and line[0] != "#"]
    added = sorted(_closure(roots) - _closure(lab))
    size = 0
    for name in added:
        for file in metadata.distribution(name).files or []:
            try:
                size += file.locate().stat().st_size
            except OSError:
                pass
    return size / 1e6, added


def import_seconds(module: str) -> float:
    code = f"import time; s = time.perf_counter(); import {module}; print(time.perf_counter() - s)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _tree(pids) -> set[int]:
    """The processes ``pids`` and all their descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = set(), list(pids)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return found


def rss_megabytes(pids) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total / 1e6


def _noop():
    return os.getpid()


def _task_overhead(call) -> float:
    times = []
    for _ in range(TASKS):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]


def dask_round() -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-dask-") as folder:
        return _dask_round(folder)


def _dask_round(folder: str) -> dict:
    from distributed import Client

    address_file = Path(folder) / "scheduler.json"
    start = time.perf_counter()
    common = ["--no-dashboard"]
    processes = [subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", "0",
                                   "--scheduler-file", str(address_file), *common],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    processes += [subprocess.Popen([sys.executable, "-m", "dask", "worker", "--scheduler-file", str(address_file),
                                    "--host", "127.0.0.1", "--nthreads", "1", "--local-directory", folder, *common],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
    try:
        while not address_file.is_file():
            time.sleep(0.02)
        client = Client(scheduler_file=str(address_file), timeout=60)
        client.wait_for_workers(2, timeout=120)
        started = time.perf_counter() - start
        pids = {client.submit(_noop, pure=False, workers=[w]).result() for w in client.scheduler_info()["workers"]}
        assert len(pids) == 2
        overhead = _task_overhead(lambda: client.submit(_noop, pure=False).result())
        memory = rss_megabytes(_tree([p.pid for p in processes]))
        client.shutdown()
        client.close()
    finally:
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    return {"start": started, "task": overhead, "memory": memory}


def ray_round() -> dict:
    import ray
    from ray.cluster_utils import Cluster

    start = time.perf_counter()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    cluster.add_node(num_cpus=1)
    ray.init(address=cluster.address, logging_level="ERROR", log_to_driver=False)
    cluster.wait_for_nodes()
    while len([n for n in ray.nodes() if n["Alive"]]) < 2:
        time.sleep(0.02)
    started = time.perf_counter() - start
    noop = ray.remote(num_cpus=1)(_noop)
    try:
        pids = set(ray.get([noop.remote() for _ in range(4)]))
        assert pids
        overhead = _task_overhead(lambda: ray.get(noop.remote()))
        memory = rss_megabytes(_tree([os.getpid()]) - {os.getpid()})
    finally:
        ray.shutdown()
        cluster.shutdown()
    return {"start": started, "task": overhead, "memory": memory}


def child(engine: str, rounds: int) -> None:
    module, roots = ENGINES[engine]
    size, added = install_megabytes(roots)
    version = __import__(module).__version__
    out = {"engine": engine, "version": version, "install_mb": size, "packages": added,
           "import": [import_seconds(module) for _ in range(rounds)], "start": [], "task": [], "memory": []}
    one_round = dask_round if engine == "dask" else ray_round
    for _ in range(rounds):
        figures = one_round()
        for key, value in figures.items():
            out[key].append(value)
    print("RESULT " + json.dumps(out))


# ----------------------------------------------------------------------------------------------------------------
# the parent: both engines, one table


def measure(engine: str, python: str, rounds: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(HERE), TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([python, str(Path(__file__).resolve()), "--child", engine, "--rounds", str(rounds)],
                          capture_output=True, text=True, env=env)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        raise SystemExit(f"{engine} with {python} failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dask-python", default=sys.executable)
    parser.add_argument("--ray-python", default=sys.executable)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--child", choices=sorted(ENGINES))
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rounds)
        return

    from _perf_common import machine, median, spread

    print(machine())
    results = {name: measure(name, getattr(args, f"{name}_python"), args.rounds) for name in ("dask", "ray")}
    for name, out in results.items():
        print(f"\n{name} {out['version']}: adds {out['install_mb']:.0f} MB in {len(out['packages'])} packages "
              f"({', '.join(out['packages'])})")
        print(f"  import             {spread(out['import'])}")
        print(f"  2-node start       {spread(out['start'])}")
        print(f"  per-task overhead  {spread(out['task'], 'ms', 2, 1000)}")
        print(f"  idle memory        {spread(out['memory'], 'MB', 0)}")
    dask, ray = results["dask"], results["ray"]
    print("\nRay / Dask: install {:.1f}x, import {:.1f}x, start {:.1f}x, per-task {:.1f}x, memory {:.1f}x".format(
        ray["install_mb"] / dask["install_mb"], median(ray["import"]) / median(dask["import"]),
        median(ray["start"]) / median(dask["start"]), median(ray["task"]) / median(dask["task"]),
        median(ray["memory"]) / median(dask["memory"])))


if __name__ == "__main__":
    main()
