"""Regenerate ``payment_types.json`` from the published TypeScript declarations.

Not a test: run by hand when Payment Kit publishes a new version::

    cd /tmp && npm pack @blocklet/payment-types@1.27.2 @blocklet/payment-js@1.27.2
    tar xzf blocklet-payment-types-1.27.2.tgz          # -> package/lib/*.d.ts
    mkdir js && tar xzf blocklet-payment-js-1.27.2.tgz -C js
    python tests/dialects/paymentkit/vendor_types.py /tmp/package/lib /tmp/js/package/lib \\
        > tests/dialects/paymentkit/payment_types.json

It reads the attribute declarations of each Sequelize model class (``name?: type;`` lines
before ``static readonly GENESIS_ATTRIBUTES``), the ``T...Expanded`` intersections in
``index.d.ts`` and a few plain object types, and writes ``{type: {field: [ts type,
optional]}}``."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

MODELS = {
    "TMeter": "meter.d.ts",
    "TMeterEvent": "meter-event.d.ts",
    "TCreditGrant": "credit-grant.d.ts",
    "TCreditTransaction": "credit-transaction.d.ts",
    "TPaymentCurrency": "payment-currency.d.ts",
    "TCustomer": "customer.d.ts",
}
EXPANDED = ["TCreditGrantExpanded", "TCreditTransactionExpanded", "TMeterEventExpanded"]
FIELD = re.compile(r"^\s{4}(\w+)(\??): (.+);$")


def _class_fields(text: str) -> dict[str, list[object]]:
    body = text.split("extends Model<", 1)[1].split("static readonly GENESIS_ATTRIBUTES", 1)[0]
    fields: dict[str, list[object]] = {}
    for line in body.splitlines()[1:]:
        match = FIELD.match(line)
        if match:
            fields[match[1]] = [match[3], match[2] == "?"]
    return fields


def _object_fields(block: str) -> dict[str, list[object]]:
    fields: dict[str, list[object]] = {}
    depth = 0
    for line in block.splitlines():
        if depth == 0:
            match = re.match(r"^\s+(\w+)(\??): (.+?);?$", line)
            if match:
                # "creditGrant: TCreditGrant & {" -> TCreditGrant; "filters: {" -> object
                ts_type = match[3].rstrip(";").removesuffix("{").strip(" &") or "object"
                fields[match[1]] = [ts_type, match[2] == "?"]
        depth += line.count("{") - line.count("}")
    return fields


def _alias(text: str, name: str) -> dict[str, list[object]]:
    match = re.search(rf"export type {name}(?:<[^>]*>)? = (?:\w+ & )?\{{\n(.*?)\n\}};", text, re.S)
    assert match, name
    return _object_fields(match[1])


def main(types_lib: Path, js_lib: Path) -> None:
    out: dict[str, object] = {
        "_source": "@blocklet/payment-types 1.27.2 and @blocklet/payment-js 1.27.2 (npm)",
    }
    for name, filename in MODELS.items():
        out[name] = _class_fields((types_lib / filename).read_text())
    index = (types_lib / "index.d.ts").read_text()
    for name in [*EXPANDED, "CreditGrantSummary"]:
        out[name] = _alias(index, name)
    types = (types_lib / "types.d.ts").read_text()
    out["Paginated"] = _alias(types, "Paginated")
    out["MeterEventPayload"] = _alias(types, "MeterEventPayload")
    txs = (js_lib / "resources" / "credit-transaction.d.ts").read_text()
    out["UsageSummary"] = _object_fields(
        re.search(r"export interface UsageSummary \{\n(.*?)\n\}", txs, re.S)[1]  # type: ignore[index]
    )
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
