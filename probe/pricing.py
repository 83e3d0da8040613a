"""Cost estimates from the price table ``probe/prices.toml`` (one file the user can update).

Batch jobs (``--batch``, :mod:`probe.batch`) are priced at :data:`BATCH_DISCOUNT` of the synchronous
price: both OpenAI's Batch API and Gemini's batch mode are documented at 50 % of the standard
per-token price, input and output alike (checked 2026-12-03 against OpenAI's Batch API FAQ and
Gemini's "Batch API" page).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from probe.errors import ConfigError

DEFAULT_PRICES = Path(__file__).with_name("prices.toml")


@dataclass(frozen=True, slots=True)
class Price:
    """US dollars per million input and output tokens."""

    input: float
    output: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input + output_tokens * self.output) / 1e6


BATCH_DISCOUNT = 0.5
"""Share of the synchronous price a batch job is billed (OpenAI Batch API, Gemini batch mode: 50 %)."""


def batch_price(price: Price) -> Price:
    """The price of the same tokens sent through a batch job."""
    return Price(price.input * BATCH_DISCOUNT, price.output * BATCH_DISCOUNT)


def load_prices(path: str | Path | None = None) -> dict[str, Price]:
    """Read a price table; raise :class:`ConfigError` naming the bad entry."""
    p = Path(path) if path else DEFAULT_PRICES
    try:
        data = tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{p}: price table not found", hint="pass an existing file to --prices") from None
    except IsADirectoryError:
        raise ConfigError(f"{p}: is a folder, not a price table", hint="pass a .toml file to --prices") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read the price table ({exc})", hint="pass a readable .toml file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: invalid TOML ({exc})") from None
    out: dict[str, Price] = {}
    for name, entry in (data.get("models") or {}).items():
        try:
            out[name] = Price(float(entry["input"]), float(entry["output"]))
        except (KeyError, TypeError, ValueError):
            raise ConfigError(f"{p}: models.{name}: needs numeric 'input' and 'output' ($ per 1M tokens)") from None
    return out


def price_for(model: str, prices: dict[str, Price]) -> Price | None:
    """The entry whose key is the longest prefix of ``model`` (``None``: unknown, e.g. local models)."""
    best = None
    for key in prices:
        if model.startswith(key) and (best is None or len(key) > len(best)):
            best = key
    return prices[best] if best else None
