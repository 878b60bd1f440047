"""Parses FHIR bundles with fhir.resources (R4 4.0.1, an implementation independent of Elysium)
and checks what the parser does not: that every reference resolves within the bundle, and, for a
bundle that says so, the mCODE profiles and codes of a confirmed cancer and its clinical TNM.

Usage: fhir_check.py BUNDLE.json [--expect-mcode]
"""

import json
import sys

from fhir.resources.bundle import Bundle

MCODE = "http://hl7.org/fhir/us/mcode/StructureDefinition/"
TNM = {
    "mcode-tnm-primary-tumor-category": "21905-5",
    "mcode-tnm-regional-nodes-category": "21906-3",
    "mcode-tnm-distant-metastases-category": "21907-1",
    "mcode-tnm-stage-group": "21908-9",
}


def main() -> None:
    path = sys.argv[1]
    expect_mcode = "--expect-mcode" in sys.argv[2:]
    with open(path, encoding="utf-8") as f:
        raw = json.load(f)
    bundle = Bundle.parse_obj(raw)  # raises on anything R4 does not allow
    assert bundle.type == "collection", bundle.type
    urls = {e.fullUrl for e in bundle.entry}
    assert len(urls) == len(bundle.entry), "duplicate fullUrl"

    def refs(value):
        if isinstance(value, dict):
            for key, inner in value.items():
                if key == "reference" and isinstance(inner, str):
                    yield inner
                else:
                    yield from refs(inner)
        elif isinstance(value, list):
            for inner in value:
                yield from refs(inner)

    for ref in refs(raw):
        assert ref in urls, f"{ref} does not resolve"

    kinds = {}
    for entry in bundle.entry:
        kinds.setdefault(entry.resource.resource_type, []).append(entry.resource)
    assert len(kinds.get("Patient", [])) == 1, "one Patient"

    if expect_mcode:
        profiles = lambda r: [str(p) for p in (r.meta.profile if r.meta and r.meta.profile else [])]
        assert MCODE + "mcode-cancer-patient" in profiles(kinds["Patient"][0])
        conditions = [c for c in kinds.get("Condition", []) if MCODE + "mcode-primary-cancer-condition" in profiles(c)]
        assert conditions, "a primary cancer condition"
        assert any(c.system == "http://snomed.info/sct" for c in conditions[0].code.coding)
        found = {}
        for obs in kinds.get("Observation", []):
            for profile in profiles(obs):
                name = profile.removeprefix(MCODE)
                if name in TNM:
                    codes = [(c.system, c.code) for c in obs.code.coding]
                    assert ("http://loinc.org", TNM[name]) in codes, (name, codes)
                    method = [(c.system, c.code) for c in obs.method.coding]
                    assert method[0][0] == "http://snomed.info/sct" and method[0][1] in ("897275008", "1269566009"), method
                    found[name] = obs
        assert set(found) >= set(TNM) - {"mcode-tnm-stage-group"}, sorted(found)
        if "mcode-tnm-stage-group" in found:
            assert len(found["mcode-tnm-stage-group"].hasMember) == 3
    print(f"{path}: R4 bundle of {len(bundle.entry)} resources "
          + ", ".join(f"{k} {len(v)}" for k, v in sorted(kinds.items())))


if __name__ == "__main__":
    main()
