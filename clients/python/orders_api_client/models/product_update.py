from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="ProductUpdate")


@_attrs_define
class ProductUpdate:
    """
    Attributes:
        name (str | Unset):
        description (str | Unset):
        price_cents (int | Unset):
        is_available (bool | Unset):
    """

    name: str | Unset = UNSET
    description: str | Unset = UNSET
    price_cents: int | Unset = UNSET
    is_available: bool | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        description = self.description

        price_cents = self.price_cents

        is_available = self.is_available

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if name is not UNSET:
            field_dict["name"] = name
        if description is not UNSET:
            field_dict["description"] = description
        if price_cents is not UNSET:
            field_dict["price_cents"] = price_cents
        if is_available is not UNSET:
            field_dict["is_available"] = is_available

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name", UNSET)

        description = d.pop("description", UNSET)

        price_cents = d.pop("price_cents", UNSET)

        is_available = d.pop("is_available", UNSET)

        product_update = cls(
            name=name,
            description=description,
            price_cents=price_cents,
            is_available=is_available,
        )

        return product_update
