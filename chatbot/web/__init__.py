"""The web interfaces (Gradio): the shopper chat (chat.py), the agent-assist panel
(assist_panel.py), the staff dashboard (dashboard.py), and the server that mounts them
(server.py). Only this package imports gradio; it shows what the pipeline and the desks return.

Imports: anything below it, and `chatbot.service` for the wiring."""
