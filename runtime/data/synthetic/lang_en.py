"""English realisations of the generator's vocabulary (see vocabulary.py for the keys)."""

JOINER = " "
FULL_STOP = "."

# key -> (sentence-initial subject form, object form); "someone" is a subject only.
PERSONS = {
    "man": ("The man", "the man"), "boy": ("The boy", "the boy"),
    "teacher": ("The teacher", "the teacher"), "doctor": ("The doctor", "the doctor"),
    "farmer": ("The farmer", "the farmer"), "student": ("The student", "the student"),
    "driver": ("The driver", "the driver"), "cook": ("The cook", "the cook"),
    "someone": ("Someone", None),
}

# aff/neg/place: verb-phrase templates over {o} (object) and {place};
# objects: key -> (object form in affirmative, object form in negative);
# general: the hypernym verb phrase (affirmative, negative), written out in full.
CATEGORIES = {
    "instrument": {
        "aff": "is playing {o}", "neg": "is not playing {o}", "place": "is playing {o} {place}",
        "objects": {"guitar": ("the guitar",) * 2, "piano": ("the piano",) * 2,
                    "violin": ("the violin",) * 2, "drums": ("the drums",) * 2},
        "general": ("is playing an instrument", "is not playing any instrument"),
    },
    "fruit": {
        "aff": "is eating {o}", "neg": "is not eating {o}", "place": "is eating {o} {place}",
        "objects": {"apple": ("an apple",) * 2, "banana": ("a banana",) * 2,
                    "orange": ("an orange",) * 2, "pear": ("a pear",) * 2},
        "general": ("is eating fruit", "is not eating any fruit"),
    },
    "beverage": {
        "aff": "is drinking {o}", "neg": "is not drinking {o}", "place": "is drinking {o} {place}",
        "objects": {"coffee": ("coffee",) * 2, "tea": ("tea",) * 2,
                    "milk": ("milk",) * 2, "juice": ("juice",) * 2},
        "general": ("is drinking a beverage", "is not drinking any beverage"),
    },
    "animal": {
        "aff": "is feeding {o}", "neg": "is not feeding {o}", "place": "is feeding {o} {place}",
        "objects": {"dog": ("the dog",) * 2, "cat": ("the cat",) * 2,
                    "horse": ("the horse",) * 2, "rabbit": ("the rabbit",) * 2},
        "general": ("is feeding an animal", "is not feeding any animal"),
    },
    "vehicle": {
        "aff": "is driving {o}", "neg": "is not driving {o}", "place": "is driving {o} {place}",
        "objects": {"car": ("a car",) * 2, "truck": ("a truck",) * 2,
                    "bus": ("a bus",) * 2, "tractor": ("a tractor",) * 2},
        "general": ("is driving a vehicle", "is not driving any vehicle"),
    },
}

ADJECTIVES = {a: (f"is {a}", f"is not {a}") for a in (
    "tall", "short", "rich", "poor", "young", "old", "happy", "sad", "sick", "healthy", "angry", "calm")}

PLACES = {"park": "in the park", "garden": "in the garden", "village": "in the village",
          "city": "in the city", "market": "at the market", "square": "in the square"}

PERSON_VERBS = {
    "watch": ("is watching {obj}", "is not watching {obj}"),
    "wait": ("is waiting for {obj}", "is not waiting for {obj}"),
}

LEXICON: dict[str, list[str]] = {}  # English is the source language: no translations.
