"""Answering helpdesk exports (`answer-tickets`): reading CSV/JSONL exports (reader.py, with
records.py splitting them so that a broken row costs only its own ticket), answering them in
resumable windows (answering.py), the run's report (report.py), and the same run as a Ray Data
job (ray_engine.py).

Imports: `chatbot.answer`, `support` (triage), `text`, `settings`, `errors`. The wiring that
builds an answerer is passed in, not imported."""
