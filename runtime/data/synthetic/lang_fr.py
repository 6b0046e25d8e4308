"""French realisations of the generator's vocabulary (keys and layout as in lang_en.py)."""

JOINER = " "
FULL_STOP = "."

PERSONS = {
    "man": ("L'homme", "l'homme"), "boy": ("Le garçon", "le garçon"),
    "teacher": ("Le professeur", "le professeur"), "doctor": ("Le médecin", "le médecin"),
    "farmer": ("L'agriculteur", "l'agriculteur"), "student": ("L'étudiant", "l'étudiant"),
    "driver": ("Le chauffeur", "le chauffeur"), "cook": ("Le cuisinier", "le cuisinier"),
    "someone": ("Quelqu'un", None),
}

CATEGORIES = {
    "instrument": {
        "aff": "joue {o}", "neg": "ne joue pas {o}", "place": "joue {o} {place}",
        "objects": {"guitar": ("de la guitare", "de guitare"), "piano": ("du piano", "de piano"),
                    "violin": ("du violon", "de violon"), "drums": ("de la batterie", "de batterie")},
        "general": ("joue d'un instrument", "ne joue d'aucun instrument"),
    },
    "fruit": {
        "aff": "mange {o}", "neg": "ne mange pas {o}", "place": "mange {o} {place}",
        "objects": {"apple": ("une pomme", "de pomme"), "banana": ("une banane", "de banane"),
                    "orange": ("une orange", "d'orange"), "pear": ("une poire", "de poire")},
        "general": ("mange un fruit", "ne mange aucun fruit"),
    },
    "beverage": {
        "aff": "boit {o}", "neg": "ne boit pas {o}", "place": "boit {o} {place}",
        "objects": {"coffee": ("du café", "de café"), "tea": ("du thé", "de thé"),
                    "milk": ("du lait", "de lait"), "juice": ("du jus", "de jus")},
        "general": ("boit une boisson", "ne boit aucune boisson"),
    },
    "animal": {
        "aff": "nourrit {o}", "neg": "ne nourrit pas {o}", "place": "nourrit {o} {place}",
        "objects": {"dog": ("le chien",) * 2, "cat": ("le chat",) * 2,
                    "horse": ("le cheval",) * 2, "rabbit": ("le lapin",) * 2},
        "general": ("nourrit un animal", "ne nourrit aucun animal"),
    },
    "vehicle": {
        "aff": "conduit {o}", "neg": "ne conduit pas {o}", "place": "conduit {o} {place}",
        "objects": {"car": ("une voiture", "de voiture"), "truck": ("un camion", "de camion"),
                    "bus": ("un bus", "de bus"), "tractor": ("un tracteur", "de tracteur")},
        "general": ("conduit un véhicule", "ne conduit aucun véhicule"),
    },
}

_ADJ = {"tall": "grand", "short": "petit", "rich": "riche", "poor": "pauvre", "young": "jeune",
        "old": "vieux", "happy": "heureux", "sad": "triste", "sick": "malade",
        "healthy": "en bonne santé", "angry": "en colère", "calm": "calme"}
ADJECTIVES = {k: (f"est {v}", f"n'est pas {v}") for k, v in _ADJ.items()}

PLACES = {"park": "dans le parc", "garden": "dans le jardin", "village": "dans le village",
          "city": "en ville", "market": "au marché", "square": "sur la place"}

PERSON_VERBS = {
    "watch": ("regarde {obj}", "ne regarde pas {obj}"),
    "wait": ("attend {obj}", "n'attend pas {obj}"),
}

LEXICON = {
    "man": ["homme"], "boy": ["garçon"], "teacher": ["professeur"], "doctor": ["médecin"],
    "farmer": ["agriculteur"], "student": ["étudiant"], "driver": ["chauffeur"], "cook": ["cuisinier"],
    "instrument": ["instrument"], "fruit": ["fruit"], "beverage": ["boisson"], "animal": ["animal"],
    "vehicle": ["véhicule"], "guitar": ["guitare"], "piano": ["piano"], "violin": ["violon"],
    "drums": ["batterie"], "apple": ["pomme"], "banana": ["banane"], "orange": ["orange"],
    "pear": ["poire"], "coffee": ["café"], "tea": ["thé"], "milk": ["lait"], "juice": ["jus"],
    "dog": ["chien"], "cat": ["chat"], "horse": ["cheval"], "rabbit": ["lapin"], "car": ["voiture"],
    "truck": ["camion"], "bus": ["bus"], "tractor": ["tracteur"],
    "tall": ["grand"], "short": ["petit"], "rich": ["riche"], "poor": ["pauvre"], "young": ["jeune"],
    "old": ["vieux"], "happy": ["heureux"], "sad": ["triste"], "sick": ["malade"],
    "healthy": ["sain"], "angry": ["fâché"], "calm": ["calme"],
    "park": ["parc"], "garden": ["jardin"], "village": ["village"], "city": ["ville"],
    "market": ["marché"], "square": ["place"], "play": ["jouer", "joue"], "eat": ["manger", "mange"],
    "drink": ["boire", "boit"], "feed": ["nourrir", "nourrit"], "drive": ["conduire", "conduit"],
    "watch": ["regarder", "regarde"], "wait": ["attendre", "attend"],
}
