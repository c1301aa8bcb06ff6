"""Generate ``attribute_types.json``: the Type (1, 1C, 2, 2C) of the attributes whose
de-identification action depends on it, per IOD, from the DICOM standard's module tables.

Provenance
----------
The module and IOD tables come from highdicom (``highdicom/_standard/*.json``), which derives
them from the DICOM standard (PS3.3 module/attribute tables and PS3.4 SOP classes, via the
innolitics ``dicom-standard`` parser). highdicom is used here only as a carrier of those tables
at development time; medinteract does not depend on it at run time, and nothing is downloaded
at run time.

Run (in any environment with highdicom installed; the output is committed)::

    python -m pip install "highdicom==0.28.2"
    python medinteract/io/data/make_attribute_types.py

What is kept
------------
Only what :mod:`medinteract.io.anonymization` needs: for the attributes of PS3.15 Table E.1-1
whose Basic Profile action is conditional (``Z/D``, ``X/Z``, ``X/D``, ``X/Z/D``, ``X/Z/U*``)
or a ``D``/``Z`` action on a sequence, the strictest Type each IOD gives them where it places
them: at the top level (``"Keyword"``) or inside a sequence (``"Parent/Keyword"``, with the
sequence that immediately contains the attribute).
Type 3 (and absent) is the default and is not stored. Layout: ``iods`` lists the IOD names,
``sop_classes`` maps a SOP Class UID to an IOD number, and ``types`` maps each attribute key to
``{type: "IOD numbers"}`` (ranges such as ``"3-7 12"``).
"""

from __future__ import annotations

import json
import sys
from importlib import metadata
from pathlib import Path

from pydicom.datadict import keyword_for_tag

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from medinteract.io.anonymization import BASIC_PROFILE  # noqa: E402

#: Stricter first: a type earlier in this list wins when modules disagree.
ORDER = ("1", "1C", "2", "2C")


def interesting_keywords() -> set[str]:
    from pydicom.datadict import dictionary_VR

    keep = set()
    for tag, code in BASIC_PROFILE.items():
        keyword = keyword_for_tag(tag)
        if not keyword:
            continue
        try:
            vr = dictionary_VR(tag)
        except KeyError:
            continue
        if "/" in code or (code in ("D", "Z") and vr == "SQ"):
            keep.add(keyword)
    return keep


def main() -> None:
    import highdicom

    source = Path(highdicom.__file__).parent / "_standard"
    modules = json.loads((source / "module_attribute_map.json").read_text())
    iods = json.loads((source / "iod_module_map.json").read_text())
    sop_classes = json.loads((source / "sop_class_iod_map.json").read_text())
    wanted = interesting_keywords()

    tables: dict[str, dict[str, str]] = {}
    for iod, entries in iods.items():
        table: dict[str, str] = {}
        for entry in entries:
            for attribute in modules.get(entry["key"], []):
                kind = attribute["type"]
                if attribute["keyword"] not in wanted or kind not in ORDER:
                    continue
                key = "/".join([*attribute["path"][-1:], attribute["keyword"]])
                if key not in table or ORDER.index(kind) < ORDER.index(table[key]):
                    table[key] = kind
        tables[iod] = dict(sorted(table.items()))

    iod_names = sorted(tables)
    by_key: dict[str, dict[str, list[int]]] = {}
    for number, iod in enumerate(iod_names):
        for key, kind in tables[iod].items():
            by_key.setdefault(key, {}).setdefault(kind, []).append(number)
    output = {
        "provenance": (
            "DICOM standard PS3.3 module attribute Types and PS3.4 SOP classes as shipped by "
            f"highdicom {metadata.version('highdicom')} (highdicom/_standard/*.json); generated "
            "by medinteract/io/data/make_attribute_types.py"),
        "iods": iod_names,
        "sop_classes": {uid: iod_names.index(iod) for uid, iod in sorted(sop_classes.items())
                        if iod in tables},
        "types": {key: {kind: _ranges(numbers) for kind, numbers in sorted(kinds.items())}
                  for key, kinds in sorted(by_key.items())},
    }
    target = HERE / "attribute_types.json"
    target.write_text(json.dumps(output, separators=(",", ":")).replace('},"', '},\n"') + "\n")
    print(f"{target}: {target.stat().st_size} bytes, {len(output['types'])} attributes, "
          f"{len(iod_names)} IODs, {len(output['sop_classes'])} SOP classes")


def _ranges(numbers: list[int]) -> str:
    """``[1, 2, 3, 7]`` -> ``"1-3 7"`` (IOD numbers, compactly)."""
    parts, start = [], None
    for k, n in enumerate(numbers):
        if start is None:
            start = n
        if k + 1 == len(numbers) or numbers[k + 1] != n + 1:
            parts.append(str(start) if start == n else f"{start}-{n}")
            start = None
    return " ".join(parts)


if __name__ == "__main__":
    main()
