"""The chat's own words in English and Simplified Chinese: the page's labels and buttons (Gradio's
I18n, chosen in the browser from its language, or fixed by the `ui_language` setting) and what the
server says back (errors, notices, the sources box), in the shopper's language: the message's
own, else the browser's (its Accept-Language header)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from chatbot.errors import BusyError, ChatbotError, QuestionError
from chatbot.text.words import has_han, reply_language

if TYPE_CHECKING:
    import gradio as gr

LANGUAGES = ("en", "zh")

# The page: keys for gr.I18n. "{store}" is the store's name.
PAGE = {
    "en": {
        "heading": "## {store} customer help\nAnswers come from our store policies, with their sources.",
        "chat": "Chat",
        "chat_placeholder": "Ask about returns, delivery, payments or your account.",
        "offer": "Yes, connect me with a person",
        "box": "Type your question…",
        "send": "Send",
        "person": "Talk to a person",
        "new": "New conversation",
        "comment": "What was wrong with this answer? (optional)",
        "send_comment": "Send comment",
        "examples": "Try asking",
    },
    "zh": {
        "heading": "## {store} 客户帮助\n回答来自本店的政策页面，并附上出处。",
        "chat": "对话",
        "chat_placeholder": "您可以询问退货、配送、付款或账户方面的问题。",
        "offer": "好的，请帮我转人工客服",
        "box": "请输入您的问题…",
        "send": "发送",
        "person": "转人工客服",
        "new": "新对话",
        "comment": "这个回答哪里有问题？（选填）",
        "send_comment": "提交意见",
        "examples": "试试这样问",
    },
}

# The staff's agent-assist panel.
PANEL = {
    "en": {
        "heading": "## {store} agent assist\nDrafts come from the knowledge base and are checked against their "
                   "sources; read them before sending.",
        "draft_tab": "Draft a reply",
        "queue": "Escalated chats waiting for a person",
        "refresh": "Refresh",
        "open": "Open",
        "message": "Customer message or email thread",
        "draft": "Draft reply",
        "reply": "Draft reply (edit before sending)",
        "sent": "Sent as drafted",
        "edited": "Sent after editing",
        "unusable": "Not usable",
        "regenerate": "Regenerate",
        "removed": "#### Removed by the check",
        "passages": "#### Passages",
        "search_tab": "Search the knowledge base",
        "search": "Search",
        "search_placeholder": "e.g. refund to a gift card",
        "kb_tab": "Knowledge base",
        "folder": "Knowledge-base folder on the server",
        "folder_placeholder": "/srv/shop/knowledge_base (Markdown, HTML, text, CSV or JSONL FAQ files)",
        "load": "Build its index and use it",
        "dashboard_tab": "Dashboard",
    },
    "zh": {
        "heading": "## {store} 客服助手\n草稿来自知识库，并已与出处核对；发送前请先阅读。",
        "draft_tab": "起草回复",
        "queue": "等待人工处理的转接对话",
        "refresh": "刷新",
        "open": "打开",
        "message": "顾客消息或邮件往来",
        "draft": "起草回复",
        "reply": "回复草稿（发送前可编辑）",
        "sent": "已按草稿发送",
        "edited": "修改后发送",
        "unusable": "不可用",
        "regenerate": "重新生成",
        "removed": "#### 被核对删去的内容",
        "passages": "#### 相关段落",
        "search_tab": "搜索知识库",
        "search": "搜索",
        "search_placeholder": "例如：退款到礼品卡",
        "kb_tab": "知识库",
        "folder": "服务器上的知识库文件夹",
        "folder_placeholder": "/srv/shop/knowledge_base（Markdown、HTML、文本、CSV 或 JSONL 常见问题文件）",
        "load": "建立索引并使用",
        "dashboard_tab": "数据看板",
    },
}

# What the server says: plain strings, formatted with the values named.
SAID = {
    "en": {
        "human_request": "I'd like to talk to a person, please.",
        "waiting": "Your message will be answered as soon as the answer being written is finished.",
        "sources": "Sources",
        "thanks": "Thank you, your comment was saved.",
        "empty": "Please type a question.",
        "too_long": "Your message is {length:,} characters long; the limit is {limit:,}. "
                    "Please shorten it to the question itself.",
        "busy": "Many shoppers are asking right now; please try again in a moment.",
    },
    "zh": {
        "human_request": "我想转人工客服。",
        "waiting": "正在回答您上一条消息，完成后会接着回答这一条。",
        "sources": "出处",
        "thanks": "谢谢，您的意见已保存。",
        "empty": "请输入您的问题。",
        "too_long": "您的消息有 {length:,} 个字符，上限为 {limit:,} 个。请只保留问题本身。",
        "busy": "现在咨询的顾客较多，请稍后再试。",
    },
}

EXAMPLES = {
    "en": [
        "How many days do I have to return an item?",
        "How much is delivery in the UK?",
        "Do you ship to Canada?",
        "My payment was declined, what should I do?",
        "Can I cancel my order?",
    ],
    "zh": ["退货期限是多少天？", "英国境内运费多少？", "你们配送到加拿大吗？", "付款被拒绝了怎么办？", "我可以取消订单吗？"],
}


def page_texts(store: str, ui_language: str = "", texts: dict[str, dict[str, str]] = PAGE) -> gr.I18n:
    """A page's texts (the chat's, or PANEL) for every language, or (with `ui_language`) that
    language's for every browser."""
    import gradio as gr

    chosen = {language: {key: named(text, store) for key, text in texts[language].items()} for language in LANGUAGES}
    if ui_language:
        chosen = dict.fromkeys(chosen, chosen[checked_language(ui_language)])
    # Browsers say "zh-CN"; the page's Chinese is Simplified.
    return gr.I18n(**chosen, **{"zh-CN": chosen["zh"], "zh-SG": chosen["zh"]})


def named(text: str, store: str) -> str:
    """`text` with the store's name for "{store}"; without a name, the text reads on its own.

    >>> named("## {store} customer help", "Maple & Moss"), named("## {store} customer help", "")
    ('## Maple & Moss customer help', '## Customer help')
    >>> named("{store} help", ""), named("## {store} 客户帮助", "")
    ('Help', '## 客户帮助')
    """
    if store:
        return text.format(store=store)
    plain = re.sub(r"\{store\} ?", "", text)
    return re.sub(r"^(#*\s*)([a-z])", lambda found: found.group(1) + found.group(2).upper(), plain)


def checked_language(language: str) -> str:
    if language not in LANGUAGES:
        raise ChatbotError(f"ui_language must be one of {', '.join(LANGUAGES)} or empty; got {language!r}.")
    return language


def browser_language(accept_language: str) -> str:
    """The first of our languages the browser asks for (its Accept-Language header), else English.

    >>> browser_language("zh-CN,zh;q=0.9,en;q=0.8"), browser_language("fr-FR,fr;q=0.9"), browser_language("")
    ('zh', 'en', 'en')
    """
    for part in accept_language.split(","):
        code = part.split(";")[0].strip().lower().split("-")[0]
        if code in LANGUAGES:
            return code
    return "en"


def shopper_language(message: str, accept_language: str = "", ui_language: str = "") -> str:
    """The language to speak to the shopper in: a message's own (Chinese, or other words), else
    the setting's, else the browser's.

    >>> shopper_language("退货期限是多少天？"), shopper_language("Do you ship to Canada?", "zh-CN")
    ('zh', 'en')
    >>> shopper_language("   ", "zh-CN,zh;q=0.9"), shopper_language("", "en-GB", ui_language="zh")
    ('zh', 'zh')
    """
    if reply_language(message) == "zh":
        return "zh"
    if any(character.isalpha() for character in message) and not has_han(message):
        return "en"
    return ui_language or browser_language(accept_language)


def said(key: str, language: str, **values: object) -> str:
    return SAID.get(language, SAID["en"])[key].format(**values)


def error_text(error: ChatbotError, message: str, language: str, limit: int) -> str:
    """An ordinary refusal in the shopper's language; any other error as it is."""
    if isinstance(error, BusyError):
        return said("busy", language)
    if isinstance(error, QuestionError):
        length = len((message or "").strip())
        if not length:
            return said("empty", language)
        if length > limit:
            return said("too_long", language, length=length, limit=limit)
    return str(error)
