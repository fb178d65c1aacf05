"""Deterministic outcome signals read from a contact's turns, each with the turns that fired it.

The signals sit beside the kNN vote (`classify.py`) and are what a reviewer reads first: "the agent asked the
customer to DM (turn 5) and nothing was fixed", "the agent checked whether the customer was still there (turns 9,
10) and got no reply". No LLM is involved. The phrases are the ones agents and customers really use in the public
data this project is built on (ABCD chats, TweetSumm tweets), not only textbook phrasing; a pattern that needs
a second word to be safe says so.

A signal fires with the indexes (into `Interaction.turns`) of the turns that carry it and the phrase that
matched. `FEATURES` is the fixed order in which signals become features of the fusion model: adding, removing
or renaming one changes `VERSION`, and a fusion model fitted on another version is not used.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from cx_worker.models import Interaction, Turn

VERSION = "signals-v3"  # v3: more ways a customer says it works now; "it works on X but" is not one

_STAFF = ("agent", "bot")
_I = re.IGNORECASE
# A completed-action or confirmation phrase does not count right after one of these words: "not fixed",
# "didn't work", "unable to refund", "will be processed", "to get it resolved".
_NEGATED = re.compile(
    r"(\bnot|n't|\bnever|\bno longer|\bunable to|\bcannot|\bcan ?not|\bwill|\bto|\bif|\bonce|\bwhen|\bhope|\bbefore"
    r"|\buntil|\bstill|\bget|\blet me|\bhelp)\W+(\w+\W+){0,2}$", _I)

# The agent or bot checks whether the customer is still there ("Are you still there David?", "hello?", "If you
# don't respond soon I'll have to label the conversation as incomplete", "We haven't heard back from you").
_PRESENCE = re.compile(
    r"\bare you (still )?(there|with me|around)\b|\bstill (there|with me)\s*\?|^\W*(hello|hi|hey)\W*\?+\W*$"
    r"|\bhello+\s*\?|\bif (you|i) (don'?t|do not|doesn'?t) (respond|reply|hear)|\bdon'?t hear (back )?from you"
    r"|\b(haven'?t|have not|didn'?t|did not) (heard|hear|received|get|got) (back |a (response|reply) )?from you"
    r"|\b(due to|because of) (no response|inactivity|not hearing)|conversation as incomplete"
    r"|\bawaiting (for )?your (response|reply)", _I)
# The agent or bot asks the customer for something (a question, "please provide ...").
_ASKS = re.compile(
    r"\?\s*(\S{0,12})$|\?\s|\b(please|kindly|pls) (provide|confirm|send|share|let (me|us) know|tell|check|try|"
    r"reply|respond)|\b(can|could|may) (i|you|we) (have|get|please|provide|confirm|send|tell)", _I)
# A closing courtesy: the agent is done, not waiting for an answer.
_CLOSING = re.compile(
    r"\banything else\b|\bhave a (great|good|nice|lovely|wonderful)\b|\byou'?re (very )?welcome\b|\bglad (to|we|i)\b"
    r"|\b(good ?bye|bye)\b|\bthanks? (you )?for (contacting|reaching|choosing|flying|your patience)\b"
    r"|\bhappy to help\b|\bjust (a tweet|shout)|\btake care\b|\benjoy\b", _I)

# Hand-offs to another channel or to self-service.
_HANDOFF = {
    "dm": re.compile(
        r"\b(dm|dms|dm'?d|direct ?message\w*|private message\w*|(via|in|by|a) pm|inbox|"
        r"send us a (quick )?(message|note|line)|message us|follow us|(drop|shoot|slide into) (us )?(a |our |the )?dm)"
        r"\b", _I),
    "phone": re.compile(
        r"\b(give|gave) (us|them|our \w+ team) a (call|ring)|\b(please|kindly|you can|you could|you may|feel free to|"
        r"you'll need to|you will need to|need to|best to) (call|ring|phone|dial)\b|\bcall (us|them|our|their|in)\b|"
        r"\b(our|the|their|this) (\w+ )?(contact|phone|helpline|telephone|hotline|support) (number|line)\b|"
        r"\b1-?8[0-9]{2}\b|\bcall (center|centre)|\bby phone\b|"
        r"\b(best|a) (contact )?number to (reach|call|contact) you\b", _I),
    "link": re.compile(
        r"https?://|\bt\.co/|\bwww\.|\b(link|links|url|faq|faqs|web ?site(?! team| department)|web ?page"
        r"|web ?form|online form|help ?"
        r"(page|center|centre|article)|support (page|article|site)|article|this page|knowledge ?base|"
        r"self[- ]service)\b|\b(submit|fill\w*|complete)\b[\w ]{0,20}\bform\b", _I),
    "elsewhere": re.compile(
        r"\b(visit|go to|go into|pop in\w*|take it to|bring it to|head to|speak to|check with) (the |a |your |any |"
        r"our |an )?(nearest |local |closest )?(store|shop|branch|service cent(er|re)|apple store|airport|"
        r"gate|desk|crew\w*|bank|carrier|provider|manufacturer|seller|retailer|post office|dealer)\b|"
        r"(?<!for )\b(contact|reach out to|get in touch with) (your|the|their|them|him|her|(?-i:[A-Z]\w+))\b|"
        r"\b(you|please|kindly) (can |could |may |should )?(contact|reach out to|get in touch with)\b|"
        r"\b(try|tried|trying) (contacting|calling|reaching out to|emailing)\b|\be-?mail (us|them)\b"
        r"|\bemail address (below|above)\b|\bappointment\b", _I),
}

# A change made or a thing done in the contact ("I have refunded", "your order has been updated", "you're all
# set", "it's been paid", "Your username is ..."). Offers ("I can refund") and promises ("will be") do not count.
_FIX = re.compile(
    r"\b(i|we)('ve| have| had|'ll go ahead and| went ahead and| just)? (just |now |already |also |gone ahead and )?"
    r"(refunded|issued|processed|updated|changed|canceled|cancelled|reset|reactivated|activated|applied|added|"
    r"credited|rebooked|re-booked|upgraded|removed|fixed|resolved|sorted|placed|ordered|corrected|extended|"
    r"waived|reversed|unlocked|restored|charged|generated|created|paid|submitted|moved|switched|amended|"
    r"adjusted|replaced|reinstated|re-?sent|resent|emailed|sent (you |it )?(a |the |your )?(new |replacement |"
    r"reset |refund|promo|code|password|itinerary|confirmation|voucher|credit))\b"
    r"|\b(has|have|had) (now )?been (refunded|processed|updated|changed|canceled|cancelled|reset|applied|"
    r"credited|rebooked|fixed|resolved|removed|added|reinstated|restored|extended|waived|corrected|placed|paid|"
    r"reactivated|activated|issued|generated|sent|reversed|replaced)\b"
    r"|\b(you'?re|you are|you should be|you'?ll be|you both are|you'?re both) (all )?(set|good to go|sorted)\b"
    r"|\ball (set|done)\b|\bgood to go\b|\b(it'?s|it has|that'?s) been (paid|done|taken care of)\b"
    r"|^\W*done\W*$|\bpromo code (is|for|of)\b|\b(your|the) (new |temporary )?(password|username|user name|"
    r"code) is\b|\btaken care of\b|\bsquared away\b"
    r"|\b(i|we)('ve| have)? (just )?(put|placed) (it|them|that|this|the \w+|an? \w+|your \w+)( on"
    r"| in)? (back ?)?order\b"
    r"|\b(made|completed) (that|the|a|your) (purchase|order|payment|refund)\b"
    r"|\b(i|we)('ve| have)? (just |now )?(renewed|posted|reordered|re-ordered) (your|the|a|that)\b"
    r"|\b(all|fully) paid( up)?\b|\b(payment|refund) (has been|was|is now) (sent|made|posted|processed|applied)\b", _I)

# The customer says it worked ("That worked. Thank you", "It's fixed now", "Everything seems to be great now!",
# "Figured it out", "I'm booked!"). A plain "thanks" is `customer_thanks`, a weaker signal.
_CONFIRM = re.compile(
    r"\b(it|that|this|everything|all|which) ('s |is |has |seems to be |seems to |appears to be |did )?(work|works|"
    r"worked|working)\b(?!\s+(on|when|if|except|but|elsewhere|until))|"
    r"\b(works|working|worked) (now|again|fine|great|perfectly|out)\b"
    r"(?!\s+(on|with|in|when|if|for|except|but|other|elsewhere))|\b(it|that|this|issue|"
    r"problem|all|everything)('s| is| has been| was| got)? (now )?(fixed|solved|sorted|resolved)\b|"
    r"\b(figured|sorted|worked) it out\b|\bdid the trick\b|\ball (good|sorted|fixed|clear|set)\b|"
    r"\bproblem solved\b|\bthat (helps|helped|answers|makes sense)\b|\bi'?m (booked|in|sorted)\b|"
    r"\b(found|got) it\b(?!\s*\?)|\b(thanks?|thank you)\b.{0,30}\b(sorting|fixing|resolving|solving|the fix)\b|"
    r"\b(seems|seem|appears) to be (working|fine|ok|okay|good|great|sorted|fixed)\b"
    r"(?!\s+(on|with|in|when|if|for|except|but|other|elsewhere))|"
    r"\b(everything|all|it|that)('s| is| seems| looks)?( to be)? (fine|ok|okay|good|great|back to normal) now\b|"
    r"\bback (up and running|to normal|online)\b|\bup and running\b|"
    r"\b(i'?ve|i have|i) (finally )?(been|got|received) (reimbursed|refunded|my refund|the refund|it)\b",
    _I)
_THANKS = re.compile(r"\b(thanks?|thank ?(you|u)|thx|ty|cheers|appreciate\w*|grateful)\b", _I)
# A complaint still open at the end ("Still no bag...what a mess", "Forget it. We are shopping elsewhere").
_COMPLAINT = re.compile(
    r"\b(still|again) (not|no|doesn'?t|isn'?t|won'?t|can'?t|getting|having|down|broken|waiting|nothing|"
    r"the same|inaccurate|wrong|happening|an issue|a problem)\b|\bspoke too soon\b|\bnot (working|fixed"
    r"|resolved|happy|good enough|acceptable|impressed|helpful|fair|"
    r"received)\b|\b(didn'?t|doesn'?t|does not|did not|won'?t|isn'?t|wasn'?t) (work|help|fix|solve|"
    r"resolve|answer)|\b(unacceptable|ridiculous|disappoint\w*|terrible|awful|worst|pathetic|useless|"
    r"unhelpful|frustrat\w*|furious|disgust\w*|appall\w*|shameful|outrage\w*|horrible|incompeten\w*|"
    r"rude|liars?|lying|joke|scam)\b|\bno (help|response|reply|one (answers|is answering|has))\b|"
    r"\bwaste of\b|\bnever (again|received|got|heard)\b|\b(shopping|going) elsewhere\b|\bswitch(ing)? "
    r"(provider|to|carriers?)\b|\bcancel+(ing)? my\b|#\w*fail\w*|#\w*(disappointed|terrible|shame)\w*|"
    r"😡|😠|🤬|😤|\bforget it\b|\bnothing (was |has been )?(done|happened)\b|\bnot (good|great) enough\b", _I)
# The agent or bot moves the case to another team or a person with more power, inside the company.
_ESCALATE = re.compile(
    r"\bescalat\w*|\bforward(ed|ing)? (this|it|that|your|the|on|along)\b|\b(pass|passed|passing) (this |it |"
    r"that |your \w+ |the \w+ |these \w+ )?(on|along|to)\b|\b(let|make|made|making) (our|the|a) (\w+ ){0,2}"
    r"(team|department|dept|manager|supervisor|leaders?|colleagues?)( know| aware)\b|\bnotif(y|ied|ying) "
    r"(our|the|a|your) (\w+ ){0,2}(team|department|dept|manager|supervisor)|\b(write|written|wrote|send|sent|"
    r"file|filed|raise|raised|submit+ed|log+ed|put in|open+ed|create[ds]?) (up )?(a |an )?(\w+ )?(report|"
    r"ticket|case|complaint|request|referral)\b|\b(manager|supervisor|specialist|engineer|technician|tier \d|"
    r"senior|team|department) (will|to|should|is going to) (be in touch|contact|call|reach|follow|get back|"
    r"look into|investigate|review)\w*|\bhanded (over|it|this) to\b|\btransfer(red|ring)? (you|this|the \w+) "
    r"to\b|\b(team|department|manager|supervisor|engineers)s? (has|have) been (made aware|notified|informed|"
    r"alerted)|\binternal(ly)? (review|team)|\breached out to (our|the) (\w+ )?(team|department)"
    r"|\bfeedback (has been|will be|is being|was) (passed|shared|"
    r"forwarded|logged|noted|recorded|sent)|\bshared (this|your \w+|it) with\b|\b(looping|loop|looped) in\b|"
    r"\b(purchasing|website|web|internal|relevant|specialist|technical|engineering|product) (team|"
    r"department|dept)\b|\bfed (this |it )?back\b|\b(asked|requested) a specialist\b"
    # Feedback handed on ("We'll pass this feedback on to the right team", "share your feedback with our team")
    # and a team that will act ("Our team will surely contact you", "our team will check all the details").
    r"|\b(pass|passed|passing|share|shared|sharing|forward\w*|relay\w*) (on |along )?(this |that |your |the |these |"
    r"those |all )?(\w+ )?(feedback|comments?|concerns?|complaint|suggestions?|thoughts)\b"
    r"|\b(our|the) (\w+ ){0,2}(team|department|specialists?|experts?|engineers?) (will|would|are going to|is going to)"
    r" (surely |certainly |be able to )?(contact|reach|get back|call|check|look|follow|investigate|review|be in touch)",
    _I)
# The customer asks for a human, a manager, a call back.
_HUMAN = re.compile(
    r"\b(speak|talk|chat) (to|with) (a |an |the |your |some )?(human|person|real person|someone|somebody|"
    r"agent|representative|rep|manager|supervisor|boss)\b|\b(real|live|actual) (person|agent|human)\b|"
    r"\b(escalate|elevate) (this|it|my)\b|\bcan (someone|somebody|you|u) (please )?call me\b|"
    r"\b(want|need|like|get) (to speak to |to talk to )?(a |the |your )?(manager|supervisor)\b|"
    r"^\W*(human|agent|operator|representative|person)( please| pls)?\W*$", _I)
# The agent or bot says no ("There is nothing we can do", "We're not able to offer anything").
_REFUSE = re.compile(
    r"\b(unfortunately|i'?m afraid|we'?re afraid|not able to|unable to|nothing (more |else )?(we|i) (can|could) "
    r"do|(can'?t|cannot|can not) (do|offer|help|provide|issue|refund|change|cancel|guarantee|confirm)|"
    r"isn'?t (possible|anything)|no way to|(we|i) (do not|don'?t|won'?t) (offer|have|provide|issue)|"
    r"not (possible|eligible|available|something we))\b", _I)

FEATURES: tuple[str, ...] = (
    "abandoned_wait",        # after the customer's last turn, the agent/bot checks they are still there
    "ends_waiting",          # the contact ends on the agent/bot asking the customer something, unanswered
    "handoff",               # the agent/bot moves the customer to another channel or self-service
    "handoff_dm", "handoff_phone", "handoff_link", "handoff_elsewhere",
    "handoff_at_end",        # ... in the last two agent/bot turns
    "fix_made",              # the agent/bot reports a change made or a thing done
    "handoff_no_fix",        # a hand-off and no fix reported anywhere
    "customer_confirmed",    # the customer says it worked, near the end, not taken back after
    "customer_thanks",       # the customer's last turn thanks (weak)
    "complaint_at_end",      # the customer's last turn complains
    "unanswered_complaint",  # ... and nobody answered it
    "escalation",            # the agent/bot passes the case to another team, a manager, a specialist
    "human_requested",       # the customer asks for a person, a manager, a call back
    "refusal",               # the agent/bot says it cannot do what was asked
    "bot_only",              # no human agent took part
    "bot_to_human",          # a bot handed the contact to a human agent
)


@dataclass(frozen=True)
class Signal:
    """One signal that fired: its name, the turns that carry it and the phrase that matched."""

    name: str
    turns: tuple[int, ...]
    phrase: str = ""

    def as_dict(self) -> dict:
        return {"turns": list(self.turns), "phrase": self.phrase}


def detect(interaction: Interaction) -> dict[str, Signal]:
    """Every signal that fires on a contact, by name (see `FEATURES`), with its evidence turns.

    Args:
        interaction: The contact; redacted or not (no signal reads personal data).

    Returns:
        The fired signals only; a signal that did not fire is absent.
    """
    turns = interaction.turns
    found: dict[str, Signal] = {}

    def fire(name: str, hits: Sequence[tuple[int, str]]) -> None:
        if hits:
            found[name] = Signal(name, tuple(sorted({i for i, _ in hits})), hits[0][1][:120])

    staff = [i for i, t in enumerate(turns) if t.speaker in _STAFF]
    customer = [i for i, t in enumerate(turns) if t.speaker == "customer"]
    last_customer = customer[-1] if customer else -1
    texts = [_clean(t) for t in turns]

    after = [i for i in staff if i > last_customer]
    if not _hits(_FIX, texts, after, negatable=True):  # a refund made after the customer went quiet still counts
        fire("abandoned_wait", _hits(_PRESENCE, texts, after))
    # Confirmation counts in the customer's last three turns, unless a later customer turn complains.
    tail = customer[-3:]
    confirmed = _hits(_CONFIRM, texts, tail, negatable=True)
    if confirmed:
        later = [i for i in customer if i > confirmed[-1][0]]
        if not _hits(_COMPLAINT, texts, later):
            fire("customer_confirmed", confirmed[-1:])

    for channel, pattern in _HANDOFF.items():
        fire(f"handoff_{channel}", _hits(pattern, texts, staff))
    handoffs = sorted({i for c in _HANDOFF for i in found.get(f"handoff_{c}", Signal("", ())).turns})
    if handoffs:
        first = next(found[f"handoff_{c}"] for c in _HANDOFF if f"handoff_{c}" in found)
        found["handoff"] = Signal("handoff", tuple(handoffs), first.phrase)
        # The last two agent turns, unless the customer said it worked: a survey link or "DM us if anything
        # else" after "It works! Thank you!" is a sign-off, and a help article that worked was the fix.
        ending = set(staff[-2:])
        if "customer_confirmed" not in found:
            fire("handoff_at_end", [(i, texts[i][:120]) for i in handoffs if i in ending])

    last = len(turns) - 1
    if (turns[last].speaker in _STAFF and customer and "abandoned_wait" not in found and last not in handoffs
            and _ASKS.search(texts[last]) and not _CLOSING.search(texts[last])):
        fire("ends_waiting", [(last, texts[last][:120])])

    fire("fix_made", _hits(_FIX, texts, staff, negatable=True))
    if handoffs and "fix_made" not in found and "customer_confirmed" not in found:
        found["handoff_no_fix"] = Signal("handoff_no_fix", tuple(handoffs), found["handoff"].phrase)
    if customer:
        fire("customer_thanks", _hits(_THANKS, texts, [last_customer]))
        complaint = _hits(_COMPLAINT, texts, [last_customer])
        fire("complaint_at_end", complaint)
        if complaint and not after:
            fire("unanswered_complaint", complaint)

    fire("escalation", _hits(_ESCALATE, texts, staff))
    fire("human_requested", _hits(_HUMAN, texts, customer))
    fire("refusal", _hits(_REFUSE, texts, staff))

    bots = [i for i, t in enumerate(turns) if t.speaker == "bot"]
    agents = [i for i, t in enumerate(turns) if t.speaker == "agent"]
    if bots and not agents:
        found["bot_only"] = Signal("bot_only", tuple(bots))
    if bots and agents and bots[0] < agents[0]:
        found["bot_to_human"] = Signal("bot_to_human", (bots[-1] if bots[-1] < agents[0] else bots[0], agents[0]))
    return {name: found[name] for name in FEATURES if name in found}


def as_evidence(signals: dict[str, Signal]) -> dict[str, dict]:
    """The fired signals as JSON-ready evidence: name -> {"turns": [...], "phrase": ...}."""
    return {name: s.as_dict() for name, s in signals.items()}


def _clean(turn: Turn) -> str:
    # Twitter replies start with the handles they answer: "@VirginTrains No, ..." reads as "No, ...".
    return re.sub(r"^(\s*@\w+)+\s*", "", turn.text).strip()


def _hits(pattern: re.Pattern[str], texts: Sequence[str], indexes: Sequence[int], *,
          negatable: bool = False) -> list[tuple[int, str]]:
    hits = []
    for i in indexes:
        for match in pattern.finditer(texts[i]):
            if negatable and _NEGATED.search(texts[i][max(0, match.start() - 40):match.start()]):
                continue
            hits.append((i, match.group(0).strip()))
            break
    return hits
