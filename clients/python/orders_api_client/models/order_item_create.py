from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="OrderItemCreate")


@_attrs_define
class OrderItemCreate:
    """
    Attributes:
        product_id (int):
        quantity (int): 1 to 100
    """

    product_id: int
    quantity: int

    def to_dict(self) -> dict[str, Any]:
        product_id = self.product_id

        quantity = self.quantity

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "product_id": product_id,
                "quantity": quantity,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        product_id = d.pop("product_id")

        quantity = d.pop("quantity")

        order_item_create = cls(
            product_id=product_id,
            quantity=quantity,
        )

        return order_item_create
