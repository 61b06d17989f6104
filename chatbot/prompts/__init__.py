"""The prompt templates (Jinja2, one `<name>.j2` a prompt), shipped inside the package and rendered by
chatbot/answer/prompts.py. Holds no code: it is here so that the templates are package data."""
