"""Orders: the order store (store.py, SQLAlchemy) and order questions in the chat (chat.py: the
order number and the shopper's email or postcode checked before a status is shown).

Imports: `chatbot.database`, `errors`, `values`, `text`."""
