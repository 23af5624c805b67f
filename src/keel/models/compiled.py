"""Compiled tree inference: a LightGBM model compiled to native code by lleaves, opt-in.

The stored format does not change: the model stays LightGBM's own text (no pickle, no native code
in the shared store). With the ``compiled`` extra installed, the text is compiled at load into a
shared object kept in a *local* cache (``KEEL_COMPILED_CACHE``, else the user's cache folder),
under a key of the model's sha256, the compiler's versions and the host CPU, so a cached object is
only reused by the same model on the same compiler and processor. Nothing is ever read from the
shared store but the text.

Why lleaves and not ONNX Runtime: measured on this machine (300 trees x 63 features), lleaves
answers one row in about a third of LightGBM's time and scores batches about 3x faster, with
float64 thresholds, so its scores equal LightGBM's to the last bits; ONNX Runtime's tree ensemble
was about as fast on one row but slower than LightGBM on batches, and compares in float32, so
a row whose feature value lies between a threshold and its float32 rounding can go down the
other branch and change a decision.

Only a model that passed ``check_equivalence`` on the frozen benchmark rows is served compiled:
scores within ``TOLERANCE`` of the native model's and every decision identical.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from keel.errors import InvalidInput
from keel.models.bundle import ModelBundle
from keel.models.equivalence import COMPILER, TOLERANCE, Equivalence, check_equivalence
from keel.models.estimator import F64, ModelKind, Task, check_matrix

if TYPE_CHECKING:  # LightGBM itself is imported when a model is compiled, not by the registry
    from keel.models.boosting import LightGBMEstimator

CACHE_ENV = "KEEL_COMPILED_CACHE"

__all__ = ["COMPILER", "TOLERANCE", "Equivalence", "check_equivalence"]


def available() -> bool:
    """Whether the ``compiled`` extra (lleaves) is installed."""
    try:
        import lleaves  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


def compiler_version() -> str:
    """lleaves and llvmlite versions: a cached object is reused only by the same pair."""
    import lleaves  # noqa: PLC0415
    import llvmlite  # noqa: PLC0415

    return f"lleaves-{_version(lleaves)}-llvmlite-{llvmlite.__version__}"


def _version(module: Any) -> str:
    from importlib.metadata import version  # noqa: PLC0415

    try:
        return version(module.__name__)
    except Exception:
        return str(getattr(module, "__version__", "unknown"))


def cpu_key() -> str:
    """The host CPU name and its features, as LLVM sees them (what the code is compiled for)."""
    import llvmlite.binding as llvm  # noqa: PLC0415

    features = llvm.get_host_cpu_features().flatten()
    digest = hashlib.sha256(features.encode()).hexdigest()[:12]
    return f"{llvm.get_host_cpu_name()}-{digest}"


def default_cache_dir() -> Path:
    """The local folder for compiled objects (never the shared store)."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "keel" / "compiled"


class CompiledLightGBM:
    """A LightGBM model whose predictions run as compiled native code.

    Contributions, importance and the stored text come from the native model it was compiled
    from, so explanations and the stored bytes are the same as the native path's.
    """

    kind: ModelKind = "lightgbm"

    def __init__(self, native: LightGBMEstimator, compiled: Any, sha256: str = "") -> None:
        self.native = native
        self.sha256 = sha256
        self.task: Task = native.task
        self._compiled = compiled
        self._threads = int(native.get_params()["num_threads"])
        from keel.models.boosting import SMALL_BATCH  # noqa: PLC0415 - see the imports

        self._small_batch = SMALL_BATCH

    def fit(
        self,
        x: F64,
        y: F64,
        *,
        names: Sequence[str],
        categorical: Sequence[int] = (),
        weights: F64 | None = None,
    ) -> Self:
        raise InvalidInput("a compiled model is for inference only", path="model")

    def predict(self, x: F64) -> F64:
        check_matrix(x)
        jobs = 1 if x.shape[0] < self._small_batch else self._threads
        values = np.ascontiguousarray(x, dtype=np.float64)
        return np.asarray(self._compiled.predict(values, n_jobs=jobs), dtype=np.float64)

    def contributions(self, x: F64) -> F64:
        return self.native.contributions(x)

    def importance(self) -> F64:
        return self.native.importance()

    def get_params(self) -> dict[str, Any]:
        return self.native.get_params()

    def to_bytes(self) -> bytes:
        return self.native.to_bytes()

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as the native model, compiled again (or taken from the local cache) where
        it is unpickled: native code does not travel between processes or machines."""
        return (compile_lightgbm, (self.native, self.sha256))


def compile_lightgbm(
    native: LightGBMEstimator, sha256: str, *, cache_dir: Path | None = None
) -> CompiledLightGBM:
    """Compile ``native`` (whose stored text has ``sha256``), or reuse the local cached object."""
    import lleaves  # noqa: PLC0415

    folder = cache_dir or default_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    key = f"{sha256}-{compiler_version()}-{cpu_key()}"
    target = folder / f"{hashlib.sha256(key.encode()).hexdigest()}.o"
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        text = Path(scratch) / "model.txt"
        text.write_bytes(native.to_bytes())
        model = lleaves.Model(model_file=str(text))
        if target.exists():
            model.compile(cache=str(target))
        else:
            built = Path(scratch) / "model.o"
            model.compile(cache=str(built))
            built.replace(target)  # atomic: a reader sees a whole object or none
    return CompiledLightGBM(native, model, sha256)


def compiled_bundle(
    bundle: ModelBundle, sha256: str, *, cache_dir: Path | None = None
) -> ModelBundle | None:
    """The bundle with its LightGBM model compiled; None when it cannot be (not LightGBM, or
    the extra is not installed)."""
    from keel.models.boosting import LightGBMEstimator  # noqa: PLC0415 - see the imports

    if not available() or not isinstance(bundle.estimator, LightGBMEstimator):
        return None
    return replace(
        bundle, estimator=compile_lightgbm(bundle.estimator, sha256, cache_dir=cache_dir)
    )
