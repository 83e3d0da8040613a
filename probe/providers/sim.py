"""Simulated respondents for calibration, power analysis and tests.

Each respondent answers forced-choice Bell questions from the option ``tags``
(``x``/``y``: the measurements, e.g. ``"A"``/``"B'"``; ``a``/``b``: the outcome
pair, +1/-1) and never reads the prompt text. Answers are a deterministic
function of the request (its cassette key seeds the generator), so a simulated
study replays exactly.

=============  =====================================================================
name           model
=============  =====================================================================
``quantum``    Projective spin measurements at angles theta in the x-z plane on the
               Werner state  rho = v |Phi+><Phi+| + (1 - v) I/4  (or the singlet).
               Default angles A=0, A'=90, B=135, B'=45 degrees reach
               S = 2*sqrt(2)*v in the Brussels convention.
``classical``  Local hidden variables: with probability v one of the 8 deterministic
               strategies with S = +2, else uniform noise; S = 2v <= 2.
``prbox``      The Popescu-Rohrlich box (S = 4, unbiased marginals).
``signalling`` One fixed answer per context (Horse Whinnies, Horse Snorts, Tiger Growls,
               Cat Meows in Animal-Acts terms): S = 4 with inconsistent marginals.
``uniform``    Every option equally likely (S = 0).
``local``      Any design (any measurement names): one global assignment, each measurement's
               value fixed by a hash of its name and ``seed``, answered with probability v and
               uniform noise otherwise. Consistent marginals, noncontextual: a null respondent
               of the audit for designs of any rank.
``marginal``   Any design: direct influences only. Each of the two answers is independently +1
               with a probability that depends on the whole context (0.5 +- 0.4 v, sign from a
               hash of the context and ``seed``): inconsistent marginals, never CbD-contextual.
=============  =====================================================================

Options (spec query): ``visibility`` (v, default 1), ``seed`` (``local``/``marginal``, default 0),
``state`` (``phi+``|``singlet``),
``theta_A``, ``theta_Ap``, ``theta_B``, ``theta_Bp`` (degrees), ``invalid`` (probability
of an unparseable answer, default 0), ``minus_on`` (context carrying the CHSH minus
sign for ``classical``/``prbox``, default ``AB``).
"""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

import numpy as np

from probe.errors import ConfigError
from probe.providers.base import BaseProvider, Request, Response, Scores, choice_required

_KINDS = ("quantum", "classical", "prbox", "signalling", "uniform", "local", "marginal")
_RANK4_KINDS = ("quantum", "classical", "prbox", "signalling")
_DEFAULT_ANGLES = {"A": 0.0, "A'": 90.0, "B": 135.0, "B'": 45.0}
_INVALID_TEXT = "I would rather not choose between these sentences."


def _float_opt(options: dict[str, str], key: str, default: float, lo: float, hi: float) -> float:
    raw = options.get(key)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"--model sim:...?{key}={raw}: not a number", hint=f"e.g. {key}={default}") from None
    if not lo <= value <= hi:
        raise ConfigError(f"--model sim:...?{key}={raw}: must be in [{lo}, {hi}]")
    return value


def projector(theta: float, outcome: int) -> np.ndarray:
    """Pi^{+-}(theta) = (I +- (cos theta sigma_z + sin theta sigma_x)) / 2 (theta in radians)."""
    obs = np.array([[np.cos(theta), np.sin(theta)], [np.sin(theta), -np.cos(theta)]])
    return (np.eye(2) + outcome * obs) / 2


def werner_state(visibility: float, state: str = "phi+") -> np.ndarray:
    """rho = v |psi><psi| + (1 - v) I/4 for psi = Phi+ or the singlet Psi-."""
    psi = np.array([1, 0, 0, 1]) / np.sqrt(2) if state == "phi+" else np.array([0, 1, -1, 0]) / np.sqrt(2)
    return visibility * np.outer(psi, psi) + (1 - visibility) * np.eye(4) / 4


def _brussels_strategies(minus_on: str) -> list[dict[str, int]]:
    """The 8 deterministic local strategies whose signed CHSH sum is +2."""
    out = []
    for a, ap, b, bp in itertools.product((1, -1), repeat=4):
        vals = {"A": a, "A'": ap, "B": b, "B'": bp}
        total = sum((-1 if x + y == minus_on else 1) * vals[x] * vals[y] for x in ("A", "A'") for y in ("B", "B'"))
        if total == 2:
            out.append(vals)
    return out


class SimProvider(BaseProvider):
    """A simulated Bell respondent (see module docstring)."""

    name = "sim"

    def __init__(self, model: str, *, options: dict[str, str] | None = None, **_: Any) -> None:
        super().__init__(model)
        if model not in _KINDS:
            raise ConfigError(f"--model sim:{model}: unknown simulated respondent",
                              hint=f"use one of {', '.join('sim:' + k for k in _KINDS)}")
        options = options or {}
        known = {"visibility", "state", "theta_A", "theta_Ap", "theta_B", "theta_Bp", "invalid", "minus_on", "seed"}
        unknown = set(options) - known
        if unknown:
            raise ConfigError(f"--model sim:{model}: unknown option(s) {', '.join(sorted(unknown))}",
                              hint=f"known: {', '.join(sorted(known))}")
        self.visibility = _float_opt(options, "visibility", 1.0, 0.0, 1.0)
        self.invalid = _float_opt(options, "invalid", 0.0, 0.0, 1.0)
        self.state = options.get("state", "phi+")
        if self.state not in ("phi+", "singlet"):
            raise ConfigError(f"--model sim:{model}?state={self.state}: use phi+ or singlet")
        self.minus_on = options.get("minus_on", "AB")
        self.angles = {
            "A": _float_opt(options, "theta_A", _DEFAULT_ANGLES["A"], -360, 360),
            "A'": _float_opt(options, "theta_Ap", _DEFAULT_ANGLES["A'"], -360, 360),
            "B": _float_opt(options, "theta_B", _DEFAULT_ANGLES["B"], -360, 360),
            "B'": _float_opt(options, "theta_Bp", _DEFAULT_ANGLES["B'"], -360, 360),
        }
        self.seed = int(_float_opt(options, "seed", 0, 0, 2**31 - 1))
        self._rho = werner_state(self.visibility, self.state)
        self._strategies = _brussels_strategies(self.minus_on)

    # -- the respondent's answer distribution -------------------------------------------------
    def _hash_sign(self, *parts: str) -> int:
        digest = hashlib.sha256(repr((self.seed, *parts)).encode()).digest()
        return 1 if digest[0] % 2 == 0 else -1

    def joint(self, x: str, y: str, a: int, b: int) -> float:
        """P(a, b | x, y) for this respondent, marginalised over its hidden variables."""
        if self.model == "local":
            hit = float(self._hash_sign(x) == a and self._hash_sign(y) == b)
            return float(self.visibility * hit + (1 - self.visibility) / 4)
        if self.model == "marginal":
            pa = 0.5 + 0.4 * self.visibility * self._hash_sign("first", x, y)
            pb = 0.5 + 0.4 * self.visibility * self._hash_sign("second", x, y)
            return (pa if a == 1 else 1 - pa) * (pb if b == 1 else 1 - pb)
        if self.model in _RANK4_KINDS and not {x, y} <= set(_DEFAULT_ANGLES):
            raise ConfigError(f"sim:{self.model} answers the rank-4 design (A, A', B, B'); this design measures "
                              f"{x} and {y}", hint="use sim:local, sim:marginal or sim:uniform for designs of other ranks")
        if self.model == "quantum":
            op = np.kron(projector(np.radians(self.angles[x]), a), projector(np.radians(self.angles[y]), b))
            return float(np.real(np.trace(self._rho @ op)))
        if self.model == "classical":
            det = np.mean([float(s[x] == a and s[y] == b) for s in self._strategies])
            return float(self.visibility * det + (1 - self.visibility) / 4)
        if self.model == "prbox":
            anti = x + y == self.minus_on
            return 0.5 if (a * b == -1) == anti else 0.0
        if self.model == "signalling":
            fixed = {"AB": (1, -1), "AB'": (1, 1), "A'B": (1, 1), "A'B'": (-1, -1)}[x + y]
            return 1.0 if (a, b) == fixed else 0.0
        return 0.25

    def _probs(self, request: Request) -> np.ndarray:
        choice = choice_required(request, self.spec)
        try:
            p = np.array([self.joint(o.tags["x"], o.tags["y"], int(o.tags["a"]), int(o.tags["b"]))
                          for o in choice.options])
        except KeyError as exc:
            raise ConfigError(f"sim:{self.model}: option tags lack {exc}; simulated respondents answer Bell designs "
                              "only") from None
        p = np.clip(p, 0.0, None)
        return p / p.sum()

    # -- Provider ------------------------------------------------------------------------------
    async def generate(self, request: Request) -> Response:
        choice = choice_required(request, self.spec)
        p = self._probs(request)
        rng = np.random.default_rng(int(request.key(self.name), 16))
        texts = []
        for _ in range(request.config.n or 1):
            if rng.random() < self.invalid:
                texts.append(_INVALID_TEXT)
            else:
                texts.append(choice.options[int(rng.choice(len(p), p=p))].label)
        return Response(texts=tuple(texts), finish_reasons=("stop",) * len(texts),
                        model_version=f"sim:{self.model}")

    async def score(self, request: Request) -> Scores:
        p = self._probs(request)
        return Scores(probs=tuple(float(x) for x in p), coverage=1.0 - self.invalid,
                      model_version=f"sim:{self.model}")
