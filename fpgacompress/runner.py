"""One recipe, one command: train -> AutoPruner -> factorize -> sparsify -> prune -> quantize -> build -> csim -> report.

The order is domain knowledge, written as plain code calling the public stage functions: structured
node pruning first (it changes the topology), then unstructured pruning of what is left (Bayesian by
sparse variational dropout, magnitude, or both),
then quantization-aware training that keeps every zero, then the firmware, its bit-exact
C-simulation and the resource report. Every stage is optional except training.

Each stage lives in its own directory of the run directory and is skipped when its settings and
everything upstream are unchanged (:mod:`fpgacompress.stage_cache`): editing the ``build`` section
re-runs build, csim and report, never training. Ctrl-C loses only the stage in flight.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .data import Dataset, Standardizer
from .errors import ConfigError
from .output_dir import describe_os_error, output_lock
from .recipe import Recipe, load_recipe
from .stage_cache import StageCache, StageRecord, stage_fingerprint

__all__ = ["RunResult", "run", "STAGE_ORDER"]

STAGE_ORDER = ("train", "autoprune", "factorize", "sparsify", "prune", "quantize", "build", "csim", "report")
MODEL_STAGES = ("train", "autoprune", "factorize", "sparsify", "prune", "quantize")


@dataclass
class RunResult:
    """What a run left behind: the run directory and each stage's record (``skipped`` when cached)."""

    run_dir: Path
    recipe: Recipe
    stages: dict[str, StageRecord] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()
    summary_path: Path | None = None

    @property
    def csim(self) -> dict | None:
        record = self.stages.get("csim")
        return None if record is None else record.results

    @property
    def report(self) -> dict | None:
        record = self.stages.get("report")
        return None if record is None else record.results

    @property
    def final_model_path(self) -> Path:
        last = [name for name in MODEL_STAGES if name in self.stages][-1]
        return self.stages[last].directory / "model.h5"


@dataclass
class _Flow:
    """What moves from one model stage to the next."""

    data: Dataset
    standardizer: Standardizer
    model_path: Path | None = None
    fingerprint: str = ""


def run(
    recipe: Recipe | str | Path,
    run_dir: str | Path,
    *,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> RunResult:
    """Run every stage the recipe asks for into ``run_dir``, skipping the unchanged ones.

    Args:
        recipe: a :class:`Recipe` or the path of a YAML recipe.
        run_dir: the run directory; created if needed, reused (and resumed) if it exists.
        progress: progress bars for training.
        log: called with one line per stage event (the CLI prints them); default: silent.

    Raises:
        ConfigError, DataError, ModelError, BoardError, BuildError: bad recipe or input, with the
            completed stages left intact.
    """
    from .training import prepare_data

    if not isinstance(recipe, Recipe):
        recipe = load_recipe(recipe)
    _check_build_before_training(recipe)
    say = log or (lambda line: None)
    run_dir = Path(run_dir)
    data, standardizer = prepare_data(recipe.data)  # bad data is refused before anything is written
    created = not run_dir.exists()
    with output_lock(run_dir):  # a second run into the same directory is refused
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConfigError(
                f"Cannot create the run directory {run_dir} ({describe_os_error(error)}). Choose a writable --out."
            ) from None
        try:
            return _run_stages(recipe, run_dir, data, standardizer, progress, say)
        except BaseException:
            if created and not any(path.is_dir() for path in run_dir.iterdir()):
                shutil.rmtree(run_dir, ignore_errors=True)  # nothing completed: leave no recipe.json behind
            raise


def _run_stages(recipe: Recipe, run_dir: Path, data, standardizer, progress: bool, say) -> RunResult:
    (run_dir / "recipe.json").write_text(json.dumps(recipe.model_dump(mode="json"), indent=2))
    cache = StageCache(run_dir)
    result = RunResult(run_dir=run_dir, recipe=recipe)
    skipped: list[str] = []

    flow = _Flow(
        data=data, standardizer=standardizer, fingerprint=stage_fingerprint(_data_identity(recipe), "")
    )

    def stage(name: str, settings: object, work: Callable[[Path], dict]) -> StageRecord:
        fingerprint = stage_fingerprint(settings, flow.fingerprint)
        record = cache.completed(name, fingerprint)
        if record is not None:
            say(f"[{name}] unchanged, skipped (results in {record.directory})")
            skipped.append(name)
        else:
            say(f"[{name}] running")
            start = time.perf_counter()
            with cache.writing(name) as partial:
                results = work(partial)
                record = cache.commit(name, fingerprint, partial, results, time.perf_counter() - start)
            say(f"[{name}] done in {record.seconds:.0f} s")
        flow.fingerprint = fingerprint
        result.stages[name] = record
        return record

    stage(
        "train",
        _settings(recipe.model, recipe.regularization, recipe.training),
        lambda out: _train(recipe, flow, out, progress),
    )
    _follow_model(flow, result.stages["train"])

    for name, section, work in (
        ("autoprune", recipe.autoprune, _autoprune),
        ("factorize", recipe.factorize, _factorize),
        ("sparsify", recipe.sparsify, _sparsify),
        ("prune", recipe.pruning, _prune),
        ("quantize", recipe.quantization, _quantize),
    ):
        if section is None:
            cache.discard(name)
            continue
        record = stage(
            name,
            _settings(section, recipe.training),
            lambda out, work=work, section=section: work(section, recipe, flow, out, progress),
        )
        _follow_model(flow, record)

    if recipe.build is None:
        for name in ("build", "csim", "report"):
            cache.discard(name)
    else:
        build_record = stage("build", _settings(recipe.build), lambda out: _build(recipe, flow, out))
        project_dir = build_record.directory / "hls_project"
        if recipe.csim:
            stage("csim", {"csim": True}, lambda out: _csim(project_dir, out))
        else:
            cache.discard("csim")
        stage("report", {"report": 1}, lambda out: _report(recipe, project_dir, out))

    result.skipped = tuple(skipped)
    from .run_summary import write_summary

    result.summary_path = write_summary(result, flow.data)
    say(f"summary: {result.summary_path}")
    return result


def _check_build_before_training(recipe: Recipe) -> None:
    """Refuse an unknown board or an II over the bunch-crossing budget before hours of training."""
    if recipe.build is None:
        return
    from .boards import load_board
    from .firmware.checks import check_initiation_interval

    board = load_board(recipe.build.board)
    check_initiation_interval(
        recipe.build.reuse_factor, recipe.build.clock_for(board.default_clock_mhz), recipe.build.tmux
    )


def _settings(*sections) -> list:
    return [section.model_dump(mode="json") for section in sections]


def _data_identity(recipe: Recipe) -> dict:
    """The data section plus the file's size and modification time: a changed file retrains."""
    identity = recipe.data.model_dump(mode="json")
    path = recipe.data.path
    if path is not None and Path(path).is_file():
        stat = Path(path).stat()
        identity["file"] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    return identity


def _follow_model(flow: _Flow, record: StageRecord) -> None:
    """Point the flow at a stage's model; AutoPruner may also have narrowed the input features."""
    from .model_io import load_standardizer

    flow.model_path = record.directory / "model.h5"
    kept = record.results.get("kept_features")
    if kept and tuple(kept) != flow.data.feature_names:
        flow.data = flow.data.select_features(kept)
        flow.standardizer = load_standardizer(flow.model_path) or flow.standardizer.select(kept)


def _load(flow: _Flow):
    from .model_io import load_model

    return load_model(flow.model_path)


def _model_results(model, data: Dataset, metrics) -> dict:
    """Accuracy, AUC, sparsity and BOPs of a stage's model: the columns of the summary."""
    from .pruning.mask import PruningMask
    from .quantization.report import quantization_report

    report = quantization_report(model)
    return {
        **metrics.to_dict(),
        "sparsity": PruningMask.from_model(model).sparsity,
        "bops": report.total_bops,
        "multiplications": report.multiplications,
        "n_parameters": int(model.count_params()),
        "topology": "-".join(
            str(width)
            for width in (
                model.input_shape[-1],
                *(layer.units for layer in model.layers if hasattr(layer, "units")),
            )
        ),
        "n_inputs": int(model.input_shape[-1]),
        "feature_names": list(data.feature_names),
    }


def _train(recipe: Recipe, flow: _Flow, out: Path, progress: bool) -> dict:
    from .models import build_mlp, parse_topology
    from .training import check_topology_fits, train

    topology = parse_topology(recipe.model.topology)
    check_topology_fits(topology, flow.data)
    model = build_mlp(
        topology,
        activation=recipe.model.activation,
        regularizer=recipe.regularization.build(),
        seed=recipe.training.seed,
        name=recipe.name.replace("-", "_"),
    )
    trained = train(
        model, flow.data, recipe.training, standardizer=flow.standardizer, run_dir=out, progress=progress
    )
    _save_stage_figures_and_scores(trained.model, flow.data, out)
    return _model_results(trained.model, flow.data, trained.metrics)


def _autoprune(spec, recipe: Recipe, flow: _Flow, out: Path, progress: bool) -> dict:
    from .autopruning import autoprune

    pruned = autoprune(
        _load(flow),
        flow.data,
        spec,
        training=recipe.training,
        standardizer=flow.standardizer,
        run_dir=out,
        progress=progress,
    )
    _save_stage_figures_and_scores(pruned.reduced_model, pruned.data, out)
    results = _model_results(pruned.reduced_model, pruned.data, pruned.metrics_final)
    results["kept_features"] = list(pruned.kept_features)
    results["keep_counts"] = pruned.keep_counts
    results["export_max_abs_difference"] = pruned.export_max_abs_difference
    return results


def _factorize(spec, recipe: Recipe, flow: _Flow, out: Path, progress: bool) -> dict:
    from .factorization import factorize_and_fine_tune

    training = recipe.training if spec.epochs is None else recipe.training.model_copy(update={"epochs": spec.epochs})
    factorized = factorize_and_fine_tune(
        _load(flow),
        flow.data,
        training,
        rank=spec.rank,
        energy=spec.energy,
        max_products=spec.max_products,
        layers=spec.layers,
        standardizer=flow.standardizer,
        run_dir=out,
        progress=progress,
    )
    _save_stage_figures_and_scores(factorized.model, flow.data, out)
    results = _model_results(factorized.model, flow.data, factorized.training.metrics)
    results["ranks"] = dict(factorized.ranks)
    results["products_before"] = factorized.products_before
    results["products_after"] = factorized.products_after
    return results


def _sparsify(spec, recipe: Recipe, flow: _Flow, out: Path, progress: bool) -> dict:
    from .variational import sparsify

    sparse = sparsify(
        _load(flow),
        flow.data,
        spec,
        training=recipe.training,
        standardizer=flow.standardizer,
        run_dir=out,
        progress=progress,
    )
    _save_stage_figures_and_scores(sparse.model, flow.data, out)
    results = _model_results(sparse.model, flow.data, sparse.metrics_final)
    results["layer_sparsity"] = {name: layer.sparsity for name, layer in sparse.layers.items()}
    results["export_max_abs_difference"] = sparse.export_max_abs_difference
    return results


def _prune(spec, recipe: Recipe, flow: _Flow, out: Path, progress: bool) -> dict:
    from .pruning import prune

    pruned = prune(
        _load(flow),
        flow.data,
        spec,
        training=recipe.training.optimizer_settings(),  # the pruning section sets the epochs
        standardizer=flow.standardizer,
        run_dir=out,
        progress=progress,
    )
    _save_stage_figures_and_scores(pruned.model, flow.data, out)
    from .metrics import evaluate

    results = _model_results(
        pruned.model,
        flow.data,
        evaluate(pruned.model, flow.data.x_test, flow.data.y_test, flow.data.class_names),
    )
    results["stop_reason"] = pruned.stop_reason
    results["iterations"] = pruned.final.iteration
    return results


def _quantize(section, recipe: Recipe, flow: _Flow, out: Path, progress: bool) -> dict:
    training = recipe.training.model_copy(
        update={"epochs": section.epochs, "learning_rate": section.learning_rate}
    )
    common = {"standardizer": flow.standardizer, "run_dir": out, "progress": progress}
    extra = {}
    if section.ttq is not None:
        from .quantization.ttq import trained_ternary_quantization

        ttq = section.ttq
        quantized = trained_ternary_quantization(
            _load(flow), section.precision, flow.data, training, threshold=ttq.threshold,
            power_of_two=ttq.power_of_two, layers=ttq.layers, ternary_first_and_last=ttq.first_and_last,
            **common,
        )  # fmt: skip
        extra["ttq_scales"] = {name: list(scales) for name, scales in quantized.scales.items()}
    elif section.codebook_bits is not None:
        from .quantization.codebook import weight_sharing

        quantized = weight_sharing(
            _load(flow), section.precision, flow.data, training, codebook_bits=section.codebook_bits, **common
        )
        extra["distinct_values"] = dict(quantized.distinct_values)
    else:
        from .quantization import quantization_aware_training

        quantized = quantization_aware_training(_load(flow), section.precision, flow.data, training, **common)
    model = quantized.training.model  # the QDense export for TTQ and codebooks: what build takes
    _save_stage_figures_and_scores(model, flow.data, out)
    results = _model_results(model, flow.data, quantized.training.metrics)
    results["quantization_table"] = quantized.table.to_dict()
    return {**results, **extra}


def _build(recipe: Recipe, flow: _Flow, out: Path) -> dict:
    from .firmware import build

    project = build(_load(flow), config=recipe.build, x_test=flow.data.x_test, out_dir=out / "hls_project")
    return {
        "project": "build/hls_project",
        "board": project.board.name,
        "part": project.board.part,
        "clock_mhz": project.clock_mhz,
        "settings": project.settings.model_dump(mode="json"),
    }


def _csim(project_dir: Path, out: Path) -> dict:
    from .firmware import csim

    if not project_dir.is_dir():
        raise ConfigError(f"The build stage's project {project_dir} is missing; re-run with the build stage.")
    outcome = csim(project_dir)
    results = {
        "bit_exact": outcome.bit_exact,
        "n_samples": outcome.n_samples,
        "logits_layer": outcome.logits_layer,
        "logits_mismatches": outcome.logits_mismatches,
        "first_mismatch_sample": outcome.first_mismatch_sample,
        "first_mismatch_layer": outcome.first_mismatch_layer,
        "layer_mismatches": outcome.layer_mismatches,
        "softmax_argmax_agreement": outcome.softmax_argmax_agreement,
        "softmax_max_abs_difference": outcome.softmax_max_abs_difference,
        "compile_seconds": outcome.compile_seconds,
    }
    (out / "csim.txt").write_text(outcome.summary() + "\n")
    return results


def _report(recipe: Recipe, project_dir: Path, out: Path) -> dict:
    from .estimation import estimate
    from .estimation.render import write_json, write_markdown, write_png

    report = estimate(project_dir, recipe.build.board)
    write_json(report, out / "resources.json")
    write_markdown(report, out / "resources.md")
    write_png(report, out / "resources.png")
    return {
        "totals": dataclasses.asdict(report.totals),
        "latency_ns": report.latency_ns,
        "utilization": report.utilization,
        "fits": report.fits,
        "verdict": report.verdict,
    }


def _save_stage_figures_and_scores(model, data: Dataset, out: Path) -> None:
    """The stage model's weight distribution and its test-split class scores (for the summary's ROC)."""
    import numpy as np

    from .plots import plot_weight_distribution

    if not (out / "weights.png").is_file():
        plot_weight_distribution(model, out / "weights.png", title=f"weights after {out.name.split('.')[0]}")
    scores = np.asarray(model.predict(data.x_test, batch_size=4096, verbose=0), dtype=np.float32)
    np.savez_compressed(out / "test_scores.npz", scores=scores, labels=data.y_test.astype(np.int8))
