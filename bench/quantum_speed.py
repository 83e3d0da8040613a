"""Batched VQC forward + gradient, small-circuit call cost, and expressibility: probe vs peers, in one run.

    python bench/quantum_speed.py            # headline 12 qubits, 10 layers, batch 256; grid 8/12/16 x 32/256/1024
    python bench/quantum_speed.py --quick    # headline 10 qubits, 4 layers, batch 32; small grid

Workload 1 (the VQR-DQN feature extractor): RY(x_i) angle encoding of a batch of
inputs, then ``layers`` × [RY, RZ on every wire; CNOT(i, i+1 mod n)], outputs
⟨Z_i⟩ for every wire, gradient of Σ_b Σ_i c_i ⟨Z_i⟩_b w.r.t. the shared weights.

- probe: ``statevector(angle_encoding(n) + ring_vqc(n, L), x, w)`` + ``expval_z``, reversible
  backward; ``probe`` is the default (sample-blocked numba engine), ``probe-torch`` the
  torch engine (``PROBE_QSIM_ENGINE=torch``: whole-batch passes).
- PennyLane ``default.qubit``: torch interface, ``diff_method="backprop"``, parameter
  broadcasting over the batch. Run only where its stored intermediates fit (it kept
  16 GB at 12 qubits, batch 256); skipped points are marked.
- PennyLane ``lightning.qubit``: ``diff_method="adjoint"``, one QNode call per sample (it has
  no batched adjoint), timed on a subset of the batch and **extrapolated** to the batch.
- qiskit: ``Statevector`` of the bound circuit, one input at a time; forward only.

Workload 2 (a training loop's call): a 4-qubit, 2-layer ring VQC, one input, forward +
gradient per call (ms per call), probe's engines vs PennyLane default.qubit.

Workload 3: expressibility (Sim et al.) of Sim circuit 11 on 4 qubits, 2 layers,
with ``pairs`` fidelity pairs: probe's ``fidelity_samples`` + ``expressibility``
against the same parameter draws simulated by PennyLane (broadcast) and by qiskit
``Statevector`` (loop), all fed to the same histogram estimator.

Each (tool, size) runs in its own subprocess so that its peak resident memory (ru_maxrss)
is its own; outputs are compared in the parent (max |Δ|). Timings are medians of
``--repeats`` runs after one warm-up.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SIZES = {"full": {"n": 12, "layers": 10, "batch": 256, "pairs": 5000},
         "quick": {"n": 10, "layers": 4, "batch": 32, "pairs": 1000}}
GRID = {"full": [(8, 32), (8, 256), (8, 1024), (12, 32), (12, 256), (12, 1024), (16, 32), (16, 256)],
        "quick": [(8, 32), (8, 256), (12, 32)]}
"""16 qubits at batch 1024 is left out: about 1 min per step for probe (64x the work of 12 qubits, batch 256)."""
PENNYLANE_GB = 16.3 / 256 / 2**12  # GB per sample per amplitude it kept (measured at 12 qubits, batch 256)
PENNYLANE_LIMIT_GB = 4.5
LIGHTNING_SUBSET = 8
SMALL = {"n": 4, "layers": 2, "calls": 200}


def inputs(n: int, layers: int, batch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, np.pi, (batch, n))
    w = rng.uniform(0, 2 * np.pi, (layers, n, 2))  # (layer, wire, [RY, RZ])
    coef = np.linspace(0.5, 1.5, n)
    return x, w, coef


def _timed(fn, repeats: int) -> tuple[float, object]:
    fn()  # warm-up (compilation, caches)
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


# --------------------------------------------------------------------------- workers (one tool per process)


def work_probe(cfg: dict) -> dict:
    import torch

    from probe.qsim import angle_encoding, expval_z, ring_vqc, statevector

    n, layers, batch = cfg["n"], cfg["layers"], cfg["batch"]
    x, w, coef = inputs(n, layers, batch)
    circ = angle_encoding(n) + ring_vqc(n, layers)
    xt, ct = torch.as_tensor(x), torch.as_tensor(coef)
    wflat = torch.as_tensor(w.transpose(0, 2, 1).reshape(-1))  # per layer: all RY, then all RZ

    def step():
        wt = wflat.clone().requires_grad_(True)
        ez = expval_z(statevector(circ, xt, wt))
        (ez * ct).sum().backward()
        return ez.detach().numpy(), wt.grad.numpy().reshape(layers, 2, n).transpose(0, 2, 1)

    t, (ez, grad) = _timed(step, cfg["repeats"])
    with torch.no_grad():
        tf, _ = _timed(lambda: expval_z(statevector(circ, xt, wflat)), cfg["repeats"])
    sub = xt[:LIGHTNING_SUBSET]  # the subset lightning.qubit is timed on, for its agreement check
    wt = wflat.clone().requires_grad_(True)
    (expval_z(statevector(circ, sub, wt)) * ct).sum().backward()
    grad_sub = wt.grad.numpy().reshape(layers, 2, n).transpose(0, 2, 1)
    return {"time": t, "time_forward": tf, "ez": ez.tolist(), "grad": grad.tolist(), "grad_sub": grad_sub.tolist()}


def pennylane_ring(device: str, n: int, layers: int, diff_method: str, *, batched: bool):
    """The workload's ring VQC as a PennyLane QNode (torch interface): RY(x_i) encoding, then ``layers`` x
    [RY, RZ on every wire; CNOT ring]; returns <Z_i> for every wire. ``batched``: x is (batch, n), broadcast."""
    import pennylane as qml

    @qml.qnode(qml.device(device, wires=n), interface="torch", diff_method=diff_method)
    def circuit(xb, wt):
        for i in range(n):
            qml.RY(xb[:, i] if batched else xb[i], wires=i)
        for layer in range(layers):
            for i in range(n):
                qml.RY(wt[layer, i, 0], wires=i)
            for i in range(n):
                qml.RZ(wt[layer, i, 1], wires=i)
            for i in range(n):
                qml.CNOT(wires=[i, (i + 1) % n])
        return [qml.expval(qml.PauliZ(i)) for i in range(n)]

    return circuit


def work_lightning(cfg: dict) -> dict:
    import torch

    n, layers, batch = cfg["n"], cfg["layers"], cfg["batch"]
    x, w, coef = inputs(n, layers, batch)
    sub = min(batch, LIGHTNING_SUBSET)
    circuit = pennylane_ring("lightning.qubit", n, layers, "adjoint", batched=False)

    xt, ct = torch.as_tensor(x), torch.as_tensor(coef)

    def step():
        wt = torch.tensor(w, requires_grad=True)
        ez = torch.stack([torch.stack(circuit(xt[b], wt)) for b in range(sub)])
        (ez * ct).sum().backward()
        return ez.detach().numpy(), wt.grad.numpy()

    t, (ez, grad) = _timed(step, 1)
    return {"time": t * batch / sub, "measured_samples": sub, "ez": ez.tolist(), "grad": grad.tolist()}


def work_small(cfg: dict) -> dict:
    """ms per forward + gradient call of a 4-qubit, 2-layer ring VQC on one input (a training loop's call)."""
    import torch

    n, layers, calls = SMALL["n"], SMALL["layers"], SMALL["calls"]
    x, w, coef = inputs(n, layers, 1)
    xt, ct = torch.as_tensor(x), torch.as_tensor(coef)
    if cfg["tool"] == "pennylane":

        circuit = pennylane_ring("default.qubit", n, layers, "backprop", batched=False)

        wt = torch.tensor(w, requires_grad=True)

        def call():
            (torch.stack(circuit(xt[0], wt)) * ct).sum().backward()
    else:
        from probe.qsim import angle_encoding, expval_z, ring_vqc, statevector

        circ = angle_encoding(n) + ring_vqc(n, layers)
        wt = torch.as_tensor(w.transpose(0, 2, 1).reshape(-1)).requires_grad_(True)

        def call():
            (expval_z(statevector(circ, xt, wt)) * ct).sum().backward()

    for _ in range(10):
        call()
    t = time.perf_counter()
    for _ in range(calls):
        call()
    return {"ms_per_call": (time.perf_counter() - t) / calls * 1e3}


def work_pennylane(cfg: dict) -> dict:
    import torch

    n, layers, batch = cfg["n"], cfg["layers"], cfg["batch"]
    x, w, coef = inputs(n, layers, batch)
    circuit = pennylane_ring("default.qubit", n, layers, "backprop", batched=True)

    xt, ct = torch.as_tensor(x), torch.as_tensor(coef)

    def step():
        wt = torch.tensor(w, requires_grad=True)
        ez = torch.stack(circuit(xt, wt), -1)
        (ez * ct).sum().backward()
        return ez.detach().numpy(), wt.grad.numpy()

    t, (ez, grad) = _timed(step, 1 if cfg["batch"] * 2 ** cfg["n"] >= 2**20 else min(2, cfg["repeats"]))
    return {"time": t, "ez": ez.tolist(), "grad": grad.tolist()}


def _qiskit_circuit(n: int, layers: int, xb: np.ndarray, w: np.ndarray):
    from qiskit import QuantumCircuit

    qc = QuantumCircuit(n)
    for i in range(n):
        qc.ry(float(xb[i]), i)
    for layer in range(layers):
        for i in range(n):
            qc.ry(float(w[layer, i, 0]), i)
        for i in range(n):
            qc.rz(float(w[layer, i, 1]), i)
        for i in range(n):
            qc.cx(i, (i + 1) % n)
    return qc


def work_qiskit(cfg: dict) -> dict:
    from qiskit.quantum_info import Statevector

    n, layers, batch = cfg["n"], cfg["layers"], cfg["batch"]
    x, w, _ = inputs(n, layers, batch)

    def forward():
        out = np.empty((batch, n))
        for b in range(batch):
            p = Statevector(_qiskit_circuit(n, layers, x[b], w)).probabilities()
            # qiskit is little-endian: qubit i is bit i of the index
            idx = np.arange(2**n)
            for i in range(n):
                out[b, i] = p[((idx >> i) & 1) == 0].sum() - p[((idx >> i) & 1) == 1].sum()
        return out

    t, ez = _timed(forward, max(1, cfg["repeats"] // 2))
    return {"time_forward": t, "ez": ez.tolist()}


def _expr_params(cfg: dict):
    from probe.qsim import sim_circuit

    circ = sim_circuit(11, 4, 2)
    rng = np.random.default_rng(1)
    theta = rng.uniform(0, 2 * np.pi, (2 * cfg["pairs"], circ.n_params))
    return circ, theta


def work_expr_probe(cfg: dict) -> dict:
    from probe.qsim.expressibility import expressibility, fidelity_samples

    circ, _ = _expr_params(cfg)

    def run():
        f = fidelity_samples(circ, cfg["pairs"], seed=np.random.default_rng(1), chunk=cfg["pairs"])
        return f, expressibility(f, 4, bootstrap=0).expressibility

    t, (f, kl) = _timed(run, cfg["repeats"])
    return {"time": t, "kl": kl, "f": f.tolist()}


def _fid(states: np.ndarray, pairs: int) -> np.ndarray:
    # fidelity_samples draws 2m parameter sets per chunk: first m vs last m; with one chunk that is [0:p] vs [p:2p]
    return np.abs((states[:pairs].conj() * states[pairs:]).sum(-1)) ** 2


def work_expr_pennylane(cfg: dict) -> dict:
    import pennylane as qml

    from probe.qsim.expressibility import expressibility

    circ, theta = _expr_params(cfg)
    dev = qml.device("default.qubit", wires=4)
    gates = {"RY": qml.RY, "RZ": qml.RZ, "CNOT": qml.CNOT}

    @qml.qnode(dev)
    def state(th):
        for op in circ.ops:
            if op.param is None:
                gates[op.name](wires=list(op.wires))
            else:
                gates[op.name](th[:, op.param], wires=list(op.wires))
        return qml.state()

    def run():
        f = _fid(np.asarray(state(theta)), cfg["pairs"])
        return f, expressibility(f, 4, bootstrap=0).expressibility

    t, (f, kl) = _timed(run, cfg["repeats"])
    return {"time": t, "kl": kl, "f": f.tolist()}


def work_expr_qiskit(cfg: dict) -> dict:
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import Statevector

    from probe.qsim.expressibility import expressibility

    circ, theta = _expr_params(cfg)

    def run():
        states = []
        for th in theta:
            qc = QuantumCircuit(4)
            for op in circ.ops:
                q = [3 - w for w in op.wires]  # probe wire 0 = most significant = qiskit qubit 3
                if op.name == "CNOT":
                    qc.cx(*q)
                else:
                    getattr(qc, op.name.lower())(float(th[op.param]), q[0])
            states.append(Statevector(qc).data)
        f = _fid(np.array(states), cfg["pairs"])
        return f, expressibility(f, 4, bootstrap=0).expressibility

    t, (f, kl) = _timed(run, 1)
    return {"time": t, "kl": kl, "f": f.tolist()}


WORKERS = {"probe": work_probe, "probe-torch": work_probe, "pennylane": work_pennylane, "lightning": work_lightning,
           "qiskit": work_qiskit, "small": work_small,
           "expr-probe": work_expr_probe, "expr-pennylane": work_expr_pennylane, "expr-qiskit": work_expr_qiskit}


def _worker_main(name: str, cfg_json: str, out: str) -> None:
    import resource

    import torch

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", torch.get_num_threads())))
    cfg = json.loads(cfg_json)
    if name == "probe-torch" or cfg.get("tool") == "probe-torch":
        os.environ["PROBE_QSIM_ENGINE"] = "torch"
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    res = WORKERS[name](cfg)
    res["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    res["import_mb"] = base / 1024
    Path(out).write_text(json.dumps(res))


def run_worker(name: str, cfg: dict) -> dict | None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, __file__, "--worker", name, "--cfg", json.dumps(cfg), "--result", str(out)],
                              capture_output=True, text=True)
        print(f"  ran {name} {cfg.get('tool', '')} n={cfg.get('n')} batch={cfg.get('batch')} "
              f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
        if proc.returncode != 0 or not out.exists():
            print(f"  {name}: failed ({proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode})")
            return None
        return json.loads(out.read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=None, help="override the batch size (e.g. to keep PennyLane's memory down)")
    ap.add_argument("--skip", default="", help="comma-separated workers to skip (e.g. pennylane when RAM is short)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--cfg", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        _worker_main(args.worker, args.cfg, args.result)
        return
    size = grid_key = "quick" if args.quick else "full"
    cfg = {**SIZES[size], "repeats": args.repeats}
    if args.batch:
        cfg["batch"] = args.batch
        size += f", batch {args.batch}"
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    import torch

    print(f"# quantum_speed ({size}): {cfg['n']} qubits, {cfg['layers']} ring layers, batch {cfg['batch']}; "
          f"expressibility of Sim circuit 11 (4 qubits, 2 layers), {cfg['pairs']} pairs")
    print(f"# {platform.platform()}, {os.cpu_count()} CPUs, torch {torch.__version__} threads "
          f"{torch.get_num_threads()}, date {time.strftime('%Y-%m-%d %H:%M')}, load average {os.getloadavg()}")
    t_start = time.perf_counter()
    names = ["probe", "probe-torch", "pennylane", "lightning", "qiskit", "expr-probe", "expr-pennylane", "expr-qiskit"]
    res = {name: (None if name in skip else run_worker(name, cfg)) for name in names}
    headline(res, cfg)
    grid(grid_key, cfg, skip)
    small(skip)
    print(f"\n# total bench time {time.perf_counter() - t_start:.0f} s; load average {os.getloadavg()}")


def _diff(q: dict, p: dict, keys: tuple[str, ...]) -> float:
    out = 0.0
    for k in keys:
        a, b = np.array(q[k]), np.array(p["grad_sub" if k == "grad" and "measured_samples" in q else k])
        if k == "ez":
            b = b[: a.shape[0]]
        out = max(out, float(np.abs(a - b).max()))
    return out


def headline(res: dict, cfg: dict) -> None:
    p = res["probe"]
    print(f"\n## VQC {cfg['n']} qubits, {cfg['layers']} layers, batch {cfg['batch']}\n")
    print("| workload | tool | time (s) | peak RSS (MB) | ratio vs probe | max abs diff vs probe |")
    print("|---|---|---|---|---|---|")
    if p:
        print(f"| VQC fwd+grad | probe (blocked numba engine) | {p['time']:.3f} | {p['peak_mb']:.0f} | 1 | – |")
        print(f"| VQC fwd only | probe (blocked numba engine) | {p['time_forward']:.3f} | | 1 | – |")
        rows = (("probe-torch", "probe, torch engine (whole-batch passes)", ("ez", "grad")),
                ("pennylane", "PennyLane default.qubit (torch, backprop, broadcast)", ("ez", "grad")),
                ("lightning", "PennyLane lightning.qubit (adjoint, loop)", ("ez", "grad")))
        for name, label, keys in rows:
            q = res[name]
            if q:
                note = f" (extrapolated from {q['measured_samples']} samples)" if "measured_samples" in q else ""
                print(f"| VQC fwd+grad | {label}{note} | {q['time']:.3f} | {q['peak_mb']:.0f} "
                      f"| {q['time'] / p['time']:.1f}x | {_diff(q, p, keys):.1e} |")
        q = res["qiskit"]
        if q:
            print(f"| VQC fwd only | qiskit Statevector (loop) | {q['time_forward']:.3f} | {q['peak_mb']:.0f} "
                  f"| {q['time_forward'] / p['time_forward']:.1f}x | {_diff(q, p, ('ez',)):.1e} |")
    e = res["expr-probe"]
    if e:
        print(f"| expressibility | probe | {e['time']:.3f} | {e['peak_mb']:.0f} | 1 | KL {e['kl']:.5f} |")
        for name, label in (("expr-pennylane", "PennyLane default.qubit (broadcast)"),
                            ("expr-qiskit", "qiskit Statevector (loop)")):
            q = res[name]
            if q:
                d = np.abs(np.array(q["f"]) - np.array(e["f"])).max()
                print(f"| expressibility | {label} | {q['time']:.3f} | {q['peak_mb']:.0f} | "
                      f"{q['time'] / e['time']:.1f}x | F {d:.1e}; KL {abs(q['kl'] - e['kl']):.1e} |")


def grid(size: str, cfg: dict, skip: set[str]) -> None:
    """How the cost grows: probe at every (qubits, batch), PennyLane where its memory allows."""
    print(f"\n## VQC fwd+grad, {cfg['layers']} layers: time (s) and peak RSS (MB)\n")
    print("| qubits | batch | probe | probe MB | PennyLane default.qubit | PennyLane MB | ratio |")
    print("|---|---|---|---|---|---|---|")
    for n, batch in GRID[size]:
        c = {**cfg, "n": n, "batch": batch, "repeats": 1 if batch * 2**n > 2**20 else cfg["repeats"]}
        p = run_worker("probe", c) if "probe" not in skip else None
        est = PENNYLANE_GB * batch * 2**n
        q = run_worker("pennylane", c) if est <= PENNYLANE_LIMIT_GB and "pennylane" not in skip else None
        pl = f"{q['time']:.3f}" if q else f"skipped (needs ~{est:.0f} GB)"
        ratio = f"{q['time'] / p['time']:.1f}x" if q and p else "–"
        print(f"| {n} | {batch} | {p['time']:.3f} | {p['peak_mb']:.0f} | {pl} | {q['peak_mb'] if q else float('nan'):.0f} | {ratio} |" if p else f"| {n} | {batch} | failed |")


def small(skip: set[str]) -> None:
    print(f"\n## training-loop call: {SMALL['n']} qubits, {SMALL['layers']} layers, one input, fwd+grad\n")
    print("| tool | ms per call |")
    print("|---|---|")
    for tool, label in (("probe", "probe (blocked numba engine)"), ("probe-torch", "probe, torch engine"),
                        ("pennylane", "PennyLane default.qubit (backprop)")):
        if tool in skip:
            continue
        r = run_worker("small", {"tool": tool})
        print(f"| {label} | {r['ms_per_call']:.2f} |" if r else f"| {label} | failed |")


if __name__ == "__main__":
    main()
