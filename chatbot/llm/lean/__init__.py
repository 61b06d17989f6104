"""The lean decoding step for Llama-style decoders on CPU (decoder.py): int4/bf16 products, compiled
layers, and this project's C++ kernels built at load time (native.py, *.cpp).

Imports: `chatbot.llm` only. Importing decoder.py imports torch."""
