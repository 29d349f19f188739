from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ProductPublic")


@_attrs_define
class ProductPublic:
    """
    Attributes:
        name (str):
        description (str):  Default: ''.
        price_cents (int): Price in cents, 1 to 10,000,000
        is_available (bool): Shown on the public menu Default: True.
        id (int):
        created_at (datetime.datetime):
    """

    name: str
    price_cents: int
    id: int
    created_at: datetime.datetime
    description: str = ""
    is_available: bool = True
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        description = self.description

        price_cents = self.price_cents

        is_available = self.is_available

        id = self.id

        created_at = self.created_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "description": description,
                "price_cents": price_cents,
                "is_available": is_available,
                "id": id,
                "created_at": created_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name")

        description = d.pop("description")

        price_cents = d.pop("price_cents")

        is_available = d.pop("is_available")

        id = d.pop("id")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        product_public = cls(
            name=name,
            description=description,
            price_cents=price_cents,
            is_available=is_available,
            id=id,
            created_at=created_at,
        )

        product_public.additional_properties = d
        return product_public

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
