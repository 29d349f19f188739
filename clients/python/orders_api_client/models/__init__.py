"""Contains all the data models used in inputs/outputs"""

from .account_deletion import AccountDeletion
from .error_detail import ErrorDetail
from .login_form import LoginForm
from .login_request import LoginRequest
from .message import Message
from .notice import Notice
from .order_create import OrderCreate
from .order_item_create import OrderItemCreate
from .order_item_public import OrderItemPublic
from .order_item_update import OrderItemUpdate
from .order_page import OrderPage
from .order_public import OrderPublic
from .order_status import OrderStatus
from .password_change import PasswordChange
from .password_reset_confirm import PasswordResetConfirm
from .password_reset_request import PasswordResetRequest
from .product_create import ProductCreate
from .product_page import ProductPage
from .product_public import ProductPublic
from .product_update import ProductUpdate
from .refresh_request import RefreshRequest
from .token_pair import TokenPair
from .unavailable import Unavailable
from .user_create import UserCreate
from .user_page import UserPage
from .user_public import UserPublic
from .user_self_update import UserSelfUpdate
from .user_update import UserUpdate
from .validation_error_detail import ValidationErrorDetail
from .validation_issue import ValidationIssue
from .validation_issue_ctx import ValidationIssueCtx

__all__ = (
    "AccountDeletion",
    "ErrorDetail",
    "LoginForm",
    "LoginRequest",
    "Message",
    "Notice",
    "OrderCreate",
    "OrderItemCreate",
    "OrderItemPublic",
    "OrderItemUpdate",
    "OrderPage",
    "OrderPublic",
    "OrderStatus",
    "PasswordChange",
    "PasswordResetConfirm",
    "PasswordResetRequest",
    "ProductCreate",
    "ProductPage",
    "ProductPublic",
    "ProductUpdate",
    "RefreshRequest",
    "TokenPair",
    "Unavailable",
    "UserCreate",
    "UserPage",
    "UserPublic",
    "UserSelfUpdate",
    "UserUpdate",
    "ValidationErrorDetail",
    "ValidationIssue",
    "ValidationIssueCtx",
)
