"""SCIM 2.0 (RFC 7643, RFC 7644) for identity providers: find a user, and deactivate a leaver.

Only what Okta, Entra ID and others need to drive deprovisioning: `GET /scim/v2/Users` with
`filter=userName eq "..."`, `GET`, `PATCH` (`active`) and `DELETE` of `/scim/v2/Users/{id}`, where
`{id}` is the portal user's id. Users are created at their first single sign-on, not by SCIM.
"""
