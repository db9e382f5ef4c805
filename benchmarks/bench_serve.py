"""Load test of a running `kgreason serve`: N concurrent gradio_client users asking for T seconds.

Usage: python benchmarks/bench_serve.py --url http://127.0.0.1:7860/ [--users 20] [--seconds 30]
Prints one JSON object: requests, errors, p50/p95/max latency (s), throughput (req/s).

       python benchmarks/bench_serve.py --warm-start [--runs 2]
starts `kgreason serve` (no args) itself and prints, per run, seconds from process start to the page answering
(HTTP 200), to the first answered question, and to the retrieval index being ready (when --wait-index)."""
from __future__ import annotations

import argparse
import json
import statistics
import threading
import time

QUESTIONS = ["who directed Kismet", "who is the writer of Kismet", "what language is Kismet in",
             "what movies did William Dieterle direct", "when was Kismet released",
             "the director of Kismet is also the director of which movies"]


def user(url: str, until: float, index: int, latencies: list[float], errors: list[str], lock: threading.Lock) -> None:
    from gradio_client import Client

    try:
        client = Client(url, verbose=False)
    except Exception as exc:  # noqa: BLE001
        with lock:
            errors.append(f"connect: {exc}")
        return
    n = index
    while time.monotonic() < until:
        question = QUESTIONS[n % len(QUESTIONS)]
        n += 1
        t0 = time.perf_counter()
        try:
            result = client.predict(question, "", api_name="/ask")
            if not isinstance(result, dict) or "answers" not in result:
                raise ValueError(f"unexpected result {result!r:.80}")
        except Exception as exc:  # noqa: BLE001
            with lock:
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
            continue
        with lock:
            latencies.append(time.perf_counter() - t0)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def warm_start(runs: int, wait_index: bool) -> list[dict]:
    """Seconds from `kgreason serve` process start to: page answering, first answer, index ready."""
    import os
    import socket
    import subprocess
    import sys
    import urllib.request
    from pathlib import Path

    from gradio_client import Client

    root = Path(__file__).resolve().parents[1]
    out = []
    for _ in range(runs):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        url = f"http://127.0.0.1:{port}/"
        log = Path(os.environ.get("TMPDIR", "/tmp")) / f"kgreason-serve-{port}.log"
        t0 = time.perf_counter()
        with log.open("w") as fh:
            proc = subprocess.Popen([sys.executable, "-m", "ui.cli", "serve", "--port", str(port)], cwd=root,
                                    env=dict(os.environ, HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False"),
                                    stdout=fh, stderr=subprocess.STDOUT)
        row: dict = {"log": str(log)}
        try:
            while proc.poll() is None:
                try:
                    with urllib.request.urlopen(url, timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    time.sleep(0.2)
            row["page_s"] = round(time.perf_counter() - t0, 1)
            client = Client(url, verbose=False)
            result = client.predict("who directed Kismet", "", api_name="/ask")
            row["first_answer_s"] = round(time.perf_counter() - t0, 1)
            row["first_answer"] = [a["label"] for a in result["answers"]][:3]
            status = client.predict(api_name="/index_status")
            while wait_index and status["state"] not in ("ready", "failed"):
                time.sleep(1)
                status = client.predict(api_name="/index_status")
            row["index"] = status["state"]
            if wait_index:
                row["index_ready_s"] = round(time.perf_counter() - t0, 1)
        finally:
            proc.terminate()
            proc.wait(30)
        out.append(row)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:7860/")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warm-start", action="store_true", help="measure `kgreason serve` start-up instead")
    parser.add_argument("--runs", type=int, default=2, help="warm-start runs (the first may fill caches)")
    parser.add_argument("--wait-index", action="store_true", help="warm start: also wait for the index")
    args = parser.parse_args()
    if args.warm_start:
        import os

        print(json.dumps({"warm_start": warm_start(args.runs, args.wait_index),
                          "load_average": [round(x, 2) for x in os.getloadavg()]}, indent=2))
        return
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = time.monotonic()
    until = start + args.seconds
    threads = [threading.Thread(target=user, args=(args.url, until, i, latencies, errors, lock), daemon=True)
               for i in range(args.users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(args.seconds + 120)
    elapsed = time.monotonic() - start
    print(json.dumps({
        "url": args.url, "users": args.users, "seconds": round(elapsed, 1),
        "requests": len(latencies), "errors": len(errors), "error_examples": sorted(set(errors))[:5],
        "p50_s": round(percentile(latencies, 0.50), 3), "p95_s": round(percentile(latencies, 0.95), 3),
        "max_s": round(max(latencies), 3) if latencies else None,
        "mean_s": round(statistics.fmean(latencies), 3) if latencies else None,
        "throughput_rps": round(len(latencies) / elapsed, 2),
    }, indent=2))


if __name__ == "__main__":
    main()
