from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="ProductCreate")


@_attrs_define
class ProductCreate:
    """
    Attributes:
        name (str):
        price_cents (int): Price in cents, 1 to 10,000,000
        description (str | Unset): Left out, it is `""`.
        is_available (bool | Unset): Shown on the public menu Left out, it is `true`.
    """

    name: str
    price_cents: int
    description: str | Unset = UNSET
    is_available: bool | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        price_cents = self.price_cents

        description = self.description

        is_available = self.is_available

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "name": name,
                "price_cents": price_cents,
            }
        )
        if description is not UNSET:
            field_dict["description"] = description
        if is_available is not UNSET:
            field_dict["is_available"] = is_available

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name")

        price_cents = d.pop("price_cents")

        description = d.pop("description", UNSET)

        is_available = d.pop("is_available", UNSET)

        product_create = cls(
            name=name,
            price_cents=price_cents,
            description=description,
            is_available=is_available,
        )

        return product_create
