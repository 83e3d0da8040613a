"""Examples shown at the end of every command's ``--help`` (each one runs as written where it is offline)."""

from __future__ import annotations

EXAMPLES: dict[tuple[str, ...], tuple[str, ...]] = {
    ("bell",): (
        "probe bell                                         # offline: embed:minilm, 100 answers per context",
        "probe bell --model sim:quantum --mode exact       # a simulated singlet: S = 2*sqrt(2) exactly",
        "probe bell --model gpt-4o --trials 200 --seed 7 --max-cost 1      # OpenAI, within a $1 budget",
        "probe bell --model gpt-4o --dry-run               # calls, tokens and cost range; calls nothing",
        "probe bell --model gpt-4o --trials 500 --batch    # half price: submit batch jobs, print their ids, exit",
        "probe bell --model gpt-4o --trials 500 --batch    # later, the same command: collect, resubmit what failed",
        "probe bell --counts human.csv                     # people's answers through the same analysis",
        "probe bell --model embed:minilm --prompt analyses/aerts2025-bell/prompt-neutral.toml --trials 81 "
        "--seed 2025 --cassette cassettes/aerts2025-bell-embed-minilm.jsonl --replay",
    ),
    ("words",): (
        "probe words story.txt                              # BE vs MB fits of one text",
        "probe words corpus/ --glob '*.txt' --by-file       # one fit per file and the pooled fit",
        "probe words - < story.txt.gz                       # standard input; gzip is detected",
        "probe words --generate --model gpt-4o --n 20 --min-words 3000 --dry-run",
    ),
    ("entangle", "weights"): ("probe entangle weights model.safetensors --layers 'encoder.layer.*.attention.*.weight'",),
    ("entangle", "delta"): ("probe entangle delta --base base/ --tuned tuned/",),
    ("entangle", "lora"): ("probe entangle lora adapter/            # low-rank path; the rank-r null beside it",),
    ("entangle", "attention"): ("probe entangle attention --model embed:minilm --text prompts/attention.txt",),
    ("entangle", "random"): ("probe entangle random --shape 64x64 --samples 20 --rank 4",),
    ("quantum", "power"): ("probe quantum power --gate CNOT                    # entangling power 2/9",
                           "probe quantum power --unitary U.npy --dims 2,3"),
    ("quantum", "expressibility"): ("probe quantum expressibility --ansatz ring,sim2 --qubits 4 --layers 1..5",),
    ("quantum", "capability"): ("probe quantum capability --ansatz sim1,sim6 --qubits 4 --layers 1..3",),
    ("quantum", "mie"): ("probe quantum mie --qubits 8 --depth 1..8 --measure-rate 0.0..0.3",
                         "probe quantum mie --qubits 12 --geometry 2d-nn --depth 1..12"),
    ("quantum", "classify"): ("probe quantum classify --data iris --models qsvc,qnn,svm-rbf,mlp --folds 5 --seeds 5",),
    ("quantum", "compare"): ("probe quantum compare runs/quantum-classify-iris-X --model-a qsvc --model-b svm-rbf",),
    ("quantum", "rl"): ("probe quantum rl --env bandit --episodes 50 --seeds 3",),
    ("quantum", "overlap"): ("probe quantum overlap --demo --supcon",),
    ("batch", "status"): ("probe batch status runs/bell-openai-gpt-4o-20261203T090000   # state, counts, cost",),
    ("report",): ("probe report runs/bell-embed-minilm-20261202T101500   # rebuild report.md, tables and figures",),
    ("view",): (
        "probe view runs/                      # static site in runs/_site/; prints its file:// URL",
        "probe view runs/ --serve              # on http://127.0.0.1:8000/, rebuilt as runs finish",
        "probe view runs/sweep1 --out site/    # a self-contained bundle for a paper's supplement",
    ),
}


def epilog(path: tuple[str, ...]) -> str | None:
    lines = EXAMPLES.get(path)
    return "examples:\n" + "\n".join(f"  {line}" for line in lines) if lines else None


__all__ = ["EXAMPLES", "epilog"]
