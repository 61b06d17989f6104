"""A customer-service chatbot that answers shoppers from a store's own policies, with citations."""

__version__ = "0.1.0"
