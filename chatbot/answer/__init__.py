"""Answering a shopper: the pipeline (pipeline.py: decide, write, check, cite), follow-ups made
standalone (condense.py), the prompt templates' rendering (prompts.py), the topic guard and
instruction removal (guardrails.py with topics.toml), the answer-or-escalate evidence
(evidence.py), and the answer check (grounding.py, polarity.py).

Imports: `chatbot.text`, `knowledge`, `llm` (through its protocols in llm/base.py), `orders`,
`settings`, `errors`, `values`. Never the web layer."""
