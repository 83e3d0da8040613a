"""VQR-DQN (Nguyen, Nguyen & Cao 2025, arXiv:2512.05946) at small scale: ring-VQC DQN vs a parameter-matched MLP.

    python analyses/nguyen2025-vqr-dqn/run.py                 # CartPole-v1, 300 episodes, seed 0 (tens of minutes)
    python analyses/nguyen2025-vqr-dqn/run.py --episodes 100   # shorter
    python analyses/nguyen2025-vqr-dqn/run.py --seeds 10       # for a paired test across seeds (hours here)

Writes results.md and learning.png next to this file (the same as `probe quantum rl`, whose
library functions it calls). The paper's own task (human resource allocation, four HRAP
benchmarks, full Rainbow) is not reproduced: no public data here, see README.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=300)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--env", default="CartPole-v1")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp()) / "run"
    cmd = [sys.executable, "-m", "probe", "quantum", "rl", "--env", args.env, "--episodes", str(args.episodes),
           "--seeds", str(args.seeds), "--agent", "vqc-ring-dqn,mlp-dqn", "--out", str(out)]
    print(" ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    shutil.copy(out / "report.md", HERE / "results.md")
    shutil.copy(out / "learning.png", HERE / "learning.png")
    summary = json.loads((out / "result.json").read_text())["result"]["summary"]
    (HERE / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print((HERE / "results.md").read_text())


if __name__ == "__main__":
    main()
