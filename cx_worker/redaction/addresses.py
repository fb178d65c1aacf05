"""Postal addresses: a whole address is one span — the flat, the street and number, the postcode and city when given.

Shapes:
- English-speaking: number first, then the street and its type ("1420 Maple Avenue", "Flat 3, 14 Kingfisher Close"),
  then a US city, state and ZIP, a UK town and postcode, or an Irish "Dublin 2" / Eircode.
- French: number first, type before the name ("12 bis rue de la Paix, 75002 Paris").
- German and Dutch: name with its type as suffix, then the number ("Hauptstraße 5", "Berliner Straße 12a",
  "Kerkstraat 12-II, 1017 GB Amsterdam").
- Spanish, Italian and Belgian French: type, name, number ("Calle Mayor 10, 3º B, 28013 Madrid", "Via Roma 12,
  00184 Roma (RM)", "rue de la Loi 16, 1000 Bruxelles").
- On their own: a UK postcode, a US state and ZIP, an Irish Eircode; a continental postcode and city only when the
  words say address.
"""

from __future__ import annotations

import re

from cx_worker.redaction.context import ADDRESS, asked, cue_near

_STATES = ("AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC"
           "|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY")
_STREET_TYPES = ("street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|way|court|ct|place|pl|terrace|ter"
                 "|close|crescent|cres|parkway|pkwy|highway|hwy|circle|cir|square|sq|trail|trl|grove|gardens|mews"
                 "|wharf|quay|parade|esplanade|embankment")
_UK_POSTCODE = r"(?:[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2})"
_EIRCODE = r"(?:[AC-FHKNPRTV-Y]\d{2}|D6W) ?[0-9AC-FHKNPRTV-Y]{4}"
_NOT_STREET_WORD = (r"(?!(?:and|or|the|of|in|on|to|for|my|your|a|an|is|are|was|it|at|i|we|you|times|days|items|minutes?"
                    r"|mins?|hours?|miles?|km|steps|people)\b)")
# Street types that are also common words: only after a capitalised name, capitalised ("Riverside Walk").
_NAMED_TYPES = "Walk|Hill|Rise|Row|Park|Green|Gate|View|Yard|Wharf|Grange|Fields|Heights|Vale"
_UNIT = r"(?:flat|apt|apartment|unit|suite|ste|appartement|app\.?|wohnung|whg\.?|piso|interno|int\.?)"
# A city after a postcode: capitalised words (with their particles), or one word in lower case.
_CITY_NAME = (r"[A-ZÀ-Þ][\w'’-]*(?:[ -](?:(?:sur|sous|en|le|la|les|de|du|des|am|an|der|im|del|di|aan|den)[ -])?"
              r"[A-ZÀ-Þ][\w'’-]*){0,2}(?:\s+(?:CEDEX|Cedex|cedex)(?:\s+\d{1,2})?|\s*\([A-Z]{2}\))?")
_CITY = rf"(?-i:{_CITY_NAME}|[a-zà-ÿ][\w'’-]+)"
_CONTINENTAL_TAIL = rf"(?:,?\s*(?:(?:[DFIEB]|NL|CH|A)-)?(?:\d{{5}}|\d{{4}} ?[A-Z]{{2}}|\d{{4}})\s+{_CITY})"
# "Dublin 2", "Ballybrack, Co. Dublin, A96 X2Y3": a locality may come before the county or the Eircode.
_IRISH_TAIL = (rf"(?:(?:,?\s*(?-i:[A-Z][a-z]+(?: [A-Z][a-z]+)?),)?(?:,?\s*(?:Dublin \d{{1,2}}[wW]?|Co\.? [A-Z][a-z]+)"
               rf"(?:,?\s*{_EIRCODE})?|,?\s*{_EIRCODE}))")

_ENGLISH = re.compile(
    rf"(?:\b{_UNIT}\.?\s*\w{{1,4}},?\s+)?"
    rf"(?<![:\d.,/@£$€])\b\d{{1,6}}[A-Za-z]?,?[ \t]+(?:(?:{_NOT_STREET_WORD}[A-Za-z0-9'.-]+[ \t]+){{0,3}}"
    rf"(?:{_STREET_TYPES})\b\.?|(?:{_NOT_STREET_WORD}[A-Za-z0-9'.-]+[ \t]+){{0,2}}(?-i:[A-Z][a-z'-]+[ \t]+"
    rf"(?:{_NAMED_TYPES}))\b)"
    rf"(?:,?[ \t]*(?:apt|apartment|suite|ste|unit|flat|#)\.?[ \t]*[\w-]+)?"
    rf"(?:,?\s+(?:[A-Za-z][A-Za-z.'-]+[ \t]*){{1,3}},?[ \t]+(?:{_STATES})[ \t]+\d{{5}}(?:-\d{{4}})?\b"
    rf"|,?\s+(?:[A-Za-z][A-Za-z.'-]+[ \t]*){{1,3}},?[ \t]+{_UK_POSTCODE}\b"
    rf"|{_IRISH_TAIL}|,?\s+{_UK_POSTCODE}\b)?",
    re.IGNORECASE,
)
_STOP = (r"(?!(?:et|à|a|au|pour|mais|depuis|merci|svp|s'il|and|please|since|is|est|en|y|e|und|seit|bitte|desde|por"
         r"|para|da|per|dal|sinds|voor|in|op|ou|or|oder|o|of|the|je|j'|il|elle|on|nous|vous)\b)")
_FRENCH = re.compile(
    rf"(?:\b{_UNIT}\.?\s*\w{{1,4}},?\s+)?"
    r"(?<![\w,.])\d{1,4}(?:\s?(?:bis|ter|quater|[a-d])\b)?,?\s+"
    r"(?:rue|avenue|av\.|bd|boulevard|place|pl\.|all[ée]e|chemin|impasse|quai|route|cours|square|voie|passage"
    r"|rond-point|faubourg|fbg|sentier|r[ée]sidence|hameau|lotissement|cit[ée]|promenade|esplanade|parvis|villa)\b"
    rf"(?:[ \t]+{_STOP}[\w'’.-]+){{1,6}}{_CONTINENTAL_TAIL}?",
    re.IGNORECASE,
)
_SUFFIX_TYPES = ("straße|strasse|str\\.|weg|allee|platz|gasse|ring|damm|ufer|chaussee|steig|pfad|markt|graben|stieg"
                 "|kamp|straat|laan|plein|gracht|kade|singel|dijk|steeg|dreef|hof|pad|baan|wal|park")
_GERMANIC = re.compile(
    rf"(?:\b(?:[A-ZÄÖÜ][\wäöüß.'-]*\s+){{0,2}}[A-ZÄÖÜ][\wäöüßÄÖÜ-]*(?:{_SUFFIX_TYPES})"
    r"|\b(?:[A-ZÄÖÜ][\wäöüß.'-]*\s+){1,2}(?:Straße|Strasse|Str\.|Weg|Allee|Platz|Gasse|Ring|Damm|Ufer|Chaussee)"
    r"|\b(?:Am|An der|An den|Im|In der|Auf dem|Auf der|Zum|Zur|Unter den|Op de|Aan de|In de)\s+[A-ZÄÖÜ][\wäöüß-]+"
    # typed in lower case, a compound with an unmistakable suffix: "lindenstraße 7", "kerkstraat 12"
    r"|\b[a-zäöüß]{3,}(?:straße|strasse|str\.|gasse|allee|platz|straat|laan|gracht|plein|kade|dijk|steeg))"
    r"\s+\d{1,4}(?:\s?[a-zA-Z](?![\w]))?(?:\s?[-/]\s?(?:\d{1,4}[a-zA-Z]?|I{1,3}|hs|bis)(?!\w))?"
    rf"{_CONTINENTAL_TAIL}?",
)
_ROMANCE = re.compile(
    r"(?<![\w/])(?:calle|c/|avenida|avda\.?|plaza|pza\.?|paseo|p[º°]|camino|carretera|ctra\.?|ronda|traves[íi]a"
    r"|glorieta|rambla|v[íi]a|viale|piazza|p\.zza|piazzale|corso|c\.so|largo|vicolo|strada|contrada|lungomare|borgo"
    r"|salita|localit[àa]|rue|avenue|boulevard|chemin|place|quai|all[ée]e|impasse|chauss[ée]e)\s+"
    r"(?:(?:de|del|della|dello|delle|degli|dei|di|la|las|los|el|le|les|du|des|d['’]|l['’]|y|e)\s*|(?-i:[A-ZÀ-Þ])[\w'’.-]*,?\s+){1,6}?"
    r"(?:n[º°o.]\s*)?\d{1,4}(?:\s?[A-Za-z](?!\w)|/[A-Za-z0-9]+|\s?bis\b)?"
    r"(?:,?\s*\d{1,2}\s?[º°ª](?:\s?[A-Za-z](?!\w))?|,?\s*(?:piso|planta|puerta|pta\.?|bajo|izq(?:uierda|da)?\.?"
    r"|dcha\.?|derecha|esc(?:alera)?\.?|interno|int\.|scala)(?:\s*[\dA-Za-zº°ª]{1,4}(?![\w]))?)*"
    rf"{_CONTINENTAL_TAIL}?",
    re.IGNORECASE,
)
# Any street name and number followed by a continental postcode and city: "Damrak 1, 1012 LG Amsterdam".
_NAME_NUMBER_POSTCODE = re.compile(
    r"\b(?:[A-ZÀ-Þ][\w'’.-]*\s+){1,3}\d{1,4}[a-zA-Z]?(?:[-/]\d{1,4}[a-zA-Z]?)?"
    + _CONTINENTAL_TAIL.replace(",?\\s*", ",\\s*", 1),
)
_STATE_ZIP = re.compile(rf"(?:\b[A-Z][A-Za-z.'-]+(?: [A-Z][A-Za-z.'-]+){{0,2}},? )?"
                        rf"\b(?:{_STATES}) \d{{5}}(?:-\d{{4}})?\b"
                        r"|\b\d{5}-\d{4}\b")
_POSTCODE = re.compile(rf"\b{_UK_POSTCODE}\b|(?i:\b[a-z]{{1,2}}\d[a-z\d]? \d[abd-hjlnp-uw-z]{{2}}\b)")
_EIRCODE_ALONE = re.compile(rf"(?<![\w-]){_EIRCODE}(?![\w-])")
_POSTCODE_CITY = re.compile(rf"(?<![\w-])(?:(?:[DFIEB]|NL|CH|A)-)?(?:\d{{5}}|\d{{4}} ?[A-Z]{{2}}|\d{{4}})\s+"
                            rf"(?-i:{_CITY_NAME})")
_UNITS_AFTER = re.compile(r"\s*(?:%|x\b|times|days|hours|items|minutes|weeks|months|years|euros?|eur|€|\$|£)", re.I)


def find_addresses(text: str, *, prompt: str = "") -> list[tuple[int, int]]:
    """(start, end) of every postal address in `text`, whole addresses before postcodes on their own."""
    if not any(ch.isdigit() for ch in text):
        return []
    found: list[tuple[int, int]] = []
    for pattern in (_ENGLISH, _FRENCH, _GERMANIC, _ROMANCE, _NAME_NUMBER_POSTCODE):
        for m in pattern.finditer(text):
            start, end = m.span()
            while end > start and text[end - 1] in ", ":
                end -= 1
            if _UNITS_AFTER.match(text, end) and not cue_near(text, start, end, ADDRESS, before=40):
                continue  # "via DHL 3 days", "Ring 2 times"
            if pattern is _ROMANCE and text[start:start + 4] == "via " and not (
                    _POSTCODE_CITY.search(m.group(0)) or cue_near(text, start, end, ADDRESS, before=40)):
                continue  # English "via": an address only with a postcode or the word address
            found.append((start, end))
    for m in _STATE_ZIP.finditer(text):
        found.append(m.span())
    for m in _POSTCODE.finditer(text):
        if re.search(r"[A-Za-z]", m.group(0)) and not m.group(0).isdigit():
            found.append(m.span())
    for pattern in (_EIRCODE_ALONE, _POSTCODE_CITY):
        for m in pattern.finditer(text):
            eircode = pattern is _EIRCODE_ALONE and re.search(r"[A-Z]", m.group(0)[3:])
            if eircode or asked(prompt, ADDRESS, text, m.start()) or cue_near(text, m.start(), m.end(), ADDRESS,
                                                                                before=40):
                found.append(m.span())
    return found
