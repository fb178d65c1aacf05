"""Reading a dialog and a summary for the attribution check (`attribution.py`).

The transcript side: each turn split into sentences, each sentence sorted by what it does (`Sentence.mode`): asks
the other party to do something, asks a question, reports something done, promises, hedges ("we'll look into it"),
echoes the other party ("sorry to hear your parcel …"), or just states. The summary side: clauses with their
subject (customer, agent, or a pronoun carrying the previous subject) and what each claims (`Claim.frame`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from cx_worker.governance import attribution_lexicon as lx
from cx_worker.governance.attribution_lexicon import normalise, raw_stem, stem, terms

Actor = Literal["customer", "agent"]
OTHER: dict[str, Actor] = {"customer": "agent", "agent": "customer"}


# --- the transcript -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sentence:
    turn: int
    speaker: Actor
    mode: str  # echo, conditional, question, request, negated, hedge, future, done, you_done, statement
    terms: frozenset[str]
    heard: frozenset[str]  # a short answer's terms plus those of the question it answers
    text: str

    @property
    def negated(self) -> bool:
        """A statement's polarity: a negation anywhere, or an answer that says no ("No." to "Did it arrive?")."""
        return bool(lx.NEGATION.search(self.text) or re.match(r"\W*(?:no|nope|nah|none)\b", self.text))

    def denies(self, key: frozenset[str]) -> bool:
        """Is the act itself negated ("I'm not disconnecting them"), not a word elsewhere ("… that I don't have")?"""
        words = re.findall(r"[a-z_']+", self.text)
        return any(stem(w) in key and any(v in lx.NEGATORS or v.endswith("n't") or v == "not"
                                          for v in words[max(0, i - 3):i]) for i, w in enumerate(words))


_PAST = r"(?:\w+ed|" + "|".join(w for w in lx.IRREGULAR if w.isalpha() and len(w) > 3) + ")"
_YOU_DONE = re.compile(rf"\b(?:you|u)(?:'ve| have| had| did| already| just| were| was)*\s+{_PAST}\b")
_SENTENCE = re.compile(r"(?:[^.!?;\n]|\.(?=\d))+[.!?;\n]*")  # "version 8.4.26" is one sentence
_SPLIT_SENTENCE = re.compile(r",\s*(?=(?:please|pls|kindly|but|so|then|if|i|we|you|they|he|she|it|may|can|could|how|"
                             r"what|why|when|where|is|are|do|does|any)\b)"
                             r"|\b(?:and|so) (?=(?:please|can you|could you|may i|can i|can we|i|we|you|it)\b)|\bbut\b")
_FILLER = frozenset("just simply please kindly then also and so ok okay now first next".split())


def _mode(text: str) -> str:
    s = text.strip()
    words = re.findall(r"[a-z']+", s)
    first = next((w for w in words if w not in _FILLER), "")
    if (words or [""])[0] == "if":
        return "conditional"
    if s.endswith("?") or lx.QUESTION_START.search(s) and not lx.FIRST_PERSON_DONE.search(s):
        return "question"
    imperative = first in lx.IMPERATIVE_START and not re.search(rf"\b{first}\s+{_PAST}\b", s)  # not "DM sent"
    if lx.REQUEST_FORM.search(s) or imperative:
        return "request"
    if lx.NEGATION.search(s):
        return "negated"
    if lx.HEDGE.search(s):
        return "hedge"
    if lx.FUTURE.search(s):
        return "future"
    if lx.FIRST_PERSON_DONE.search(s) or re.match(rf"\W*(?:just |already |also )?{_PAST}\b", s):
        return "done"
    return "you_done" if _YOU_DONE.search(s) else "statement"


def _parts(speaker: Actor, text: str) -> list[tuple[str, str]]:
    """(mode, text) of a turn's sentences; an agent's echo of the customer is cut off the sentence it opens."""
    out = []
    for sentence in _SENTENCE.findall(normalise(text)):
        conditional = False  # "if you have the receipt, we can process the return": both halves are conditional
        for part in _SPLIT_SENTENCE.split(sentence):
            echo = lx.ECHO.search(part) if speaker == "agent" else None
            if echo:
                cut = re.search(r"[,\u2014\u2013]| - ", part[echo.end():])
                out.append(("echo", part[: echo.end() + cut.start()] if cut else part))
                part = part[echo.end() + cut.end():] if cut else ""
            if part.strip(" ,.!?;\n"):
                mode = "conditional" if conditional else _mode(part)
                conditional = mode == "conditional"
                out.append((mode, part))
    return out


def sentences(turns: list[tuple[Actor, str]]) -> list[Sentence]:
    """Every turn split into sentences, each with what it does and its content terms."""
    out: list[Sentence] = []
    for i, (speaker, text) in enumerate(turns):
        asked: frozenset[str] = frozenset()
        if i and turns[i - 1][0] != speaker and "?" in turns[i - 1][1] and len(re.findall(r"\w+", text)) <= 15:
            asked = frozenset(terms(turns[i - 1][1]))  # "Is it the first week?" "Nope. Week 2."
        for mode, part in _parts(speaker, text):
            t = frozenset(terms(part))
            out.append(Sentence(i, speaker, mode, t, t | asked, part))
    return out


# --- the summary ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Claim:
    span: str  # the clause as the summary wrote it
    actor: Actor  # who the summary says did or said it
    frame: str  # said, question, request, done, sorry, thank
    verb: str  # the verb's raw stem
    key: frozenset[str]  # what must occur for an act: the verb, or the object of a light verb
    content: frozenset[str]


# Clause boundaries; a relative clause only after a comma (", which fixed it"), not "asked which version …".
_SEPARATOR = re.compile(r"(;|:(?=\s)|,?\s+(?:and|but|while|whereas|after|before)\b|,\s*(?:then|which|who)\b|,(?=\s))",
                        re.I)
_VERB_SETS = {frame: frozenset(raw_stem(v) for v in verbs) for frame, verbs in (
    ("said", lx.SPEECH_VERBS), ("request", lx.REQUEST_VERBS), ("question", lx.QUESTION_VERBS),
    ("sorry", lx.APOLOGY_VERBS), ("thank", lx.THANK_VERBS), ("state", lx.STATE_VERBS))}
_TELLING = frozenset().union(*(_VERB_SETS[f] for f in ("said", "request", "question", "sorry", "thank")))
_KNOWN_VERBS = frozenset().union(*_VERB_SETS.values(), (raw_stem(v) for v in lx.IMPERATIVE_START))
_OBJECT = re.compile(r"^(?:(?:the |their |his |her )?(?:customer|agent|client|caller|user|rep|representative)|them|"
                     r"him|her|me|us)\b\s*", re.I)
_SPEECH_OR_ACT = frozenset(raw_stem(v) for v in lx.SPEECH_OR_ACT)
_DECISION = frozenset(raw_stem(v) for v in lx.DECISION_VERBS)
_GENERIC_ACT = frozenset(raw_stem(v) for v in lx.GENERIC_ACT_VERBS)
TRANSACTIONS = frozenset(stem(v) for v in lx.TRANSACTIONS)
# A clause with a clause inside it: "asked why Norton blocks …", "as they see the flight departed …".
_EMBEDDED = re.compile(r"\b(?:that|as|if|when|because|since|so|where|whether|how|why|what)\s+(?!to\b)\w+", re.I)
_WH = frozenset("whether if why how what when where which who about".split())
_AMBIGUOUS_PAST = frozenset("reset set put cut read shut hit let".split())
_PASSIVE_REQUEST = re.compile(r"(?:was|were|is|are|has been|had been|got) (?:asked|told|advised|instructed|directed|"
                              r"requested|prompted|encouraged|reminded|urged)\b", re.I)


def _next_verb(words: list[str]) -> str:
    return next((w.lower() for w in words if w.lower() not in lx.ADVERBS), "")


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z_'-]+|\d+(?:[:;.,]\d+)*", text)  # "13:00", "8.4.26" whole, for `terms`


def _subject(words: list[str]) -> tuple[str | None, int]:
    """(customer|agent|pronoun|possessive, words used) when the clause opens with its subject, else (None, 0)."""
    for i, w in enumerate(words[:5]):
        low = w.lower()
        if low in lx.PRONOUNS and i == 0:
            return "pronoun", 1
        following = words[i + 1].lower() if i + 1 < len(words) else ""
        base = low[:-2] if low.endswith("'s") else low
        actor = ("customer" if base.rstrip("s") in lx.CUSTOMER_WORDS and following not in ("service", "care", "support")
                 else "agent" if base in lx.AGENT_WORDS else None)
        if actor:
            return ("possessive" if low.endswith("'s") else actor), i + 1
        brand = w[:1].isupper() and low != "it" and raw_stem(low) not in _KNOWN_VERBS  # "The Delta agent"
        if low not in lx.SUBJECT_MODIFIERS and not brand:
            return None, 0
    return None, 0


def _opens_clause(words: list[str], after_speech: bool) -> bool:
    """Does a piece with no subject start a new verb phrase of the same subject ("… and sent a link")? A gerund
    ("… after logging in") does not: whose act it is depends on the verb it hangs from."""
    words = [w.lower() for w in words]
    while words and words[0] in lx.ADVERBS:
        words.pop(0)
    if not words:
        return False
    w = words[0]
    if w in _AMBIGUOUS_PAST:
        return not after_speech  # "asked them to unplug it and reset it": still the request
    if w.endswith("ed") and len(w) > 4 or w in lx.PAST_FORMS:
        return True
    return w.endswith("s") and not w.endswith("ss") and raw_stem(w) in _KNOWN_VERBS  # present tense: "asks"


def _frame(predicate: str) -> tuple[str, str, frozenset[str], frozenset[str]] | None:
    """(frame, verb, key, content) of the words after the subject, or None when nothing checkable is claimed."""
    joined = predicate.lower()
    for phrase, one in lx.PHRASES:  # "power cycled", "logged out": one verb
        joined = re.sub(rf"\b{phrase}\b", one, joined)
    words = _words(joined)
    while words and (words[0] in lx.ADVERBS or words[0] in ("did", "does", "do") and len(words) > 1
                     and words[1] in lx.NEGATORS):
        if words.pop(0) in lx.NEGATORS:
            return None  # "did not refund", "never replied": no act claimed
    if not words or words[0] in lx.NEGATORS or words[0] in lx.BE or words[0] == "able":
        return None  # negated, or a state or passive ("was charged"): nothing the subject did
    if words[0] in lx.MODALS:
        if len(words) > 1 and (words[1] in lx.NEGATORS or words[1] == "not"):
            return None
        return "said", "", frozenset(), frozenset(terms(" ".join(words[1:])))  # a promise: who made it
    verb, rest = words[0], words[1:]
    if raw_stem(verb) in _DECISION and rest[:1] == ["to"]:  # "decided to wait": as if they said they would
        return "said", raw_stem(verb), frozenset(), frozenset(terms(" ".join(rest[1:])))
    if raw_stem(verb) in ("try", "attempt", "manag", "proceed") and rest:
        rest = rest[1:] if rest[0] == "to" else rest
        verb, rest = (rest[0], rest[1:]) if rest else (verb, rest)
    raw = raw_stem(verb)
    tail = _OBJECT.sub("", " ".join(rest))
    content = frozenset(terms(tail))
    for frame in ("sorry", "thank"):
        if raw in _VERB_SETS[frame]:
            return frame, raw, frozenset({stem(verb)}), frozenset()
    if raw == "ask":
        return ("question" if (tail.split() or [""])[0] in _WH else "request"), raw, frozenset(), content
    after = " ".join(rest)
    for frame in ("question", "request", "said"):
        if raw in _VERB_SETS[frame] and not (raw in _SPEECH_OR_ACT and re.match(  # "updated the order": an act
                r"(?:the|a|an|their|his|her|its|your|my|our|this|these|those|it)\b(?! customer\b)", after)):
            if frame == "said" and re.match(r"(?:(?:the )?customer |them |him |her |that )?to\b", after):
                return "request", raw, frozenset(), content  # "informed them to DM the order number"
            return frame, raw, frozenset(), content
    if raw in _VERB_SETS["state"] or not (raw in _KNOWN_VERBS or verb.endswith("ed") or verb in lx.IRREGULAR
                                          or "_" in verb):
        return None
    if raw in _GENERIC_ACT:  # "processed the return": the object is the act, if it is a transaction
        key = frozenset(t for t in content if t in TRANSACTIONS)
        return "done", raw if key else "do", key or content, content
    key = frozenset({stem(verb)}) if raw not in lx.LIGHT_VERBS else content
    return "done", raw, key, content


def claims(summary: str) -> list[Claim]:
    """The summary's clauses whose actor is known, with what each claims."""
    out: list[Claim] = []
    last: Actor | None = None
    ambiguous = False  # the last clause named the other party as its object: "he"/"they" could be either
    for sentence in re.split(r"(?<=[.!?])\s+", summary.strip()):
        pieces = _SEPARATOR.split(sentence)
        clauses: list[list] = []  # [actor, predicate, span, frame]
        reported = False  # past a "said …" of this sentence, a subject may be inside what was said
        for sep, text in zip([""] + pieces[1::2], pieces[0::2], strict=True):
            words, sep_word = _words(text), sep.strip(" ,").lower()
            kind, used = _subject(words)
            reported = reported and sep_word not in (";", ":")
            if sep_word in ("which", "who") or kind == "possessive":
                if kind == "possessive" and not reported:
                    last = "customer" if words[used - 1].lower()[:-2] in lx.CUSTOMER_WORDS else "agent"
                clauses.append([None, "", text, None])
                continue
            if kind is None and clauses and sep_word not in (";", ":"):
                prev = clauses[-1]
                if prev[0] is None or not _opens_clause(words, prev[3] in ("said", "request", "question")):
                    prev[1] += sep + text
                    prev[2] += sep + text
                    continue
                # "… as they see the flight departed and landed on time": whose verb is "landed" is unclear, unless
                # it repeats the telling or asking ("asked why Norton blocks it and asked for …")
                embedded = _EMBEDDED.search(prev[1])
                actor = None if embedded and raw_stem(_next_verb(words)) not in _TELLING else prev[0]
            elif kind in ("customer", "agent"):  # ", and the customer …" starts a clause of its own
                actor = None if reported and not re.fullmatch(r";|,\s*(?:and|but|then|while)", sep.strip()) else kind
            elif kind == "pronoun":
                actor = None if ambiguous or reported else last
            else:
                actor = None
                if not clauses:
                    last = None  # a sentence with no subject: a later pronoun has no clear referent
            predicate = " ".join(words[used:])
            framed = _frame(predicate) if actor else None
            clauses.append([actor, predicate, text, framed[0] if framed else None])
            reported = reported or bool(framed and framed[0] == "said")
            if actor and sep_word not in ("while", "whereas", "after", "before"):
                last = actor
                after_verb = [w for w in _words(predicate) if w.lower() not in lx.ADVERBS][1:3]
                ambiguous = bool(_OBJECT.match(" ".join(after_verb)))
        for actor, predicate, span, _ in clauses:
            passive = _PASSIVE_REQUEST.match(predicate)
            if actor and passive:  # "the customer was asked to …": the other party asked
                content = frozenset(terms(re.sub(r"^\s*(?:to|for|about)\b", "", predicate[passive.end():])))
                out.append(Claim(span.strip(" ,;:"), OTHER[actor], "request", "ask", frozenset(), content))
            elif actor and (framed := _frame(predicate)):
                out.append(Claim(span.strip(" ,;:"), actor, *framed))
    return out
