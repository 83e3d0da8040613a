"""``probe entangle``: entanglement-entropy profiles of weights, updates and attention.

::

    probe entangle weights model.safetensors --layers 'encoder.layer.*.attention.*.weight'
    probe entangle delta --base base/ --tuned tuned/
    probe entangle lora adapter/
    probe entangle attention --model embed:minilm --text prompts/attention.txt
    probe entangle random --shape 1024x1024 --samples 20
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

SOURCES = ("weights", "delta", "lora", "attention", "random")


def _common(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("output and method")
    g.add_argument("--out", metavar="DIR", help="run folder (default runs/entangle-<source>-<name>-<time>/)")
    g.add_argument("--seed", type=int, default=0, help="seed for every sampled number (baselines, bootstrap)")
    g.add_argument("--order", choices=("sequential", "interleaved"), default="sequential",
                   help="site order: row factors then column factors (default), or interleaved (MPO)")
    g.add_argument("--factors", choices=("ascending", "descending"), default="ascending",
                   help="order of prime factors within an index (moot for powers of two)")
    g.add_argument("--max-bond", type=int, default=16, metavar="CHI",
                   help="report the weight discarded at each cut when truncating to this bond dimension")
    g.add_argument("--workers", type=int, default=1, help="processes to spread tensors over (default 1)")
    g.add_argument("--cluster", metavar="local:N|ADDRESS",
                   help="profile the tensors as tasks on a Dask cluster (local:N, or tcp://scheduler:8786)")


def _tensor_opts(p: argparse.ArgumentParser, *, baseline_default: int = 4) -> None:
    p.add_argument("--layers", action="append", metavar="PATTERN",
                   help="glob over tensor names, or re:REGEX; repeat for several (default: every matrix)")
    p.add_argument("--baseline-samples", type=int, default=baseline_default, metavar="N",
                   help=f"Gaussian matrices per shape for the real-ensemble baseline (0 = off; default {baseline_default})")
    p.add_argument("--no-mp", action="store_true", help="skip the Marchenko-Pastur comparison")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "entangle", help="entanglement-entropy profiles of weights, LoRA/fine-tuning updates and attention",
        description="Read a matrix as a many-qubit state and measure its entanglement entropy at every cut "
                    "(Chen et al. 2026, arXiv:2601.06788).",
    )
    sub = parser.add_subparsers(dest="entangle_source", metavar="SOURCE")
    p = sub.add_parser("weights", help="weight matrices of a safetensors / transformers checkpoint")
    p.add_argument("path", help="a .safetensors/.bin file or a checkpoint folder")
    _tensor_opts(p)
    _common(p)
    p = sub.add_parser("delta", help="full fine-tuning updates W_tuned - W_base, per tensor")
    p.add_argument("--base", required=True, help="base checkpoint (file or folder)")
    p.add_argument("--tuned", required=True, help="fine-tuned checkpoint with the same tensors")
    _tensor_opts(p)
    _common(p)
    p = sub.add_parser("lora", help="a peft LoRA adapter: dW = s*B*A, never densified")
    p.add_argument("adapter", help="folder with adapter_config.json and adapter_model.safetensors")
    p.add_argument("--dense", action="store_true", help="form dW densely instead of the low-rank path")
    _tensor_opts(p)
    _common(p)
    p = sub.add_parser("attention", help="attention matrices of a local transformers model")
    p.add_argument("--model", required=True, help="hf:PATH, embed:minilm or embed:PATH")
    p.add_argument("--text", required=True, help="UTF-8 text, cut into windows of --tokens tokens")
    p.add_argument("--tokens", type=int, default=32, help="tokens per window, specials included (default 32 = 2^5)")
    p.add_argument("--max-windows", type=int, default=16, help="at most this many windows (default 16)")
    _common(p)
    p = sub.add_parser("random", help="Gaussian random matrices: the Page-curve / real-ensemble baseline")
    p.add_argument("--shape", required=True, help="ROWSxCOLS, e.g. 1024x1024")
    p.add_argument("--samples", type=int, default=20, help="matrices to draw (default 20)")
    p.add_argument("--rank", type=int, help="also draw rank-R products B·A (the LoRA null model)")
    _common(p)
    parser.set_defaults(func=run, _entangle_parser=parser)


def settings_from_args(args: argparse.Namespace) -> Any:
    """The study settings of the chosen source."""
    from probe.experiments.entangle import study

    common = {"order": args.order, "factors": args.factors, "max_bond": args.max_bond, "seed": args.seed,
              "baseline_samples": getattr(args, "baseline_samples", 0), "mp": not getattr(args, "no_mp", False)}
    layers = tuple(getattr(args, "layers", None) or ())
    source = args.entangle_source
    if source == "weights":
        return study.WeightsSettings(path=args.path, layers=layers, **common)
    if source == "delta":
        return study.DeltaSettings(base=args.base, tuned=args.tuned, layers=layers, **common)
    if source == "lora":
        return study.LoraSettings(adapter=args.adapter, layers=layers, dense=args.dense, **common)
    if source == "attention":
        return study.AttentionSettings(model=args.model, text=args.text, tokens=args.tokens,
                                       max_windows=args.max_windows, **common)
    from probe.experiments.entangle.plan import parse_shape

    return study.RandomSettings(shape=parse_shape(args.shape), samples=args.samples, rank=args.rank, **common)


def run(args: argparse.Namespace) -> int:
    from probe.api import run_study
    from probe.protocol import How

    if not getattr(args, "entangle_source", None):
        args._entangle_parser.print_help()
        return 2
    settings = settings_from_args(args)
    res = run_study(settings.experiment, settings, How(out=Path(args.out) if args.out else None,
                                                      workers=args.workers, cluster=args.cluster,
                                                      progress=None))
    summ = res.summary
    depth = summ.get("valley_depth_mean")
    se = summ.get("valley_depth_se")
    print(f"{summ.get('n_layers')} tensors profiled; {summ.get('n_with_valley')} with a valley deeper than 0.05 nats; "
          f"mean valley depth {depth:.3f}" + (f" ± {se:.3f}" if se is not None else "") + " nats"
          if depth is not None else f"{len(res.layers)} profiles")
    print(f"run folder: {res.path}  (report.md, result.json)")
    return 0
