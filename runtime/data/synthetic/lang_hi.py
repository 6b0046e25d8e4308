"""Hindi realisations of the generator's vocabulary (keys and layout as in lang_en.py).

Hindi is SOV: the place goes before the object, and person objects take their oblique form
before the postposition written in the verb template (लड़का -> लड़के को).
"""

JOINER = " "
FULL_STOP = "।"

# (direct form, oblique form)
PERSONS = {
    "man": ("आदमी", "आदमी"), "boy": ("लड़का", "लड़के"),
    "teacher": ("अध्यापक", "अध्यापक"), "doctor": ("डॉक्टर", "डॉक्टर"),
    "farmer": ("किसान", "किसान"), "student": ("छात्र", "छात्र"),
    "driver": ("ड्राइवर", "ड्राइवर"), "cook": ("रसोइया", "रसोइये"),
    "someone": ("कोई", None),
}

CATEGORIES = {
    "instrument": {
        "aff": "{o} बजा रहा है", "neg": "{o} नहीं बजा रहा है", "place": "{place} {o} बजा रहा है",
        "objects": {"guitar": ("गिटार",) * 2, "piano": ("पियानो",) * 2,
                    "violin": ("वायलिन",) * 2, "drums": ("ढोल",) * 2},
        "general": ("एक वाद्य यंत्र बजा रहा है", "कोई वाद्य यंत्र नहीं बजा रहा है"),
    },
    "fruit": {
        "aff": "{o} खा रहा है", "neg": "{o} नहीं खा रहा है", "place": "{place} {o} खा रहा है",
        "objects": {"apple": ("सेब",) * 2, "banana": ("केला",) * 2,
                    "orange": ("संतरा",) * 2, "pear": ("नाशपाती",) * 2},
        "general": ("फल खा रहा है", "कोई फल नहीं खा रहा है"),
    },
    "beverage": {
        "aff": "{o} पी रहा है", "neg": "{o} नहीं पी रहा है", "place": "{place} {o} पी रहा है",
        "objects": {"coffee": ("कॉफ़ी",) * 2, "tea": ("चाय",) * 2, "milk": ("दूध",) * 2,
                    "juice": ("जूस",) * 2},
        "general": ("एक पेय पी रहा है", "कोई पेय नहीं पी रहा है"),
    },
    "animal": {
        "aff": "{o} को खाना खिला रहा है", "neg": "{o} को खाना नहीं खिला रहा है",
        "place": "{place} {o} को खाना खिला रहा है",
        "objects": {"dog": ("कुत्ते",) * 2, "cat": ("बिल्ली",) * 2,
                    "horse": ("घोड़े",) * 2, "rabbit": ("खरगोश",) * 2},
        "general": ("एक जानवर को खाना खिला रहा है", "किसी जानवर को खाना नहीं खिला रहा है"),
    },
    "vehicle": {
        "aff": "{o} चला रहा है", "neg": "{o} नहीं चला रहा है", "place": "{place} {o} चला रहा है",
        "objects": {"car": ("कार",) * 2, "truck": ("ट्रक",) * 2,
                    "bus": ("बस",) * 2, "tractor": ("ट्रैक्टर",) * 2},
        "general": ("एक वाहन चला रहा है", "कोई वाहन नहीं चला रहा है"),
    },
}

_ADJ = {"tall": "लंबा", "short": "नाटा", "rich": "अमीर", "poor": "गरीब", "young": "जवान",
        "old": "बूढ़ा", "happy": "खुश", "sad": "उदास", "sick": "बीमार", "healthy": "स्वस्थ",
        "angry": "नाराज़", "calm": "शांत"}
ADJECTIVES = {k: (f"{v} है", f"{v} नहीं है") for k, v in _ADJ.items()}

PLACES = {"park": "पार्क में", "garden": "बगीचे में", "village": "गाँव में",
          "city": "शहर में", "market": "बाज़ार में", "square": "चौक पर"}

PERSON_VERBS = {
    "watch": ("{obj} को देख रहा है", "{obj} को नहीं देख रहा है"),
    "wait": ("{obj} का इंतज़ार कर रहा है", "{obj} का इंतज़ार नहीं कर रहा है"),
}

LEXICON = {
    "man": ["आदमी"], "boy": ["लड़का", "लड़के"], "teacher": ["अध्यापक"], "doctor": ["डॉक्टर"],
    "farmer": ["किसान"], "student": ["छात्र"], "driver": ["ड्राइवर"], "cook": ["रसोइया", "रसोइये"],
    "instrument": ["वाद्य"], "fruit": ["फल"], "beverage": ["पेय"], "animal": ["जानवर"],
    "vehicle": ["वाहन"], "guitar": ["गिटार"], "piano": ["पियानो"], "violin": ["वायलिन"],
    "drums": ["ढोल"], "apple": ["सेब"], "banana": ["केला"], "orange": ["संतरा"],
    "pear": ["नाशपाती"], "coffee": ["कॉफ़ी"], "tea": ["चाय"], "milk": ["दूध"], "juice": ["जूस"],
    "dog": ["कुत्ता", "कुत्ते"], "cat": ["बिल्ली"], "horse": ["घोड़ा", "घोड़े"], "rabbit": ["खरगोश"],
    "car": ["कार"], "truck": ["ट्रक"], "bus": ["बस"], "tractor": ["ट्रैक्टर"],
    **{k: [v] for k, v in _ADJ.items()},
    "park": ["पार्क"], "garden": ["बगीचा", "बगीचे"], "village": ["गाँव"], "city": ["शहर"],
    "market": ["बाज़ार"], "square": ["चौक"], "play": ["बजाना", "बजा"], "eat": ["खाना", "खा"],
    "drink": ["पीना", "पी"], "feed": ["खिलाना", "खिला"], "drive": ["चलाना", "चला"],
    "watch": ["देखना", "देख"], "wait": ["इंतज़ार"],
}
