"""Text as the answer check reads it: sentences and content words (words.py), checkable facts such
as numbers, amounts, dates and ranges in one spelling (facts.py), names (names.py), citation
markers (citations.py), places with their regions (places.py), shoppers' everyday Chinese beside
the pages' words (colloquial.py), typos put right in the pages' words (spelling.py), and personal data removed from logs and exports (redaction.py).

Imports: `chatbot.values` only. Everything above may use it."""
