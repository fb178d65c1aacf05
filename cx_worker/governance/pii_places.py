"""Postal addresses and introduced names for the governance PII scan (see `pii_scan`), in en/fr/de/es/it/nl.

An address is a house number next to a street word in any of the six languages, a postcode of a shape no business
number has (UK, Eircode, Dutch 1234 AB + city, US state + ZIP), or a house number in what follows "my address is"
or "I live at". A name is two or more capitalised words after "my name is" (or its like) or given when a name was
asked for, or a surname after a title: a first name alone is left alone, so an agent introducing themselves is not a
finding. Each hit is (kind, start, end, rule).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from cx_worker.governance.pii_numbers import BLANK, Hit

_CAP = r"[A-ZÀ-ÖØ-Þ][\w'’-]{0,40}\.?"  # a capitalised word ("St." keeps its dot)
_CITY = r"[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ'’.-]{1,40}"  # a town's word: no digits, so "London SW1A 2AA" keeps its postcode
_CAPL = r"[A-ZÀ-ÖØ-Þ](?:['’][A-ZÀ-ÖØ-Þ])?[a-zß-öø-ÿ][A-Za-zÀ-ÖØ-öø-ÿ'’-]{0,40}"  # "Roma", "O'Brien", not "DHL", "I'm"
_NOT_A_QUANTITY = (
    r"(?![ \t]*(?:days?|hours?|hrs?|minutes?|mins?|weeks?|months?|years?|times?|items?|am|pm|gb|mb|kg|km|miles?|"
    r"pounds?|dollars?|euros?|percent|jours?|heures?|tage|stunden|d[íi]as|horas|giorni|ore|dagen|uur)\b|[ \t]*%)"
)
_US_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|"
    "OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY"
)
_UK_OUTWARD, _UK_INWARD = r"(?:[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?|GIR)", r"\d[ABD-HJLNP-UW-Z]{2}"
_UK_POSTCODE = rf"{_UK_OUTWARD}[ \t]?{_UK_INWARD}"
_EIRCODE = r"(?:[AC-FHKNPRTV-Y]\d{2}|D6W)[ \t]?[0-9AC-FHKNPRTV-Y]{4}"
_EN_STREET = (
    "street|st|road|rd|avenue|ave|lane|ln|drive|dr|close|court|ct|way|place|pl|crescent|cres|terrace|boulevard|"
    "blvd|square|sq|gardens|gdns|grove|row|hill|mews|parade|walk|highway|hwy|parkway|pkwy|circle|cir|trail|trl|"
    "park|green|rise|view|alley|plaza|pike|loop"
)
_EN_LOCALITY = (  # what may follow a street: flat, town, state, postcode
    rf"(?:,?[ \t]+(?i:apt|apartment|unit|suite|ste|flat)\.?[ \t]*#?\w+)?"
    rf"(?:,?[ \t]+{_CITY}(?:[ \t]+{_CITY}){{0,2}})?(?:,?[ \t]+(?:{_US_STATES}))?"
    rf"(?:,?[ \t]*(?:\d{{5}}(?:-\d{{4}})?|{_UK_POSTCODE}|{_EIRCODE})(?![\w]))?"
)
_POSTCODE_CITY = rf"(?:,?[ \t]*\d{{5}}[ \t]+{_CITY}(?:[ \t-]+{_CITY}){{0,2}})?"  # 75002 Paris, 28013 Madrid
_HOUSE = r"(?<![\w$€£.,/:#-])\d{1,5}[A-Za-z]?(?:[-/]\d{1,4})?"
_NUMBER_AFTER = rf"\d{{1,4}}(?:[ \t]?/?[ \t]?[A-Za-z](?![\w]))?(?![\w.]){_NOT_A_QUANTITY}"
# English street: the words between number and street word, checked in code (no "2 hours on the road").
_EN_ADDRESS = re.compile(
    rf"{_HOUSE},?[ \t]+((?:(?:[A-Za-z][\w'’.-]{{0,40}}|\d{{1,3}}(?:st|nd|rd|th))[ \t]+){{1,4}})(?i:{_EN_STREET})\b\.?"
    rf"{_EN_LOCALITY}"
)
_STREET_NAME_WORDS_NOT = frozenset(
    "the a an on in at to for of my your our his her their and or with from by per about over under into than more "
    "less only just all every each after before last next this that these those is are was were be been it its "
    "hours hour days day minutes minute mins weeks week months month years year times items item orders order "
    "dollars pounds euros percent people miles km blocks block min down up off out back".split()
)


def _particles(words: str) -> str:
    return rf"(?:(?i:{words})[ \t]*)*"


_FR_PARTICLES = _particles(r"des|de|du|la|le|les|et|d['’]|l['’]")
_ES_PARTICLES = _particles(r"del|de|la|las|los|el|y")
_IT_PARTICLES = _particles(r"della|dello|delle|degli|dei|del|di|de|dal|e|d['’]")
_FR_NAME = rf"{_FR_PARTICLES}{_CAP}(?:[ \t]+{_FR_PARTICLES}{_CAP}){{0,4}}"
_ES_NAME = rf"{_ES_PARTICLES}{_CAPL}(?:[ \t]+{_ES_PARTICLES}{_CAPL}){{0,4}}"
_IT_NAME = rf"{_IT_PARTICLES}{_CAPL}(?:[ \t]+{_IT_PARTICLES}{_CAPL}){{0,4}}"

_ADDRESSES = (
    (re.compile(
        rf"{_HOUSE}(?:[ \t]?(?:bis|ter|[A-Da-d]))?,?[ \t]+(?i:rue|avenue|av\.|boulevard|bd|place|chemin|all[ée]e|"
        rf"impasse|quai|route|cours|passage|square|voie|sentier)[ \t]+{_FR_NAME}{_POSTCODE_CITY}"),
     "house number + French street"),
    (re.compile(
        rf"(?<![\w])(?i:calle|c/|avda\.?|avenida|av\.|plaza|pza\.|paseo|camino|carretera|ctra\.|ronda|traves[íi]a|"
        rf"glorieta|rambla)[ \t]*{_ES_NAME},?[ \t]*(?:(?i:n[º°o]\.?|n[úu]mero)[ \t]*)?{_NUMBER_AFTER}"
        rf"(?:,?[ \t]*\d{{1,2}}[º°ª]?[ \t]?[A-Za-z]?(?![\w]))?{_POSTCODE_CITY}"),
     "Spanish street + number"),
    (re.compile(
        rf"(?<![\w])(?i:via|viale|piazza|piazzale|corso|vicolo|largo|strada|lungomare|contrada|borgo)[ \t]+{_IT_NAME}"
        rf",?[ \t]*(?:n\.?[ \t]*)?{_NUMBER_AFTER}(?:{_POSTCODE_CITY}(?:[ \t]*\([A-Z]{{2}}\))?)?"),
     "Italian street + number"),
    (re.compile(
        rf"(?<![\w])(?:[A-ZÄÖÜ][a-zäöüß-]{{0,40}}(?:straße|strasse|str\.|gasse|weg|allee|platz|ufer|chaussee|steig|damm)"
        rf"|(?:{_CAPL}[ \t]+)?(?:Straße|Strasse|Str\.|Weg|Allee|Platz|Gasse|Ring|Damm|Ufer|Chaussee))"
        rf"[ \t]*{_NUMBER_AFTER}{_POSTCODE_CITY}"),
     "German street + number"),
    (re.compile(
        rf"(?<![\w])[A-Z][a-z-]{{0,40}}(?:straat|laan|weg|plein|gracht|kade|singel|dijk|steeg|hof|markt|dreef)[ \t]+"
        rf"{_NUMBER_AFTER}(?:,?[ \t]*\d{{4}}[ \t]?[A-Z]{{2}}(?:[ \t]+{_CITY})?)?"),
     "Dutch street + number"),
    (re.compile(rf"(?<![\w])(?:{_CITY}[ \t]+){{0,2}}{_CITY},?[ \t]+(?:{_US_STATES})[ \t]+\d{{5}}(?:-\d{{4}})?(?![\w])"),
     "US town, state and ZIP"),
    (re.compile(rf"(?<![\w]){_UK_OUTWARD}[ \t](?!\d[GTMKP]B\b){_UK_INWARD}(?![\w])"), "UK postcode"),  # not 2TB
    (re.compile(r"(?<![\w])(?:[AC-FHKNPRTV-Y]\d{2}|D6W)[ \t]?(?=[0-9]*[AC-FHKNPRTV-Y])[0-9AC-FHKNPRTV-Y]{4}"
                r"(?![\w])"), "Eircode"),
    (re.compile(rf"(?<![\w])(?!19\d\d|20\d\d)[1-9]\d{{3}}[ \t]?(?!SA|SD|SS|AM|PM)[A-Z]{{2}},?[ \t]+{_CAPL}"),
     "Dutch postcode + city"),  # not a year: "2024 US Open"
)

_ADDRESS_CUE = re.compile(
    r"(?<!mail )(?<!e-mail )(?<!ip )(?<!web )(?<!url )\b(?:address(?:\s+is|\s*:)|i\s+live\s+(?:at|on|in)|living\s+at|"
    r"ship(?:ped|ping)?\s+(?:it\s+)?to|deliver(?:ed|y)?\s+(?:it\s+)?to|send\s+it\s+to|mon\s+adresse(?:\s+est)?|"
    r"adresse\s*:|j'habite|meine\s+adresse(?:\s+ist)?|ich\s+wohne|mi\s+direcci[óo]n(?:\s+es)?|direcci[óo]n\s*:|"
    r"vivo\s+en|il\s+mio\s+indirizzo(?:\s+[èe])?|indirizzo\s*:|abito\s+(?:in|a)|mijn\s+adres(?:\s+is)?|adres\s*:|"
    r"ik\s+woon)",
    re.I,
)
# In the words after an address cue: a house number before a capitalised word or a street word ("12 high street"),
# a capitalised word before a house number ("Hauptstraße 5"), or a postcode.
_ANY_STREET = (
    rf"{_EN_STREET}|rue|avenue|boulevard|chemin|all[ée]e|impasse|quai|route|calle|avenida|plaza|paseo|camino|via|"
    r"viale|piazza|corso|stra(?:ß|ss)e|weg|gasse|platz|allee|straat|laan|plein|gracht|kade"
)
_HOUSE_NUMBER_NEAR_WORD = re.compile(
    rf"(?<![\w$€£.,/:#-])\d{{1,5}}[A-Za-z]?,?[ \t]+{_NOT_A_QUANTITY}(?:[A-ZÀ-Þ]|(?:[\w'’-]+[ \t]+){{0,3}}"
    rf"(?i:{_ANY_STREET})\b)|[A-ZÀ-Þ][\w'’-]{{2,40}}[ \t]+\d{{1,4}}[a-zA-Z]?(?![\w.]){_NOT_A_QUANTITY}"
    rf"|(?<![\w])(?:{_UK_POSTCODE}|{_EIRCODE}|\d{{5}}[ \t]+[A-ZÀ-Þ][a-zà-ÿ])"
)
_ZIP_SOON = re.compile(r"[A-Za-z ,]{0,30}?(?<![\w])\d{5}(?![\w])")  # "5818 lexington ave san lima tx 22093"


def address_hits(text: str) -> Iterator[Hit]:
    """Postal addresses in `text` (placeholders already blanked)."""
    for m in _EN_ADDRESS.finditer(text):
        words = m.group(1).split()
        if any(w in _STREET_NAME_WORDS_NOT for w in words):
            continue  # "2 hours on the road", "3 blocks down the street"
        named = any(w[0].isupper() or re.fullmatch(r"\d+(?:st|nd|rd|th)", w) for w in words)
        zip_follows = re.search(r"\d", text[m.end(1):m.end()]) or _ZIP_SOON.match(text, m.end())
        if named or zip_follows or _ADDRESS_CUE.search(text[max(0, m.start() - 40):m.start()]):
            yield "ADDRESS", m.start(), m.end(), "house number + street"
    for pattern, rule in _ADDRESSES:
        for m in pattern.finditer(text):
            yield "ADDRESS", m.start(), m.end(), rule
    for cue in _ADDRESS_CUE.finditer(text):
        clause = re.match(r"[^\n!?]{0,100}", text[cue.end():]).group(0)
        first = _HOUSE_NUMBER_NEAR_WORD.search(clause)
        if first and BLANK not in clause[:first.start()]:
            start = cue.end() + first.start()
            yield "ADDRESS", start, cue.end() + len(clause.rstrip(" .,;")), "house number after address words"



_NAME_CUE = (
    r"(?i:\bmy\s+name\s+is|\bmy\s+name['’]s|\bname\s*:|\bname\s+is|\bi\s+am|\bi['’]m|\bje\s+m['’]appelle|\bje\s+suis|"
    r"\bmon\s+nom\s+est|\bich\s+hei(?:ß|ss)e|\bich\s+bin|\bmein\s+name\s+ist|\bme\s+llamo|\bsoy|\bmi\s+nombre\s+es|"
    r"\bmi\s+chiamo|\bsono|\bil\s+mio\s+nome\s+[èe]|\bmijn\s+naam\s+is|\bik\s+ben|\bik\s+heet)"
)
_NAME_PARTICLE = r"(?:(?:de|van|der|von|del|da|di|le|la|du|den|ter|ten|zu)[ \t]+)*"
_PERSON = rf"{_CAPL}(?:[ \t]+{_NAME_PARTICLE}{_CAPL})+"
_NAMES = (
    (re.compile(rf"{_NAME_CUE}[ \t]*:?[ \t]+({_PERSON})"), "full name after my-name-is words"),
    (re.compile(rf"(?<![\w])(?:Mr|Mrs|Ms|Miss|Mx|Mme|Mlle|Herr|Frau|Sr|Sra|Srta|Sig|Sig\.ra|Dhr|Mevr)\.?[ \t]+"
                rf"({_CAPL}(?:[ \t]+{_CAPL})?)"), "title + surname"),
)


# A turn that answers a request for a name with one: "agent: May I have your full name?" / "customer: Ana García".
_NAME_ANSWER = re.compile(
    rf"^[ \t]*(?:(?:customer|agent|bot|system)[ \t]*:[ \t]*)?(?:(?i:it['’]s|it[ \t]+is|this[ \t]+is|sure|yes|ok|okay)"
    rf"[,.]?[ \t]+)?({_PERSON})(?=[ \t]*(?:[,.!]|and\b|$))",
    re.M,
)
_NAME_ASKED = re.compile(r"\bname\b", re.I)
_NOT_NAMES = frozenset("Thank Thanks Hello Hi Hey Good Great Sure Yes No Okay Ok Please Sorry Dear Order Account "
                       "Happy Have Nice Welcome".split())


def name_hits(text: str) -> Iterator[Hit]:
    """Full names the text introduces as such ("my name is Ana García", "Mrs Byrne", a reply to "your name?")."""
    for pattern, rule in _NAMES:
        for m in pattern.finditer(text):
            yield "NAME", m.start(1), m.end(1), rule
    for m in _NAME_ANSWER.finditer(text):
        if m.group(1).split()[0] not in _NOT_NAMES and _NAME_ASKED.search(text[max(0, m.start() - 200):m.start()]):
            yield "NAME", m.start(1), m.end(1), "full name given when asked for a name"
