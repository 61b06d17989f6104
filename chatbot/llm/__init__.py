"""The decoding engine behind one contract (base.py: the chat message type and the Generator,
BatchGenerator, DecodingBatch, BatchDecoder and Scorer protocols): a transformers decoder
(huggingface.py), an OpenAI-compatible client and server (openai_client.py, openai_server.py),
the decoder's continuous batch (continuous_batch.py, its key/value cache layer in
growing_cache.py), concurrent chats sharing it (concurrent.py), the prompt cache and prompt
lookup, GGUF conversions kept on disk (model_cache.py), and the lean CPU decoding step with its
C++ kernels (lean/).

Imports: nothing of chatbot's outside llm/ but `chatbot.errors`. torch and transformers are
imported where a model is loaded, so importing this package stays light."""
