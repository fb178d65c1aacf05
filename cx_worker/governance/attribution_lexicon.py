"""Words for the attribution check (`attribution.py`): a hand-built lemma and synonym table, the verbs a summary
uses to say who did or said what, the phrasings a turn uses to request, report, promise or echo, and the crude
stemming (`terms`) that turns a text into comparable content terms.

Hand-built on purpose: no spaCy model or lemmatiser ships offline, and the check only needs the few hundred words
customer-service summaries use. Stems are crude (`stem`); a synonym group maps paraphrases to one key ("DM",
"direct message" and "PM" are one thing), so a faithful paraphrase still finds its evidence.
"""

from __future__ import annotations

import re

# Who a summary's subject is. A modifier before the actor word may only be one of these or a capitalised brand.
CUSTOMER_WORDS = frozenset("customer customers client caller user member passenger guest buyer shopper consumer "
                           "subscriber traveller traveler".split())
AGENT_WORDS = frozenset("agent agents representative rep advisor adviser associate support team staff operator "
                        "assistant specialist brand company airline bank".split())
SUBJECT_MODIFIERS = frozenset("the a an support service care chat live human social media twitter brand company "
                              "airline customer-service".split())
PRONOUNS = frozenset("he she they".split())

# Words carried by the clause that say nothing about what was done or said.
STOPWORDS = frozenset("""a an the and or but if then than so as to of for in on at by with from into onto about over
after before again also just only still even yet very really already now today tonight tomorrow yesterday this that
these those there here it its it's they them their theirs he him his she her hers we us our you your yours i me my
mine who whom whose which what when where why how whether not no nor never be is are was were been being am do does
did done have has had having can could would should will shall may might must let lets more most some any all each
every both either one's own such same other another much many few lot lots back up down out off around through via
per while until because though although since ever soon later first finally then again well please kindly thanks
thank hi hello hey dear ok okay yes yeah sure also customer customers agent agents client representative rep team
support staff company brand someone somebody anyone anything something everything nothing cannot one themselves
himself herself able unable get got getting make made take took go went going come came put keep kept way thing
things issue issues problem problems help helped assistance question questions concern concerns info information
detail details regarding re say said tell told ask asked request requested want wanted need needed like would try
tried""".split())

# Verbs a summary uses for a statement; their object is a proposition ("said that the parcel never arrived").
SPEECH_VERBS = frozenset("""advise say state mention explain tell inform confirm report claim note reply respond answer
add clarify assure admit point write tweet complain express describe update announce acknowledge agree argue comment
warn promise indicate share reveal notify remark specify""".split())
# Speech verbs that are also acts ("updated the order", "shared a link"): speech only before "that" or a person.
SPEECH_OR_ACT = frozenset("update share note add".split())
# A decision or plan is something the decider said: "decided to wait" is checked like "said they would wait".
DECISION_VERBS = frozenset("decide plan choose intend agree".split())
# Verbs whose object names the act ("processed the return", "placed the order", "issued a credit").
GENERIC_ACT_VERBS = frozenset("process issue complete handle arrange initiate start place submit".split())
# Acts the customer asks an agent for and an agent can overstate ("processed a refund" after "we'll look into it").
TRANSACTIONS = frozenset("""refund cancel replace credit waive compensat rebook book transfer unblock unbar reactivat
activat reinstat remov delet chang update order upgrad downgrad renew return""".split())
# A complaint is often a question ("why is my parcel late?"): for these a question is the named speaker's evidence.
COMPLAINT_VERBS = frozenset("complain express wonder".split())
# Verbs for asking someone to do or give something.
REQUEST_VERBS = frozenset("""ask request demand want need urge instruct direct suggest recommend invite
encourage prompt remind insist propose offer seek require wish""".split())
QUESTION_VERBS = frozenset("enquire inquire wonder query question".split())
APOLOGY_VERBS = frozenset("apologise apologize regret".split())
THANK_VERBS = frozenset("thank".split())
# Verbs that say nothing checkable (states, feelings, being): a clause led by one is skipped.
STATE_VERBS = frozenset("""be is are was were been have has had feel felt seem appear look sound remain stay become
want need like love hate hope expect know understand think believe find struggle face experience keep continue
begin""".split())
# Verbs too light to identify an action; the object carries it ("made a note", "did a power reset").
LIGHT_VERBS = frozenset("get make do take go put have keep let use set".split())
# Acts of handing something over: the thing handed over (a link, a photo, the numbers) is evidence of the act.
HANDING_OVER = frozenset({"send"})
# A one-word claim is too thin to judge, except the status a swap most often moves: "confirmed it works".
STATUS_TERMS = frozenset({"work"})

NEGATION = re.compile(r"\b(?:not|never|no longer|cannot|can't|couldn't|didn't|don't|doesn't|won't|wouldn't|isn't|"
                      r"wasn't|hasn't|haven't|unable|refused?|refusing|declined?|failed to)\b|n't\b")
# Between the subject and its verb.
ADVERBS = frozenset("""then also later first finally eventually again still already initially subsequently further
additionally immediately politely kindly just only simply quickly repeatedly promptly once had has have""".split())
# Before the verb, these deny the act ("did not refund", "was unable to connect", "refused to disconnect").
NEGATORS = frozenset("""not never didn't don't doesn't couldn't can't cannot won't wouldn't wasn't weren't isn't
aren't hasn't haven't hadn't unable refused refuses declined declines failed fails no longer""".split())
BE = frozenset("be is are was were been being".split())
MODALS = frozenset("will would can could should may might must shall".split())

# Irregular past forms (a clause opening with one is a new act: "… and sent a link").
PAST_FORMS = {
    "sent": "send", "paid": "pay", "bought": "buy", "told": "tell", "said": "say", "gave": "give", "given": "give",
    "got": "get", "gotten": "get", "made": "make", "took": "take", "taken": "take", "went": "go", "gone": "go",
    "came": "come", "left": "leave", "broke": "break", "broken": "break", "rang": "ring", "wrote": "write",
    "written": "write", "spoke": "speak", "spoken": "speak", "thought": "think", "found": "find", "kept": "keep",
    "lost": "lose", "ran": "run", "chose": "choose", "chosen": "choose", "did": "do", "done": "do", "had": "have",
    "brought": "bring", "sold": "sell", "shown": "show", "saw": "see", "seen": "see", "knew": "know",
    "known": "know", "held": "hold", "heard": "hear", "met": "meet", "hung": "hang", "used": "use",
}
IRREGULAR = {
    **PAST_FORMS, "has": "have", "was": "be", "were": "be", "is": "be", "are": "be", "been": "be", "uses": "use",
    "reset": "reset", "set": "set", "put": "put", "cut": "cut", "read": "read", "shut": "shut", "dm'd": "dm",
    "dmd": "dm", "dmed": "dm", "dm'ed": "dm", "dms": "dm", "taking": "take", "making": "make", "having": "have",
    "giving": "give", "coming": "come", "using": "use", "noting": "note", "hoping": "hope", "ordered": "order",
    "ordering": "order", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "twice": "2", "latest": "last", "wipe": "delete", "wiped": "delete",
    "wipes": "delete", "wks": "week", "wk": "week", "mins": "minute", "hrs": "hour", "hr": "hour",
}

# Paraphrases that name the same thing or act: stem -> key. Multi-word forms are joined first (`PHRASES`).
SYNONYMS = {
    "dm": "dm", "pm": "dm", "direct_message": "dm", "private_message": "dm", "inbox": "dm", "message_us": "dm",
    "privately": "dm",
    "restart": "restart", "reboot": "restart", "reset": "restart", "power_cycle": "restart",
    "unplug": "restart", "power_down": "restart", "turn_off": "restart",
    "refund": "refund", "reimburs": "refund", "money_back": "refund", "credit_back": "refund",
    "cancel": "cancel", "cancell": "cancel", "terminat": "cancel",
    "replac": "replace", "exchang": "replace",
    "updat": "update", "upgrad": "update", "patch": "update",
    "reinstal": "install", "install": "install", "uninstal": "install",
    "deliver": "deliver", "delivery": "deliver", "arriv": "deliver", "receiv": "deliver", "dispatch": "deliver",
    "ship": "deliver",
    "work": "work", "fix": "work", "resolv": "work", "solv": "work", "sort": "work", "sorted": "work",
    "apologis": "sorry", "apologiz": "sorry", "apology": "sorry", "apologi": "sorry", "sorry": "sorry",
    "regret": "sorry",
    "thank": "thank", "thx": "thank", "ty": "thank", "appreciat": "thank", "cheer": "thank", "grateful": "thank",
    "link": "link", "url": "link", "website": "site", "site": "site", "webpage": "site", "page": "site",
    "email": "email", "e-mail": "email", "mail": "email",
    "call": "call", "phone": "call", "ring": "call", "dial": "call",
    "contact": "contact", "reach_out": "contact", "get_in_touch": "contact", "touch": "contact",
    "check": "check", "look_into": "check", "investigat": "check", "look_at": "check", "review": "check",
    "send": "send", "give": "send", "giv": "send", "provid": "send", "shar": "send", "submit": "send",
    "forward": "send", "pass_on": "send",
    "charg": "charge", "bill": "charge", "fee": "charge", "overcharg": "charge", "cost": "charge",
    "buy": "buy", "purchas": "buy", "order": "order",
    "photo": "photo", "pic": "photo", "picture": "photo", "screenshot": "photo", "image": "photo",
    "speak": "speak", "talk": "speak", "spoke": "speak", "chat": "speak",
    "manager": "manager", "supervisor": "manager", "escalat": "manager",
    "unavailabl": "stock", "stock": "stock", "availabl": "stock",
    "baby": "child", "kid": "child", "son": "child", "daughter": "child", "child": "child", "little_one": "child",
    "log_in": "login", "login": "login", "log_out": "login", "logout": "login", "sign_in": "login", "log": "login",
    "controller": "controller", "remote": "controller", "gamepad": "controller",
    "password": "password", "pw": "password", "pin": "pin", "passcode": "pin",
    "transfer": "transfer", "move": "transfer",
    "disconnect": "connect", "reconnect": "connect", "connect": "connect",
    "stat": "status", "status": "status",
    "owe": "due", "due": "due", "balanc": "due", "outstand": "due",
    "note": "note",
}

PHRASES = (
    ("direct message", "direct_message"), ("private message", "private_message"), ("message us", "message_us"),
    ("power cycle", "power_cycle"), ("power cycled", "power_cycle"), ("power cycling", "power_cycle"),
    ("power down", "power_down"), ("turn off", "turn_off"), ("switch off", "turn_off"),
    ("money back", "money_back"), ("credit back", "credit_back"), ("reach out", "reach_out"),
    ("reached out", "reach_out"), ("get in touch", "get_in_touch"), ("look into", "look_into"),
    ("looking into", "look_into"), ("look at", "look_at"), ("pass on", "pass_on"), ("passed on", "pass_on"),
    ("little one", "little_one"), ("log in", "log_in"), ("logged in", "log_in"), ("logging in", "log_in"),
    ("log out", "log_out"), ("logged out", "log_out"), ("logging out", "log_out"), ("sign in", "sign_in"),
)

# A turn's sentence that asks the other party to do something.
REQUEST_FORM = re.compile(
    r"\b(?:can|could|would|will) (?:you|u)\b|\b(?:would you mind|mind (?:sending|checking|trying|confirming)|please|"
    r"pls|plz|kindly|let us know|let me know|i need you to|we need you to|you(?:'ll| will)? need to|you should|"
    r"you can|you could|you may want|you might want|you'll want|you have to|be sure to|make sure|feel free|"
    r"go ahead and|we ask|we request|request you|(?:i|we) (?:would )?(?:suggest|recommend|advise)|"
    r"have you (?:tried|checked)|did you try|let's|i want|i'd like|i would like|i need|can i|could i|may i|"
    r"can someone|can somebody|can we|could we|may we|trying to|if you (?:would|could|can)|help me|"
    r"is there (?:a|any) ?way|how (?:do|can) i|i demand|i expect)\b")
# Imperatives open a sentence with a bare verb ("DM us", "Bring the bag").
IMPERATIVE_START = frozenset("""dm send bring check try click chat call contact reach follow give keep go update
reconnect disconnect unplug restart reboot reset clear log tap open select choose visit use drop fill share confirm
provide tell email message reply ring let power hold delete reinstall uninstall install refresh wait see make take
do""".split())
# A speaker reporting their own act, or an act done (passively) on the account.
FIRST_PERSON_DONE = re.compile(
    r"\b(?:i|we|i've|we've|i'd|we'd|ive)\b(?:\W+\w+){0,3}?\W+(?:have|had|already|just|\w+ed|"
    + "|".join(PAST_FORMS) + r"|reset|set|put|shut)\b"
    r"|\b(?:has|have|had) been \w+|\b(?:is|are) (?:now )?(?:done|sorted|fixed|resolved|updated|processed|issued|"
    r"active|set up)\b|\ball set\b|^\s*(?:done|sent|dm sent|dm'd|dmed|messaged)\b")
FUTURE = re.compile(r"\b(?:i'll|i will|we'll|we will|i'm going to|gonna|going to|we're going to|i am going to|"
                    r"let me|i can|we can|i'd be happy to|happy to|i shall|i'd like to|we'd like to)\b")
HEDGE = re.compile(r"\b(?:look_into|look(?:ing)? into|investigat\w*|see what (?:we|i) can|being (?:worked on|reviewed|"
                   r"looked into|investigated)|check(?:ing)? (?:on|into|this|that|with)|pass(?:ed)? (?:it|this|"
                   r"your \w+) on|escalat\w*|loop(?:ing)? in|raise (?:a|this)|(?:we|i)(?:'ll| will) (?:see|"
                   r"try|check|look))\b")
# An agent restating what the customer said: the content is the customer's, not the agent's claim.
ECHO = re.compile(r"^\W*(?:(?:oh|ah|hi|hello|hey|ok|okay|got it|i see|alright)(?: [a-z]+)?\W+)*"
                  r"(?:i'm |we're |i am |we are )?(?:so |very |really |truly |terribly )?"
                  r"(?:sorry\b|(?:glad|happy|great|good) to (?:hear|see|know)|that's (?:good|great) news|i understand|"
                  r"we understand|i see (?:that|you)|thanks? (?:you )?for (?:letting|confirming|the|that|sharing|"
                  r"trying|checking|clarifying|reaching)|i hear you)")
# A question without its "?" (tweets drop it) opens with a wh-word; "Was told not to travel" is a statement.
QUESTION_START = re.compile(r"^(?:\W*(?:hi|hello|hey|ok|okay|alright|and|also|so|just)\W+)*(?:what|when|where|why|"
                            r"how|which|who)\b")
# What a customer writes once they did what the agent asked ("Done", "that didn't help", "still the same").
ACKNOWLEDGED = re.compile(r"\b(?:done|did|tried|sent|dm sent|messaged|as requested|worked|works|working|helped|"
                          r"still|same|no luck|nothing|no change|i have|i've|already)\b")
# A short answer that says yes to the question it answers ("Yes", "Done", "I did"): it takes the question's content.
AFFIRMATIVE = re.compile(r"^\W*(?:yes|yeah|yep|yup|sure|done|did|i did|i have|i've|already|of course|correct)\b")


# --- stems and terms ------------------------------------------------------------------------------------------------

def raw_stem(word: str) -> str:
    """A crude stem, the same for every form of a word ("resetting", "reset" -> "reset"; "charge(d)" -> "charg")."""
    w = IRREGULAR.get(word, word)
    if w.isdigit():
        return w
    for suffix, repl in (("ies", "y"), ("ied", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("ly", ""), ("s", "")):
        if (w.endswith(suffix) and len(w) - len(suffix) >= (2 if repl else 3)
                and not (suffix == "s" and w.endswith(("ss", "us")))
                and not (suffix == "ly" and w.endswith("ply"))):  # "reply", "apply" are not adverbs
            w = w[: len(w) - len(suffix)] + repl
            break
    if len(w) > 4 and w.endswith("e"):
        w = w[:-1]
    if len(w) > 4 and w[-1] == w[-2] and w[-1] not in "aeiou":
        w = w[:-1]
    return w


_SYNONYMS = {**{raw_stem(k): v for k, v in SYNONYMS.items()}, **SYNONYMS}


def stem(word: str) -> str:
    """`raw_stem` with paraphrases joined ("DM", "direct message", "PM" -> "dm")."""
    w = raw_stem(word)
    return _SYNONYMS.get(w, w)


_STOP_STEMS = frozenset(stem(w) for w in STOPWORDS)


def normalise(text: str) -> str:
    """Lower case; links, handles and sign-offs, times and multi-word phrases in one form."""
    t = text.lower().replace("\u2019", "'").replace("&gt;", " ").replace("&amp;", " and ")
    t = re.sub(r"https?://\S+", " link ", t)
    t = re.sub(r"'s\b", "", t)
    t = re.sub(r"[@^*~]\w+", " ", t)  # handles and agents' sign-offs
    t = re.sub(r"(\d{1,2})[:;.](\d{2})\b", r"\1\2", t)  # 13:00, 07;00, 7.00 -> 1300, 0700, 700
    t = re.sub(r"(\d)(?:st|nd|rd|th)\b", r"\1", t)  # 5th -> 5
    t = re.sub(r"\bplease (?:be (?:informed|advised)|note)(?: that)?\b", " ", t)  # a formula, not a request
    for phrase, joined in PHRASES:
        t = re.sub(rf"\b{phrase}\b", joined, t)
    return t


def terms(text: str) -> list[str]:
    """Content terms of a text: stems of its words, paraphrases joined, function words dropped."""
    words = re.findall(r"[a-z_]+(?:'[a-z]+)?|\d+", normalise(text))
    return [s for w in words if "'" not in w and w not in STOPWORDS and (len(w) > 1 or w.isdigit())
            and (s := stem(w)) not in _STOP_STEMS]


def match(term: str, pool: frozenset[str]) -> bool:
    """Is the term in the pool, or one a long prefix of the other ("cancel" / "cancellation")?"""
    return term in pool or (len(term) >= 5 and any(len(p) >= 5 and (p.startswith(term) or term.startswith(p))
                                                   for p in pool))


def overlap(wanted: frozenset[str], pool: frozenset[str]) -> int:
    """How many of the wanted terms the pool holds."""
    return sum(match(t, pool) for t in wanted)
