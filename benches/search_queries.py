"""Derives search queries from Essen's official house coordinates, as citizens type them.

Usage: search_queries.py ZIP COUNT OUT_PREFIX
Writes OUT_PREFIX.tsv (query, expected street, expected house number) with COUNT queries
(deterministic, seed 1). Each query takes a real address and changes it the ways people do:
a dropped or swapped letter in the street name, "Str."/"Straße"/"Strasse"/"str", ß/ss and
ä/ae, lower case, "12 a"/"12A" for suffixes, with or without the town.
"""
import json
import random
import sys
import zipfile

zip_path, count, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rng = random.Random(1)
with zipfile.ZipFile(zip_path) as z:
    name = next(n for n in z.namelist() if n.endswith(".geojson"))
    features = json.loads(z.read(name))["features"]
addresses = [
    f["properties"] for f in features
    if f["properties"].get("hsnr") and not f["properties"]["strname"].startswith("#")
]


def typo(word):
    letters = [i for i, c in enumerate(word) if c.isalpha()]
    if len(letters) < 6:
        return word
    i = rng.choice(letters[1:-1])
    if rng.random() < 0.5:
        return word[:i] + word[i + 1:]  # a dropped letter
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]  # two letters swapped


def respell(street):
    for short in ("Str.", "str."):
        if street.endswith(short):
            base = street[: -len(short)]
            return base + rng.choice(["Straße", "Strasse", "str", "Str", "str."]) \
                if short == "str." else base + rng.choice(["Straße", "Strasse", "Str", "Str."])
    return street


def fold_letters(s):
    pairs = [("ß", "ss"), ("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("Ä", "Ae"), ("Ö", "Oe"), ("Ü", "Ue")]
    for a, b in pairs:
        s = s.replace(a, b)
    return s


with open(prefix + ".tsv", "w") as out:
    for _ in range(count):
        a = rng.choice(addresses)
        street, number, suffix = a["strname"], a["hsnr"], a.get("hsnrzu") or ""
        typed = street
        changes = rng.sample(["typo", "respell", "fold", "lower"], k=rng.choice([1, 2]))
        if "respell" in changes:
            typed = respell(typed)
        if "fold" in changes:
            typed = fold_letters(typed)
        if "typo" in changes:
            words = typed.split(" ")
            longest = max(range(len(words)), key=lambda i: len(words[i]))
            words[longest] = typo(words[longest])
            typed = " ".join(words)
        if "lower" in changes:
            typed = typed.lower()
        house = number + (rng.choice([suffix, " " + suffix, suffix.upper()]) if suffix else "")
        query = f"{typed} {house}"
        if rng.random() < 0.4:
            query += rng.choice([", Essen", " Essen"])
        out.write(f"{query}\t{street}\t{number}{suffix}\n")
