from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.order_public import OrderPublic


T = TypeVar("T", bound="OrderPage")


@_attrs_define
class OrderPage:
    """
    Attributes:
        data (list[OrderPublic]):
        count (int): How many items match, over all pages: exact up to 10,000; when more match, 10,000 (and
            `count_exact` is false)
        count_exact (bool): Whether `count` is exact: false when more than 10,000 items match
        limit (int):
        offset (int): Items skipped: the request's `offset`, 0 by cursor
        next_cursor (None | str): The page after this one: pass it as `cursor`, with the same filters. null on the last
            page. Opaque: use it exactly as it is
    """

    data: list[OrderPublic]
    count: int
    count_exact: bool
    limit: int
    offset: int
    next_cursor: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = []
        for data_item_data in self.data:
            data_item = data_item_data.to_dict()
            data.append(data_item)

        count = self.count

        count_exact = self.count_exact

        limit = self.limit

        offset = self.offset

        next_cursor: None | str
        next_cursor = self.next_cursor

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "data": data,
                "count": count,
                "count_exact": count_exact,
                "limit": limit,
                "offset": offset,
                "next_cursor": next_cursor,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.order_public import OrderPublic  # noqa: PLC0415

        d = dict(src_dict)
        data = []
        _data = d.pop("data")
        for data_item_data in _data:
            data_item = OrderPublic.from_dict(data_item_data)

            data.append(data_item)

        count = d.pop("count")

        count_exact = d.pop("count_exact")

        limit = d.pop("limit")

        offset = d.pop("offset")

        def _parse_next_cursor(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        next_cursor = _parse_next_cursor(d.pop("next_cursor"))

        order_page = cls(
            data=data,
            count=count,
            count_exact=count_exact,
            limit=limit,
            offset=offset,
            next_cursor=next_cursor,
        )

        order_page.additional_properties = d
        return order_page

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
