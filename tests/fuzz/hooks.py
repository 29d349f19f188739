"""schemathesis hooks for tests/fuzz/run.py (loaded through `hooks` in schemathesis.toml).

`format: password` marks the passwords in this API's schema. A new one (sign-up) must be
8 to 72 bytes of UTF-8 without NUL, bcrypt's limit, which JSON Schema cannot state (it
counts characters); a login accepts any of those too. This strategy draws exactly such
passwords, so a schema-valid sign-up is valid for the app as well.
"""

import schemathesis
from hypothesis import strategies as st

MAX_BYTES = 72


def _within_max_bytes(password: str) -> str:
    """The longest prefix of `password` that fits in MAX_BYTES of UTF-8."""
    return password.encode()[:MAX_BYTES].decode(errors="ignore")


# At least 8 characters make at least 8 bytes; cutting at 72 bytes keeps at least 18 of them.
passwords = st.text(
    st.characters(codec="utf-8", exclude_characters="\x00"), min_size=8, max_size=MAX_BYTES
).map(_within_max_bytes)

schemathesis.openapi.format("password", passwords)
