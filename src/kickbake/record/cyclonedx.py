"""`<image>.cdx.json`: CycloneDX 1.6 built with cyclonedx-python-lib and validated against the
1.6 JSON schema before it is written. Serializes PackageRecords only."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import cache
from typing import Any

from cyclonedx.model import HashAlgorithm, HashType, Property
from cyclonedx.model.bom import Bom
from cyclonedx.model.bom_ref import BomRef
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.dependency import Dependency
from cyclonedx.model.license import DisjunctiveLicense, LicenseExpression
from cyclonedx.output.json import JsonV1Dot6
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from jsonschema import ValidationError, validators
from jsonschema.exceptions import best_match
from packageurl import PackageURL

from kickbake.errors import KickbakeError
from kickbake.record.licenses import NOASSERTION, concluded
from kickbake.record.packages import PackageRecord, sorted_records

_SERIAL = uuid.UUID("6b1c2b4e-4f0e-5a8d-9c3e-6b6b69636b62")  # namespace for uuid5 serial numbers


def _licenses(record: PackageRecord) -> list[Any]:
    expression = concluded(record)
    if expression == NOASSERTION:
        return []
    if expression.startswith("LicenseRef-") and " " not in expression:
        return [DisjunctiveLicense(name=record.license)]  # unmapped: the original text, as a name
    return [LicenseExpression(expression)]


def _component(record: PackageRecord, distro: str, template: Component | None = None) -> Component:
    """One package as a Component. With a template: a shallow copy of it with every field a
    package sets replaced. Component() builds ~10 empty SortedSets (~20 us each: 0.2 of the 0.5 s
    for 1,000 packages); the copies share the template's empty ones for the fields kickbake never
    sets (authors, tags, nested components, ...), which nothing adds to while the BOM is written.
    The result serializes exactly like a constructed Component (tests/unit/test_sbom_validation)."""
    purl = PackageURL.from_string(record.purl(distro))
    properties = [Property(name="kickbake:declared-license", value=record.license)] if record.license else []
    if record.source:
        properties.append(Property(name=f"kickbake:{record.kind}:source", value=record.source))
    if record.signed_by:
        properties.append(Property(name="kickbake:rpm:signed-by", value=record.signed_by))
    kind = ComponentType.LIBRARY if record.name.startswith("lib") else ComponentType.APPLICATION
    hashes = [HashType(alg=HashAlgorithm.MD5, content=record.digest)] if len(record.digest) == 32 else []
    if template is None:
        return Component(type=kind, name=record.name, version=record.evr, purl=purl, bom_ref=str(purl),
                         licenses=_licenses(record), hashes=hashes, properties=properties)
    component = copy.copy(template)
    component.type, component.name, component.version, component.purl = kind, record.name, record.evr, purl
    component._bom_ref = BomRef(str(purl))  # read-only property, set once by __init__ otherwise
    component.licenses, component.hashes, component.properties = _licenses(record), hashes, properties
    return component


def _indexed_register_dependency(bom: Bom) -> Callable[..., None]:
    """Bom.register_dependency finds a target's entry by scanning every dependency, and the JSON
    output calls it once per component (Bom.validate): O(n^2), 0.7 s for 1,000 packages. The
    same behaviour with the entries found through a dict."""
    index: dict[Any, Dependency] = {}

    def register(target: Any, depends_on: Iterable[Any] | None = None) -> None:
        if len(index) != len(bom.dependencies):  # entries added by other means: re-index
            index.clear()
            index.update((d.ref, d) for d in bom.dependencies)
        entry = index.get(target.bom_ref)
        refs = [Dependency(ref=d.bom_ref) for d in depends_on] if depends_on else []
        if entry is not None:
            entry.dependencies.update(refs)
        else:
            index[target.bom_ref] = Dependency(ref=target.bom_ref, dependencies=refs)
            bom.dependencies.add(index[target.bom_ref])
        for dependent in depends_on or ():
            register(dependent)

    return register


def build_bom(manifest: dict[str, Any], records: list[PackageRecord]) -> Bom:
    image = Component(
        type=ComponentType.OPERATING_SYSTEM,  # a node image, or a kickstart-installed node
        name=manifest["image"],
        version=manifest["image_id"],
        bom_ref=f"kickbake-image:{manifest['site']}/{manifest['image']}",
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=manifest["image_file"]["sha256"])]
        if manifest["image_file"] else [],
    )
    bom = Bom(serial_number=uuid.uuid5(_SERIAL, manifest["image_id"]))
    bom.register_dependency = _indexed_register_dependency(bom)  # type: ignore[method-assign]
    bom.metadata.timestamp = datetime.strptime(manifest["build_time"], "%Y-%m-%dT%H:%M:%SZ")
    bom.metadata.component = image
    template = Component(name="template")  # fresh per BOM: nothing is shared between two BOMs
    components = [_component(r, manifest["distro"], template) for r in sorted_records(records)]
    # The BOM keeps components in a SortedSet ordered by (type, group, name, version, bom-ref, ...).
    # update() re-sorts from a hash set (n log n comparisons of large tuples); adding them one by
    # one already in that order costs about two comparisons each.
    for component in sorted(components, key=lambda c: (str(c.type), c.name, c.version or "", str(c.bom_ref.value))):
        bom.components.add(component)
    # one Dependency built directly: Bom.register_dependency rescans the set for every call
    bom.dependencies.add(Dependency(ref=image.bom_ref, dependencies=[Dependency(ref=c.bom_ref) for c in components]))
    return bom


def _unique_items(validator: Any, unique: bool, instance: Any, schema: dict[str, Any]) -> Any:
    """uniqueItems in O(n): jsonschema compares every pair of objects (O(n^2): 80% of validating
    1,000 components). Equal JSON values have equal canonical text, so a set of texts decides."""
    if unique and validator.is_type(instance, "array"):
        texts = [json.dumps(item, sort_keys=True, separators=(",", ":")) for item in instance]
        if len(set(texts)) != len(texts):
            yield ValidationError(f"has non-unique elements ({len(texts) - len(set(texts))} duplicates)")


def _cached_ref() -> Callable[..., Any]:
    """$ref with its lookups remembered: jsonschema resolves "#/definitions/component" again for
    each of 1,000 components (a third of validating them). The schemas are fixed, so a ref read
    from the same base URI always resolves to the same subschema and resolver."""
    resolved: dict[tuple[str, str], Any] = {}

    def ref(validator: Any, reference: str, instance: Any, schema: dict[str, Any]) -> Any:
        key = (validator._resolver._base_uri, reference)
        if key not in resolved:
            resolved[key] = validator._resolver.lookup(reference)
        found = resolved[key]
        yield from validator.descend(instance, found.contents, resolver=found.resolver)

    return ref


@cache
def schema_validator() -> Any:
    """cyclonedx-python-lib's strict 1.6 validator (its schema, registry and format checker),
    with the linear uniqueItems and the remembered $ref lookups above."""
    strict = JsonStrictValidator(SchemaVersion.V1_6)._validator
    linear = validators.extend(type(strict), {"uniqueItems": _unique_items, "$ref": _cached_ref()})
    return linear(strict.schema, registry=strict._registry, format_checker=strict.format_checker)


def validate_cyclonedx(text: str, name: str) -> None:
    error = best_match(schema_validator().iter_errors(json.loads(text)))
    if error is not None:
        raise KickbakeError(f"CycloneDX document for {name} is invalid at {error.json_path}: {error.message[:300]}")


def cyclonedx_json(manifest: dict[str, Any], records: list[PackageRecord]) -> str:
    """The CycloneDX 1.6 JSON text, validated against the schema; sorted so it is reproducible."""
    text = JsonV1Dot6(build_bom(manifest, records)).output_as_string(indent=2)  # its order is sorted
    validate_cyclonedx(text, manifest["image"])
    return text + "\n"
