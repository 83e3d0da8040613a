"""Speed of CbD and the contextual fraction over many random systems, against the `contextuality` package.

Default (issue 16): 10^6 random rank-4 (CHSH) systems and 10^5 random rank-6 cyclic systems. Half
have every context an independent Dirichlet(1) distribution over its four cells (they signal and
are almost never CbD-contextual); half are a PR-type box of the rank (n - 1 correlated contexts,
one anticorrelated) mixed with such noise at a uniform weight (many are contextual).

- CbD (s_odd, Delta, CNT1) in closed form, vectorised over all systems (probe.analysis.bell.cyclic);
  checked against the CbD coupling LP (CNT2 = CNT1 / 4, probe.analysis.bell.lp) on a subsample.
  The `contextuality` package has no CbD measure, so there is no peer for this row.
- CF vectorised: the minimum of e.v over the vertices of the dual LP polytope, one matrix product
  (probe.analysis.bell.fraction_vertices; vertices by pycddlib), over all systems;
- CF batched LP: block-diagonal HiGHS LPs of 200 systems (probe.analysis.bell.lp), on a subsample;
- peer: `contextuality` (PyPI, Vallée & Sohbi) EmpiricalModel.compute_cf with cvxpy + HiGHS, one
  system per call, on a subsample (it takes ~40 ms per system); agreement is max |Delta CF| there.

Time per system and the ratio peer / ours are printed.

    python bench/contextuality_speed.py            # 10^6 rank-4 and 10^5 rank-6 systems
    python bench/contextuality_speed.py --quick    # 10^5 and 10^4
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

import numpy as np

from probe.analysis.bell import cyclic, lp
from probe.analysis.bell.fraction_vertices import contextual_fraction_vectorised, dual_vertices
from probe.analysis.bell.system import chsh_system, cyclic_system


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def bench(system, n_systems: int, n_peer: int, n_lp: int, rng: np.random.Generator) -> dict:
    rank = system.n_contexts
    p = rng.dirichlet(np.ones(4), size=(n_systems, rank))
    pr = np.array([[0.5, 0, 0, 0.5]] * (rank - 1) + [[0, 0.5, 0.5, 0]])
    half = n_systems // 2
    w = rng.uniform(size=(half, 1, 1))
    p[:half] = w * pr + (1 - w) * p[:half]
    flat = p.reshape(n_systems, -1)
    t_cbd, c1 = _timed(lambda: cyclic.cnt1(p, system))
    sub = rng.permutation(n_systems)[:min(n_lp, n_systems)]
    t_cnt2, cnt2 = _timed(lambda: np.array([lp.cnt2(lp.coupling_problem(p[i], system)) for i in sub[:50]]))
    cbd_agree = float(np.max(np.abs(cnt2 - np.clip(c1[sub[:50]], 0, None) / 4)))
    t_vert, verts = _timed(lambda: dual_vertices(system))
    t_vec, cf = _timed(lambda: contextual_fraction_vectorised(flat, verts))
    t_batch, cf_batch = _timed(lambda: lp.contextual_fraction_batch(flat[sub], system, chunk=200))
    batch_agree = float(np.max(np.abs(cf_batch - cf[sub])))
    peer = {}
    try:
        from contextuality import EmpiricalModel, MeasurementScenario

        scenario = MeasurementScenario(list(range(len(system.contents))), [list(c) for c in system.contexts], [0, 1])
        idx = sub[:n_peer]

        def run_peer():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return np.array([EmpiricalModel(scenario, flat[i]).compute_cf(solver="HIGHS")["CF"] for i in idx])

        t_peer, cf_peer = _timed(run_peer)
        peer = {"per_system_s": t_peer / len(idx), "n": len(idx), "max_abs_diff": float(np.max(np.abs(cf_peer - cf[idx])))}
    except ImportError:
        peer = {"per_system_s": None, "n": 0, "max_abs_diff": None}
    return {"rank": rank, "n_systems": n_systems, "cbd_per_system_s": t_cbd / n_systems,
            "cnt2_lp_per_system_s": t_cnt2 / 50, "cbd_vs_lp_max_abs_diff": cbd_agree, "contextual": float(np.mean(c1 > 0)),
            "vertices": len(verts), "vertices_s": t_vert, "cf_vectorised_per_system_s": t_vec / n_systems,
            "cf_batched_lp_per_system_s": t_batch / len(sub), "batched_vs_vectorised_max_abs_diff": batch_agree,
            "cf_mean": float(cf.mean()), "peer": peer}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10^5 rank-4 and 10^4 rank-6 systems")
    ap.add_argument("--peer", type=int, default=300, help="systems given to the contextuality package (per rank)")
    ap.add_argument("--lp", type=int, default=2000, help="systems given to the batched LP (per rank)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    n4, n6 = (10**5, 10**4) if args.quick else (10**6, 10**5)
    rng = np.random.default_rng(args.seed)
    print(f"# contextuality_speed  {platform.processor() or platform.machine()}  nproc={os.cpu_count()}  "
          f"load={os.getloadavg()[0]:.1f}  python {platform.python_version()}")
    for system, n in ((chsh_system(), n4), (cyclic_system(6), n6)):
        r = bench(system, n, args.peer, args.lp, rng)
        peer = r["peer"]
        print(f"\nrank {r['rank']}: {r['n_systems']:,} random systems ({100 * r['contextual']:.2f}% CbD-contextual)")
        print(f"  CbD closed form (s_odd, Delta, CNT1), vectorised: {1e9 * r['cbd_per_system_s']:.1f} ns/system; "
              f"CbD LP (CNT2): {1e3 * r['cnt2_lp_per_system_s']:.2f} ms/system; max |CNT2 - CNT1/4| = "
              f"{r['cbd_vs_lp_max_abs_diff']:.1e}")
        print(f"  CF vectorised (min over {r['vertices']} dual vertices, found in {r['vertices_s']:.2f} s): "
              f"{1e6 * r['cf_vectorised_per_system_s']:.2f} us/system")
        print(f"  CF batched HiGHS LP (200 per LP): {1e6 * r['cf_batched_lp_per_system_s']:.0f} us/system; "
              f"max |diff| vs vectorised {r['batched_vs_vectorised_max_abs_diff']:.1e}")
        if peer["per_system_s"]:
            print(f"  contextuality package (cvxpy + HiGHS, {peer['n']} systems): {1e3 * peer['per_system_s']:.1f} "
                  f"ms/system; max |diff| {peer['max_abs_diff']:.1e}")
            print(f"  ratio peer / ours: vectorised {peer['per_system_s'] / r['cf_vectorised_per_system_s']:,.0f}x, "
                  f"batched LP {peer['per_system_s'] / r['cf_batched_lp_per_system_s']:.0f}x")
        else:
            print("  contextuality package not installed: no peer timing")


if __name__ == "__main__":
    main()
