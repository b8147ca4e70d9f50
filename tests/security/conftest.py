# The API tests' callers (a stranger, an approver of another account) and their per-test rate-limit
# keys serve the security tests too.
from tests.api.conftest import api_cache, stranger, vendor_approver  # noqa: F401
