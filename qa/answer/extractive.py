"""The default answerer: extractive, grounded, cited, and willing to abstain (DESIGN §5).

For the units (sentences, list items, lead-ins) of the retrieved chunks it combines
* dense: cosine between the question and the unit (items embedded after their lead-in),
* lexical: the IDF-weighted share of the question's content words the unit contains,
* rank: where retrieval put the unit's chunk,
then picks the best unit and up to two more that add something, each a statement with its
own citation. A lead-in ending in ':' never stands alone: it brings its items. It abstains
when the best evidence is weak, when the question asks about words the corpus never uses,
or when a number is asked for and the evidence has none. Thresholds live in
``AnswerPolicy`` and were calibrated on the dev split of ``evals/gold.jsonl``.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from qa.units import link_units
from qa.answer.coverage import Coverage, join_words
from qa.answer.base import NO_ANSWER
from qa.stores.index_folder import Index
from qa.answer.questions import EXCLUSION, FOCUS, LIST_ASK, RARE_WORD_ZIPF, YES_NO_START, content_words, lay_equivalents, question_shape
from qa.text import content_terms, defined_abbreviations, has_negation, index_terms, numbers, words
from qa.types import Answer, Citation, Hit, Statement, Unit


_CONTRAST = re.compile(r"\b(while|whereas|unlike|compared|versus|vs\.|than|differentiates|rather than)\b", re.IGNORECASE)
_CONDITION = re.compile(r"\b(when|if|reserved for|in cases|unless|once|after|until|where .+ (?:have|has) not)\b", re.IGNORECASE)
_REASON = re.compile(
    r"\b(because|reasons?|due to|since|as a result|so that|in order to|(?:performed|used|done|ordered|needed) to|to (?:investigate|identify|evaluate|assess|detect|rule out|exclude|determine|confirm|prevent))\b",
    re.IGNORECASE,
)
FOCUS_BOOST = 2.0  # weight multiplier for the word after "what"/"which": the kind of thing asked for
PREFIX_MATCH = 0.7  # weight of a corpus word that an unknown question word is a prefix of
PHRASE_BONUS = 0.15  # added for the share of the question's word pairs the unit has in the same order
# A page's own summary ("Direct Recommendation", "Conclusion:") is its best answer to a general question.
_SUMMARY = re.compile(r"^(direct recommendations?|recommendations?|conclusions?|summary|bottom line|key (points|messages|takeaways)|in summary|answer)\b", re.IGNORECASE)
SUMMARY_BOOST = 1.15
_META_DISCOURSE = re.compile(r"^(this (article|page|review|summary) (explores|describes|discusses|covers)|in this article)", re.IGNORECASE)


@dataclass(frozen=True)
class AnswerPolicy:
    # Weights from a grid search on the dev split (odd ids) of evals/gold.jsonl: 0.35-0.65 for each
    # forms a plateau; 0.45/0.45 was best on dev and held on test.
    dense_weight: float = 0.45
    lexical_weight: float = 0.45
    rank_weight: float = 0.10
    # A question word found in the unit's section heading counts this much of its weight; one in the
    # document's title counts fully for every unit of the document, so that a page about the thing asked
    # for is never outscored by a page that merely mentions it (0.3 here cost MedQuAD 11 points of
    # right-document citations on dev; evals/README.md).
    heading_match: float = 0.8
    title_match: float = 1.0
    # Abstention floors, from the grid on the suite's dev split (evals/README.md); an off-topic question
    # ("capital of France") scores about 0.15. Near-topic questions are caught by the coverage gate and
    # the ask-cue and no-figure rules, not by these floors.
    min_score: float = 0.45  # best unit's combined score below this: abstain
    min_dense: float = 0.30  # best unit's cosine below this: abstain
    # A question word the corpus never uses means "not covered" unless the match is this close anyway.
    unknown_word_dense_override: float = 0.75
    relative_keep: float = 0.85  # further statements must score this share of the best
    near_tie: float = 0.97  # ... and add a question word not yet covered, unless they score this close
    max_statements: int = 3
    max_chars: int = 420
    redundancy_cosine: float = 0.88
    # A question that restates a document's title (this share of its content terms, both ways) is that
    # document's own question: its conclusion or summary section answers it, boosted by this factor.
    title_question_overlap: float = 0.6
    title_question_boost: float = 1.5
    # Coverage gate: abstain when the passage the answer would cite (with its title and heading) holds less
    # than this IDF-weighted share of the question's terms, unless the best cosine is at least `confident_dense`.
    # Both from a grid on the suite's dev split (evals/README.md).
    min_coverage: float = 0.5
    confident_dense: float = 0.6
    # Hand-written rules, each switchable for the ablation in evals/README.md.
    rule_rare_words: bool = False  # a rare word (Zipf < 3) no document uses: abstain (the coverage gate subsumes it)
    rule_body_parts: bool = False  # a body part no document mentions: abstain (a hand list; off after the ablation)
    rule_ask_cues: bool = True  # a dose, cost, prognosis... the evidence never speaks to: abstain
    rule_no_figure: bool = True  # a number asked for and none in the evidence: abstain
    rule_lay_terms: bool = True  # lay words also match their clinical words ("neck" -> "cervical")
    rule_yes_no: bool = True  # "Yes."/"No." before the answer to a yes/no question


@dataclass(frozen=True)
class _Scored:
    position: int  # index into Index.units
    score: float
    dense: float
    lexical: float


@dataclass(frozen=True)
class _Statement:
    text: str
    unit_positions: tuple[int, ...]
    doc_id: str
    chunk_id: str
    start: int
    end: int
    score: float


class ExtractiveAnswerer:
    name = "extractive"

    def __init__(self, index: Index, embed_query: Callable[[str], np.ndarray], policy: AnswerPolicy = AnswerPolicy()):
        self.index = index
        self.embed_query = embed_query
        self.policy = policy
        units = index.units
        # List ids are unique within a document only, so lists are keyed by (doc_id, list_id).
        self._lead_in_of_list = {(u.doc_id, u.introduces): i for i, u in enumerate(units) if u.kind == "lead-in" and u.introduces >= 0}
        self._members: dict[tuple[str, int], list[int]] = {}
        for i, u in enumerate(units):
            if u.list_id >= 0:
                self._members.setdefault((u.doc_id, u.list_id), []).append(i)
        self._abbreviations = defined_abbreviations(d.text for d in index.documents.values())
        self._antecedent = link_units(units).antecedent
        self._unit_terms = [
            self._expand(set(index_terms(" ".join([u.text, self._lead_in_text(u), units[self._antecedent[i]].text if i in self._antecedent else ""]))))
            for i, u in enumerate(units)
        ]
        self._unit_bigrams = [set(zip(t, t[1:])) for t in (index_terms(u.text) for u in units)]
        self._raw_terms = [set(index_terms(u.text)) for u in units]
        self._heading_terms = [set(index_terms(c.section)) for c in index.chunks]
        self._title_terms = [set(index_terms(index.documents[c.doc_id].search_title)) for c in index.chunks]
        self._context_terms = [h | t for h, t in zip(self._heading_terms, self._title_terms)]
        document_frequency: dict[str, int] = {}
        for terms in self._unit_terms:
            for term in terms:
                document_frequency[term] = document_frequency.get(term, 0) + 1
        total = max(len(self._unit_terms), 1)
        self._idf = {t: math.log(1 + total / df) for t, df in document_frequency.items()}
        self._unknown_idf = math.log(1 + total)
        self._vocabulary = set(document_frequency) | {t for terms in self._context_terms for t in terms}
        self._surface_words = {w for u in units for w in words(u.text)} | {w for c in index.chunks for w in words(c.section)}
        self.coverage = Coverage(self._vocabulary, self._surface_words)

    def _expand(self, terms: set[str]) -> set[str]:
        """Add the long form's terms for each abbreviation the corpus defines, and vice versa."""
        extra: set[str] = set()
        for short, long_terms in self._abbreviations.items():
            if short in terms:
                extra |= long_terms
            elif long_terms and long_terms <= terms:
                extra.add(short)
        return terms | extra

    def _prefix_alternates(self, word: str) -> set[str]:
        return {index_terms(w)[0] for w in self._surface_words if w.startswith(word) and w != word and index_terms(w)}

    def _lead_in_text(self, unit: Unit) -> str:
        position = self._lead_in_of_list.get((unit.doc_id, unit.list_id))
        return self.index.units[position].text if position is not None else ""

    # ---- scoring -------------------------------------------------------------------------
    def _query(self, question: str) -> tuple[dict[str, float], set[str], set[tuple[str, str]]]:
        """Weighted query terms, terms the question excludes ("besides MRI"), and its term bigrams."""
        excluded = {t for phrase in EXCLUSION.findall(question) for t in index_terms(phrase)}
        base = [t for t in content_terms(question) if t not in excluded]
        if self.policy.rule_lay_terms:
            base += [t for word in lay_equivalents(question) for t in index_terms(word) if t not in base]
        terms = base + sorted(self._expand(set(base)) - set(base) - excluded)
        weights = {t: self._idf.get(t, self._unknown_idf) for t in terms}
        focus = FOCUS.search(question)
        focus_word = focus.group(1).lower() if focus else None
        for word in content_words(question):
            stemmed = index_terms(word)
            if len(word) >= 3 and stemmed and stemmed[0] not in self._vocabulary:
                # "lab" -> "laboratory", "else" -> "elsewhere": a corpus word the question word begins.
                boost = FOCUS_BOOST if word == focus_word else 1.0
                for alternate in self._prefix_alternates(word):
                    weights.setdefault(alternate, boost * PREFIX_MATCH * self._idf.get(alternate, self._unknown_idf))
        if focus_word:
            for t in index_terms(focus_word):
                if t in weights:
                    weights[t] *= FOCUS_BOOST  # "what symptoms ...": the answer is a list of symptoms
        # Words no document uses cannot tell units apart; rare ones are the abstention rule's business.
        weights = {t: w for t, w in weights.items() if t in self._vocabulary} or weights
        return weights, excluded, set(zip(base, base[1:]))

    def _score_units(self, question: str, hits: tuple[Hit, ...], query=None) -> list[_Scored]:
        weights, excluded, bigrams = query or self._query(question)
        total_weight = sum(weights.values()) or 1.0
        vector = self.embed_query(question)
        shape = question_shape(question)
        own_question_docs = self._title_question_documents(question, hits)
        scored: list[_Scored] = []
        for hit in hits:
            positions = self.index.units_by_chunk.get(hit.chunk.chunk_id, ())
            if not positions:
                continue
            dense_scores = self.index.unit_vectors[list(positions)] @ vector
            chunk_position = self.index.chunk_positions[hit.chunk.chunk_id]
            heading, title = self._heading_terms[chunk_position], self._title_terms[chunk_position]
            rank_prior = 1.0 - (hit.rank - 1) / max(len(hits), 1)
            for position, dense in zip(positions, dense_scores):
                terms = self._unit_terms[position]
                matched = 0.0
                for term, weight in weights.items():
                    if term in title:
                        # The document's topic words ("back pain", "weakness") favour the document,
                        # not one of its sentences over another: every unit gets the same credit.
                        matched += self.policy.title_match * weight
                    elif term in terms:
                        matched += weight
                    elif term in heading:
                        matched += self.policy.heading_match * weight
                lexical = matched / total_weight
                if bigrams:
                    lexical += PHRASE_BONUS * len(bigrams & self._unit_bigrams[position]) / len(bigrams)
                score = self.policy.dense_weight * float(dense) + self.policy.lexical_weight * lexical + self.policy.rank_weight * rank_prior
                score *= self._shape_factor(self.index.units[position], self._raw_terms[position], set(weights), shape, excluded)
                summary = _SUMMARY.match(hit.chunk.section) or _SUMMARY.match(self.index.units[position].text)
                if summary and hit.chunk.doc_id in own_question_docs:
                    score *= self.policy.title_question_boost  # the document's own question: its conclusion answers
                elif summary and not shape - {"yes-no"}:
                    score *= SUMMARY_BOOST  # for general questions only; "why"/"when"/"how many" ask for something specific
                scored.append(_Scored(position, score, float(dense), lexical))
        scored.sort(key=lambda s: (-s.score, s.position))
        return scored

    @staticmethod
    def _shape_factor(unit: Unit, terms: set[str], query_terms: set[str], shape: set[str], excluded: set[str]) -> float:
        factor = 1.0
        if "numeric" in shape:
            factor *= 1.1 if numbers(unit.text) else 0.75
        if "comparison" in shape and _CONTRAST.search(unit.text):
            factor *= 1.1
        if "condition" in shape and _CONDITION.search(unit.text):
            factor *= 1.1
        if "reason" in shape and _REASON.search(unit.text):
            factor *= 1.1
        if excluded and excluded & terms:
            factor *= 0.75  # "besides MRI, ...": sentences about MRI are not the answer
        if unit.kind != "lead-in" and "yes-no" not in shape and terms and len(terms - query_terms) / len(terms) < 0.34:
            factor *= 0.75  # only echoes the question (exempt: a lead-in, whose items carry the content,
            # and the answer to a yes/no question, which restates it)
        if _META_DISCOURSE.match(unit.text):
            factor *= 0.6
        return factor

    # ---- statements ----------------------------------------------------------------------
    def _list_statement(self, doc_id: str, list_id: int, scores: dict[int, float]) -> _Statement:
        """A list as one statement: its lead-in (if any) and its items, cut to the best items if long."""
        units = self.index.units
        lead_position = self._lead_in_of_list.get((doc_id, list_id))
        lead_in = units[lead_position] if lead_position is not None else None
        parts = []
        for p in self._members.get((doc_id, list_id), []):
            unit = units[p]
            text = unit.text.rstrip(".")
            if unit.kind == "lead-in" and unit.introduces >= 0:
                children = [units[c].text.rstrip(".") for c in self._members.get((doc_id, unit.introduces), [])]
                text = f"{text} {', '.join(_lower_first(c) for c in children)}" if children else text
            parts.append((p, text))
        budget = self.policy.max_chars - (len(lead_in.text) if lead_in else 0)
        if sum(len(t) + 2 for _, t in parts) > budget:  # keep the best-scoring items, in document order
            kept, used = set(), 0
            for p, t in sorted(parts, key=lambda pt: -scores.get(pt[0], 0.0)):
                if used + len(t) + 2 <= budget or not kept:
                    kept.add(p)
                    used += len(t) + 2
            parts = [pt for pt in parts if pt[0] in kept]
        body = "; ".join(_lower_first(t) for _, t in parts)
        text = f"{lead_in.text} {body}." if lead_in else f"{body[0].upper()}{body[1:]}."
        positions = [p for p, _ in parts]
        first = lead_in or units[positions[0]]
        last = units[positions[-1]]
        nested = self._members.get((doc_id, last.introduces), []) if last.introduces >= 0 else []
        end = max([last.end, *(units[c].end for c in nested)])
        covered = ([lead_position] if lead_position is not None else []) + positions
        return _Statement(text, tuple(covered), doc_id, first.chunk_id, first.start, end, max(scores.get(p, 0.0) for p in covered))

    def _statement_for(self, scored: _Scored, scores: dict[int, float], list_question: bool, question_terms: set[str]) -> _Statement:
        unit = self.index.units[scored.position]
        if unit.list_id >= 0 and self._answers_with_whole_list(unit, scored, scores, list_question, question_terms):
            list_id = unit.list_id
            # A nested list ("Consider specialized testing: copper levels; autoimmune markers") climbs to
            # its parent list when the parent is what was asked about.
            lead_position = self._lead_in_of_list.get((unit.doc_id, list_id))
            while lead_position is not None and self.index.units[lead_position].list_id >= 0:
                lead_in = self.index.units[lead_position]
                lead_scored = _Scored(lead_position, scores.get(lead_position, 0.0), 0.0, 0.0)
                if not self._answers_with_whole_list(lead_in, lead_scored, scores, list_question, question_terms):
                    break
                list_id = lead_in.list_id
                lead_position = self._lead_in_of_list.get((unit.doc_id, list_id))
            return self._list_statement(unit.doc_id, list_id, scores)
        if unit.kind == "lead-in" and unit.introduces >= 0:
            return self._list_statement(unit.doc_id, unit.introduces, scores)
        text = unit.text if unit.text[-1] in ".!?" else unit.text + "."
        lead_position = self._lead_in_of_list.get((unit.doc_id, unit.list_id)) if unit.kind == "item" else None
        if lead_position is not None:  # "MRI access is delayed" means nothing without "CT is an acceptable alternative when:"
            lead_in = self.index.units[lead_position]
            return _Statement(
                f"{lead_in.text} {_lower_first(text)}", (lead_position, scored.position), unit.doc_id, lead_in.chunk_id, lead_in.start, unit.end, scored.score
            )
        antecedent = self._antecedent.get(scored.position)
        if antecedent is not None:  # "This procedure is ..." is unreadable without the sentence naming it
            before = self.index.units[antecedent]
            return _Statement(f"{before.text} {text}", (antecedent, scored.position), unit.doc_id, unit.chunk_id, before.start, unit.end, scored.score)
        return _Statement(text, (scored.position,), unit.doc_id, unit.chunk_id, unit.start, unit.end, scored.score)

    def _answers_with_whole_list(self, unit: Unit, scored: _Scored, scores: dict[int, float], list_question: bool, question_terms: set[str]) -> bool:
        """Whether the list this unit belongs to, rather than the unit alone, answers the question."""
        has_lead_in = (unit.doc_id, unit.list_id) in self._lead_in_of_list
        siblings = [p for p in self._members.get((unit.doc_id, unit.list_id), []) if p != scored.position]
        strong_siblings = sum(1 for p in siblings if scores.get(p, 0.0) >= 0.8 * scored.score)
        # A list under a heading the question names ("Step 3: Laboratory Testing") is answered whole,
        # the heading standing in for a lead-in.
        heading_asked = len(self._heading_terms[self.index.chunk_positions[unit.chunk_id]] & question_terms) >= 2
        return (
            (unit.kind == "item" and len(unit.text) < 40)
            or strong_siblings >= 2
            or (not has_lead_in and heading_asked)
            or (list_question and (has_lead_in or strong_siblings >= 1))
        )

    # ---- the answer ----------------------------------------------------------------------
    def answer(self, question: str, hits: tuple[Hit, ...]) -> Answer:
        started = time.perf_counter()
        query = self._query(question)
        scored = self._score_units(question, hits, query)
        reason = self._abstention_reason(question, scored)
        if reason is not None:
            return Answer(question, reason, (), True, {"answer": _ms(started)}, hits)
        scores = {s.position: s.score for s in scored}
        list_question = bool(LIST_ASK.search(question))
        best = scored[0]
        question_terms = set(query[0])  # content terms plus "lab" -> "laboratory" alternates
        statements = [self._statement_for(best, scores, list_question, question_terms)]
        covered = set(statements[0].unit_positions)
        used_chars = len(statements[0].text)
        query_terms = question_terms
        answered_terms = self._terms_of(statements[0]) & query_terms
        for candidate in scored[1:]:
            if len(statements) >= self.policy.max_statements or candidate.score < self.policy.relative_keep * best.score:
                break
            if candidate.position in covered or self._redundant(candidate.position, covered):
                continue
            statement = self._statement_for(candidate, scores, list_question, question_terms)
            new_terms = (self._terms_of(statement) & query_terms) - answered_terms
            if not new_terms and candidate.score < self.policy.near_tie * best.score:
                continue  # covering, not repeating: it must add something the question asked about
            if used_chars + len(statement.text) > self.policy.max_chars or set(statement.unit_positions) & covered:
                continue
            statements.append(statement)
            covered |= set(statement.unit_positions)
            answered_terms |= new_terms
            used_chars += len(statement.text)
        evidence = " ".join(f"{s.text} {self.index.chunk(s.chunk_id).section}" for s in statements)
        missing = self.coverage.missing_ask(question, evidence) if self.policy.rule_ask_cues and best.dense < self.policy.confident_dense else []
        if self.policy.min_coverage > 0 and best.dense < self.policy.confident_dense:
            covered_share, lacking = self.coverage_of(question, statements[0].chunk_id)
            if covered_share < self.policy.min_coverage:
                named = self._what_is_missing(lacking, missing)
                detail = f" They do not mention {join_words(named)}." if named else ""
                return Answer(question, f"{NO_ANSWER}{detail}", (), True, {"answer": _ms(started)}, hits)
        if missing:
            return Answer(question, f"{NO_ANSWER} They do not mention {join_words(missing)}.", (), True, {"answer": _ms(started)}, hits)
        if self.policy.rule_no_figure and "numeric" in question_shape(question) and not any(numbers(s.text) for s in statements):
            return Answer(question, f"{NO_ANSWER} They give no figure for it.", (), True, {"answer": _ms(started)}, hits)
        citations = []
        parts = []
        for n, statement in enumerate(statements, 1):
            document = self.index.documents[statement.doc_id]
            citations.append(
                Citation(
                    n=n,
                    chunk=self.index.chunk(statement.chunk_id),
                    title=document.title,
                    source=document.source_path,
                    quote=document.text[statement.start : statement.end],
                    start=statement.start,
                    end=statement.end,
                    score=round(statement.score, 4),
                )
            )
            parts.append(f"{statement.text} [{n}]")
        text = " ".join(parts)
        verdict = self._yes_no(question, statements[0]) if self.policy.rule_yes_no else None
        if verdict:
            text = f"{verdict} {text}"
        checked = tuple(Statement(s.text, (n,), True) for n, s in enumerate(statements, 1))  # quotes: supported by construction
        return Answer(question, text, tuple(citations), False, {"answer": _ms(started)}, hits, checked)

    def stream(self, question: str, hits: tuple[Hit, ...]):
        yield self.answer(question, hits)

    def _abstention_reason(self, question: str, scored: list[_Scored]) -> str | None:
        if not scored:
            return NO_ANSWER
        best = scored[0]
        unknown = self.coverage.unknown_rare_words(question, self.policy.rule_rare_words, self.policy.rule_body_parts)
        if unknown and best.dense < self.policy.unknown_word_dense_override:
            return f"{NO_ANSWER} They do not mention {join_words(unknown)}."
        if best.score < self.policy.min_score or best.dense < self.policy.min_dense:
            chunk = self.index.chunk(self.index.units[best.position].chunk_id)
            _, lacking = self.coverage_of(question, chunk.chunk_id)
            asked = self.coverage.missing_ask(question, f"{chunk.text} {chunk.section}") if self.policy.rule_ask_cues else []
            named = self._what_is_missing(lacking, asked)
            return f"{NO_ANSWER} They do not mention {join_words(named)}." if named else NO_ANSWER
        return None

    def _title_question_documents(self, question: str, hits: tuple[Hit, ...]) -> set[str]:
        """Documents whose title the question restates (PubMedQA-style titles that are questions)."""
        asked = set(content_terms(question))
        found = set()
        for hit in hits:
            title = set(content_terms(self.index.documents[hit.chunk.doc_id].search_title))
            if asked and title and len(asked & title) >= self.policy.title_question_overlap * max(len(asked), len(title)):
                found.add(hit.chunk.doc_id)
        return found

    def coverage_of(self, question: str, chunk_id: str) -> tuple[float, list[str]]:
        """IDF-weighted share of the question's terms that the passage, its heading or its document title
        holds (words no document uses weigh the most), and the question words it lacks, rarest first."""
        position = self.index.chunk_positions[chunk_id]
        held = set(self._chunk_terms(position)) | self._context_terms[position]
        from wordfreq import zipf_frequency

        weights = {}
        surface = {}
        for word in content_words(question):
            for term in index_terms(word)[:1]:
                if term in self._idf:
                    weights[term] = self._idf[term]
                elif zipf_frequency(word, "en") < RARE_WORD_ZIPF:
                    weights[term] = self._unknown_idf  # a name, drug or gene the corpus never uses
                else:
                    continue  # a common word the corpus does not use: more likely a paraphrase than a new topic
                surface.setdefault(term, word)
        if not weights:
            return 1.0, []
        missing = sorted((t for t in weights if t not in held and not (self._expand({t}) - {t}) & held), key=lambda t: -weights[t])
        total = sum(weights.values())
        return 1 - sum(weights[t] for t in missing) / total, [surface[t] for t in missing]

    def _what_is_missing(self, lacking: list[str], asked: list[str]) -> list[str]:
        """For an abstention, the words to name: a word no document uses ("riluzole"), else the ask the
        evidence never speaks to ("gene"), else the passage's rarest missing question words."""
        unknown = [w for w in lacking if index_terms(w)[0] not in self._vocabulary]
        return unknown[:2] or asked or lacking[:2]

    def _chunk_terms(self, position: int) -> set[str]:
        chunk_id = self.index.chunks[position].chunk_id
        terms: set[str] = set()
        for unit_position in self.index.units_by_chunk.get(chunk_id, ()):
            terms |= self._raw_terms[unit_position]
        return terms or set(index_terms(self.index.chunks[position].text))

    def _terms_of(self, statement: _Statement) -> set[str]:
        terms: set[str] = set()
        for position in statement.unit_positions:
            terms |= self._unit_terms[position]
        return terms

    def _redundant(self, position: int, covered: set[int]) -> bool:
        vectors = self.index.unit_vectors
        return any(float(vectors[position] @ vectors[c]) >= self.policy.redundancy_cosine for c in covered)

    def _yes_no(self, question: str, statement: _Statement) -> str | None:
        """'Yes.'/'No.' only when the evidence restates every content word of a plain yes/no question."""
        if not YES_NO_START.match(question.strip()) or has_negation(question) or " or " in question.lower():
            return None
        evidence = self.index.units[statement.unit_positions[0]].text
        if not set(content_terms(question)) <= set(index_terms(evidence)):
            return None
        return "No." if has_negation(evidence) else "Yes."


def _lower_first(text: str) -> str:
    # "Saddle anesthesia" -> "saddle anesthesia" inside a sentence, but keep acronyms such as "MRI".
    return text[0].lower() + text[1:] if len(text) > 1 and text[0].isupper() and not text[1].isupper() else text


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
