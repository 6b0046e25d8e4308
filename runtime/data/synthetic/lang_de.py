"""German realisations of the generator's vocabulary (keys and layout as in lang_en.py)."""

JOINER = " "
FULL_STOP = "."

PERSONS = {
    "man": ("Der Mann", "den Mann"), "boy": ("Der Junge", "den Jungen"),
    "teacher": ("Der Lehrer", "den Lehrer"), "doctor": ("Der Arzt", "den Arzt"),
    "farmer": ("Der Bauer", "den Bauern"), "student": ("Der Student", "den Studenten"),
    "driver": ("Der Fahrer", "den Fahrer"), "cook": ("Der Koch", "den Koch"),
    "someone": ("Jemand", None),
}

CATEGORIES = {
    "instrument": {
        "aff": "spielt {o}", "neg": "spielt {o}", "place": "spielt {o} {place}",
        "objects": {"guitar": ("Gitarre", "keine Gitarre"), "piano": ("Klavier", "kein Klavier"),
                    "violin": ("Geige", "keine Geige"), "drums": ("Schlagzeug", "kein Schlagzeug")},
        "general": ("spielt ein Instrument", "spielt kein Instrument"),
    },
    "fruit": {
        "aff": "isst {o}", "neg": "isst {o}", "place": "isst {o} {place}",
        "objects": {"apple": ("einen Apfel", "keinen Apfel"), "banana": ("eine Banane", "keine Banane"),
                    "orange": ("eine Orange", "keine Orange"), "pear": ("eine Birne", "keine Birne")},
        "general": ("isst Obst", "isst kein Obst"),
    },
    "beverage": {
        "aff": "trinkt {o}", "neg": "trinkt {o}", "place": "trinkt {o} {place}",
        "objects": {"coffee": ("Kaffee", "keinen Kaffee"), "tea": ("Tee", "keinen Tee"),
                    "milk": ("Milch", "keine Milch"), "juice": ("Saft", "keinen Saft")},
        "general": ("trinkt ein Getränk", "trinkt kein Getränk"),
    },
    "animal": {
        "aff": "füttert {o}", "neg": "füttert {o} nicht", "place": "füttert {o} {place}",
        "objects": {"dog": ("den Hund",) * 2, "cat": ("die Katze",) * 2,
                    "horse": ("das Pferd",) * 2, "rabbit": ("das Kaninchen",) * 2},
        "general": ("füttert ein Tier", "füttert kein Tier"),
    },
    "vehicle": {
        "aff": "fährt {o}", "neg": "fährt {o}", "place": "fährt {o} {place}",
        "objects": {"car": ("ein Auto", "kein Auto"), "truck": ("einen Lastwagen", "keinen Lastwagen"),
                    "bus": ("einen Bus", "keinen Bus"), "tractor": ("einen Traktor", "keinen Traktor")},
        "general": ("fährt ein Fahrzeug", "fährt kein Fahrzeug"),
    },
}

_ADJ = {"tall": "groß", "short": "klein", "rich": "reich", "poor": "arm", "young": "jung", "old": "alt",
        "happy": "glücklich", "sad": "traurig", "sick": "krank", "healthy": "gesund",
        "angry": "wütend", "calm": "ruhig"}
ADJECTIVES = {k: (f"ist {v}", f"ist nicht {v}") for k, v in _ADJ.items()}

PLACES = {"park": "im Park", "garden": "im Garten", "village": "im Dorf",
          "city": "in der Stadt", "market": "auf dem Markt", "square": "auf dem Platz"}

PERSON_VERBS = {
    "watch": ("beobachtet {obj}", "beobachtet {obj} nicht"),
    "wait": ("wartet auf {obj}", "wartet nicht auf {obj}"),
}

LEXICON = {
    "man": ["Mann"], "boy": ["Junge"], "teacher": ["Lehrer"], "doctor": ["Arzt"], "farmer": ["Bauer"],
    "student": ["Student"], "driver": ["Fahrer"], "cook": ["Koch"],
    "instrument": ["Instrument"], "fruit": ["Obst"], "beverage": ["Getränk"], "animal": ["Tier"],
    "vehicle": ["Fahrzeug"], "guitar": ["Gitarre"], "piano": ["Klavier"], "violin": ["Geige"],
    "drums": ["Schlagzeug"], "apple": ["Apfel"], "banana": ["Banane"], "orange": ["Orange"],
    "pear": ["Birne"], "coffee": ["Kaffee"], "tea": ["Tee"], "milk": ["Milch"], "juice": ["Saft"],
    "dog": ["Hund"], "cat": ["Katze"], "horse": ["Pferd"], "rabbit": ["Kaninchen"], "car": ["Auto"],
    "truck": ["Lastwagen"], "bus": ["Bus"], "tractor": ["Traktor"],
    **{k: [v] for k, v in _ADJ.items()},
    "park": ["Park"], "garden": ["Garten"], "village": ["Dorf"], "city": ["Stadt"], "market": ["Markt"],
    "square": ["Platz"], "play": ["spielen", "spielt"], "eat": ["essen", "isst"],
    "drink": ["trinken", "trinkt"], "feed": ["füttern", "füttert"], "drive": ["fahren", "fährt"],
    "watch": ["beobachten", "beobachtet"], "wait": ["warten", "wartet"],
}
