"""The store's knowledge: reading a folder of pages into passages (ingest.py), the index on disk
(index.py: FAISS vectors in vector_index.py, BM25 in lexical.py, a manifest), the embedder
(embedding.py), hybrid search (retrieval.py), an optional second-stage reranker (rerank.py), and
nearest-example classifiers over labelled messages (examples.py).

Imports: `chatbot.errors`, `values`, `settings`, `openmp`, and `chatbot.llm` (the bundled models'
location and the scorer protocol the bundled reranker uses)."""
