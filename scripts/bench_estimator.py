"""Wall time of the resource estimator, side by side with hls4ml's own conversion of the same model.

Usage:
    .venv/bin/python scripts/bench_estimator.py [--reports ../shared/synth_reports] [--repeats 5]

Measures, in one run:
- ``estimate(project_dir)`` on each dense calibration design that carries firmware (reading
  ``parameters.h`` and the weight files included): median over ``--repeats`` per design, then the
  median and maximum over designs (target: <= 50 ms per design);
- ``estimate(model, board="serenity-vu9p")`` on an in-memory 16-64-32-32-5 Keras model, which
  converts it with hls4ml as ``build`` would and reads the project back (one description);
- hls4ml 1.3 ``config_from_keras_model`` + ``convert_from_keras_model`` + ``write()`` (no compile,
  no synthesis) of the same model: the part of the model estimate hls4ml takes.

Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from fpgacompress.estimation import estimate  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def median_seconds(function, repeats: int, clock=time.perf_counter) -> float:
    """Median time of ``function()`` over ``repeats`` calls, after one warm-up call.

    ``clock=time.process_time`` measures this process's CPU time: on a shared machine the wall
    time also counts the other jobs' turns.
    """
    function()
    times = []
    for _ in range(repeats):
        start = clock()
        function()
        times.append(clock() - start)
    return statistics.median(times)


def hls4ml_write(model, output_dir: Path) -> None:
    """hls4ml's conversion and project writing for ``model`` (Vitis backend, io_parallel, latency)."""
    import hls4ml

    config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis")
    hls_model = hls4ml.converters.convert_from_keras_model(
        model, hls_config=config, output_dir=str(output_dir), backend="Vitis", part="xcvu9p-flga2104-2L-e"
    )
    hls_model.write()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=Path, default=ROOT.parent / "shared" / "synth_reports")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from fpgacompress.errors import ModelError

    projects = []
    for path in sorted(args.reports.glob("*/firmware/parameters.h")):
        try:
            estimate(path.parent.parent)
        except ModelError:
            continue  # convolutional designs (a later issue), no firmware layers
        projects.append(path.parent.parent)
    per_design = [
        median_seconds(lambda project=project: estimate(project), args.repeats) for project in projects
    ]
    per_design_cpu = [
        median_seconds(lambda project=project: estimate(project), args.repeats, time.process_time)
        for project in projects
    ]

    from fpgacompress.models import build_mlp

    model = build_mlp("16-64-32-32-5", seed=0)
    keras_estimate = median_seconds(lambda: estimate(model, board="serenity-vu9p"), args.repeats)
    from fpgacompress.firmware.hls_config import prepare_for_hls4ml

    hls4ml_ready = prepare_for_hls4ml(model)  # hls4ml refuses a layer named 'input'
    with tempfile.TemporaryDirectory() as folder:
        counter = iter(range(10_000))
        hls4ml_time = median_seconds(
            lambda: hls4ml_write(hls4ml_ready, Path(folder) / f"project_{next(counter)}"),
            max(1, args.repeats // 2),
        )

    print(f"| what | wall time (median over {args.repeats} repeats) |")
    print("|---|---|")
    print(
        f"| `estimate(project)`, {len(projects)} real designs | median {1e3 * statistics.median(per_design):.1f} ms, "
        f"max {1e3 * max(per_design):.1f} ms |"
    )
    print(
        f"| same, CPU time of this process | median {1e3 * statistics.median(per_design_cpu):.1f} ms, "
        f"max {1e3 * max(per_design_cpu):.1f} ms |"
    )
    print(
        f"| `estimate(keras_model)`, 16-64-32-32-5 (converted as `build` would, then read) | "
        f"{1e3 * keras_estimate:.0f} ms |"
    )
    print(f"| of which hls4ml convert + write (no compile), same model | {1e3 * hls4ml_time:.0f} ms |")


if __name__ == "__main__":
    main()
