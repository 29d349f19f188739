"""The schema's components: names that read well in generated code (`OrderPage`, not
`Page_OrderPublic_`), and the components a part of the schema refers to."""

import re
from collections.abc import Iterator
from typing import Any

REF_PREFIX = "#/components/schemas/"


def readable_name(name: str) -> str:
    """The name a component goes by in the schema, and so in generated code.

    pydantic names a generic model after its parameters (`Page[OrderPublic]` is
    `Page_OrderPublic_`): it becomes `OrderPage`. FastAPI names the body model it makes for
    form fields after the operation (`Body_login_form`): it becomes `LoginForm`, or
    `<Operation>Body`. A model used by requests and responses alike that serializes
    differently is split by FastAPI into `X-Input` and `X-Output`: `XInput` and `X`.
    """
    if generic := re.fullmatch(r"([A-Za-z0-9]+)_([A-Za-z0-9]+)_", name):
        model, argument = generic.groups()
        return argument.removesuffix("Public") + model
    if name.startswith("Body_"):
        operation = "".join(word.capitalize() for word in name.removeprefix("Body_").split("_"))
        return operation if operation.endswith(("Form", "Body")) else operation + "Body"
    if name.endswith("-Output"):
        return name.removesuffix("-Output")
    return name.replace("-Input", "Input")


def rename_components(schema: dict[str, Any]) -> None:
    components: dict[str, Any] = schema.setdefault("components", {}).get("schemas", {})
    renamed = {name: readable_name(name) for name in components}
    if len(set(renamed.values())) != len(renamed):
        raise RuntimeError(f"two schema components get the same readable name: {renamed}")
    schema["components"]["schemas"] = {
        renamed[name]: _retitled(component, name, renamed[name])
        for name, component in sorted(components.items(), key=lambda item: renamed[item[0]])
    }
    new_refs = {REF_PREFIX + old: REF_PREFIX + new for old, new in renamed.items() if old != new}
    for node in _nodes(schema):
        if node.get("$ref") in new_refs:
            node["$ref"] = new_refs[node["$ref"]]


def _retitled(component: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    if old != new and "title" in component:
        component["title"] = new
    return component


def _nodes(node: Any) -> Iterator[dict[str, Any]]:
    """Every object of a JSON document, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes(value)


def _refs(node: Any) -> set[str]:
    return {found["$ref"] for found in _nodes(node) if isinstance(found.get("$ref"), str)}


def reachable(schema: dict[str, Any], node: Any) -> set[str]:
    """The names of the components that `node` refers to, directly or through others."""
    components = schema["components"]["schemas"]
    found: set[str] = set()
    pending = _refs(node)
    while pending:
        ref = pending.pop()
        name = ref.removeprefix(REF_PREFIX)
        if ref.startswith(REF_PREFIX) and name not in found:
            found.add(name)
            pending |= _refs(components.get(name, {}))
    return found
