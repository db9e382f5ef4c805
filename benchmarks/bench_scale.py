"""Graphs bigger than memory: N disjoint copies of the MetaQA KB (suffix " (k)" on every name; N=100 is
17.7M triples with labels) loaded into an Oxigraph folder, then cold questions over it, each step a separate
`kgreason` process measured for wall time and peak RSS (the process tree, polled every 50 ms).

Usage:
    nice -n 10 python benchmarks/bench_scale.py --copies 10 --work /tmp/scale [--steps load,ask,qa,endpoint]
        [--questions artifacts/metaqa-split/holdout.txt --qtypes artifacts/metaqa-split/holdout_qtype.txt]
Copy 0 keeps the original names, so MetaQA questions ("who directed Kismet") are about it; the other copies
are there to make the graph big. Prints one JSON object."""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_KB = ROOT.parent / "shared" / "data" / "metaqa" / "kb.txt"


def build_kb(kb: Path, copies: int, out: Path) -> Path:
    """Write `copies` disjoint copies of `kb` (copy k > 0 renames every entity `name (k)`)."""
    done = out.with_suffix(".done")
    if out.is_file() and done.is_file() and done.read_text() == str(copies):
        return out
    lines = [line.rstrip("\n").split("|") for line in kb.read_text(encoding="utf-8").splitlines() if line.strip()]
    with open(out, "w", encoding="utf-8") as fh:
        for k in range(copies):
            tag = f" ({k})" if k else ""
            fh.write("".join(f"{s}{tag}|{r}|{o}{tag}\n" for s, r, o in lines))
    out.with_suffix(".done").write_text(str(copies))
    return out


def measure(cmd: list[str], env: dict[str, str] | None = None) -> dict:
    """Run `cmd`, polling the RSS of its whole process tree; wall seconds, peak MB, exit code, output tail."""
    t0 = time.perf_counter()
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    root = psutil.Process(proc.pid)
    peak = 0
    out_chunks: list[str] = []
    import threading

    reader = threading.Thread(target=lambda: out_chunks.append(proc.stdout.read()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    while proc.poll() is None:
        try:
            rss = root.memory_info().rss + sum(c.memory_info().rss for c in root.children(recursive=True))
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.05)
    reader.join()
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)  # the command's CPU time (user + system, all threads)
    text = "".join(out_chunks)
    out = {"cmd": " ".join(cmd[1:] if cmd[0] == sys.executable else cmd), "rc": proc.returncode,
           "seconds": round(time.perf_counter() - t0, 2), "peak_rss_mb": round(peak / 2**20, 1),
           "cpu_s": round(cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime, 1),
           "output_tail": text[-600:]}
    try:  # a --json command's report (a load's phases: stream, label index, ...)
        out["report"] = json.loads(text)
        del out["output_tail"]
    except ValueError:
        pass
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--copies", type=int, default=100)
    ap.add_argument("--kb", type=Path, default=DEFAULT_KB)
    ap.add_argument("--work", type=Path, default=Path("/tmp/kgreason-scale"))
    ap.add_argument("--steps", default="load,ask,qa,endpoint")
    ap.add_argument("--question", default="who directed Kismet")
    ap.add_argument("--questions", type=Path, default=ROOT / "artifacts" / "metaqa-split" / "holdout.txt")
    ap.add_argument("--qtypes", type=Path, default=ROOT / "artifacts" / "metaqa-split" / "holdout_qtype.txt")
    ap.add_argument("--keep", action="store_true", help="keep the store (default: kept; --fresh reloads)")
    ap.add_argument("--fresh", action="store_true", help="delete the store first")
    args = ap.parse_args()
    steps = set(args.steps.split(","))
    args.work.mkdir(parents=True, exist_ok=True)
    kgr = [sys.executable, "-m", "ui.cli"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    store = args.work / f"store-{args.copies}"
    out: dict = {"copies": args.copies, "load_average": os.getloadavg(), "cpus": os.cpu_count()}
    t0 = time.perf_counter()
    kb = build_kb(args.kb, args.copies, args.work / f"kb-{args.copies}.txt")
    out["kb"] = {"path": str(kb), "lines": sum(1 for _ in open(kb, encoding="utf-8")),
                 "build_s": round(time.perf_counter() - t0, 1)}
    if args.fresh and store.exists():
        shutil.rmtree(store)
    if "load" in steps:
        if store.exists():
            shutil.rmtree(store)
        out["load"] = measure(kgr + ["load", str(kb), "--store", str(store), "--json"], env)
    if "ask" in steps:
        out["ask"] = measure(kgr + ["ask", args.question, "--store", str(store), "--json"], env)
    if "qa" in steps:
        out["qa"] = measure(kgr + ["evaluate", "qa", "--store", str(store), "--questions", str(args.questions),
                                   "--qtypes", str(args.qtypes)], env)
    if "endpoint" in steps:
        binary = Path(sys.executable).parent / "oxigraph"
        port = _free_port()
        server = subprocess.Popen([str(binary if binary.exists() else "oxigraph"), "serve-read-only", "--location",
                                   str(store), "--bind", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}/query"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                    break
                except OSError:
                    time.sleep(0.2)
            cache = args.work / f"endpoint-cache-{args.copies}"
            env_ep = dict(env, KGREASON_CACHE=str(cache))
            shutil.rmtree(cache, ignore_errors=True)
            out["endpoint_first"] = measure(kgr + ["ask", args.question, "--endpoint", url, "--json"], env_ep)
            out["endpoint_ask"] = measure(kgr + ["ask", args.question, "--endpoint", url, "--json"], env_ep)
        finally:
            server.terminate()
            server.wait(timeout=30)
    out["load_average_after"] = os.getloadavg()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
