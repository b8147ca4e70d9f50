"""Single sign-on: OpenID Connect sign-in through the company's identity provider, portal groups
and platform admins from its groups claim, and the page where people who have no portal password
make their API tokens."""
