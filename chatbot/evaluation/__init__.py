"""Measuring the bot: the eval harness (harness.py), retrieval and answer metrics (metrics.py), the
written report (report.py), the public benchmark importers (wixqa.py, abcd.py), and tuning the
embedder on labelled messages (tuning.py).

Imports: `chatbot.answer`, `knowledge`, `text`, `settings`, `errors`, `values`."""
