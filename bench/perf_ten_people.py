"""Ten people on one lab: ten browser contexts (ten people, each with their own cookie) on one streamlit server
over loopback each start a small run; everyone's run finishes, each sees only their own, and an eleventh person
edits a network meanwhile. Once with one worker process and once with two (CNN_LAB_WORKERS).

Each person opens the lab, goes to Train and sets 3 epochs and a name; then all ten press Start, one right after
the other; the clock starts at the first Start. Printed per number of workers: the time from the first Start to
the last person's "Finished", the place in line each page showed, the eleventh person's change -> shape table
times while the runs train, and the runs each person's Runs page names (only their own, it should be).

    .venv/bin/python bench/perf_ten_people.py                 # 1 and 2 workers (about 5-10 minutes here)
    .venv/bin/python bench/perf_ten_people.py --workers 2 --people 4
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

from _perf_common import machine, verdict


def class_of(people: int, workers: int, epochs: int) -> dict:
    from _perf_browser import Server, wait_idle
    from _perf_people import chromium, open_shape_table, person, prepare_run, squares_and_stripes, table_latencies

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        squares_and_stripes(tmp / "Data")
        (tmp / "runs").mkdir()
        server = Server(tmp / "Data", tmp / "runs", env={"CNN_LAB_WORKERS": str(workers),
                                                         "CNN_LAB_WORKSPACE": str(tmp / "workspace")})
        try:
            server.wait_healthy()
            with chromium() as browser:
                observer = person(browser)
                table = open_shape_table(observer, server.url)
                table_latencies(observer, table, 2)
                idle = table_latencies(observer, table, 6)
                pages = [person(browser) for _ in range(people)]
                starts = [prepare_run(page, server.url, epochs=epochs, name=f"person {number}")
                          for number, page in enumerate(pages, start=1)]
                first = time.perf_counter()
                for start in starts:  # everyone presses Start at (nearly) the same moment
                    start.click()
                last_click = time.perf_counter() - first
                places = {}
                for number, page in enumerate(pages, start=1):
                    page.get_by_text(re.compile(r"Queued|Training person|Finished person")).first.wait_for()
                    text = page.locator("[data-testid=stMain]").inner_text()
                    found = re.search(r"place (\d+) in line|(is next)", text)
                    places[number] = (int(found.group(1)) if found.group(1) else 1) if found else 0
                during = table_latencies(observer, table, 6)
                finished = {}
                while len(finished) < people:
                    for number, page in enumerate(pages, start=1):
                        if number not in finished and page.get_by_text(f"Finished person {number}.").count():
                            finished[number] = time.perf_counter() - first
                    time.sleep(0.5)
                    if time.perf_counter() - first > 1800:
                        raise RuntimeError(f"only {sorted(finished)} finished within 30 minutes")
                seen = {}  # the runs each person's Runs page names
                for number, page in enumerate(pages, start=1):
                    page.goto(f"{server.url}/runs")
                    page.get_by_role("heading", name="Compare runs").wait_for(timeout=120_000)
                    page.get_by_text(re.compile(r"person \d+ \(")).first.wait_for(timeout=120_000)  # a run's label
                    wait_idle(page)
                    text = page.locator("[data-testid=stMain]").inner_text()
                    seen[number] = {int(found) for found in re.findall(r"person (\d+)\b", text)}
                alone = all(names == {number} for number, names in seen.items())
        finally:
            server.stop()
    return {"last": max(finished.values()), "finished": finished, "places": places, "during": during,
            "alone": alone, "seen": seen, "clicks": last_click, "idle": idle}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    from _perf_people import spread

    print(f"machine: {machine()}")
    results = {}
    for workers in args.workers:
        found = results[workers] = class_of(args.people, workers, args.epochs)
        print(f"{workers} worker(s): last result {found['last']:.1f} s after the first Start; all finished: "
              f"{len(found['finished']) == args.people}; each sees only their own run: {found['alone']}\n"
              f"  the {args.people} Start clicks took {found['clicks']:.1f} s; place in line shown "
              f"(0: training at once): {found['places']}\n  runs each person's Runs page names: {found['seen']}\n"
              f"  finished at (s): { {k: round(v, 1) for k, v in sorted(found['finished'].items())} }\n"
              f"  an eleventh person's change -> table: before {spread(found['idle'])}; while the runs train "
              f"{spread(found['during'])}  ({machine()})",
              flush=True)
    ok = all(found["alone"] and len(found["finished"]) == args.people for found in results.values())
    parts = [f"{workers} worker(s) {found['last']:.0f} s" for workers, found in results.items()]
    print(f"SUMMARY {args.people} people, time to the last result: {'; '.join(parts)}; everyone finished and saw only "
          f"their own: {ok} {verdict(ok)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
