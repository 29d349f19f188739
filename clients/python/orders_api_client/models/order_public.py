from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.order_status import OrderStatus

if TYPE_CHECKING:
    from ..models.order_item_public import OrderItemPublic


T = TypeVar("T", bound="OrderPublic")


@_attrs_define
class OrderPublic:
    """
    Attributes:
        status (OrderStatus):
        total_cents (int): The sum of the lines' totals, in cents Default: 0.
        id (int):
        user_id (int):
        created_at (datetime.datetime):
        updated_at (datetime.datetime):
        items (list[OrderItemPublic]):
    """

    status: OrderStatus
    id: int
    user_id: int
    created_at: datetime.datetime
    updated_at: datetime.datetime
    items: list[OrderItemPublic]
    total_cents: int = 0
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        status = self.status.value

        total_cents = self.total_cents

        id = self.id

        user_id = self.user_id

        created_at = self.created_at.isoformat()

        updated_at = self.updated_at.isoformat()

        items = []
        for items_item_data in self.items:
            items_item = items_item_data.to_dict()
            items.append(items_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "status": status,
                "total_cents": total_cents,
                "id": id,
                "user_id": user_id,
                "created_at": created_at,
                "updated_at": updated_at,
                "items": items,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.order_item_public import OrderItemPublic  # noqa: PLC0415

        d = dict(src_dict)
        status = OrderStatus(d.pop("status"))

        total_cents = d.pop("total_cents")

        id = d.pop("id")

        user_id = d.pop("user_id")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        items = []
        _items = d.pop("items")
        for items_item_data in _items:
            items_item = OrderItemPublic.from_dict(items_item_data)

            items.append(items_item)

        order_public = cls(
            status=status,
            total_cents=total_cents,
            id=id,
            user_id=user_id,
            created_at=created_at,
            updated_at=updated_at,
            items=items,
        )

        order_public.additional_properties = d
        return order_public

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
