"""The support team's side: the support log of conversations, drafts and feedback (log.py), staff
accounts (staff.py), the agent-assist desk (assist.py), analytics and exports of the log
(analytics.py, export.py), and ticket triage (triage.py with triage.toml).

Imports: `chatbot.answer`, `knowledge`, `llm`, `orders`, `text`, `database`, `errors`, `values`."""
