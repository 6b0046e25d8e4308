"""Per-language alphabets: which graphemes character noise may insert or substitute.

Random letters must come from the script being edited (ASCII letters inside a Hindi word are a
different, much easier perturbation). Each table lists only graphemes that stand on their own:
consonants and independent vowels for Devanagari, Bengali and Telugu, consonants for Thai, base letters for Arabic,
so an inserted grapheme can never be a combining sign with nothing to attach to.
"""

from __future__ import annotations

from functools import lru_cache

from xexp.compiler.languages import script_of
from xexp.runtime.robustness.perturbations.text import graphemes, script_of_text

_LATIN = "abcdefghijklmnopqrstuvwxyz"

ALPHABETS: dict[str, str] = {
    "en": _LATIN,
    "sw": _LATIN,
    "de": _LATIN + "äöüß",
    "es": _LATIN + "ñáéíóú",
    "fr": _LATIN + "àâçéèêëîïôùû",
    "tr": "abcçdefgğhıijklmnoöprsştuüvyz",
    "vi": "aăâbcdđeêghiklmnoôơpqrstuưvxy" "àáảãạèéẻẽẹìíỉĩịòóỏõọùúủũụỳýỷỹỵ",
    "ru": "абвгдежзийклмнопрстуфхцчшщъыьэюя",
    "bg": "абвгдежзийклмнопрстуфхцчшщъьюя",
    "el": "αβγδεζηθικλμνξοπρστυφχψω" "άέήίόύώ",
    "ar": "ابتثجحخدذرزسشصضطظعغفقكلمنهوي" "ةءأإآىئؤ",
    "ur": "ابپتٹثجچحخدڈذرڑزژسشصضطظعغفقکگلمنںوہھءیے",
    "hi": "कखगघङचछजझञटठडढणतथदधनपफबभमयरलवशषसह" "अआइईउऊएऐओऔ",
    "th": "กขคฆงจฉชซฌญฎฏฐฑฒณดตถทธนบปผฝพฟภมยรลวศษสหฬอฮ",
    # TyDiQA-GoldP's languages beyond XNLI: consonants and independent vowels, as for Hindi
    # (Bengali's nukta letters ড় ঢ় য় are left out: NFC splits them into a base and a sign)
    "fi": _LATIN + "äöå",
    "bn": "কখগঘঙচছজঝঞটঠডঢণতথদধনপফবভমযরলশষসহ" "অআইঈউঊঋএঐওঔ",
    "te": "కఖగఘఙచఛజఝఞటఠడఢణతథదధనపఫబభమయరలవశషసహళఱ" "అఆఇఈఉఊఋఎఏఐఒఓఔ",
    # the rest of XTREME's PAN-X and UD POS languages: Latin letters with each language's own
    # marks (precomposed), and the base letters of the other scripts (consonants and
    # independent vowels for the Brahmic ones, as for Hindi)
    "af": _LATIN + "êëéèôûîï",
    "et": _LATIN + "äöõüšž",
    "eu": _LATIN + "ñ",
    "hu": _LATIN + "áéíóöőúüű",
    "jv": _LATIN + "éè",
    "ms": _LATIN,
    "tl": _LATIN + "ñ",
    "yo": "abdeẹfghijklmnoọprsṣtuwy",
    "kk": "аәбвгғдеёжзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя",
    "mr": "कखगघङचछजझञटठडढणतथदधनपफबभमयरलवशषसहळ" "अआइईउऊएऐओऔ",
    "ka": "აბგდევზთიკლმნოპჟრსტუფქღყშჩცძწჭხჯჰ",
    "ta": "கஙசஞடணதநபமயரலவழளறன" "அஆஇஈஉஊஎஏஐஒஓஔ",
    "ml": "കഖഗഘങചഛജഝഞടഠഡഢണതഥദധനപഫബഭമയരലവശഷസഹളഴറ" "അആഇഈഉഊഋഎഏഐഒഓഔ",
    "my": "ကခဂဃငစဆဇဈညဋဌဍဎဏတထဒဓနပဖဗဘမယရလဝသဟဠအ",
    # frequent Han characters (simplified)
    "zh": "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去"
          "之过家学对可里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如"
          "前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明力"
          "工正水问车间新话电几少最物",
}

#: The language whose alphabet stands for a script met outside its own language (an English
#: name inside a Hindi sentence is edited with Latin letters).
SCRIPT_DEFAULT_LANGUAGE: dict[str, str] = {
    "Latin": "en", "Cyrillic": "ru", "Greek": "el", "Arabic": "ar", "Devanagari": "hi",
    "Thai": "th", "Han": "zh", "Bengali": "bn", "Telugu": "te",
    "Georgian": "ka", "Tamil": "ta", "Malayalam": "ml", "Myanmar": "my",
}


@lru_cache(maxsize=None)
def _alphabet(lang: str) -> tuple[str, ...]:
    return tuple(graphemes(ALPHABETS[lang]))


@lru_cache(maxsize=65536)
def alphabet_for(word: str, lang: str) -> tuple[str, ...]:
    """The alphabet to draw from when editing `word` in a `lang` text (may be empty)."""
    script = script_of_text(word)
    if script == "Unknown":
        return ()
    if script == script_of(lang) and lang in ALPHABETS:
        return _alphabet(lang)
    default = SCRIPT_DEFAULT_LANGUAGE.get(script)
    return _alphabet(default) if default else ()
