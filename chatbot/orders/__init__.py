"""Orders: the order store (store.py, SQLAlchemy), how an order's facts are worded in English and
Chinese (wording.py), and order questions in the chat (chat.py: the order number and the
shopper's email or postcode checked before a status is shown).

Imports: `chatbot.database`, `errors`, `values`, `text`."""
