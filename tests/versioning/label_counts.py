"""Label statistics counted the plain way, to hold the kept counts against."""

import json
from typing import Any


def naive_statistics(labels: list[dict], catalog: dict) -> dict[str, Any]:
    """Count every label the plain way, with the renderer's conventions (empty lists left out)."""
    result: dict[str, Any] = {}
    for label_type in sorted({key for item in labels for key in item}):
        infos = catalog.get(label_type, {}).get("attributes", [])
        enumerable = [info["name"] for info in infos if "enum" in info or info.get("type") == "boolean"]

        def attributes(items: list[dict], infos: list[dict] = infos, enumerable: list[str] = enumerable) -> list:
            listed = []
            for info in infos:
                name = info["name"]
                if name not in enumerable:
                    continue
                order = info.get("enum", [False, True])
                values = [item["attributes"][name] for item in items if name in item.get("attributes", {})]
                seen = [value for value in order if any(json.dumps(v) == json.dumps(value) for v in values)]
                if seen:
                    quantities = [sum(json.dumps(v) == json.dumps(value) for v in values) for value in seen]
                    listed.append({"name": name, "enum": seen, "quantities": quantities})
            return listed

        values = [item[label_type] for item in labels if label_type in item]
        if label_type.endswith("_MASK"):
            result[label_type] = {"quantity": len(values)}
            continue
        items = [x for value in values for x in (value if isinstance(value, list) else [value])]
        if not items:
            continue
        statistics: dict[str, Any] = {"quantity": len(items)}
        categories = []
        for name in sorted({item["category"] for item in items if "category" in item}):
            of_category = [item for item in items if item.get("category") == name]
            entry: dict[str, Any] = {"name": name, "quantity": len(of_category)}
            if attributes(of_category):
                entry["attributes"] = attributes(of_category)
            categories.append(entry)
        if categories:
            statistics["categories"] = categories
        if attributes(items):
            statistics["attributes"] = attributes(items)
        result[label_type] = statistics
    return result
