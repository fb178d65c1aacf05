"""Instructions to the AI in French, German, Spanish, Italian, Dutch, Portuguese and Polish, and the outcome words
an injection may ask for in those languages and English.

The patterns read the folded text (`normalise.fold`: no accents, ß as "ss", ł as "l", lookalikes as Latin), so
they are written without accents. Each asks for what the English ones do (`inbound.PATTERNS`): drop the rules,
set the outcome or disposition, write something into the note or summary, reveal the prompt, hand over other
customers' data, or address the AI. What keeps ordinary complaints out: verbs in the imperative (or an
infinitive in the verb-final order), a past participle or a conjugated verb with its subject ("vous ignorez les
instructions", "el repartidor ignoró", "der Fall wurde als gelöst markiert") not counted (`_not_after`), and
nouns that are only instructions to an AI when qualified ("vos instructions internes", not "vos instructions de
retour"). `tests/unit/test_injection_encodings.py` holds ordinary complaints in each language that must not match.
"""

from __future__ import annotations

import re

_S = r"[^.!?\n]{0,40}"   # the rest of a clause
_S0 = r"[^.!?\n]{0,20}"  # a few words


def _not_after(words: str) -> str:
    """At a word start not right after any of `words` (a word, or an elided form ending in an apostrophe): one
    lookbehind per word length, evaluated only where a word starts."""
    forms = [w if w.endswith("'") else w + " " for w in words.split()]
    by_length: dict[int, list[str]] = {}
    for form in forms:
        by_length.setdefault(len(form), []).append(re.escape(form))
    return r"\b(?=\w)" + "".join(rf"(?<!\b(?:{'|'.join(group)}))" for _, group in sorted(by_length.items()))


def _any(*parts: str) -> str:
    return "|".join(f"(?:{p})" for p in parts)


# French --------------------------------------------------------------------------------------------------------
_FR_NOT = _not_after("a ai as ont avons avez avait avais avaient est sont ete etait etaient je j' tu il elle on "
                     "nous vous ils elles l' m' t' le la les se ne")
_FR_RULES = r"(instructions?|consignes?|regles?|directives?|prompts?|garde-fous)"
_FR_PRIOR = r"(precedentes?|anterieures?|ci-dessus|initiales?|d'origine|du systeme|systeme|internes?)"
_FR_LABELS = (r"(resolue?s?|clos|close|cloturee?s?|fermee?s?|terminee?s?|traitee?s?|escaladee?s?|un succes|"
              r"reussie?s?|satisfaite?s?)")
_FR_CONTACT = r"( (de|du|de l'|de la) (cet? |la |l')?(appel|conversation|contact|echange|interaction|ticket|dossier))?"
_FR_WHERE = r"(note|notes|resume|synthese|compte-rendu|compte rendu|fiche|crm|rapport|recapitulatif)"
_FR_WRITE = (r"(ecris|ecrivez|ecrire|mets|mettez|mettre|indique|indiquez|dis|dites|mentionne|mentionnez|note|notez|"
             r"precise|precisez|ajoute|ajoutez|inscris|inscrivez)")
_FR_AI = r"(ia|i\.a\.|intelligence artificielle|assistant|modele|bot|robot|chatbot|llm)"
FRENCH = {
    "override": _any(
        rf"{_FR_NOT}\b(ignore|ignorez|ignorer|oublie|oubliez|oublier|neglige|negligez|contourne|contournez|"
        rf"outrepasse|outrepassez)\b{_S}\b((tes|vos|toutes (tes|vos)) ((propres|anciennes|premieres) )?{_FR_RULES}|"
        rf"(les|toutes les) {_FR_RULES} {_FR_PRIOR})\b",
        rf"\bne (tiens|tenez) (pas|plus) compte (de tes|de vos|des) {_FR_RULES}( {_FR_PRIOR})?\b",
        rf"\b(fais|faites) abstraction (de tes|de vos|des) {_FR_RULES}\b",
        r"\bnouvelles? (instructions|consignes|regles)\s*(pour (toi|vous|l'ia|l'assistant)|:)",
        r"\b(tu es|vous etes) (maintenant|desormais|dorenavant) (un|une|mon|ma)\b",
        r"\b(a partir de maintenant|desormais|dorenavant),? (tu|vous) (ignores|ignorez|obeis|obeissez|reponds|"
        r"repondez|agis|agissez)\b"),
    "prompt_leak": _any(
        r"\b(prompt|invite) (systeme|initial|cache|secret|d'origine)\b",
        rf"\b(tes|vos) {_FR_RULES} (systeme|internes|initiales|secretes|cachees|d'origine)\b",
        rf"\b(revele|revelez|reveler|affiche|affichez|montre|montrez|repete|repetez|recite|recitez|copie|copiez|"
        rf"imprime|imprimez|divulgue|divulguez)\b{_S}\b(ton|votre|le) prompt\b",
        rf"\b(repete|repetez|affiche|affichez|copie|copiez|imprime|imprimez|montre|montrez)\b{_S0}\btout ce qui "
        rf"(precede|est (ecrit )?(au-dessus|ci-dessus|avant))\b"),
    "set_outcome": _any(
        rf"{_FR_NOT}\b(marque|marquez|marquer|classe|classez|classer|enregistre|enregistrez|note|notez|indique|"
        rf"indiquez|considere|considerez|mets|mettez|signale|signalez|declare|declarez|cloture|cloturez|ferme|"
        rf"fermez|code|codez|etiquette|etiquetez)\b{_S}\bcomme\s+{_FR_LABELS}\b",
        rf"\b(disposition|resultat|statut|code de cloture|classification){_FR_CONTACT}\s*(=|:|->|sur|en|a|comme|"
        rf"doit etre|devrait etre)\s*[\"'«]?\s*{_FR_LABELS}\b",
        rf"\b(change|changez|changer|modifie|modifiez|modifier|mets|mettez|mettre|definis|definissez|passe|passez|"
        rf"passer)\b{_S}\b(la disposition|le resultat|le statut|le code){_FR_CONTACT}\s+(en|a|sur|comme)\s+"
        rf"[\"'«]?{_FR_LABELS}"),
    "write_note": _any(
        rf"\b(dans|sur) (la|le|ta|votre|ton|cette) {_FR_WHERE}( (crm|interne|client|de l'appel))?\b,?{_S0}"
        rf"{_FR_NOT}\b{_FR_WRITE}\b",
        rf"{_FR_NOT}\b{_FR_WRITE}\b{_S}\b(dans|sur) (la|le|ta|votre|ton|cette) {_FR_WHERE}\b",
        r"\b(note|fiche) crm\b",
        rf"\b(que|pour que) (la|le|ta|votre) {_FR_WHERE} (dise|indique|mentionne|affirme|precise|montre)\b"),
    "exfiltrate": _any(
        rf"\b(donnees|informations|infos|coordonnees|adresses|e-?mails|courriels|numeros|noms|dossiers|commandes|"
        rf"comptes|conversations|transcriptions|cartes)\b{_S0}\b(des autres|d'autres|de tous les|de toutes les|des "
        rf"precedents) (clients|clientes|utilisateurs|appelants|usagers)\b"),
    "address_ai": _any(
        rf"\b(note|message|instruction|consigne|rappel)s? (a|pour) (l'|la |le )?{_FR_AI}\b",
        r"\bsi (tu es|vous etes) une? (ia|intelligence artificielle|assistant|modele de langage|bot|robot)\b",
        r"\ben tant qu'(ia|assistant|intelligence artificielle|modele de langage)\b",
        r"\b(chere?) (ia|modele|bot|robot)\b"),
}

# German --------------------------------------------------------------------------------------------------------
_DE_RULES = (r"(anweisungen|anweisung|instruktionen|regeln|vorgaben|richtlinien|befehle|prompts?|systemprompt|"
             r"programmierung)")
_DE_PRIOR = r"(vorherigen|vorigen|bisherigen|obigen|fruheren|ursprunglichen|alten)"
_DE_LABELS = (r"(gelost|geloest|erledigt|behoben|geschlossen|abgeschlossen|eskaliert|zufrieden|zufriedenstellend|"
              r"erfolgreich)")
_DE_CONTACT = r"( (des|dieses) (anrufs|gesprachs|chats|falls|kontakts|tickets))?"
_DE_IN = r"(in (die|der|deine|deiner|ihre|ihrer|den|dem|das)|ins) (crm[- ])?"
_DE_WHERE = r"(notiz|zusammenfassung|crm|crm-notiz|bericht|protokoll|vermerk|akte|gesprachsnotiz)"
_DE_WRITE = (r"(schreib|schreibe|schreiben sie|notiere|notieren sie|vermerke|vermerken sie|trage|tragen sie|"
             r"erwahne|erwahnen sie|fuge|fugen sie)")
GERMAN = {
    "override": _any(
        rf"\b(ignoriere|ignorier|ignorieren sie|vergiss|vergessen sie|missachte|missachten sie|uberschreibe|"
        rf"uberschreiben sie|umgehe|umgehen sie|verwirf|verwerfen sie)\b{_S}\b((deine|ihre|alle|jegliche|"
        rf"samtliche)( {_DE_PRIOR})?|die {_DE_PRIOR}) {_DE_RULES}\b",
        rf"\b(deine|alle( deine)?|die {_DE_PRIOR}) ({_DE_PRIOR} )?{_DE_RULES}\b{_S0}\b(ignorieren|vergessen|"
        rf"missachten)\b",
        rf"\b(deine|ihre) {_DE_RULES} gelten (nicht mehr|jetzt nicht)\b",
        r"\bneue (anweisungen|regeln|aufgabe|befehle)\s*(fur dich|fur sie|:)",
        r"\bab (jetzt|sofort) (bist du|agierst du|handelst du|ignorierst du)\b",
        rf"\b(deaktiviere|deaktivieren sie|schalte|schalten sie)\b{_S0}\b(deine|ihre) (filter|sicherheitsregeln|"
        rf"schutzmassnahmen|einschrankungen)\b"),
    "prompt_leak": _any(
        r"\b(systemprompt|system-prompt|system prompt|(geheimen?|versteckten?) (prompt|anweisungen))\b",
        rf"\b(zeige|zeig|zeigen sie|gib|geben sie|wiederhole|wiederholen sie|nenne|nennen sie|verrate|verraten sie|"
        rf"drucke|kopiere)\b{_S}\b((deinen|ihren|den) (prompt|systemprompt)|(deine|ihre) (anweisungen|regeln) "
        rf"(im wortlaut|wortlich|vollstandig|intern))\b",
        rf"\b(wiederhole|zeige|gib|kopiere)\b{_S0}\balles,? was (oben|davor|vorher) (steht|stand)\b"),
    "set_outcome": _any(
        rf"\b(markiere|markieren sie|markier|setze|setzen sie|trage|tragen sie|kennzeichne|kennzeichnen sie|"
        rf"vermerke|vermerken sie|klassifiziere|klassifizieren sie|stufe|stufen sie|verbuche|verbuchen sie|"
        rf"schliesse|schliessen sie|werte|werten sie|buche|buchen sie)\b{_S}\bals {_DE_LABELS}\b",
        rf"\bals {_DE_LABELS}\b{_S0}\b(markieren|kennzeichnen|einstufen|vermerken|eintragen|klassifizieren|"
        rf"verbuchen|abschliessen|werten)\b",
        rf"\b(disposition|ergebnis|status|fallstatus|abschlusscode|klassifizierung){_DE_CONTACT}\s*(=|:|->|auf|als|"
        rf"muss|soll|sollte)\s*[\"'„]?\s*{_DE_LABELS}\b",
        rf"\b(andere|andern sie|setze|setzen sie|stelle|stellen sie)\b{_S}\b(die disposition|das ergebnis|den "
        rf"status|den fallstatus|den abschlusscode){_DE_CONTACT}\s+(auf|zu|als)\s+[\"'„]?{_DE_LABELS}"),
    "write_note": _any(
        rf"\b{_DE_IN}{_DE_WHERE}\b,?{_S}\b(schreib|schreibe|schreiben|notiere|notieren|vermerke|vermerken|setze|"
        rf"setzen|trage|tragen|erwahne|erwahnen)\b",
        rf"\b{_DE_WRITE}\b{_S}\b{_DE_IN}{_DE_WHERE}\b",
        r"\bcrm[- ]?(notiz|eintrag|vermerk)\b",
        r"\b(die|deine|ihre) (zusammenfassung|notiz) (soll|muss|sollte) (sagen|lauten|enthalten|erwahnen|zeigen)\b"),
    "exfiltrate": _any(
        rf"\b(daten|informationen|infos|details|e-?mails|e-?mail-adressen|adressen|telefonnummern|nummern|namen|"
        rf"bestellungen|konten|gesprache|kontodaten|kartennummern)\b{_S0}\b(anderer|aller|der anderen|von anderen|"
        rf"von allen|der vorherigen|des vorherigen) (kunden|kundinnen|nutzer|benutzer|anrufer)\b"),
    "address_ai": _any(
        r"\b(notiz|nachricht|hinweis|anweisung)\s+(an|fur) (die |den |das )?(ki|k\.i\.|kunstliche intelligenz|"
        r"assistenten|modell|bot|chatbot|llm)\b",
        r"\bwenn du eine? (ki|kunstliche intelligenz|sprachmodell|bot|assistent) bist\b",
        r"\bals (ki|sprachmodell)(?![\w-])", r"\b(liebe|lieber) (ki|bot|modell)\b"),
}

# Spanish -------------------------------------------------------------------------------------------------------
_ES_NOT = _not_after("yo lo la le se me te el ya ha he has han fue fueron usted ustedes ellos ellas que")
_ES_RULES = r"(instrucciones|instruccion|reglas|normas|directrices|indicaciones|prompts?|ordenes|pautas)"
_ES_PRIOR = r"(anteriores|previas|de arriba|iniciales|originales|del sistema|internas)"
_ES_LABELS = (r"(resuelt[oa]s?|solucionad[oa]s?|cerrad[oa]s?|completad[oa]s?|escalad[oa]s?|satisfech[oa]s?|"
              r"exitos[oa]s?|un exito|finalizad[oa]s?)")
_ES_CONTACT = r"( (de|del) (esta |este |la |el )?(llamada|conversacion|chat|contacto|caso|ticket|interaccion))?"
_ES_WHERE = r"(nota|notas|resumen|crm|informe|reporte|ficha|registro|expediente)"
_ES_WRITE = (r"(escribe|escriba|pon|ponga|anota|anote|agrega|agregue|anade|anada|incluye|incluya|menciona|mencione|"
             r"registra|registre|indica|indique|di|diga)")
SPANISH = {
    "override": _any(
        rf"{_ES_NOT}\b(ignora|ignorar|olvida|olvidar|omite|omitir|descarta|descartar|saltate)\b{_S}\b(tus|sus|todas "
        rf"(tus|sus|las)) {_ES_RULES}\b",
        rf"{_ES_NOT}\b(ignora|ignore|ignoren|ignorar|olvida|olvide|olviden|olvidar|omite|omita|descarta|descarte)\b"
        rf"{_S}\b(las|tus|sus) {_ES_RULES} {_ES_PRIOR}\b",
        r"\bnuevas (instrucciones|reglas|ordenes)\s*(para ti|para usted|:)",
        r"\b(a partir de ahora|desde ahora),? (eres|actuas|ignoras|vas a ignorar|respondes)\b",
        r"\b(tus|sus) (instrucciones|reglas|normas) ya no (aplican|cuentan|valen|son validas)\b"),
    "prompt_leak": _any(
        r"\bprompt (del sistema|de sistema|inicial|oculto|secreto|original)\b",
        r"\binstrucciones (del sistema|ocultas|secretas|internas)\b",
        rf"\b(revela|revele|muestra|muestre|muestrame|repite|repita|imprime|imprima|copia|copie|dime|digame|"
        rf"comparte|comparta)\b{_S}\b(tu|su|el) prompt\b",
        rf"\b(repite|repita|muestra|muestre|muestrame|copia|copie|imprime|imprima)\b{_S0}\btodo lo (que hay |que "
        rf"esta |escrito )?(anterior|arriba|de arriba)\b"),
    "set_outcome": _any(
        rf"{_ES_NOT}\b(marca|marque|marcar|marcalo|marquelo|marcala|marquela|pon|ponga|poner|ponlo|pongalo|registra|"
        rf"registre|registrar|clasifica|clasifique|clasificar|cierra|cierre|cerrar|anota|anote|anotar|etiqueta|"
        rf"etiquete|considera|considere|codifica|codifique)\b{_S}\bcomo\s+{_ES_LABELS}\b",
        rf"\b(disposicion|resultado|estado|estatus|codigo de cierre|clasificacion){_ES_CONTACT}\s*(=|:|->|a|en|como|"
        rf"debe ser|deberia ser|tiene que ser)\s*[\"'«]?\s*{_ES_LABELS}\b",
        rf"\b(cambia|cambie|cambiar|pon|ponga|poner|establece|establezca|actualiza|actualice|fija|fije)\b{_S}\b(la "
        rf"disposicion|el resultado|el estado|el codigo|la clasificacion){_ES_CONTACT}\s+(a|en|como)\s+[\"'«]?"
        rf"{_ES_LABELS}"),
    "write_note": _any(
        rf"\b(en|dentro de) (la|el|tu|su|esta|este) {_ES_WHERE}( del crm| interna| del cliente)?\b,?{_S0}"
        rf"{_ES_NOT}\b{_ES_WRITE}\b",
        rf"{_ES_NOT}\b{_ES_WRITE}\b{_S}\b(en|dentro de) (la|el|tu|su|esta|este) {_ES_WHERE}\b",
        r"\bnota (del|en el|de) crm\b",
        r"\bque (la|el|tu|su) (nota|resumen|informe) (diga|indique|mencione|muestre|afirme)\b"),
    "exfiltrate": _any(
        rf"\b(datos|informacion|detalles|correos|emails|direcciones|telefonos|numeros|nombres|pedidos|cuentas|"
        rf"conversaciones|tarjetas|registros)\b{_S0}\b(de (los )?otros|de todos los|de los demas|de los anteriores) "
        rf"(clientes|usuarios|llamantes|contactos)\b"),
    "address_ai": _any(
        r"\b(nota|mensaje|instruccion|aviso)\s+(para|a) (la |el )?(ia|i\.a\.|inteligencia artificial|asistente|"
        r"modelo|bot|chatbot|llm)\b",
        r"\bsi eres una? (ia|inteligencia artificial|asistente|modelo de lenguaje|bot)\b",
        r"\bcomo (ia|modelo de lenguaje)(?![\w-])", r"\b(querida|querido) (ia|modelo|bot)\b"),
}

# Italian -------------------------------------------------------------------------------------------------------
_IT_NOT = _not_after("il lo la l' si mi ti ci vi ha hanno ho hai e sono era stato stata che lui lei loro")
_IT_RULES = r"(istruzioni|istruzione|regole|direttive|indicazioni|prompts?|linee guida|ordini)"
_IT_PRIOR = r"(precedenti|di prima|sopra|iniziali|originali|del sistema|di sistema|interne)"
_IT_LABELS = (r"(risolt[oaie]|chius[oaie]|completat[oaie]|scalat[oaie]|escalat[oaie]|soddisfatt[oaie]|"
              r"un successo)")
_IT_CONTACT = (r"( (della|del|di questa|di questo) (chiamata|conversazione|chat|contatto|caso|ticket|pratica|"
               r"segnalazione))?")
_IT_WHERE = r"(nota|note|riepilogo|riassunto|sintesi|crm|rapporto|resoconto|scheda|verbale)"
_IT_WRITE = (r"(scrivi|scriva|metti|metta|annota|annoti|aggiungi|aggiunga|inserisci|inserisca|menziona|menzioni|"
             r"riporta|riporti|registra|registri|dica|indica|indichi)")
ITALIAN = {
    "override": _any(
        rf"{_IT_NOT}\b(ignora|ignori|ignorate|ignorare|dimentica|dimentichi|dimenticate|dimenticare|trascura|"
        rf"tralascia|scarta)\b{_S}\b((le tue|le sue|le vostre|tutte le( tue| sue)?) {_IT_RULES}|(le|tutte le) "
        rf"{_IT_RULES} {_IT_PRIOR})\b",
        r"\bnuove (istruzioni|regole)\s*(per te|per lei|:)",
        r"\bda (ora|adesso) in (poi|avanti),? (sei|agisci|ignori|rispondi)\b",
        r"\b(le tue|le sue) (istruzioni|regole) non (valgono|contano|si applicano) piu\b"),
    "prompt_leak": _any(
        r"\bprompt (di sistema|del sistema|iniziale|nascosto|segreto|originale)\b",
        r"\bistruzioni (di sistema|del sistema|nascoste|segrete|interne)\b",
        rf"\b(rivela|riveli|mostra|mostri|mostrami|ripeti|ripeta|stampa|stampi|copia|copi|dimmi|mi dica)\b{_S}\b"
        rf"(il tuo|il suo|il) prompt\b",
        rf"\b(ripeti|ripeta|mostra|mostrami|copia|stampa)\b{_S0}\btutto (quello|cio) che (c'e|e scritto|sta) "
        rf"(sopra|prima)\b"),
    "set_outcome": _any(
        rf"{_IT_NOT}\b(segna|segni|segnate|segnare|contrassegna|contrassegni|marca|marchi|imposta|imposti|registra|"
        rf"registri|classifica|classifichi|chiudi|chiuda|considera|consideri|etichetta|archivia|archivi|metti|"
        rf"metta)\b{_S}\bcome\s+{_IT_LABELS}\b",
        rf"\b(disposizione|esito|stato|codice di chiusura|classificazione){_IT_CONTACT}\s*(=|:|->|a|su|come|"
        rf"deve essere|dovrebbe essere)\s*[\"'«]?\s*{_IT_LABELS}\b",
        rf"\b(cambia|cambi|cambiare|imposta|imposti|impostare|metti|metta|mettere|aggiorna|aggiorni)\b{_S}\b(la "
        rf"disposizione|l'esito|lo stato|il codice|la classificazione){_IT_CONTACT}\s+(a|su|come|in)\s+[\"'«]?"
        rf"{_IT_LABELS}"),
    "write_note": _any(
        rf"\b(nella|nel|nelle|sulla|sul) (tua |sua |questa |questo )?{_IT_WHERE}( del crm| interna)?\b,?{_S0}"
        rf"{_IT_NOT}\b{_IT_WRITE}\b",
        rf"{_IT_NOT}\b{_IT_WRITE}\b{_S}\b(nella|nel|nelle|sulla|sul) (tua |sua )?{_IT_WHERE}\b",
        r"\bnota (del |nel )?crm\b",
        r"\b(la|il) (tua |sua )?(nota|riepilogo|riassunto|sintesi) (deve|dovrebbe) (dire|indicare|menzionare|"
        r"riportare|affermare)\b"),
    "exfiltrate": _any(
        rf"\b(dati|informazioni|dettagli|email|indirizzi|numeri|nomi|ordini|conti|conversazioni|carte)\b{_S0}\b"
        rf"(degli altri|di altri|di tutti gli|dei precedenti) (clienti|utenti|chiamanti|contatti)\b"),
    "address_ai": _any(
        r"\b(nota|messaggio|istruzione|avviso)\s+(per|a|all'|alla|al) ?(l'|la |il )?(ia|i\.a\.|intelligenza "
        r"artificiale|assistente virtuale|modello|bot|chatbot|llm)\b",
        r"\bse sei una? (ia|intelligenza artificiale|modello linguistico|bot)\b",
        r"\bcome (ia|modello linguistico)(?![\w-])"),
}

# Dutch ---------------------------------------------------------------------------------------------------------
_NL_NOT = _not_after("ik je jij u hij zij ze we wij jullie men die dat wie het er")
_NL_RULES = r"(instructies|instructie|regels|richtlijnen|opdrachten|aanwijzingen|prompts?|systeemprompt)"
_NL_PRIOR = r"(vorige|eerdere|bovenstaande|voorgaande|oorspronkelijke|originele|interne)"
_NL_LABELS = r"(opgelost|gesloten|afgehandeld|afgerond|voltooid|geescaleerd|tevreden|succesvol|een succes)"
_NL_CONTACT = r"( van (dit|deze|het) (gesprek|chat|contact|ticket|dossier|zaak))?"
_NL_WHERE = r"(notitie|notities|samenvatting|crm|verslag|rapport|dossier|aantekening|aantekeningen)"
DUTCH = {
    "override": _any(
        rf"{_NL_NOT}\b(negeer|vergeet|omzeil|overschrijf)\b{_S}\b((je|jouw|uw|al je|al jouw|alle)( {_NL_PRIOR})?|de "
        rf"{_NL_PRIOR}) {_NL_RULES}\b",
        rf"\b(je|jouw|alle|de {_NL_PRIOR}) ({_NL_PRIOR} )?{_NL_RULES}\b{_S0}\b(negeren|vergeten)\b",
        r"\bnieuwe (instructies|regels|opdracht)\s*(voor jou|voor u|:)",
        r"\bvanaf nu (ben je|ben jij|negeer je|antwoord je|gedraag je)\b",
        r"\b(je|jouw|uw) (instructies|regels) (gelden|tellen) niet meer\b"),
    "prompt_leak": _any(
        r"\b(systeemprompt|systeem-prompt|systeem prompt|verborgen (instructies|prompt)|geheime (instructies|prompt)"
        r"|oorspronkelijke prompt|interne instructies)\b",
        rf"\b(toon|laat zien|herhaal|print|kopieer|geef|verklap|onthul)\b{_S}\b((je|jouw|uw|de) prompt|(je|jouw) "
        rf"(instructies|configuratie))\b",
        rf"\b(herhaal|toon|kopieer|print)\b{_S0}\balles wat (hierboven|ervoor|eerder) (staat|stond)\b"),
    "set_outcome": _any(
        rf"{_NL_NOT}\b(markeer|markeren|zet|registreer|classificeer|sluit|noteer|boek|label|beschouw|codeer|log)\b"
        rf"{_S}\bals {_NL_LABELS}\b",
        rf"\bals {_NL_LABELS}\b{_S0}\b(markeren|registreren|classificeren|afsluiten|noteren|boeken|labelen)\b",
        rf"\b(dispositie|uitkomst|resultaat|status|afsluitcode|classificatie){_NL_CONTACT}\s*(=|:|->|op|naar|als|"
        rf"moet zijn)\s*[\"'„]?\s*{_NL_LABELS}\b",
        rf"\b(verander|wijzig|zet|stel)\b{_S}\b(de dispositie|de uitkomst|het resultaat|de status|de afsluitcode)"
        rf"{_NL_CONTACT}\s+(op|naar|in|als)\s+[\"'„]?{_NL_LABELS}"),
    "write_note": _any(
        rf"\b(in|op) (de|het|je|jouw|uw|deze|dit) (crm[- ])?{_NL_WHERE}\b,?{_S0}{_NL_NOT}\b(schrijf|zet|vermeld|"
        rf"noteer|zeg|meld|typ)\b",
        rf"{_NL_NOT}\b(schrijf|zet|vermeld|noteer|typ)\b{_S}\b(in|aan) (de|het|je|jouw|uw|deze|dit) (crm[- ])?"
        rf"{_NL_WHERE}\b",
        r"\bcrm[- ]?(notitie|aantekening)\b",
        r"\b(de|je|jouw|uw) (samenvatting|notitie) (moet|zou moeten) (zeggen|vermelden|melden|tonen|bevatten)\b"),
    "exfiltrate": _any(
        rf"\b(gegevens|informatie|details|e-?mails|e-?mailadressen|adressen|telefoonnummers|nummers|namen|"
        rf"bestellingen|accounts|gesprekken|kaarten)\b{_S0}\bvan (andere|alle|de andere|de vorige|eerdere) "
        rf"(klanten|gebruikers|bellers|contacten)\b"),
    "address_ai": _any(
        r"\b(notitie|bericht|instructie|opmerking)\s+(aan|voor) (de |het )?(ai|a\.i\.|kunstmatige intelligentie|"
        r"model|bot|chatbot|llm)\b",
        r"\bals je een (ai|kunstmatige intelligentie|taalmodel|bot) bent\b",
        r"\bals (ai|taalmodel)(?![\w-])", r"\b(beste|lieve) (ai|bot|model)\b"),
}

# Portuguese ----------------------------------------------------------------------------------------------------
_PT_NOT = _not_after("o a os as ele ela eles elas voce voces eu me se lhe foi foram esta estava tinha tem ja que")
_PT_RULES = r"(instrucoes|instrucao|regras|diretrizes|orientacoes|prompts?|ordens)"
_PT_PRIOR = r"(anteriores|previas|acima|iniciais|originais|do sistema|internas)"
_PT_LABELS = (r"(resolvid[oa]s?|solucionad[oa]s?|fechad[oa]s?|encerrad[oa]s?|concluid[oa]s?|escalad[oa]s?|"
              r"satisfeit[oa]s?|um sucesso)")
_PT_CONTACT = r"( (da|do|desta|deste) (chamada|conversa|chat|contato|caso|ticket|atendimento))?"
_PT_WHERE = r"(nota|notas|resumo|crm|relatorio|ficha|registro|registo|anotacao|anotacoes)"
_PT_IN = r"(na|no|nas|nos|na sua|no seu|nesta|neste|em sua|em seu)"
_PT_WRITE = (r"(escreva|escreve|coloque|coloca|anote|anota|adicione|adiciona|inclua|inclui|mencione|menciona|"
             r"registre|registra|ponha|diga|indique|indica)")
PORTUGUESE = {
    "override": _any(
        rf"{_PT_NOT}\b(ignora|ignore|ignorem|ignorar|esqueca|esquece|esquecam|esquecer|desconsidera|desconsidere|"
        rf"descarte|descarta)\b{_S}\b((as suas|suas|as tuas|tuas|todas as suas|todas as) {_PT_RULES}|(as|todas as) "
        rf"{_PT_RULES} {_PT_PRIOR})\b",
        r"\bnovas (instrucoes|regras|ordens)\s*(para voce|para ti|:)",
        r"\b(a partir de agora|de agora em diante),? (voce e|voce vai ignorar|tu es|ignore|responda|aja)\b",
        r"\b(suas|tuas) (instrucoes|regras) (nao valem|nao se aplicam|nao contam) mais\b"),
    "prompt_leak": _any(
        r"\bprompt (do sistema|de sistema|inicial|oculto|secreto|original)\b",
        r"\binstrucoes (do sistema|ocultas|secretas|internas)\b",
        rf"\b(revela|revele|mostra|mostre|repete|repita|imprime|imprima|copia|copie|diga|diz|compartilhe)\b{_S}\b"
        rf"(o seu|seu|o teu|teu|o) prompt\b",
        rf"\b(repita|repete|mostre|mostra|copie|copia|imprima)\b{_S0}\btudo (o )?que (esta|foi escrito|vem|veio) "
        rf"(acima|antes)\b"),
    "set_outcome": _any(
        rf"{_PT_NOT}\b(marque|marca|marcar|coloque|coloca|colocar|registre|registra|registrar|classifique|"
        rf"classifica|classificar|feche|fechar|encerre|encerra|encerrar|anote|anota|anotar|considere|considera|"
        rf"considerar|codifique|etiquete|ponha)\b{_S}\bcomo\s+{_PT_LABELS}\b",
        rf"\b(disposicao|resultado|status|estado|codigo de encerramento|classificacao){_PT_CONTACT}\s*(=|:|->|para|"
        rf"em|como|deve ser|deveria ser)\s*[\"'«]?\s*{_PT_LABELS}\b",
        rf"\b(mude|muda|mudar|altere|altera|alterar|coloque|coloca|colocar|defina|define|definir|atualize|atualiza|"
        rf"atualizar|ponha)\b{_S}\b(a disposicao|o resultado|o status|o estado|o codigo|a classificacao)"
        rf"{_PT_CONTACT}\s+(para|em|como)\s+[\"'«]?{_PT_LABELS}"),
    "write_note": _any(
        rf"\b{_PT_IN} (crm[- ]?)?{_PT_WHERE}( do crm| interna)?\b,?{_S0}{_PT_NOT}\b{_PT_WRITE}\b",
        rf"{_PT_NOT}\b{_PT_WRITE}\b{_S}\b{_PT_IN} (crm[- ]?)?{_PT_WHERE}\b",
        r"\bnota (do|no) crm\b",
        r"\b(a|o) (sua |seu |tua |teu )?(nota|resumo|relatorio) (deve|deveria|tem que) (dizer|indicar|mencionar|"
        r"afirmar|mostrar)\b"),
    "exfiltrate": _any(
        rf"\b(dados|informacoes|detalhes|e-?mails|enderecos|telefones|numeros|nomes|pedidos|contas|conversas|"
        rf"cartoes|registros)\b{_S0}\b(de outros|dos outros|de todos os|dos demais|dos anteriores) (clientes|"
        rf"usuarios|contatos)\b"),
    "address_ai": _any(
        r"\b(nota|mensagem|instrucao|aviso)\s+(para|ao) (a |o )?(ia|i\.a\.|inteligencia artificial|assistente "
        r"virtual|modelo|bot|chatbot|llm)\b",
        r"\bse voce (e|for) uma? (ia|inteligencia artificial|modelo de linguagem|bot)\b",
        r"\bcomo (ia|modelo de linguagem)(?![\w-])", r"\b(querida|querido) (ia|bot)\b"),
}

# Polish --------------------------------------------------------------------------------------------------------
_PL_RULES = r"(instrukc|polece|zasad|regul|wytyczn|prompt)\w*"
_PL_LABELS = r"(rozwiazan|zamkniet|zalatwion|zakonczon|eskalowan|zadowolon)\w*"
_PL_CONTACT = r"( (tej|tego) (rozmowy|czatu|kontaktu|zgloszenia|sprawy))?"
_PL_IN = r"w (notatce|podsumowaniu|crm|raporcie|protokole|karcie klienta|kartotece)"
_PL_WRITE = r"(napisz|wpisz|zapisz|dodaj|umiesc|wspomnij|zaznacz|napiszcie|wpiszcie|dodajcie|stwierdz)"
POLISH = {
    "override": _any(
        rf"\b(zignoruj|zignorujcie|ignoruj|ignorujcie|zapomnij|zapomnijcie|pomin|pomincie|lekcewaz)\b{_S}\b(o )?"
        rf"(swoj|swoi|twoj|twoi|wszystk|wszelk|poprzedn|wczesniejsz|powyzsz|dotychczasow)\w*( \w+)? {_PL_RULES}",
        r"\bnowe (instrukcje|polecenia|zasady)\s*(dla ciebie|:)",
        r"\bod (teraz|tej chwili) (jestes|bedziesz|ignorujesz|odpowiadasz|dzialasz)\b",
        r"\b(twoje|swoje) (instrukcje|zasady|reguly) (juz )?nie (obowiazuja|maja znaczenia)\b"),
    "prompt_leak": _any(
        r"\bprompt\w* systemow\w*|\bsystemow\w* prompt\w*|\b(ukryt|tajn)\w* (instrukc|prompt|polece)\w*"
        r"|\b(poczatkow|oryginaln)\w* prompt\w*",
        rf"\b(pokaz|ujawnij|powtorz|wypisz|wydrukuj|skopiuj|podaj|zdradz)\w*\b{_S}\b((swoj|twoj)\w* prompt\w*|"
        rf"(swoj|twoj)\w* (instrukcj|polecen)\w* (systemow|wewnetrzn|ukryt|tajn|poczatkow)\w*)",
        rf"\b(powtorz|pokaz|skopiuj|wypisz)\w*\b{_S0}\bwszystko,? co (jest |bylo )?(powyzej|wyzej|wczesniej)\b"),
    "set_outcome": _any(
        rf"\b(oznacz|oznaczcie|zaznacz|ustaw|ustawcie|zapisz|zapiszcie|sklasyfikuj|zaklasyfikuj|zamknij|zamknijcie|"
        rf"zarejestruj|odnotuj|potraktuj|uznaj|wpisz|oznaczyc|zaznaczyc|ustawic|zamknac|zapisac)\b{_S}\bjako\s+"
        rf"({_PL_LABELS}|sukces\w*|udan\w*)",
        rf"\b(dyspozycj|wynik|status|kod zamkniecia|klasyfikacj)\w*{_PL_CONTACT}\s*(=|:|->|na|jako|ma byc|"
        rf"powinien byc|powinna byc)\s*[\"'„]?\s*{_PL_LABELS}",
        rf"\b(zmien|zmiencie|ustaw|ustawcie|zaktualizuj|wpisz)\b{_S}\b(dyspozycj|wynik|status|kod|klasyfikacj)\w*"
        rf"{_PL_CONTACT}\s+(na|jako)\s+[\"'„]?{_PL_LABELS}"),
    "write_note": _any(
        rf"\b{_PL_IN}\b,?{_S0}\b{_PL_WRITE}\b",
        rf"\b{_PL_WRITE}\b{_S}\b{_PL_IN}\b",
        r"\bnotatk\w* (w |do )?crm\b",
        r"\b(notatka|podsumowanie) (ma|powinn[oa]|musi) (mowic|zawierac|stwierdzac|wspominac|brzmiec)\b"),
    "exfiltrate": _any(
        r"\b(dane|danych|informacje|informacji|szczegoly|e-?maile|adresy|numery|nazwiska|zamowienia|konta|rozmowy|"
        r"karty)\b[^.!?\n]{0,20}\b(innych|wszystkich|poprzednich|pozostalych) (klientow|uzytkownikow|dzwoniacych|"
        r"rozmowcow|kontaktow)\b"),
    "address_ai": _any(
        r"\b(notatka|wiadomosc|instrukcja|uwaga|polecenie)\s+(dla|do) (ai|a\.i\.|si|sztucznej inteligencji|"
        r"modelu|bota|chatbota|llm)\b",
        r"\bjesli jestes (ai|si|sztuczna inteligencja|modelem jezykowym|botem)\b",
        r"\bjako (ai|model jezykowy)(?![\w-])", r"\b(droga|drogi) (ai|si|bocie)\b"),
}

LANGUAGES: dict[str, dict[str, str]] = {"fr": FRENCH, "de": GERMAN, "es": SPANISH, "it": ITALIAN, "nl": DUTCH,
                                        "pt": PORTUGUESE, "pl": POLISH}
# One pattern per kind over all seven languages (the folded text is matched case-insensitively).
FOREIGN: dict[str, re.Pattern[str]] = {
    kind: re.compile(r"\b(?=\w)(?:" + "|".join(f"(?:{lang[kind]})" for lang in LANGUAGES.values() if kind in lang)
                     + ")", re.IGNORECASE)  # every alternative starts a word: other positions are skipped at once
    for kind in ("override", "prompt_leak", "set_outcome", "write_note", "exfiltrate", "address_ai")
}

# Outcome words ----------------------------------------------------------------------------------------------------
# What an injection asks a contact to be called, in the eight languages, folded; grouped by the outcome they mean.
OUTCOME_WORDS: dict[str, str] = {
    "resolved": (r"resolved|solved|fixed|closed|completed?|satisfied|successful|resolue?s?|clos|close|cloturee?s?|"
                 r"terminee?s?|gelost|geloest|erledigt|behoben|geschlossen|abgeschlossen|resuelt[oa]s?|"
                 r"solucionad[oa]s?|cerrad[oa]s?|completad[oa]s?|risolt[oaie]|chius[oaie]|completat[oaie]|opgelost|"
                 r"gesloten|afgehandeld|afgerond|resolvid[oa]s?|fechad[oa]s?|encerrad[oa]s?|concluid[oa]s?|"
                 r"rozwiazan\w*|zamkniet\w*|zalatwion\w*"),
    "escalated": (r"escalated|escaladee?s?|eskaliert|escalad[oa]s?|escalat[oaie]|scalat[oaie]|geescaleerd|"
                  r"eskalowan\w*"),
    "deflected": (r"deflected|redirected|redirigee?s?|weitergeleitet|redirigid[oa]s?|reindirizzat[oaie]|"
                  r"doorverwezen|redirecionad[oa]s?|przekierowan\w*"),
    "abandoned": (r"abandoned|abandonnee?s?|abgebrochen|abandonad[oa]s?|abbandonat[oaie]|afgebroken|porzucon\w*"),
}
# Negations in the eight languages: "not resolved" is not the word an injection asked for.
NEGATION = re.compile(r"(n't|\b(not|never|no|nor|non|ne|pas|jamais|nicht|nie|kein|keine|nunca|mai|niet|geen|nao|sin))"
                      r"\W+(\w+\W+)?$", re.IGNORECASE)

# Function words of each language (none shared with English): roughly which language a sentence is written in.
_FUNCTION_WORDS = {
    "en": "the and or of for are was be it this that you your my me we with at by not do all have has please what",
    "fr": "le la les des du un une et est sont vous tu je il elle nous que qui pas ne dans pour sur avec mon ma mes "
          "votre vos ton tes au aux ce cette",
    "de": "der das und ist sind sie du ich nicht mit fur auf ein eine mein meine dein ihre den dem zu von bitte "
          "wurde hat habe",
    "es": "el los las del y es son usted yo que en por para con mi mis su sus una al lo fue esta",
    "it": "il lo gli di del della che non per con mio mia una sono ho ha questo questa nel nella",
    "nl": "het een en zijn ik je jij u niet met voor van op mijn dat wat maar heb heeft wordt",
    "pt": "os da do que nao em por para com meu minha seu sua uma voce foi esta na",
    "pl": "w z na nie jest sa ze sie moj moja moje ty ja jak po co ale czy mnie przez",
}
_FUNCTION = {lang: frozenset(words.split()) for lang, words in _FUNCTION_WORDS.items()}


def reads_foreign(sentence: str) -> bool:
    """Whether a (folded) sentence has more function words of one of the seven other languages than of English."""
    words = re.findall(r"[a-z]+", sentence.lower())
    counts = {lang: sum(w in found for w in words) for lang, found in _FUNCTION.items()}
    english = counts.pop("en")
    return max(counts.values()) >= 2 and max(counts.values()) > english
