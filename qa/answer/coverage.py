"""Does the corpus cover what a question asks? Two checks behind the answerer's abstentions:
rare words no document uses in any spelling, and asks (a dose, a cost...) the evidence never speaks to."""

from __future__ import annotations

from difflib import get_close_matches

from qa.answer.questions import ASK_CUES, BODY_PARTS, LAY_TERMS, RARE_WORD_ZIPF, content_words
from qa.text import index_terms, words


class Coverage:
    def __init__(self, vocabulary: set[str], surface_words: set[str]):
        self.vocabulary = vocabulary  # stemmed terms of every unit, heading and title
        self.surface_words = surface_words  # the same words as written, for spelling variants

    def unknown_rare_words(self, question: str, rare_words: bool = True, body_parts: bool = True) -> list[str]:
        """Rare words (names, drugs, genes) and body parts that no document uses, even spelt differently."""
        if not rare_words and not body_parts:
            return []
        unknown = [w for w in dict.fromkeys(content_words(question)) if index_terms(w) and index_terms(w)[0] not in self.vocabulary]
        if not unknown:
            return []
        from wordfreq import zipf_frequency

        return [
            w
            for w in unknown
            if ((body_parts and w in BODY_PARTS) or (rare_words and zipf_frequency(w, "en") < RARE_WORD_ZIPF))
            and not get_close_matches(w, self.surface_words, n=1, cutoff=0.8)
            and not any(clinical in self.surface_words for clinical in LAY_TERMS.get(w, ()))  # "neck": "cervical"
        ]

    @staticmethod
    def missing_ask(question: str, evidence_text: str) -> list[str]:
        """The question's words of the first ask cue that the evidence (with its headings) never speaks to."""
        asked = list(dict.fromkeys(words(question)))
        evidence = set(words(evidence_text))
        for cue_words in ASK_CUES.values():
            used = [w for w in asked if w in cue_words]
            if used and not evidence & cue_words:
                return used
        return []


def join_words(items: list[str]) -> str:
    quoted = [f"'{w}'" for w in items]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
