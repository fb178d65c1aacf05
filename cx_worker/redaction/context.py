"""The words around a value that say what it is: shared by the detectors of every kind.

A checksum says a number is well formed; only the words around it say whose it is and what it is for. Each cue is
one pattern over the six languages the detectors read (en, fr, de, es, it, nl). Four ways to read them:

- `cue_near`: the cue in the same phrase before the value (or just after it: "12/03/1985 is my date of birth");
  a blocking cue in between cancels it ("born in Leeds, ordered on 12/03/2024" is no date of birth);
- `labelled_by`: the cue right before the value, "number", "is" or ":" at most in between ("order number is …");
- `closest_before`: of several cues, the one nearest the value ("phone … order number 5400738796": an order);
- `asked`: the turn before asks for it and this turn answers ("What's your date of birth?" / "12/03/1985").
"""

from __future__ import annotations

import re
from functools import lru_cache


def _cue(words: str) -> re.Pattern[str]:
    # Whole words, any case; spaces in a cue match any run of spaces.
    return re.compile(r"(?<!\w)(?:" + words.replace(" ", r"\s+") + r")(?!\w)", re.IGNORECASE)


BIRTH = _cue(r"born|birth|birthday|birthdate|date of birth|d\.?o\.?b\.?|n[ée]|n[ée]e|n[ée]s|n[ée]es|naissance"
             r"|anniversaire|geboren|geb\.|geburtsdatum|geburtstag|geb\.-datum|nac[íi]d[oa]|nac[íi]|nacimiento"
             r"|cumplea[ñn]os|f\. nac\.?|nat[oa]|nascita|compleanno|geboortedatum|verjaardag")
# What a date is when it is not a birth date: between the birth cue and the date, it cancels the cue.
NOT_BIRTH = _cue(r"order(?:ed)?|placed|deliver(?:ed|y)|invoice|dated|purchase[ds]?|bought|paid|charged|shipped|sent"
                 r"|appointment|expir(?:y|es|ed)|valid|renew(?:al|ed)?|since|until|due|booked|booking|visit(?:ed)?"
                 r"|flight|fly|flying|travel(?:ling)?|depart(?:ure|ing)?|arriv(?:al|ing|e)|check[- ]in|return(?:ing)?"
                 r"|commande|command[ée]|livr[ée]e?|facture|achet[ée]|pay[ée]|rendez-vous|bestellt|bestellung"
                 r"|geliefert|rechnung|gekauft|bezahlt|pedido|entregado|factura|comprado|pagado|ordine|ordinato"
                 r"|consegnato|fattura|acquistato|pagato|besteld|geleverd|factuur|gekocht|betaald")
PHONE = _cue(r"phone|phones|mobile|cell|cellphone|tel|tel\.|telephone|landline|whatsapp|sms|text me|call me"
             r"|call back|reach me|ring me|contact|contact me|contact number|my number|number|kontakt|contatto"
             r"|contacto|t[ée]l[ée]phone|t[ée]l\.?|portable|num[ée]ro|joindre|appel(?:er|ez)|rappel(?:er|ez)|fixe"
             r"|telefon|telefonnummer|handy|handynummer|mobil|mobilnummer|rufnummer|nummer|festnetz|erreichbar"
             r"|anrufen|zur[üu]ckrufen|ruf(?:en sie)? mich an|erreichen sie mich|unter der nummer|tel[ée]fono"
             r"|m[óo]vil|celular|n[úu]mero|ll[áa]m(?:ame|enme|ar)|cellulare|numero|chiamare|chiamatemi|richiamare"
             r"|fisso|recapito|telefoon|telefoonnummer|mobiel|bellen|bel me|gsm|vaste lijn|06-nummer")
# After a number, only a word that is a kind of line: "020 7946 0531, the mobile" (not "… all numbers correct?").
PHONE_AFTER = _cue(r"mobile|cell|cellphone|landline|home phone|work phone|phone|portable|fixe|handy|festnetz|m[óo]vil"
                   r"|fijo|cellulare|fisso|mobiel|vaste lijn|whatsapp")
# Identifiers that are not phone numbers: a digit run labelled by one of these is an order, a ticket, an id.
NOT_PHONE = _cue(r"(?:order|orders|ref|ref\.|reference|tracking|track|invoice|ticket|case|sku|account|member"
                 r"|membership|policy|serial|confirmation|booking|reservation|transaction|customer|claim|parcel|imei"
                 r"|model|version|item|product|voucher|coupon|pin|password|promo code|discount code|verification code"
                 r"|security code|postcode|sort code|routing|iban|card|passport|bestellnummer|bestellung|kundennummer"
                 r"|rechnung|rechnungsnummer|commande|r[ée]f[ée]rence|facture|dossier|colis|pedido|factura|referencia"
                 r"|ordine|fattura|riferimento|pratica|bestelling|factuur|referentie|klantnummer|ssn|social security"
                 r"|national insurance|ni|nino|tax|tax id|vat|id|identity|licen[cs]e|dni|nie|nif|bsn|pps|ppsn|nir"
                 r"|s[ée]cu|s[ée]curit[ée] sociale|steuer-id|sr|service request)"
                 r"(?: (?:number|no\.?|#|id|code|nummer|nr\.?|num[ée]ro|n[úu]mero))?")
# References to a purchase or a case: a number labelled by one is theirs, whatever else the turn talks about.
REFERENCE = _cue(r"(?:order|orders|ref|ref\.|reference|tracking|invoice|ticket|case|sku|serial|imei|model|version|item"
                 r"|product|voucher|coupon|confirmation|booking|reservation|transaction|claim|parcel|bestellung"
                 r"|bestellnummer|rechnung|commande|r[ée]f[ée]rence|facture|colis|pedido|factura|referencia|ordine"
                 r"|fattura|riferimento|bestelling|factuur|referentie)"
                 r"(?: (?:number|no\.?|#|id|code|nummer|nr\.?|num[ée]ro|n[úu]mero))?")
# First-person words: "my number", "call me on" make even a freephone number the customer's own.
FIRST_PERSON = _cue(r"my|me|mine|mon|ma|mes|moi|mein|meine|meiner|mich|mir|mi|mio|mia|mij|mijn")
CARD = _cue(r"card|cards|visa|mastercard|master card|amex|american express|maestro|discover|diners|jcb|credit"
            r"|debit|pan|carte|cb|karte|kreditkarte|girocard|ec-karte|tarjeta|carta|kaart|creditcard|pinpas")
IBAN = _cue(r"iban|bic|swift|sepa")
# The turn is about a bank account (not a customer account, a login, an order).
BANKING = _cue(r"iban|bic|swift|sepa|bank|banking|bank account|checking|savings|current account|sort code|sort-code"
               r"|s/c|a/c|routing|aba|direct debit|standing order|wire|transfer|deposit|building society|refund"
               r"|refunded|paid into|pay into|payee|compte bancaire|compte courant|rib|virement|pr[ée]l[èe]vement"
               r"|banque|konto|kontonummer|bankverbindung|girokonto|[üu]berweisung|lastschrift|blz|bankleitzahl"
               r"|cuenta bancaria|cuenta corriente|transferencia|domiciliaci[óo]n|banco|ccc|conto corrente|bonifico"
               r"|banca|addebito|rekeningnummer|bankrekening|overschrijving|incasso|machtiging")
ACCOUNT = _cue(r"account number|account no\.?|account #|acct(?: no\.?| #| number)?|acc(?: no\.?| number)?"
               r"|a/c(?: no\.?)?|account|bank account|bankkonto|compte bancaire|cuenta bancaria|conto bancario"
               r"|bankrekening|bankrekeningnummer|checking|savings|num[ée]ro de compte|n[°o] de compte"
               r"|compte(?: n[°o])?|kontonummer|konto-nr\.?|konto|n[úu]mero de cuenta|n[ºo°] de cuenta|cuenta"
               r"|numero di conto|conto(?: n\.?)?|conto corrente|rekeningnummer|rekening")
PASSPORT = _cue(r"passport|passports|passeport|reisepass|reisepassnummer|pass-nr\.?|passnummer|pasaporte"
                r"|passaporto|paspoort|paspoortnummer")
NATIONAL_ID = _cue(r"national id|national identity|id number|id card|identity card|identity number|id no\.?"
                   r"|national insurance|ni number|nino|ni no\.?|ssn|social security|tax id|tax form|itin"
                   r"|s[ée]curit[ée] sociale|s[ée]cu|nir|insee|carte vitale|carte d'identit[ée]|num[ée]ro fiscal"
                   r"|personalausweis|ausweis|ausweisnummer|steuer-id|steuer-idnr|steuer id"
                   r"|steueridentifikationsnummer|steuernummer|idnr|sozialversicherungsnummer|dni|nie|nif"
                   r"|documento de identidad|documento|carn[ée] de identidad|codice fiscale|c\.f\.|cf"
                   r"|tessera sanitaria|carta d'identit[àa]|bsn|burgerservicenummer|sofinummer|sofi-nummer"
                   r"|identiteitskaart|pps|ppsn|pps number|personal public service")
ADDRESS = _cue(r"address|addresses|live at|living at|lives at|ship to|deliver to|delivered to|send it to|moved to"
               r"|postcode|post code|zip|adresse|habite|j'habite|domicile|anschrift|wohne|wohnhaft|wohnort"
               r"|direcci[óo]n|domicilio|vivo en|indirizzo|abito|residenza|adres|woon|woonadres")
# Words that end a phrase: a cue is about the value only within the phrase the value is in.
# (Not the full stop of an abbreviation: "passport no. PA 1234567", "Tel. 030 12345678", "geb. 05.11.1979".)
_BREAK = re.compile(r"(?<!\bno)(?<!\bnr)(?<!\btel)(?<!\bref)(?<!\bacc)(?<!\bgeb)(?<!\bnum)(?<!\bapt)"
                    r"[.;!?\n]\s|\b(?:and|but|also|et|mais|und|aber|y|pero|e|ma|en|maar)\b", re.IGNORECASE)

# "000-12-3456 is no SSN": a cue after the value, denied.
_NEGATION = re.compile(r"(?i)\b(?:no|not|isn't|never|pas|kein|keine|nicht|non|geen|niet)\b")


def cue_near(text: str, start: int, end: int, cue: re.Pattern[str], *, before: int = 40, after: int = 0,
             blocked_by: re.Pattern[str] | None = None) -> bool:
    """True if `cue` is said about the value at `text[start:end]`.

    Args:
        before: how far before the value the cue may start (in characters).
        after: how far after the value the cue may end ("12/03/1985 is my date of birth").
        blocked_by: a cue that, found after the cue and before the value, says the value is something else.
    """
    left = text[max(0, start - before):start]
    hits = list(cue.finditer(left))
    if hits:
        between = left[hits[-1].end():]
        if not (blocked_by is not None and blocked_by.search(between)) and not _BREAK.search(between):
            return True
    if after:
        right = text[end:end + after]
        hit = cue.search(right)
        gap = right[:hit.start()] if hit else ""
        if hit and not (_BREAK.search(gap) or _NEGATION.search(gap) or (blocked_by and blocked_by.search(gap))):
            return True
    return False


def cue_in(text: str, cue: re.Pattern[str]) -> bool:
    """True if `cue` occurs anywhere in `text` (the turn, or the question the turn answers)."""
    return bool(text) and cue.search(text) is not None


_MENTIONS = re.compile(r"(?:\s*@\w+)*\s*")


def asked(prompt: str, cue: re.Pattern[str], text: str, start: int) -> bool:
    """True if the turn before (`prompt`) asks for what `cue` names and the value at `start` of `text` answers it.

    An answer is a short turn (15 words at most), or the opening of a longer one (its first 40 characters past any
    @handles): "@Uber_Support 6174649622 just give me my money …" after "confirm your phone number".
    """
    return bool(prompt) and cue.search(prompt) is not None and answers(text, start)


def answers(text: str, start: int) -> bool:
    """True if the value at `start` is what `text` says first: a short turn, or the opening of a longer one."""
    return len(text.split()) <= 15 or start <= _MENTIONS.match(text).end() + 40


def closest_before(text: str, start: int, cues: dict[str, re.Pattern[str]], *, before: int = 40) -> str | None:
    """Which of `cues` (by name) ends closest before `start`, within `before` characters; None if none does.

    Where two end at the same place the longer wins: "order number" is an order's number, not a phone's.
    """
    left = text[max(0, start - before):start]
    best, best_key = None, (-1, 0)
    for name, cue in cues.items():
        for m in cue.finditer(left):
            key = (m.end(), m.end() - m.start())
            if key > best_key:
                best, best_key = name, key
    return best


_FILLER = (r"[\s:#=.(-]*(?:(?:number|no\.?|nr\.?|n[°º]|id|is|was|are|est|ist|es|è|nummer|num[ée]ro|n[úu]mero)(?!\w)"
           r"[\s:#=.-]*){0,3}$")


@lru_cache(maxsize=32)
def _labelling(cue: re.Pattern[str]) -> re.Pattern[str]:
    return re.compile("(?:" + cue.pattern + ")" + _FILLER, cue.flags)


def labelled_by(text: str, start: int, cue: re.Pattern[str]) -> int | None:
    """Where the `cue` that labels the value at `start` begins ("order number is 5400738796", "IBAN: …"), or None.

    The cue must end right before the value, with at most "number", "is", ":" and the like in between.
    """
    offset = max(0, start - 60)
    m = _labelling(cue).search(text[offset:start])
    return offset + m.start() if m else None
