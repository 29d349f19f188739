from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="UserUpdate")


@_attrs_define
class UserUpdate:
    """
    Attributes:
        name (str | Unset):
        is_active (bool | Unset):
        is_admin (bool | Unset):
    """

    name: str | Unset = UNSET
    is_active: bool | Unset = UNSET
    is_admin: bool | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        is_active = self.is_active

        is_admin = self.is_admin

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if name is not UNSET:
            field_dict["name"] = name
        if is_active is not UNSET:
            field_dict["is_active"] = is_active
        if is_admin is not UNSET:
            field_dict["is_admin"] = is_admin

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name", UNSET)

        is_active = d.pop("is_active", UNSET)

        is_admin = d.pop("is_admin", UNSET)

        user_update = cls(
            name=name,
            is_active=is_active,
            is_admin=is_admin,
        )

        return user_update
