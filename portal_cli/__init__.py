"""portal-cli: the access portal's REST API (/api/v1/) from a shell, a CI job or an AWS profile.

Standard library only, so it installs anywhere the portal's virtualenv does and adds nothing to the
credential_process hot path beyond the interpreter's start-up.
"""

__version__ = "0.1.0"
