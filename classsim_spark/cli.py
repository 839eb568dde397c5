"""Command line: ``classsim similarity | analyze | run | render | explore | make-demo | demo``.

Every ``similarity`` option can also come from a TOML file (``--config``); options given on the
command line win. Errors about the input are printed as one clear message (exit status 2), not as
a stack trace.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

from classsim_spark.core.transforms import ACTIVATIONS, SCORE_KINDS, TRANSFORMS
from classsim_spark.errors import is_user_error
from classsim_spark.io.classes import read_class_names
from classsim_spark.io.config import ConfigError, load_config, scan_engine, similarity_kwargs
from classsim_spark.io.results import (
    EXAMPLES_FILE,
    ResultsExistError,
    SimilarityResult,
    check_writable,
    continue_unfinished,
    local_paths,
    read_unfinished,
    stage,
    stage_done,
)
from classsim_spark.progress import PhaseTimer
from classsim_spark.signals import EXIT_STATUS, sigterm_raises, stop_signal
from classsim_spark.spark.jvm_archive import finish as finish_archive

log = logging.getLogger("classsim")

DEMO_DATA, DEMO_RESULTS = "data", "results"


def _csv_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _classes(text: str) -> str | list[str]:
    """A comma-separated list of names, or else a class file path (one name is no list: a
    missing file is then reported as missing, not taken for a class)."""
    return text if os.path.exists(text) or "," not in text else _csv_list(text)


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _spark_conf(pairs: list[str] | None) -> dict[str, str] | None:
    if not pairs:
        return None
    conf = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ConfigError(f"--conf expects KEY=VALUE, got {pair!r}")
        conf[key.strip()] = value.strip()
    return conf


def _add_similarity_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="TOML file with defaults for every option (conf/*.toml)")
    p.add_argument("--input", help="Parquet path(s)/glob(s), comma-separated, or a table name")
    p.add_argument("--format", help="data source format of path inputs (default parquet)")
    p.add_argument("--where", help="SQL filter, e.g. \"date >= '2026-01-01'\"")
    p.add_argument(
        "--reader",
        choices=["auto", "spark", "arrow"],
        help="arrow: tasks read Parquet with pyarrow; auto (default): arrow for local "
        "or mounted Parquet paths without --where, else Spark's reader",
    )
    p.add_argument("--layout", choices=["array", "wide", "long"])
    p.add_argument("--scores-col", help="array layout: score column; long: score column")
    p.add_argument("--class-col", help="long layout: class column (default 'class')")
    p.add_argument("--id-col", help="sample id column (default 'sample_id')")
    p.add_argument(
        "--classes",
        type=_classes,
        help="class file (CSV with 'name', JSON, or text) or comma-separated names",
    )
    p.add_argument("--prefix", help="wide layout: class columns start with this prefix")
    p.add_argument("--regex", help="wide layout: class columns match this regex (group 1 = name)")
    p.add_argument(
        "--fill-value",
        type=float,
        help="long layout: score of classes not logged for a sample (top-k logs)",
    )
    p.add_argument(
        "--labels",
        help="label column for the baselines (frequencies, confusion or "
        "co-occurrence): 'auto' (a 'labels' or 'label' column if present) or 'none'",
    )
    p.add_argument("--scores", choices=SCORE_KINDS, help="what the input holds (default logits)")
    p.add_argument(
        "--activation",
        choices=ACTIVATIONS,
        help="output activation: softmax (single-label) or sigmoid (multi-label)",
    )
    p.add_argument("--eps", type=float, help="probability clip for logs (default 1e-12)")
    p.add_argument(
        "--transform",
        type=_csv_list,
        help=f"comma-separated subset of {','.join(TRANSFORMS)}, all, or auto (default: all "
        "three up to 100M scores (rows x classes, from Parquet footers), else logit alone)",
    )
    p.add_argument(
        "--drop-invalid",
        action="store_const",
        const=True,
        help="drop and count invalid rows instead of failing",
    )
    p.add_argument(
        "--zero-variance",
        choices=["zero", "error"],
        help="constant classes: correlate 0 with all (default) or fail",
    )
    p.add_argument("--tile-size", type=int, help="side of the co-moment tiles reduced on executors")
    p.add_argument(
        "--driver-memory-limit",
        type=float,
        metavar="GIB",
        help="driver memory budget for the matrices (default half of RAM)",
    )
    p.add_argument(
        "--sample-rows",
        type=_non_negative_int,
        metavar="N",
        help="rows of raw scores kept as a uniform sample for the distribution "
        "figure (default 1000; 0 disables)",
    )
    p.add_argument(
        "--stability-parts",
        metavar="N|auto",
        help="keep the logit statistics in N disjoint parts of the rows, so the "
        "analysis can measure each finding's stability on subsamples (default auto: "
        "up to 6, by m; 0 disables)",
    )
    p.add_argument(
        "--by",
        metavar="COLUMN",
        help="also keep the statistics per value of this column (e.g. date), so that "
        "`classsim window` composes any range of values later without Spark",
    )
    p.add_argument(
        "--windows-budget-gib",
        type=float,
        metavar="GIB",
        help="disk the per-value statistics of --by may take (default 4); above it the scan "
        "is refused before it starts",
    )
    p.add_argument("--out", help="results directory to create")
    p.add_argument(
        "--overwrite",
        action="store_const",
        const=True,
        help="replace an existing results directory",
    )
    p.add_argument(
        "--update",
        metavar="RESULTS",
        help="add the input's rows to these results (the input must hold only new rows): "
        "their statistics become those of all rows, in place, or in --out when given",
    )
    _add_spark_options(p)


def _add_analysis_options(p: argparse.ArgumentParser, with_transform: bool) -> None:
    p.add_argument(
        "--taxonomy",
        help="taxonomy CSV: a 'name' or 'class_id' column plus one "
        "column per level, coarse to fine",
    )
    p.add_argument("--taxonomy-levels", help="comma-separated level columns, coarse to fine")
    if with_transform:
        p.add_argument("--transform", help="auto (default) or the transform to analyse")
    p.add_argument(
        "--distance",
        choices=["auto", "1-r", "profile"],
        help="auto (default): chosen by the unsupervised criterion",
    )
    p.add_argument(
        "--linkage",
        choices=["auto", "complete", "average", "single", "weighted", "ward", "centroid"],
        help="auto (default) or a linkage",
    )
    p.add_argument(
        "--criterion",
        choices=["fixed", "normality>cophenetic"],
        help="how 'auto' chooses: fixed (default: logit, 1-r, average, the best on "
        "real classifiers) or normality>cophenetic",
    )
    p.add_argument(
        "--clip-negative", action="store_const", const=True, help="treat negative similarities as 0"
    )
    p.add_argument("--order-file", help="an extra display order: JSON list or one name per line")
    p.add_argument("--fuzzy-groups", type=int, help="fuzzy c-means groups (default: Xie-Beni)")
    p.add_argument("--core", type=float, help="membership of a core member (default 0.5)")
    p.add_argument("--seed", type=int, help="seed of fuzzy c-means (default 0)")
    p.add_argument(
        "--stability-resamples",
        type=_non_negative_int,
        metavar="N",
        help="subsamples the stability of each finding is measured on (default 20; "
        "0 skips; needs a scan with --stability-parts)",
    )


def _analysis_overrides(args: argparse.Namespace, transform: str | None) -> dict:
    return {
        "analysis.taxonomy": args.taxonomy,
        "analysis.taxonomy_levels": args.taxonomy_levels,
        "analysis.transform": transform,
        "analysis.distance": args.distance,
        "analysis.linkage": args.linkage,
        "analysis.criterion": args.criterion,
        "analysis.clip_negative": args.clip_negative,
        "analysis.order_file": args.order_file,
        "analysis.fuzzy_groups": args.fuzzy_groups,
        "analysis.core": args.core,
        "analysis.seed": args.seed,
        "analysis.stability_resamples": args.stability_resamples,
    }


def _add_spark_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--engine",
        choices=["auto", "spark", "python"],
        help="what runs the scan: python (threads of this process, no JVM; local Parquet read "
        "with pyarrow, no --where), spark, or auto (default): python for such input unless "
        "--master, --remote or spark-submit give a session",
    )
    p.add_argument("--master", help="Spark master URL (default: active session or local[*])")
    p.add_argument("--remote", help="Spark Connect URL, e.g. sc://host:15002")
    p.add_argument("--conf", action="append", metavar="KEY=VALUE", help="extra Spark setting")


def _similarity_overrides(args: argparse.Namespace) -> dict:
    limit = args.driver_memory_limit
    return {
        "input.source": args.input,
        "input.format": args.format,
        "input.where": args.where,
        "input.reader": args.reader,
        "input.layout": args.layout,
        "input.scores_col": args.scores_col,
        "input.class_col": args.class_col,
        "input.id_col": args.id_col,
        "input.classes": args.classes,
        "input.prefix": args.prefix,
        "input.regex": args.regex,
        "input.fill_value": args.fill_value,
        "input.labels": args.labels,
        "scores.kind": args.scores,
        "scores.activation": args.activation,
        "scores.eps": args.eps,
        "similarity.transforms": args.transform,
        "similarity.drop_invalid": args.drop_invalid,
        "similarity.zero_variance": args.zero_variance,
        "similarity.tile_size": args.tile_size,
        "similarity.driver_memory_limit_gib": limit,
        "similarity.sample_rows": args.sample_rows,
        "similarity.stability_parts": args.stability_parts,
        "similarity.by": args.by,
        "similarity.windows_budget_gib": args.windows_budget_gib,
        "output.dir": args.out,
        "output.overwrite": args.overwrite,
        "output.update": args.update,
        "spark.engine": getattr(args, "engine", None),
        "spark.master": args.master,
        "spark.remote": args.remote,
        "spark.conf": _spark_conf(args.conf),
    }


def _spark_from(config: dict):
    from classsim_spark.spark.session import get_spark

    spark_cfg = config["spark"]
    return get_spark(
        spark_cfg["master"], spark_cfg["remote"], conf=spark_cfg["conf"], write_archive=True
    )


def run_similarity(config: dict, stages: tuple[str, ...] = ()):
    """Run the similarity job described by a merged configuration; return the result.

    ``stages``: later stages the caller runs in the output (the directory arrives marked
    unfinished until they are done)."""
    from classsim_spark.api import similarity

    kwargs = similarity_kwargs(config)
    if kwargs["update"]:
        kwargs = _update_kwargs(kwargs)
    if kwargs["out"]:  # before a session starts: a refused output costs nothing
        check_writable(kwargs["out"], kwargs["overwrite"], inputs=local_paths(kwargs["data"]))
    return similarity(
        **kwargs,
        spark=lambda: _spark_from(config),
        run_info={"config": config},
        stages=stages,
        transform_choice=transform_choice(config["analysis"]),
    )


def transform_choice(analysis: dict):
    """How the analysis of this configuration chooses its transform; None when it is fixed
    (then the scan need not sample for it)."""
    from classsim_spark.transform_choice import TransformChoice

    if analysis["transform"] != "auto":
        return None
    return TransformChoice(
        analysis["criterion"],
        analysis["distance"],
        analysis["linkage"],
        analysis["clip_negative"],
        analysis["seed"],
    )


def _update_kwargs(kwargs: dict) -> dict:
    """An update's keyword arguments: the settings at their built-in defaults are left out, so
    that :func:`classsim_spark.similarity` takes the results' own; the output is the results
    themselves unless the command line names another."""
    from classsim_spark.update import UPDATE_SETTINGS

    builtin = similarity_kwargs(load_config(None, {"input.source": kwargs["data"]}))
    kept = {k: v for k, v in kwargs.items() if k not in UPDATE_SETTINGS or v != builtin[k]}
    if kept["out"] and Path(kept["out"]).resolve() == Path(kept["update"]).resolve():
        kept["out"] = None  # in place
    return kept


def _output_of(config: dict, args: argparse.Namespace) -> None:
    """Settle where a scan's results go: ``--update`` on the command line without ``--out``
    updates in place (a config file's ``output.dir`` does not redirect it); refuse a command
    without a directory to write or update."""
    if args.update and not args.out:
        config["output"]["dir"] = args.update
    if not config["output"]["dir"]:
        if not config["output"]["update"]:
            raise ConfigError(
                "no output directory: give --out or --update (or output.dir in the config file)"
            )
        config["output"]["dir"] = config["output"]["update"]


def cmd_similarity(args: argparse.Namespace) -> int:
    config = load_config(args.config, _similarity_overrides(args))
    _output_of(config, args)
    result = run_similarity(config)
    print(result.path)
    return 0


def run_analysis(config: dict, results):
    """Analyse a similarity result (or results directory) as a configuration says."""
    from classsim_spark.analysis import analyze
    from classsim_spark.io.config import analysis_kwargs

    return analyze(results, **analysis_kwargs(config))


def cmd_analyze(args: argparse.Namespace) -> int:
    overrides = {**_analysis_overrides(args, args.transform), "output.overwrite": args.overwrite}
    analysis = run_analysis(load_config(args.config, overrides), args.results)
    _log_findings(analysis)
    print(analysis.path)
    return 0


def _transform_options(args: argparse.Namespace) -> tuple[list[str] | None, str | None]:
    """``run``'s --transform: what to compute, and what the analysis may choose from."""
    if not args.transform or args.transform == ["auto"]:
        return None, None
    return args.transform, args.transform[0] if len(args.transform) == 1 else "auto"


RUN_STAGES = ("similarity", "analyze", "render")
"""The stages of ``classsim run`` (and of the spark-submit job), in order."""


STAGE_SETTINGS = {
    "similarity": ("input", "scores", "similarity"),
    "analyze": ("analysis",),
    "render": ("render",),
}
"""The configuration sections whose settings decide each stage's output."""


def _resumable(config: dict):
    """The results of an unfinished run in the configured output directory that this run can
    finish instead of starting again (the stages it already did had the same settings; those of
    the stages to do may differ, e.g. a corrected taxonomy); None when there is none.

    Raises when the output holds an unfinished run whose done stages had other settings
    (unless ``--overwrite`` asks to replace it).
    """
    out = Path(config["output"]["dir"])
    marker = read_unfinished(out) if out.is_dir() else None
    if marker is None or config["output"]["overwrite"]:
        return None
    theirs, ours = marker.get("config") or {}, json.loads(json.dumps(config, default=str))
    sections = [s for stage_ in marker["done"] for s in STAGE_SETTINGS.get(stage_, ())]
    differ = sorted(
        f"{section}.{key}"
        for section in sections
        for key in set(theirs.get(section) or {}) | set(ours.get(section) or {})
        if (theirs.get(section) or {}).get(key) != (ours.get(section) or {}).get(key)
    )
    if differ:
        raise ResultsExistError(
            f"{out} holds an unfinished run whose finished stages ({', '.join(marker['done'])})"
            f" had other settings: {', '.join(differ[:6])}{', ...' if len(differ) > 6 else ''}"
            ". Rerun with those settings to finish it, or pass --overwrite to replace it"
        )
    log.info(
        "finishing the unfinished run in %s: %s already done; %s",
        out,
        ", ".join(marker["done"]),
        "rescanning" if "similarity" not in marker["done"] else "not scanning again",
    )
    continue_unfinished(out, ours)
    return SimilarityResult.load(out)


def _check_before_scan(config: dict) -> None:
    """Check the analysis's own inputs before the scan, so that a wrong taxonomy or order file
    is named in seconds, not after minutes of scanning."""
    from classsim_spark.io.taxonomy_file import check_taxonomy_file, read_taxonomy

    analysis = config["analysis"]
    if analysis["taxonomy"]:
        classes = config["input"]["classes"]
        names = read_class_names(classes) if isinstance(classes, str) else classes
        if names:
            read_taxonomy(analysis["taxonomy"], names, analysis["taxonomy_levels"])
        else:  # the classes come from the input: match the rows after the scan
            check_taxonomy_file(analysis["taxonomy"], analysis["taxonomy_levels"])
    if analysis["order_file"] and not Path(analysis["order_file"]).is_file():
        raise ConfigError(f"order file not found: {analysis['order_file']}")


def run_stages(config: dict, stop_after: str = "render"):
    """Scan, analyse and render as a merged configuration says, up to ``stop_after``, marking the
    output unfinished until the last stage is done; a rerun of the same configuration finishes
    a stopped one. Returns the similarity result."""
    stages = RUN_STAGES[: RUN_STAGES.index(stop_after) + 1]
    if "analyze" in stages:
        _check_before_scan(config)
    result = _resumable(config) or run_similarity(config, stages[1:])
    timer = PhaseTimer()  # each stage in all, beside the phases each logs
    if "analyze" in stages and not stage_done(result.path, "analyze"):
        with timer.phase("analysis"), stage(result.path, "analyze"):  # files replaced
            _log_findings(run_analysis(config, result))
    wanted = config["examples"]["pairs"]
    if "analyze" in stages and wanted and not (result.path / EXAMPLES_FILE).exists():
        with timer.phase("examples"):
            _run_examples(config, result.path, None, wanted)
    if "render" in stages and not stage_done(result.path, "render"):
        with timer.phase("figures and explorer"):
            log.info("figures: %s", render_figures(config, result))
    return result


def _run_examples(config: dict, results, pairs: list[str] | None, count: int, **options):
    """Look up the samples behind ``pairs`` (``'a,b'`` texts), or behind the ``count``
    strongest near-duplicate pairs and split groups of the analysis."""
    from classsim_spark.examples import ExamplesError, default_pairs, examples, parse_pair
    from classsim_spark.render.inputs import read_groups

    result = SimilarityResult.load(results)
    if pairs:
        chosen = [parse_pair(text, result.classes) for text in pairs]
    else:
        groups = read_groups(result)
        if groups is None:
            raise ExamplesError(f"{results} is not analysed: give the pairs (--pair 'a,b')")
        chosen = default_pairs(groups, result.matrix(groups.transform), result.classes, count)
        if not chosen:
            log.info("examples: the analysis found no near-duplicate pair or split group")
            return None
    return examples(
        result,  # loaded once, its analysis parsed once
        chosen,
        top=config["examples"]["top"],
        spark=lambda: _spark_from(config),
        engine=scan_engine(config["spark"]),
        **options,
    )


def cmd_run(args: argparse.Namespace) -> int:
    compute, analyse = _transform_options(args)
    args.transform = compute
    config = load_config(
        args.config,
        {
            **_similarity_overrides(args),
            **_analysis_overrides(args, analyse),
            **_render_overrides(args),
            "examples.pairs": args.examples,
        },
    )
    _output_of(config, args)
    print(run_stages(config, args.stop_after).path)
    return 0


def _log_findings(analysis) -> None:
    g = analysis.groups
    chosen = g["chosen"]
    log.info(
        "chosen: transform %s, distance %s, linkage %s",
        chosen["transform"],
        chosen["distance"],
        chosen["linkage"],
    )
    log.info(
        "found %d blocks, %d split groups, %d failed groups, %d near-duplicate pairs, "
        "%d star classes",
        len(g["blocks"]),
        len(g["split_groups"]),
        len(g["failed_groups"]),
        len(g["near_duplicates"]),
        len(g["stars"]),
    )
    if g["taxonomy"]:
        first = g["taxonomy"]["agreement"]["levels"][0]
        log.info(
            "taxonomy agreement at %s (%d groups): ARI %.3f, NMI %.3f",
            first["level"],
            first["groups"],
            first["ari"] or 0.0,
            first["nmi"] or 0.0,
        )


def _add_rendered_results(p: argparse.ArgumentParser) -> None:
    """The results directory and config file of a command that draws (render, explore)."""
    p.add_argument("results", help="results directory (after `classsim analyze` for structure)")
    p.add_argument("--config", help="TOML file with defaults ([render] section)")


def _add_render_options(p: argparse.ArgumentParser, with_transform: bool) -> None:
    p.add_argument(
        "--vector", choices=["svg", "pdf"], help="vector format beside each PNG (default svg)"
    )
    if with_transform:
        p.add_argument(
            "--transform",
            dest="render_transform",
            metavar="T",
            help="matrix shown (default: the analysed one)",
        )
    p.add_argument(
        "--diverging",
        action="store_const",
        const=True,
        help="similarity colours centred at 0 (diverging colormap)",
    )
    p.add_argument("--cutoff", type=float, help="similarities below it drawn as background")
    p.add_argument(
        "--contrast",
        type=float,
        help="gamma of the similarity colour scale (1 linear; < 1 lifts low values)",
    )
    p.add_argument(
        "--log-counts",
        action="store_const",
        const=True,
        help="log colour scale for confusion and co-occurrence counts",
    )
    p.add_argument(
        "--names-max",
        type=int,
        help="largest number of classes with every name drawn (default 150)",
    )
    p.add_argument(
        "--highlight",
        type=_csv_list,
        metavar="CLASSES",
        help="comma-separated classes to name with leader lines when not every name "
        "fits (default: near duplicates, stars, failed-group members)",
    )
    p.add_argument(
        "--distribution-class",
        metavar="CLASS",
        help="class whose input values the distribution figure shows (default: the "
        "most frequent label)",
    )
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="processes drawing figures (default: one per CPU from 1,000 classes)",
    )
    p.add_argument(
        "--no-explorer",
        dest="explorer",
        action="store_const",
        const=False,
        help="do not write explorer.html (the interactive page) beside the figures",
    )


def _render_overrides(args: argparse.Namespace) -> dict:
    return {
        "render.vector": args.vector,
        "render.transform": getattr(args, "render_transform", None),
        "render.diverging": args.diverging,
        "render.cutoff": args.cutoff,
        "render.contrast": args.contrast,
        "render.log_counts": args.log_counts,
        "render.names_max": args.names_max,
        "render.highlight": args.highlight,
        "render.distribution_class": args.distribution_class,
        "render.workers": args.workers,
        "render.explorer": args.explorer,
    }


def render_figures(config: dict, results, only: list[str] | None = None):
    """Render the figures of a results directory as a configuration's [render] says."""
    from classsim_spark.render.figures import options_from_config, render

    section = config["render"]
    return render(
        results,
        vector=section["vector"],
        overwrite=bool(config["output"]["overwrite"]),
        options=options_from_config(section),
        only=only,
        workers=section["workers"] or "auto",
        explorer=section["explorer"],
        explorer_budget_mb=section["explorer_budget_mb"],
    )


def cmd_render(args: argparse.Namespace) -> int:
    config = load_config(
        args.config, {**_render_overrides(args), "output.overwrite": args.overwrite}
    )
    print(render_figures(config, args.results, args.only))
    return 0


def cmd_explore(args: argparse.Namespace) -> int:
    from classsim_spark.render.explorer import write_explorer
    from classsim_spark.render.figures import options_from_config

    config = load_config(args.config, {"render.explorer_budget_mb": args.budget_mb})
    section = config["render"]
    page = write_explorer(args.results, section["explorer_budget_mb"], options_from_config(section))
    print(page)
    if args.open:
        import webbrowser

        if not webbrowser.open(page.resolve().as_uri()):
            log.warning("no browser to open %s", page)
    return 0


def cmd_examples(args: argparse.Namespace) -> int:
    config = load_config(
        args.config,
        {
            "examples.top": args.top,
            "spark.engine": args.engine,
            "spark.master": args.master,
            "spark.remote": args.remote,
            "spark.conf": _spark_conf(args.conf),
        },
    )
    record = _run_examples(
        config,
        args.results,
        args.pair,
        args.count,
        transform=args.transform,
        data=args.input,
    )
    if record is not None:
        print(Path(args.results) / EXAMPLES_FILE)
    return 0


def cmd_window(args: argparse.Namespace) -> int:
    from classsim_spark.windows import compose_window

    result = compose_window(
        args.results,
        start=args.start,
        end=args.end,
        values=_csv_list(args.values) if args.values else None,
        out=args.out,
        overwrite=bool(args.overwrite),
    )
    print(result.path)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from classsim_spark.compare import compare

    result = compare(
        args.a,
        args.b,
        args.out,
        transform=args.transform,
        transform_b=args.transform_b,
        permutations=args.permutations,
        overwrite=bool(args.overwrite),
    )
    print(result.path)
    return 0


def cmd_make_demo(args: argparse.Namespace) -> int:
    from classsim_spark.demo.generator import DemoSpec
    from classsim_spark.demo.writer import write_demo

    spec = DemoSpec.sized(
        args.classes,
        args.top_groups,
        args.mid_groups,
        samples=args.samples,
        multi_label=args.multi_label,
        seed=args.seed,
        days=args.days,
    )
    start = time.perf_counter()
    path = write_demo(
        spec, args.out, layout=args.layout, top_k=args.top_k, overwrite=args.overwrite
    )
    log.info(
        "wrote %d x %d demo scores (%s layout) in %.1f s",
        spec.samples,
        spec.classes,
        args.layout,
        time.perf_counter() - start,
    )
    print(path)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from classsim_spark.demo.generator import DemoSpec
    from classsim_spark.demo.writer import write_demo

    base = Path(args.dir)
    data = base / DEMO_DATA
    if not (data / "answers.json").is_file():
        log.info("generating demo data in %s", data)
        write_demo(DemoSpec(seed=args.seed), data, overwrite=True)
    overrides = {
        "input.source": str(data / "scores"),
        "input.classes": str(data / "classes.csv"),
        "output.dir": str(base / DEMO_RESULTS),
        "output.overwrite": args.overwrite,
        "spark.engine": getattr(args, "engine", None),
        "spark.master": args.master,
        "spark.remote": args.remote,
        "spark.conf": _spark_conf(args.conf),
        **_render_overrides(args),
    }
    overrides["analysis.taxonomy"] = str(data / "classes.csv")
    overrides["analysis.taxonomy_levels"] = "level1,level2"
    result = run_stages(load_config(args.config, overrides))
    log.info(
        "demo: %d samples x %d classes; transforms %s",
        result.run.n,
        result.m,
        ", ".join(result.transforms),
    )
    print(f"results: {result.path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="classsim",
        description="How a classifier organises its classes, from its prediction scores.",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("similarity", help="compute class-similarity matrices (one Spark scan)")
    _add_similarity_options(p)
    p.set_defaults(func=cmd_similarity)

    p = sub.add_parser("analyze", help="find the groups in a results directory (no Spark)")
    p.add_argument("results", help="results directory written by `classsim similarity`")
    p.add_argument("--config", help="TOML file with defaults ([analysis] section)")
    _add_analysis_options(p, with_transform=True)
    p.add_argument(
        "--overwrite",
        action="store_const",
        const=True,
        help="replace an earlier analysis in the directory",
    )
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("run", help="similarity, analyze and render in one command")
    _add_similarity_options(p)
    _add_analysis_options(p, with_transform=False)
    _add_render_options(p, with_transform=False)
    p.add_argument(
        "--examples",
        type=_non_negative_int,
        metavar="N",
        help="after the analysis, look up the samples behind the N strongest near-duplicate "
        "pairs and split groups (one more scan; default 0)",
    )
    p.add_argument(
        "--stop-after",
        choices=RUN_STAGES,
        default="render",
        help="last stage to run (default render: all of them)",
    )
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("render", help="write the figures of a results directory (no Spark)")
    _add_rendered_results(p)
    _add_render_options(p, with_transform=True)
    p.add_argument(
        "--only",
        type=_csv_list,
        metavar="FIGURES",
        help="comma-separated figures to write (default all): similarity, "
        "similarity-cells, similarity-taxonomy, distributions, frequencies, confusion, "
        "cooccurrence",
    )
    p.add_argument("--overwrite", action="store_const", const=True, help="replace existing figures")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser(
        "explore", help="write or refresh explorer.html, the interactive page (no Spark)"
    )
    _add_rendered_results(p)
    p.add_argument(
        "--budget-mb",
        type=float,
        metavar="MB",
        help="size limit of the page (default 30); past it matrices are stored with 8 bits",
    )
    p.add_argument("--open", action="store_true", help="open the page in the default browser")
    p.set_defaults(func=cmd_explore)

    p = sub.add_parser(
        "examples",
        help="the samples that make class pairs similar (one more scan of the input)",
    )
    p.add_argument("results", help="results directory")
    p.add_argument(
        "--pair",
        action="append",
        metavar="A,B",
        help="two class names (repeatable); default: the strongest near-duplicate pairs and "
        "split groups of the analysis",
    )
    p.add_argument(
        "--count",
        type=_non_negative_int,
        default=5,
        help="without --pair: this many near-duplicate pairs and split groups (default 5)",
    )
    p.add_argument("--top", type=_non_negative_int, help="samples per pair (default 20)")
    p.add_argument("--transform", choices=TRANSFORMS, help="default: the analysis's choice")
    p.add_argument("--input", help="read this instead of the inputs run.json names")
    p.add_argument("--config", help="TOML file with defaults ([examples], [spark])")
    _add_spark_options(p)
    p.set_defaults(func=cmd_examples)

    p = sub.add_parser(
        "window",
        help="the results of some values of --by (a date range) from a results directory's "
        "windows (no Spark)",
    )
    p.add_argument("results", help="results directory scanned with --by")
    p.add_argument("--from", dest="start", metavar="VALUE", help="first value (included)")
    p.add_argument("--to", dest="end", metavar="VALUE", help="last value (included)")
    p.add_argument("--values", metavar="V1,V2,...", help="the values, instead of a range")
    p.add_argument("--out", required=True, help="results directory to create")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier results directory")
    p.set_defaults(func=cmd_window)

    p = sub.add_parser(
        "compare",
        help="two analysed results under one order: agreement, changed classes, blocks (no Spark)",
    )
    p.add_argument("a", help="results directory A (its order is the common one)")
    p.add_argument("b", help="results directory B")
    p.add_argument("--out", required=True, help="comparison directory to create")
    p.add_argument("--transform", choices=TRANSFORMS, help="default: A's chosen one, if B has it")
    p.add_argument(
        "--transform-b",
        choices=TRANSFORMS,
        help="B's transform when it is another (two transforms of one run: A and B the same)",
    )
    p.add_argument(
        "--permutations",
        type=_non_negative_int,
        help="of the permutation test of the correlation (default 999; fewer above 1,000 classes)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an earlier comparison")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("make-demo", help="write synthetic scores with planted structure")
    p.add_argument("--out", required=True, help="directory to create")
    p.add_argument("--samples", type=int, default=20_000)
    p.add_argument("--classes", type=int, default=300)
    p.add_argument(
        "--top-groups",
        type=int,
        help="top-level taxonomy groups (default 6, fewer for few classes)",
    )
    p.add_argument(
        "--mid-groups", type=int, help="middle taxonomy groups (default 25, at most classes / 2)"
    )
    p.add_argument("--multi-label", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--days", type=int, default=4, help="number of date partitions")
    p.add_argument("--layout", choices=["array", "wide", "long"], default="array")
    p.add_argument("--top-k", type=int, help="long layout: keep only the top-k classes per sample")
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=cmd_make_demo)

    p = sub.add_parser("demo", help="generate the demo data and run everything on it")
    p.add_argument("--dir", default="demo", help="demo folder (data/ and results/ inside)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--config", help="TOML file with defaults for the run")
    p.add_argument(
        "--overwrite",
        action="store_const",
        const=True,
        help="replace the results of an earlier demo run",
    )
    _add_render_options(p, with_transform=False)
    _add_spark_options(p)
    p.set_defaults(func=cmd_demo)
    return parser


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of each record."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def _log_to_stderr(level: int) -> None:
    """One progress line per phase on stderr, whatever logging spark-submit set up."""
    if not any(isinstance(h, _StderrHandler) for h in log.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("classsim: %(message)s"))
        log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False
    for noisy in ("py4j", "pyspark"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    """Run one command; exit status 0, 2 for a user error (one message), 130 after Ctrl-C
    (SIGINT) and 143 after SIGTERM, each having removed what it had half written."""
    args = build_parser().parse_args(argv)
    _log_to_stderr(logging.WARNING if args.quiet else logging.INFO)
    try:
        with sigterm_raises():
            status = args.func(args)
        finish_archive()  # when this command's local session was to write the class archive
        return status
    except BaseException as err:
        name = stop_signal(err)  # first: an interruption may surface as another error
        if name is not None:
            print(
                f"classsim: stopped by {name}; nothing half-written is left (a results "
                "directory whose later stages did not run says so in unfinished.json; "
                "rerunning the command finishes it)",
                file=sys.stderr,
            )
            return EXIT_STATUS[name]
        if is_user_error(err):
            print(f"classsim: error: {err}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
