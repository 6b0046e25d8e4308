"""Spanish realisations of the generator's vocabulary (keys and layout as in lang_en.py)."""

JOINER = " "
FULL_STOP = "."

PERSONS = {
    "man": ("El hombre", "al hombre"), "boy": ("El niño", "al niño"),
    "teacher": ("El profesor", "al profesor"), "doctor": ("El médico", "al médico"),
    "farmer": ("El granjero", "al granjero"), "student": ("El estudiante", "al estudiante"),
    "driver": ("El conductor", "al conductor"), "cook": ("El cocinero", "al cocinero"),
    "someone": ("Alguien", None),
}

CATEGORIES = {
    "instrument": {
        "aff": "toca {o}", "neg": "no toca {o}", "place": "toca {o} {place}",
        "objects": {"guitar": ("la guitarra",) * 2, "piano": ("el piano",) * 2,
                    "violin": ("el violín",) * 2, "drums": ("la batería",) * 2},
        "general": ("toca un instrumento", "no toca ningún instrumento"),
    },
    "fruit": {
        "aff": "come {o}", "neg": "no come {o}", "place": "come {o} {place}",
        "objects": {"apple": ("una manzana",) * 2, "banana": ("un plátano",) * 2,
                    "orange": ("una naranja",) * 2, "pear": ("una pera",) * 2},
        "general": ("come fruta", "no come ninguna fruta"),
    },
    "beverage": {
        "aff": "bebe {o}", "neg": "no bebe {o}", "place": "bebe {o} {place}",
        "objects": {"coffee": ("café",) * 2, "tea": ("té",) * 2, "milk": ("leche",) * 2,
                    "juice": ("zumo",) * 2},
        "general": ("bebe una bebida", "no bebe ninguna bebida"),
    },
    "animal": {
        "aff": "da de comer {o}", "neg": "no da de comer {o}", "place": "da de comer {o} {place}",
        "objects": {"dog": ("al perro",) * 2, "cat": ("al gato",) * 2,
                    "horse": ("al caballo",) * 2, "rabbit": ("al conejo",) * 2},
        "general": ("da de comer a un animal", "no da de comer a ningún animal"),
    },
    "vehicle": {
        "aff": "conduce {o}", "neg": "no conduce {o}", "place": "conduce {o} {place}",
        "objects": {"car": ("un coche",) * 2, "truck": ("un camión",) * 2,
                    "bus": ("un autobús",) * 2, "tractor": ("un tractor",) * 2},
        "general": ("conduce un vehículo", "no conduce ningún vehículo"),
    },
}

_SER = {"tall": "alto", "short": "bajo", "rich": "rico", "poor": "pobre", "young": "joven", "old": "viejo"}
_ESTAR = {"happy": "contento", "sad": "triste", "sick": "enfermo", "healthy": "sano",
          "angry": "enfadado", "calm": "tranquilo"}
ADJECTIVES = {
    **{k: (f"es {v}", f"no es {v}") for k, v in _SER.items()},
    **{k: (f"está {v}", f"no está {v}") for k, v in _ESTAR.items()},
}

PLACES = {"park": "en el parque", "garden": "en el jardín", "village": "en el pueblo",
          "city": "en la ciudad", "market": "en el mercado", "square": "en la plaza"}

PERSON_VERBS = {
    "watch": ("mira {obj}", "no mira {obj}"),
    "wait": ("espera {obj}", "no espera {obj}"),
}

LEXICON = {
    "man": ["hombre"], "boy": ["niño"], "teacher": ["profesor"], "doctor": ["médico"],
    "farmer": ["granjero"], "student": ["estudiante"], "driver": ["conductor"], "cook": ["cocinero"],
    "instrument": ["instrumento"], "fruit": ["fruta"], "beverage": ["bebida"], "animal": ["animal"],
    "vehicle": ["vehículo"], "guitar": ["guitarra"], "piano": ["piano"], "violin": ["violín"],
    "drums": ["batería"], "apple": ["manzana"], "banana": ["plátano"], "orange": ["naranja"],
    "pear": ["pera"], "coffee": ["café"], "tea": ["té"], "milk": ["leche"], "juice": ["zumo"],
    "dog": ["perro"], "cat": ["gato"], "horse": ["caballo"], "rabbit": ["conejo"], "car": ["coche"],
    "truck": ["camión"], "bus": ["autobús"], "tractor": ["tractor"],
    **{k: [v] for k, v in {**_SER, **_ESTAR}.items()},
    "park": ["parque"], "garden": ["jardín"], "village": ["pueblo"], "city": ["ciudad"],
    "market": ["mercado"], "square": ["plaza"], "play": ["tocar", "toca"], "eat": ["comer", "come"],
    "drink": ["beber", "bebe"], "feed": ["dar de comer", "da de comer"], "drive": ["conducir", "conduce"],
    "watch": ["mirar", "mira"], "wait": ["esperar", "espera"],
}
