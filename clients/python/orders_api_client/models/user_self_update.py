from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="UserSelfUpdate")


@_attrs_define
class UserSelfUpdate:
    """The caller's own name and email: a new email needs the current password.

    Attributes:
        name (str | Unset):
        email (str | Unset):
        current_password (str | Unset): Required to change the email
    """

    name: str | Unset = UNSET
    email: str | Unset = UNSET
    current_password: str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        email = self.email

        current_password = self.current_password

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if name is not UNSET:
            field_dict["name"] = name
        if email is not UNSET:
            field_dict["email"] = email
        if current_password is not UNSET:
            field_dict["current_password"] = current_password

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name", UNSET)

        email = d.pop("email", UNSET)

        current_password = d.pop("current_password", UNSET)

        user_self_update = cls(
            name=name,
            email=email,
            current_password=current_password,
        )

        return user_self_update
