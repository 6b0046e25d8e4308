"""Chinese (simplified) realisations of the generator's vocabulary (layout as in lang_en.py).

Chinese needs no spaces and puts the place before the verb ("在公园里弹吉他"), so the object
forms carry their verb and the place template drops the progressive 在.
"""

JOINER = ""
FULL_STOP = "。"

PERSONS = {
    "man": ("那个男人", "那个男人"), "boy": ("那个男孩", "那个男孩"),
    "teacher": ("那位老师", "那位老师"), "doctor": ("那位医生", "那位医生"),
    "farmer": ("那位农民", "那位农民"), "student": ("那个学生", "那个学生"),
    "driver": ("那位司机", "那位司机"), "cook": ("那位厨师", "那位厨师"),
    "someone": ("有人", None),
}

_TEMPLATES = {"aff": "在{o}", "neg": "没有在{o}", "place": "{place}{o}"}

CATEGORIES = {
    "instrument": {
        **_TEMPLATES,
        "objects": {"guitar": ("弹吉他",) * 2, "piano": ("弹钢琴",) * 2,
                    "violin": ("拉小提琴",) * 2, "drums": ("打鼓",) * 2},
        "general": ("在演奏乐器", "没有在演奏任何乐器"),
    },
    "fruit": {
        **_TEMPLATES,
        "objects": {"apple": ("吃苹果",) * 2, "banana": ("吃香蕉",) * 2,
                    "orange": ("吃橙子",) * 2, "pear": ("吃梨",) * 2},
        "general": ("在吃水果", "没有在吃任何水果"),
    },
    "beverage": {
        **_TEMPLATES,
        "objects": {"coffee": ("喝咖啡",) * 2, "tea": ("喝茶",) * 2,
                    "milk": ("喝牛奶",) * 2, "juice": ("喝果汁",) * 2},
        "general": ("在喝饮料", "没有在喝任何饮料"),
    },
    "animal": {
        **_TEMPLATES,
        "objects": {"dog": ("喂狗",) * 2, "cat": ("喂猫",) * 2,
                    "horse": ("喂马",) * 2, "rabbit": ("喂兔子",) * 2},
        "general": ("在喂动物", "没有在喂任何动物"),
    },
    "vehicle": {
        **_TEMPLATES,
        "objects": {"car": ("开汽车",) * 2, "truck": ("开卡车",) * 2,
                    "bus": ("开公共汽车",) * 2, "tractor": ("开拖拉机",) * 2},
        "general": ("在驾驶车辆", "没有在驾驶任何车辆"),
    },
}

ADJECTIVES = {
    "tall": ("很高", "不高"), "short": ("很矮", "不矮"), "rich": ("很富有", "不富有"),
    "poor": ("很穷", "不穷"), "young": ("很年轻", "不年轻"), "old": ("很老", "不老"),
    "happy": ("很开心", "不开心"), "sad": ("很难过", "不难过"), "sick": ("生病了", "没有生病"),
    "healthy": ("很健康", "不健康"), "angry": ("很生气", "不生气"), "calm": ("很平静", "不平静"),
}

PLACES = {"park": "在公园里", "garden": "在花园里", "village": "在村子里",
          "city": "在城市里", "market": "在市场上", "square": "在广场上"}

PERSON_VERBS = {
    "watch": ("在看{obj}", "没有在看{obj}"),
    "wait": ("在等{obj}", "没有在等{obj}"),
}

LEXICON = {
    "man": ["男人"], "boy": ["男孩"], "teacher": ["老师"], "doctor": ["医生"], "farmer": ["农民"],
    "student": ["学生"], "driver": ["司机"], "cook": ["厨师"],
    "instrument": ["乐器"], "fruit": ["水果"], "beverage": ["饮料"], "animal": ["动物"],
    "vehicle": ["车辆"], "guitar": ["吉他"], "piano": ["钢琴"], "violin": ["小提琴"], "drums": ["鼓"],
    "apple": ["苹果"], "banana": ["香蕉"], "orange": ["橙子"], "pear": ["梨"], "coffee": ["咖啡"],
    "tea": ["茶"], "milk": ["牛奶"], "juice": ["果汁"], "dog": ["狗"], "cat": ["猫"], "horse": ["马"],
    "rabbit": ["兔子"], "car": ["汽车"], "truck": ["卡车"], "bus": ["公共汽车"], "tractor": ["拖拉机"],
    "tall": ["高"], "short": ["矮"], "rich": ["富有"], "poor": ["穷"], "young": ["年轻"], "old": ["老"],
    "happy": ["开心"], "sad": ["难过"], "sick": ["生病"], "healthy": ["健康"], "angry": ["生气"],
    "calm": ["平静"],
    "park": ["公园"], "garden": ["花园"], "village": ["村子"], "city": ["城市"], "market": ["市场"],
    "square": ["广场"], "play": ["弹", "演奏"], "eat": ["吃"], "drink": ["喝"], "feed": ["喂"],
    "drive": ["开", "驾驶"], "watch": ["看"], "wait": ["等"],
}
