"""Load test of a running `kgreason serve`: N concurrent gradio_client users asking for T seconds.

Usage: python benchmarks/bench_serve.py --url http://127.0.0.1:7860/ [--users 20] [--seconds 30]
Prints one JSON object: requests, errors, p50/p95/max latency (s), throughput (req/s)."""
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:7860/")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
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
