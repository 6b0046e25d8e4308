"""Arabic (Modern Standard) realisations of the generator's vocabulary (layout as in lang_en.py).

Written without short vowels except the accusative tanwin after ليس; subjects come first
(SVO), which is standard in modern prose and keeps the verb in its masculine singular form.
"""

JOINER = " "
FULL_STOP = "."

PERSONS = {
    "man": ("الرجل", "الرجل"), "boy": ("الولد", "الولد"),
    "teacher": ("المعلم", "المعلم"), "doctor": ("الطبيب", "الطبيب"),
    "farmer": ("المزارع", "المزارع"), "student": ("الطالب", "الطالب"),
    "driver": ("السائق", "السائق"), "cook": ("الطباخ", "الطباخ"),
    "someone": ("شخص ما", None),
}

CATEGORIES = {
    "instrument": {
        "aff": "يعزف على {o}", "neg": "لا يعزف على {o}", "place": "يعزف على {o} {place}",
        "objects": {"guitar": ("الغيتار",) * 2, "piano": ("البيانو",) * 2,
                    "violin": ("الكمان",) * 2, "drums": ("الطبل",) * 2},
        "general": ("يعزف على آلة موسيقية", "لا يعزف على أي آلة موسيقية"),
    },
    "fruit": {
        "aff": "يأكل {o}", "neg": "لا يأكل {o}", "place": "يأكل {o} {place}",
        "objects": {"apple": ("تفاحة",) * 2, "banana": ("موزة",) * 2,
                    "orange": ("برتقالة",) * 2, "pear": ("إجاصة",) * 2},
        "general": ("يأكل فاكهة", "لا يأكل أي فاكهة"),
    },
    "beverage": {
        "aff": "يشرب {o}", "neg": "لا يشرب {o}", "place": "يشرب {o} {place}",
        "objects": {"coffee": ("القهوة",) * 2, "tea": ("الشاي",) * 2,
                    "milk": ("الحليب",) * 2, "juice": ("العصير",) * 2},
        "general": ("يشرب مشروباً", "لا يشرب أي مشروب"),
    },
    "animal": {
        "aff": "يطعم {o}", "neg": "لا يطعم {o}", "place": "يطعم {o} {place}",
        "objects": {"dog": ("الكلب",) * 2, "cat": ("القطة",) * 2,
                    "horse": ("الحصان",) * 2, "rabbit": ("الأرنب",) * 2},
        "general": ("يطعم حيواناً", "لا يطعم أي حيوان"),
    },
    "vehicle": {
        "aff": "يقود {o}", "neg": "لا يقود {o}", "place": "يقود {o} {place}",
        "objects": {"car": ("سيارة",) * 2, "truck": ("شاحنة",) * 2,
                    "bus": ("حافلة",) * 2, "tractor": ("جراراً",) * 2},
        "general": ("يقود مركبة", "لا يقود أي مركبة"),
    },
}

# (predicate, negated predicate with ليس and the accusative)
ADJECTIVES = {
    "tall": ("طويل", "ليس طويلاً"), "short": ("قصير", "ليس قصيراً"),
    "rich": ("غني", "ليس غنياً"), "poor": ("فقير", "ليس فقيراً"),
    "young": ("شاب", "ليس شاباً"), "old": ("عجوز", "ليس عجوزاً"),
    "happy": ("سعيد", "ليس سعيداً"), "sad": ("حزين", "ليس حزيناً"),
    "sick": ("مريض", "ليس مريضاً"), "healthy": ("بصحة جيدة", "ليس بصحة جيدة"),
    "angry": ("غاضب", "ليس غاضباً"), "calm": ("هادئ", "ليس هادئاً"),
}

PLACES = {"park": "في المتنزه", "garden": "في الحديقة", "village": "في القرية",
          "city": "في المدينة", "market": "في السوق", "square": "في الساحة"}

PERSON_VERBS = {
    "watch": ("ينظر إلى {obj}", "لا ينظر إلى {obj}"),
    "wait": ("ينتظر {obj}", "لا ينتظر {obj}"),
}

LEXICON = {
    "man": ["رجل", "الرجل"], "boy": ["ولد", "الولد"], "teacher": ["معلم", "المعلم"],
    "doctor": ["طبيب", "الطبيب"], "farmer": ["مزارع", "المزارع"], "student": ["طالب", "الطالب"],
    "driver": ["سائق", "السائق"], "cook": ["طباخ", "الطباخ"],
    "instrument": ["آلة"], "fruit": ["فاكهة"], "beverage": ["مشروب"], "animal": ["حيوان"],
    "vehicle": ["مركبة"], "guitar": ["غيتار", "الغيتار"], "piano": ["بيانو", "البيانو"],
    "violin": ["كمان", "الكمان"], "drums": ["طبل", "الطبل"], "apple": ["تفاحة"], "banana": ["موزة"],
    "orange": ["برتقالة"], "pear": ["إجاصة"], "coffee": ["قهوة", "القهوة"], "tea": ["شاي", "الشاي"],
    "milk": ["حليب", "الحليب"], "juice": ["عصير", "العصير"], "dog": ["كلب", "الكلب"],
    "cat": ["قطة", "القطة"], "horse": ["حصان", "الحصان"], "rabbit": ["أرنب", "الأرنب"],
    "car": ["سيارة"], "truck": ["شاحنة"], "bus": ["حافلة"], "tractor": ["جرار"],
    "tall": ["طويل"], "short": ["قصير"], "rich": ["غني"], "poor": ["فقير"], "young": ["شاب"],
    "old": ["عجوز"], "happy": ["سعيد"], "sad": ["حزين"], "sick": ["مريض"], "healthy": ["صحي"],
    "angry": ["غاضب"], "calm": ["هادئ"],
    "park": ["متنزه", "المتنزه"], "garden": ["حديقة", "الحديقة"], "village": ["قرية", "القرية"],
    "city": ["مدينة", "المدينة"], "market": ["سوق", "السوق"], "square": ["ساحة", "الساحة"],
    "play": ["يعزف"], "eat": ["يأكل"], "drink": ["يشرب"], "feed": ["يطعم"], "drive": ["يقود"],
    "watch": ["ينظر"], "wait": ["ينتظر"],
}
