"""This project's own CPU kernels, for the lean step (decoder.py): int4 weights times bf16
activations with AVX-512 VNNI (int4_kernel.cpp, `NativeInt4Linear`), and attention over the cache
(attention_kernel.cpp: a step's and guessed tokens' in `FastDecoder._compiled_layer`, a prompt's
as `FastDecoder.read` reads it), and oneDNN's bf16 product as an operator the compiled layers call
without Python (dense_product.cpp).

PyTorch's int4 kernel widens each weight to floating point before multiplying: on this project's
2-core CPU (AVX-512 VNNI, no AMX) it read 8-16 GB/s of weights, where the memory gives 27. This
kernel sums the products in integers, as llama.cpp does for the same Q4_1 weights, with each
group of 32 activations as two int8 parts (the second what the first leaves out: llama.cpp's one
part moved the bundled model's logits by up to 0.28 from the fp32 model's). The bundled model's
products took less time one by one (weights in cache), and all of a token's products less too,
though noisily, with weights from memory (docs/speed-log.md, "An int4 kernel of our own";
benchmarks/generation_speed.py times the lean step with these kernels and without).

The kernels are compiled together, as one translation unit, with g++ (or $CXX) against torch's
headers, the first time a machine needs them, about 17 s, into a folder of built kernels
($CHATBOT_NATIVE_DIR, else ~/.cache/chatbot-native), named by the sources' and torch's versions;
later loads take them from there. Where the CPU lacks AVX-512 VNNI, or no compiler builds them,
`kernels` says why and the lean step multiplies with PyTorch's kernel and attends with PyTorch's
operations.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import torch

SOURCES = [Path(__file__).with_name(name)
           for name in ("int4_kernel.cpp", "attention_kernel.cpp", "dense_product.cpp")]
CPU_FLAGS = ("avx512f", "avx512bw", "avx512_vnni", "f16c", "fma")
COMPILE_FLAGS = ["-O3", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512vnni", "-mf16c", "-mfma", "-fopenmp",
                 "-shared", "-fPIC", "-std=c++20", "-w"]
_state: dict[str, str] = {}  # "reason": why the kernels are not there ("" when loaded), once looked for


def kernels() -> str:
    """Load the kernels, building them first where this machine has not yet: "" when they are
    ready (torch.ops.chatbot_native.int4_pack, int4_linear, attend and dense_product), else why not."""
    if "reason" not in _state:
        _state["reason"] = _load()
    return _state["reason"]


def _load() -> str:
    # The CPU's flags are read before building: the kernels' instructions must not run without them.
    missing = [flag for flag in CPU_FLAGS if flag not in _cpu_flags()]
    if missing:
        return f"the CPU lacks {', '.join(missing)}"
    try:
        library = _built()
        torch.ops.load_library(str(library))
    except (OSError, RuntimeError, subprocess.SubprocessError) as error:
        return f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"

    @torch.library.register_fake("chatbot_native::int4_linear")
    def _(x: torch.Tensor, packed: torch.Tensor) -> torch.Tensor:
        return x.new_empty((x.shape[0], packed.shape[0] * 16))

    @torch.library.register_fake("chatbot_native::attend")
    def _(queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, padding: torch.Tensor,
          causal: bool = False) -> torch.Tensor:
        return queries.new_empty((queries.shape[0], queries.shape[1] * queries.shape[2]))

    @torch.library.register_fake("chatbot_native::dense_product")
    def _(x: torch.Tensor, packed: torch.Tensor) -> torch.Tensor:
        return x.new_empty((x.shape[0], packed.shape[0]))

    return ""


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    line = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return set(line.partition(":")[2].split())


def _built() -> Path:
    """The kernels' shared library, compiled first if these sources and torch have none yet."""
    from torch.utils import cpp_extension

    sources = b"".join(source.read_bytes() for source in SOURCES)
    tag = hashlib.sha256(sources + torch.__version__.encode() + " ".join(COMPILE_FLAGS).encode()).hexdigest()[:16]
    folder = Path(os.environ.get("CHATBOT_NATIVE_DIR") or Path.home() / ".cache" / "chatbot-native")
    library = folder / f"kernels-{tag}.so"
    if library.exists():
        return library
    compiler = os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")
    if not compiler:
        raise OSError("no C++ compiler (g++) to build the kernels")
    folder.mkdir(parents=True, exist_ok=True)
    includes = [flag for path in cpp_extension.include_paths() for flag in ("-I", path)]
    abi = f"-D_GLIBCXX_USE_CXX11_ABI={int(torch._C._GLIBCXX_USE_CXX11_ABI)}"
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        built = Path(scratch) / library.name
        # One translation unit: each source alone spent about 12 s parsing torch's headers (docs/speed-log.md).
        unit = Path(scratch) / "kernels.cpp"
        unit.write_text("".join(f'#include "{source}"\n' for source in SOURCES), encoding="utf-8")
        command = [compiler, *COMPILE_FLAGS, abi, *includes, str(unit), "-o", str(built),
                   f"-L{cpp_extension.library_paths()[0]}", "-lc10", "-ltorch_cpu", "-ltorch"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
        if result.returncode != 0:
            raise OSError(f"building the kernels failed: {(result.stderr or result.stdout).strip()[:500]}")
        built.replace(library)  # whole, for another process building it at the same time
    return library
