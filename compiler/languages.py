"""Language codes the compiler knows, with their scripts.

XNLI's 15 languages are the core; a few more codes are accepted so that specs for other
datasets validate, and scripts let perturbations declare support per script.
"""

from __future__ import annotations

XNLI_LANGUAGES: tuple[str, ...] = (
    "ar", "bg", "de", "el", "en", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh",
)

SCRIPTS: dict[str, str] = {
    "ar": "Arabic", "bg": "Cyrillic", "de": "Latin", "el": "Greek", "en": "Latin",
    "es": "Latin", "fr": "Latin", "hi": "Devanagari", "ru": "Cyrillic", "sw": "Latin",
    "th": "Thai", "tr": "Latin", "ur": "Arabic", "vi": "Latin", "zh": "Han",
    # accepted beyond XNLI
    "it": "Latin", "pt": "Latin", "nl": "Latin", "pl": "Latin", "ja": "Japanese",
    "ko": "Hangul", "fa": "Arabic", "id": "Latin", "uk": "Cyrillic", "he": "Hebrew",
    # TyDiQA-GoldP's languages beyond XNLI's (docs/phang2020.md)
    "bn": "Bengali", "fi": "Latin", "te": "Telugu",
    # the rest of XTREME's PAN-X (40) and UD POS (33) languages (docs/phang2020.md)
    "af": "Latin", "et": "Latin", "eu": "Latin", "hu": "Latin", "jv": "Latin", "ms": "Latin",
    "tl": "Latin", "yo": "Latin", "kk": "Cyrillic", "mr": "Devanagari", "ka": "Georgian",
    "ml": "Malayalam", "ta": "Tamil", "my": "Myanmar",
}

#: XTREME's language lists of the two tagging targets (Hu et al. 2020; jiant's LANGS_DICT).
PANX_LANGUAGES: tuple[str, ...] = (
    "af", "ar", "bg", "bn", "de", "el", "en", "es", "et", "eu", "fa", "fi", "fr", "he", "hi", "hu", "id", "it",
    "ja", "jv", "ka", "kk", "ko", "ml", "mr", "ms", "my", "nl", "pt", "ru", "sw", "ta", "te", "th", "tl", "tr",
    "ur", "vi", "yo", "zh",
)
UDPOS_LANGUAGES: tuple[str, ...] = (
    "af", "ar", "bg", "de", "el", "en", "es", "et", "eu", "fa", "fi", "fr", "he", "hi", "hu", "id", "it", "ja",
    "kk", "ko", "mr", "nl", "pt", "ru", "ta", "te", "th", "tl", "tr", "ur", "vi", "yo", "zh",
)

KNOWN_LANGUAGES: frozenset[str] = frozenset(SCRIPTS)
ALL_XNLI: frozenset[str] = frozenset(XNLI_LANGUAGES)


def script_of(lang: str) -> str:
    return SCRIPTS.get(lang, "Unknown")
