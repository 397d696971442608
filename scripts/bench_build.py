"""Benchmark: ``build()`` + ``csim()`` against hls4ml's own convert + compile + predict, side by side.

Both sides start from the same trained QKeras 16-64-32-32-5 tagger (6-bit weights, 8-bit ReLUs,
16-bit input quantizer) and the same 1,000 real jets from the bundled sample:

* fpgacompress: ``build`` (checks, Keras reference of every layer, hls4ml project, testbench,
  templates, manifest) then ``csim`` (g++ -O2 of the testbench, run, exact comparison);
* hls4ml: ``config_from_keras_model`` + ``convert_from_keras_model`` + ``compile()`` (its
  shared-library build) + ``predict`` on the same jets.

One untimed warm-up run of each side comes first (imports, TensorFlow graph tracing, hls4ml's
backend registration happen once per process and would otherwise be charged to whichever side
runs first). Timed runs then alternate between the two sides to share the machine's load fairly;
the ratio is the median of fpgacompress / median of hls4ml per configuration.

Usage:
    .venv/bin/python scripts/bench_build.py [--repeats 2] [--out runs/bench_build]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

CONFIGURATIONS = {
    "io_parallel latency RF1": {"io_type": "io_parallel", "strategy": "latency", "reuse_factor": 1},
    "io_stream resource RF4": {"io_type": "io_stream", "strategy": "resource", "reuse_factor": 4},
}


def trained_tagger():
    import tensorflow as tf

    from fpgacompress.data import load_jets
    from fpgacompress.models import build_mlp
    from fpgacompress.quantization import QuantizationSpec, quantize

    data, _ = load_jets().subsample(max_train=6000, max_test=1000, seed=0).standardized()
    tf.keras.utils.set_random_seed(0)
    model = build_mlp("16-64-32-32-5", seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(data.x_train, data.y_train, epochs=3, batch_size=256, verbose=0)
    qmodel = quantize(model, QuantizationSpec.uniform(6, 0, activation_bits=8, activation_integer=3))
    qmodel.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    qmodel.fit(data.x_train, data.y_train, epochs=1, batch_size=256, verbose=0)
    return qmodel, data.x_test


def time_fpgacompress(model, x_test, settings: dict, directory: Path) -> tuple[float, bool]:
    from fpgacompress.firmware import BuildConfig, build, csim

    start = time.perf_counter()
    project = build(model, "serenity-vu13p", BuildConfig(**settings), x_test=x_test, out_dir=directory)
    result = csim(project)
    return time.perf_counter() - start, result.bit_exact


def time_hls4ml(model, x_test, settings: dict, directory: Path) -> float:
    import contextlib
    import io

    import hls4ml
    import numpy as np

    from fpgacompress.firmware.hls_config import prepare_for_hls4ml

    hls_ready = prepare_for_hls4ml(model)  # hls4ml refuses a layer named 'input'; not timed
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        config = hls4ml.utils.config_from_keras_model(hls_ready, granularity="name", backend="Vitis")
        config["Model"]["Strategy"] = settings["strategy"].capitalize()
        config["Model"]["ReuseFactor"] = settings["reuse_factor"]
        for layer in config["LayerName"].values():
            layer["Strategy"] = settings["strategy"].capitalize()
            if "ReuseFactor" in layer:
                layer["ReuseFactor"] = settings["reuse_factor"]
        hls_model = hls4ml.converters.convert_from_keras_model(
            hls_ready, output_dir=str(directory), backend="Vitis", io_type=settings["io_type"],
            part="xcvu13p-flga2577-2-e", clock_period=1000 / 240, hls_config=config,
        )  # fmt: skip
        hls_model.compile()
        hls_model.predict(np.ascontiguousarray(x_test, dtype=np.float32))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="keep the projects here (default: a temp dir)")
    arguments = parser.parse_args()

    model, x_test = trained_tagger()
    root = arguments.out or Path(tempfile.mkdtemp(prefix="bench_build_"))
    warm_up = next(iter(CONFIGURATIONS.values()))
    time_fpgacompress(model, x_test, warm_up, root / "warm_up_fpgacompress")
    time_hls4ml(model, x_test, warm_up, root / "warm_up_hls4ml")
    print(f"{len(x_test)} jets, {arguments.repeats} repeats, projects under {root}")
    print(
        f"{'configuration':<26} {'fpgacompress build+csim':>24} {'hls4ml convert+compile':>24} {'ratio':>6}"
    )
    for name, settings in CONFIGURATIONS.items():
        ours, theirs = [], []
        for repeat in range(arguments.repeats):
            tag = name.replace(" ", "_")
            seconds, bit_exact = time_fpgacompress(
                model, x_test, settings, root / f"fpgacompress_{tag}_{repeat}"
            )
            if not bit_exact:
                raise SystemExit(
                    f"{name}: C-simulation not bit-exact; a timing of a wrong result is meaningless"
                )
            ours.append(seconds)
            theirs.append(time_hls4ml(model, x_test, settings, root / f"hls4ml_{tag}_{repeat}"))
        ratio = statistics.median(ours) / statistics.median(theirs)
        print(
            f"{name:<26} {statistics.median(ours):>20.1f} s   {statistics.median(theirs):>20.1f} s   {ratio:>5.2f}"
            f"   (runs: {', '.join(f'{s:.1f}' for s in ours)} vs {', '.join(f'{s:.1f}' for s in theirs)})"
        )
    if arguments.out is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
