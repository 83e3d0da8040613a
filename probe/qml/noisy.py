"""Noisy linear layers with factorised Gaussian noise (Fortunato et al. 2017), the exploration of Rainbow.

A :class:`NoisyLinear` layer computes

    y = (μ^w + σ^w ⊙ ε^w) x + μ^b + σ^b ⊙ ε^b,

with factorised noise ε^w_{ji} = f(ε_j) f(ε_i), ε^b_j = f(ε_j), f(x) = sgn(x)·√|x|, and
ε_i, ε_j independent standard normals (p input and q output draws per sample instead
of p·q). Initialisation as in the paper's factorised case: μ ~ U[−1/√p, 1/√p],
σ = σ₀/√p with σ₀ = 0.5.

Conventions chosen here (the paper leaves them to the implementation):

- The noise is held fixed between calls to :meth:`NoisyLinear.reset_noise`; the
  training loop resamples it once per environment step for acting and once per
  gradient update for the online network (and independently for the target network),
  as in Hessel et al.'s Rainbow.
- ``module.eval()`` switches the noise off (y = μ^w x + μ^b): greedy evaluation uses
  the mean network.
- Noise is drawn from a private ``torch.Generator`` so that runs are reproducible.

Moments, used by the tests: for a fixed input x, E[y_j] = Σ_i μ_ji x_i + μ_j and
Var[y_j] = (2/π) Σ_i σ_ji² x_i² + √(2/π) σ_j², since E f(ε)² = E|ε| = √(2/π) and the
cross terms vanish (E f(ε) = 0).

References
----------
Fortunato, Azar, Piot, Menick, Osband, Graves, Mnih, Munos, Hassabis, Pietquin,
Blundell & Legg (2017), *Noisy Networks for Exploration*, arXiv:1706.10295 (ICLR 2018).
Hessel et al. (2018), *Rainbow*, arXiv:1710.02298.
"""

from __future__ import annotations

import math

import torch


def scaled_noise(n: int, gen: torch.Generator, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """f(ε) = sgn(ε)·√|ε| for n standard normal draws ε."""
    eps = torch.randn(n, generator=gen, dtype=dtype)
    return eps.sign() * eps.abs().sqrt()


class NoisyLinear(torch.nn.Module):
    """Linear layer with learnable factorised Gaussian weight noise (see module notes).

    Parameters
    ----------
    n_in, n_out : int
        Input (p) and output (q) widths.
    gen : torch.Generator
        Draws the initial μ and every noise sample.
    sigma0 : float
        σ₀; the initial σ is σ₀/√p (default 0.5, Fortunato et al.).

    Notes
    -----
    Parameters: ``weight_mu``, ``weight_sigma`` (q, p), ``bias_mu``, ``bias_sigma`` (q,):
    2(p·q + q) in all, twice a plain linear layer.
    """

    def __init__(self, n_in: int, n_out: int, gen: torch.Generator, *, sigma0: float = 0.5) -> None:
        super().__init__()
        self.n_in, self.n_out, self.gen = n_in, n_out, gen
        bound = 1 / math.sqrt(n_in)
        f64 = torch.float64
        self.weight_mu = torch.nn.Parameter(torch.empty(n_out, n_in, dtype=f64).uniform_(-bound, bound, generator=gen))
        self.bias_mu = torch.nn.Parameter(torch.empty(n_out, dtype=f64).uniform_(-bound, bound, generator=gen))
        self.weight_sigma = torch.nn.Parameter(torch.full((n_out, n_in), sigma0 * bound, dtype=f64))
        self.bias_sigma = torch.nn.Parameter(torch.full((n_out,), sigma0 * bound, dtype=f64))
        self.register_buffer("eps_in", torch.zeros(n_in, dtype=f64))
        self.register_buffer("eps_out", torch.zeros(n_out, dtype=f64))
        self.reset_noise()

    def reset_noise(self) -> None:
        """Draw new f(ε_in), f(ε_out); they stay fixed until the next call."""
        self.eps_in.copy_(scaled_noise(self.n_in, self.gen))
        self.eps_out.copy_(scaled_noise(self.n_out, self.gen))

    def noisy_weight(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The weight and bias in use: μ + σ ⊙ ε in training mode, μ in eval mode."""
        if not self.training:
            return self.weight_mu, self.bias_mu
        return (self.weight_mu + self.weight_sigma * torch.outer(self.eps_out, self.eps_in),
                self.bias_mu + self.bias_sigma * self.eps_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w, b = self.noisy_weight()
        return torch.nn.functional.linear(x, w, b)

    def extra_repr(self) -> str:
        return f"n_in={self.n_in}, n_out={self.n_out}, factorised Gaussian noise"


def reset_noise(module: torch.nn.Module) -> None:
    """Resample the noise of every :class:`NoisyLinear` inside ``module`` (no-op without any)."""
    for m in module.modules():
        if isinstance(m, NoisyLinear):
            m.reset_noise()


def set_noise_generator(module: torch.nn.Module, gen: torch.Generator) -> None:
    """Give every :class:`NoisyLinear` inside ``module`` the generator ``gen`` (e.g. a target network's own)."""
    for m in module.modules():
        if isinstance(m, NoisyLinear):
            m.gen = gen
