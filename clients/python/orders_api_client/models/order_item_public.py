from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="OrderItemPublic")


@_attrs_define
class OrderItemPublic:
    """
    Attributes:
        product_id (int):
        quantity (int): 1 to 100
        id (int):
        order_id (int):
        product_name (str): The product's name when it was added
        unit_price_cents (int): The product's price when it was added
        line_total_cents (int): quantity * unit_price_cents
    """

    product_id: int
    quantity: int
    id: int
    order_id: int
    product_name: str
    unit_price_cents: int
    line_total_cents: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        product_id = self.product_id

        quantity = self.quantity

        id = self.id

        order_id = self.order_id

        product_name = self.product_name

        unit_price_cents = self.unit_price_cents

        line_total_cents = self.line_total_cents

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "product_id": product_id,
                "quantity": quantity,
                "id": id,
                "order_id": order_id,
                "product_name": product_name,
                "unit_price_cents": unit_price_cents,
                "line_total_cents": line_total_cents,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        product_id = d.pop("product_id")

        quantity = d.pop("quantity")

        id = d.pop("id")

        order_id = d.pop("order_id")

        product_name = d.pop("product_name")

        unit_price_cents = d.pop("unit_price_cents")

        line_total_cents = d.pop("line_total_cents")

        order_item_public = cls(
            product_id=product_id,
            quantity=quantity,
            id=id,
            order_id=order_id,
            product_name=product_name,
            unit_price_cents=unit_price_cents,
            line_total_cents=line_total_cents,
        )

        order_item_public.additional_properties = d
        return order_item_public

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
