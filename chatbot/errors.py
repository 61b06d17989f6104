"""Domain errors: each message tells the user what to do next."""


class ChatbotError(Exception):
    """Base class for errors a user can act on."""


class QuestionError(ChatbotError, ValueError):
    """The question cannot be answered as given (empty, too long)."""


class KnowledgeBaseError(ChatbotError):
    """The knowledge base folder is missing or holds no usable passage."""


class IndexMissingError(ChatbotError):
    """No index where one was expected."""


class IndexMismatchError(ChatbotError):
    """The index on disk was built differently from what the settings ask for."""


class ModelLoadError(ChatbotError):
    """A configured model could not be found or loaded."""


class SettingsError(ChatbotError):
    """The settings file or a CHATBOT_* variable is invalid."""


class EvalSetError(ChatbotError):
    """An eval set that cannot be read, or a row in it that is malformed."""


class TicketFileError(ChatbotError):
    """A ticket export that cannot be read at all (a broken row is recorded, not raised)."""


class OrderStoreError(ChatbotError):
    """The orders database cannot be opened, read or written (see the `orders_url` setting)."""


class SupportLogError(ChatbotError):
    """The support log (conversations, drafts, feedback) cannot be opened, read or written (see `support_log_url`)."""


class GenerationError(ChatbotError):
    """The model could not write an answer (e.g. its endpoint is down or timed out)."""


class BusyError(ChatbotError):
    """Too many shoppers are waiting for an answer: try again in a moment."""
