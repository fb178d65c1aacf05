"""Real public contact data (ABCD chats, TweetSumm tweets) as canonical `Interaction`s with honest outcome labels.

The label of a contact never travels inside it: ABCD labels come from the agent's logged system actions
(`ACT:` lines), which are dropped from the turns; TweetSumm labels come from the human summaries, which are
kept apart as ROUGE references. The rules are ordered tables, first match wins; `evals/labelling_rubric.md`
is their prose form. Timestamps are synthetic (the sources have none) and marked so in the metadata.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cx_worker.models import Interaction, OutcomeLabel, Turn

ABCD_LICENCE = "MIT (ASAPP ABCD)"
TWEETSUMM_LICENCE = "CC BY-NC-SA 4.0 dialog text; CC0 summaries"
ABCD_EPOCH = datetime(2026, 11, 1, tzinfo=UTC)
TWEETSUMM_EPOCH = datetime(2026, 11, 15, tzinfo=UTC)

# A change made in the chat or an FAQ answer given. "Details of <2-3 digit amount>" is a bill payment or a refund
# amount being entered (other "Details of" lines are usernames, addresses, phone numbers: neutral).
_OUTCOME_ACT = r"^A refund has been made|^A promo code has been created|^A password has been generated" \
    r"|^Account has been updated with|^Order has been updated with|^A purchase of .* was made" \
    r"|^FAQ answer related to .* was selected|^Details of \$?\d{2,3}(\.\d\d)? have been entered"

# ABCD: ordered (label, ACT pattern, why). First match wins, so a change outranks a notification (out of stock:
# purchasing notified AND the item ordered for the customer = resolved) and a link (link sent AND bill paid =
# resolved). A chat matching none is left unlabelled (None): identity checks, look-ups and notes ("Account has
# been pulled up", "Shipping status of ... has been noted", "Querying the system ...") do not say how it ended.
ABCD_RULES: tuple[tuple[OutcomeLabel, str, str], ...] = (
    ("resolved", _OUTCOME_ACT, "a change was made or an FAQ answer given"),
    ("escalated", r"has been notified\.?$", "a team was notified and nothing changed"),
    ("deflected", r"^A link will be sent", "a self-service link was sent and nothing changed"),
)
# The abandoned rule reads turns, not ACT lines: after the customer's last turn the agent checks whether
# they are still there and logs no outcome action.
_PRESENCE_CHECK = re.compile(r"are you (still )?there|still (with me|there)|\bhello\s*\?", re.IGNORECASE)


def abcd_label(lines: Sequence[str]) -> tuple[OutcomeLabel | None, str]:
    """Label an ABCD chat from its logged agent actions (and, for abandonment, its last turns).

    Args:
        lines: The chat's non-empty lines, each prefixed `SYS:`, `USR:` or `ACT:`.

    Returns:
        The label and the reason (rule and the ACT text or turn that matched). The label is None when no
        ACT line records an outcome: such chats are not labelled at all rather than guessed.
    """
    last_customer = max((i for i, line in enumerate(lines) if line.startswith("USR:")), default=-1)
    tail = lines[last_customer + 1:]
    check = next((line for line in tail if line.startswith("SYS:") and _PRESENCE_CHECK.search(line)), None)
    acted_after = any(line.startswith("ACT:") and re.search(_OUTCOME_ACT + r"|has been notified", line[4:].strip())
                      for line in tail)
    if check and not acted_after:
        return "abandoned", f"abandoned: agent checked for the customer after their last turn ({check[4:].strip()!r})"
    acts = [line[4:].strip() for line in lines if line.startswith("ACT:")]
    for label, pattern, why in ABCD_RULES:
        hit = next((act for act in acts if re.search(pattern, act, re.IGNORECASE)), None)
        if hit:
            return label, f"{label}: {why} (ACT {hit!r})"
    return None, "unlabelled: no ACT line records an outcome"


def abcd_flows(ontology: Mapping[str, Any]) -> dict[str, str]:
    """Map each ABCD subflow to its flow, from ontology.json's `intents.subflows`."""
    return {sub: flow for flow, subs in ontology["intents"]["subflows"].items() for sub in subs}


def _abcd_flow(subflow: str, flows: Mapping[str, str]) -> str | None:
    # The dev file names FAQ subflows by question ("shirt_how_4", "policy_2"); the ontology by topic.
    return flows.get(subflow) or flows.get(re.sub(r"(_(how|other))?_\d+$", "", subflow))


def _short_hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def abcd_to_interaction(
    text: str, subflow: str, *, index: int, flows: Mapping[str, str]
) -> tuple[Interaction, OutcomeLabel | None, str]:
    """Convert one ABCD chat to an `Interaction` without its ACT lines, plus its label and reason.

    Args:
        text: The chat as in abcd_dev_original_text_subflow.json (`SYS:`/`USR:`/`ACT:` lines).
        subflow: The chat's subflow (intent), e.g. "refund_initiate".
        index: Position in the source file; gives the id and the synthetic timestamps.
        flows: Subflow to flow map (`abcd_flows`); the flow becomes the queue.

    Returns:
        The interaction, its label (None if the ACT lines do not decide it) and the reason.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    label, reason = abcd_label(lines)
    speakers = {"SYS:": "agent", "USR:": "customer"}
    turns = [Turn(speaker=speakers[line[:4]], text=line[4:].strip())
             for line in lines if line[:4] in speakers and line[4:].strip()]
    customer_text = " ".join(t.text for t in turns if t.speaker == "customer")
    email = re.search(r"[\w.+-]+@[\w-]+\.\w+", customer_text)
    name = re.search(r"^ACT:Account has been pulled up for (\S.*?)\.?$", "\n".join(lines), re.MULTILINE)
    who = email.group(0).lower() if email else name.group(1).strip().lower() if name else f"index-{index}"
    started = ABCD_EPOCH + timedelta(minutes=17 * index)
    interaction = Interaction(
        id=f"abcd-dev-{index}", channel="chat", customer_id=f"abcd-cust-{_short_hash(who)}",
        started_at=started, ended_at=started + timedelta(seconds=30 * len(turns)), language="en",
        queue=_abcd_flow(subflow, flows), turns=turns,
        metadata={"source": "abcd", "subflow": subflow, "licence": ABCD_LICENCE, "synthetic_timestamps": True},
    )
    return interaction, label, reason


# TweetSumm: ordered (label, where, pattern) applied to ONE annotator's summary; first match wins, else no
# outcome is stated. `where` is the part of the summary searched: "all", "customer" (before the first mention of
# the agent) or "agent" (from it on, so the customer's own words, e.g. "his phone", do not count as the agent
# moving them to the phone). A "done" verb does not count after a purpose or future word ("to get it resolved",
# "are being fixed"): `_UNDONE`.
_UNDONE = re.compile(r"\b(to|will|would|can|could|so|help|try|trying|unable|not|cannot|until|if|get|be|being|after)"
                     r"\W+(\w+\W+){0,3}$")
_IF = re.compile(r"\b(so that|in order to|if|unless)\b[\w ]{0,30}$")  # "so that they can escalate": not done
_TEAM = r"(team|department|leadership|manager|supervisor|engineers?|experts?|specialists?|suppliers?)"
TWEETSUMM_RULES: tuple[tuple[OutcomeLabel, str, str], ...] = (
    ("abandoned", "all", r"(did ?n[o']t|does ?n[o']t|never) (respond|reply|get back)|no (response|reply) from the "
     r"customer|stopped (responding|replying)|(did ?n[o']t|not) hear(d)? back"),
    ("resolved", "customer", r"\b(prais\w*|compliment\w*|kind words|positive feedback|great feedback)\b"),
    ("resolved", "all", r"\b(fixed|resolved|solved|sorted)\b|\bworking (now|again|fine)\b|\bworks now\b|"
     r"\b(figured|worked) it out\b|\bdid the trick\b|\bmanaged to (fix|sort|solve|resolve)|"
     r"thank\w* [\w ]{0,25}for (the |their )?(fix|solution|resolving|sorting)|"
     r"\b(has|have|had) been (refunded|credited|rebooked|replaced|reinstated|restored|unlocked|reset|activated)\b"),
    ("escalated", "agent", r"(?<!going )(?<!moving )(?<!look )(?<!looking )\b(forward|escalat)\w*\b|"
     r"\b" + _TEAM + r" will (contact|call|get back|reach out|follow up)|\bloop\w* in\b|\bfed\w* (\w+ )?back\b|"
     r"\binternal review|\b(pass|send|sent|share|report|refer|rais|notif|noted|logged)\w*\b[\w ,]{0,60}\b" + _TEAM +
     r"\b|\b(pass|share|send|sent|raise|note)\w* (down |on )?(the |their |his |her |this |your )?(feedback|"
     r"comment|concern|complaint|ticket)|\b(feedback|comments?|concerns?) (will|are|is|has|have)( be| been)? "
     r"(considered|passed|shared|noted|logged|reviewed)"),
    ("deflected", "agent", r"\b(dm|dms|direct message\w*|private message\w*|inbox|(via|in|by|a) pm)\b|"
     r"\b(link|url|website|web ?page|web ?form|online form)\b|\b(submit|fill\w*|complete)\b[\w ]{0,20}\bform\b|"
     r"\bvisit\b|\b(to|and|or|please|kindly) (call|dial|ring)\b|\bcall (us|them|the|their|our|on|back)\b|"
     r"\b(phone|call) (number|line)|\b(provid|shar|giv|gave)\w* (the |a |their |two |2 )?(\w+ )?(contact|phone|"
     r"helpline) numbers?|\bvia (phone|e-?mail|chat)|\be-?mail (us|them|their|the|his|her|your)\b|"
     r"\b(to|and|or|please|kindly|should|can|could|may|must) contact\b|"
     r"\breach (out|them)\b(?! again| if| for (any )?further)|"
     r"\bget in touch|\bfollow up with|\bcheck (the |their |his |her |your )?(e-?)?mail|"
     r"\b(appointment|technician)\b|\b(check|speak|talk) (with|to) (the |their |his |her )?\w+ "
     r"(team|department|desk|store|bank|staff|member|centre|center)|\b(nearest|local|nearby|visit|go to|go into|"
     r"pop in\w*|take it to|bring it to) (the |a |their |your |any )?(\w+ )?(store|shop|branch|service cent(er|re))\b"),
)
# Last rule, on the summary as a whole: the customer asked, the agent told, and nothing signals a refusal,
# a cost, a wait or a problem, so the question was answered.
_ASKED = r"\b(ask|enquir|inquir|question|query|queries|want\w* to know|wonder)\w*\b"
_TOLD = r"\b(inform|repl|say|said|state|update|explain|confirm|clarif|tell|told|answer)\w*\b"
_NOT_AN_ANSWER = r"\b(unable|cannot|can't|can not|not|no|n't|only|extra|charged?|sorry|apolog\w*|unfortunately|" \
    r"issues?|problems?|complain\w*|suffer\w*|disappoint\w*|wait\w*|delay\w*)\b"
_EVIDENCE_ORDER: tuple[OutcomeLabel, ...] = ("escalated", "deflected", "resolved", "abandoned")


def _summary_label(summary: str) -> tuple[OutcomeLabel | None, str]:
    text = " ".join(summary.split()).lower()
    agent_at = text.find("agent")
    parts = {"all": text, "customer": text[:max(agent_at, 0)], "agent": text[agent_at:] if agent_at >= 0 else text}
    for label, where, pattern in TWEETSUMM_RULES:
        scope = parts[where]
        for hit in re.finditer(pattern, scope):
            before = scope[max(0, hit.start() - 40):hit.start()]
            if not (label == "resolved" and _UNDONE.search(before) or _IF.search(before)):
                return label, hit.group(0).strip()
    told = re.search(_TOLD, parts["agent"])
    if agent_at > 0 and told and re.search(_ASKED, parts["customer"]) and not re.search(_NOT_AN_ANSWER, text):
        return "resolved", f"answered: {told.group(0)}"
    return None, ""


def tweetsumm_label(summaries: Sequence[Sequence[str] | str]) -> tuple[OutcomeLabel, str]:
    """Label a TweetSumm dialog from its human summaries by the written rubric, annotators combined by majority.

    A summary that states no outcome is no vote against one (summaries are two sentences and leave much out):
    the label is the majority among the annotators whose summary states an outcome, and "unresolved" only when
    none does.

    Args:
        summaries: One summary per annotator, each a list of sentences (as in the source) or one string.

    Returns:
        The label (ties go to escalated, deflected, resolved, abandoned, in that order) and the reason: the
        vote and, per annotator, the label and the phrase that matched.
    """
    votes = [_summary_label(s if isinstance(s, str) else " ".join(s)) for s in summaries]
    counts = Counter(label for label, _ in votes if label)
    top = max(counts.values(), default=0)
    label: OutcomeLabel = next((lab for lab in _EVIDENCE_ORDER if top and counts.get(lab) == top), "unresolved")
    detail = "; ".join(f"a{i}={lab or 'none'}" + (f" ({phrase!r})" if phrase else "")
                       for i, (lab, phrase) in enumerate(votes))
    return label, f"{label}: {top}/{len(votes)} annotators state it ({detail})"


def reading_label(row: Mapping[str, Any]) -> tuple[OutcomeLabel, str]:
    """The reference label of a read TweetSumm dialog (a `tweetsumm_handcheck.jsonl` row) and how it was reached.

    A dialog read by two readers blind to each other takes their label when they agree; when they disagree, the
    label of a third reading that saw both (`adjudication`); a disagreement not yet adjudicated, and a dialog read
    once, take the first reading.

    Returns:
        The label and its provenance: "read once", "read twice, agreed", "read twice, adjudicated" or
        "read twice, not adjudicated".
    """
    first = row["checked_label"]
    second = (row.get("second_reading") or {}).get("label")
    if second is None:
        return first, "read once"
    if second == first:
        return first, "read twice, agreed"
    adjudicated = (row.get("adjudication") or {}).get("label")
    if adjudicated is None:
        return first, "read twice, not adjudicated"
    return adjudicated, "read twice, adjudicated"


def tweetsumm_references(obj: Mapping[str, Any]) -> list[str]:
    """Each annotator's abstractive summary of a TweetSumm dialog, joined into one string."""
    return [" ".join(" ".join(s).split()) for s in obj["abstractive_summaries"]]


def _brand_handle(turns: Sequence[Mapping[str, str]]) -> str | None:
    handles = Counter(h for t in turns if t["role"] == "customer"
                      for h in re.findall(r"@(\w+)", t["text"]) if not h.isdigit())
    return handles.most_common(1)[0][0] if handles else None


def tweetsumm_to_interaction(obj: Mapping[str, Any], *, index: int) -> tuple[Interaction, OutcomeLabel, str]:
    """Convert one TweetSumm dialog to an `Interaction` (summaries left out), plus its rubric label and reason.

    Args:
        obj: One line of tweetsumm_dialogs.jsonl (`conversation_id`, `turns`, `abstractive_summaries`).
        index: Position in the source file; gives the synthetic timestamps.

    Returns:
        The interaction, its label and the reason.
    """
    label, reason = tweetsumm_label(obj["abstractive_summaries"])
    turns = [Turn(speaker=t["role"], text=t["text"].strip()) for t in obj["turns"] if t["text"].strip()]
    addressed = next((m.group(1) for t in obj["turns"] if t["role"] == "agent"
                      for m in [re.match(r"\s*@(\d+)\b", t["text"])] if m), None)
    conversation_id = obj["conversation_id"]
    started = TWEETSUMM_EPOCH + timedelta(minutes=17 * index)
    interaction = Interaction(
        id=f"tweetsumm-{conversation_id}", channel="messaging", customer_id=addressed or f"tw-{conversation_id[:10]}",
        started_at=started, ended_at=started + timedelta(seconds=30 * len(turns)), language="en",
        queue=_brand_handle(obj["turns"]), turns=turns,
        metadata={"source": "tweetsumm", "conversation_id": conversation_id, "licence": TWEETSUMM_LICENCE,
                  "synthetic_timestamps": True},
    )
    return interaction, label, reason


def licence_text(shared: Path, *, heading: str = "##") -> str:
    """The datasets' sources and licences, in Markdown (the READMEs of the bundled slices), from the licence files
    of `shared` (the shared data folder); `heading`: the Markdown level of each dataset's title."""
    mit = (shared / "abcd/LICENSE_MIT_asapp.txt").read_text().strip()
    cc0 = (shared / "tweetsumm/LICENSE_CC0.txt").read_text().splitlines()
    return (
        f"{heading} ABCD (Action-Based Conversations Dataset), ASAPP, NAACL 2021\n"
        "Source: github.com/asappresearch/abcd via github.com/wyshi/sdp_transformers (dev split, "
        f"abcd_dev_original_text_subflow.json). Licence recorded in each contact: `{ABCD_LICENCE}`.\n\n"
        f"```\n{mit}\n```\n\n"
        f"{heading} TweetSumm (Feigenblat et al., Findings of EMNLP 2021)\n"
        f"Licence recorded in each contact: `{TWEETSUMM_LICENCE}`.\n"
        "- Dialog text: Kaggle \"Customer Support on Twitter\" corpus (as processed in "
        "github.com/IssamLaradji/chat_summarization_tutorial), CC BY-NC-SA 4.0: non-commercial use, share alike, "
        "attribution. Customer handles are the corpus's anonymised numbers.\n"
        "- Summaries: github.com/guyfe/Tweetsumm (tweet_sum_data_files/), "
        f"{cc0[2].strip() if len(cc0) > 2 else 'CC0 1.0 Universal'} (LICENSE_CC0.txt: \"{cc0[0].strip()}\").\n"
    )
