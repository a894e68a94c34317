#!/usr/bin/env bash
# Debian's chromium for the browser tests (test/web/browser.test.ts drives it with playwright-core;
# `npx playwright install` cannot download a browser here). Idempotent; uses sudo when not root.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "chromium already installed: $(dpkg-query -W -f='${Version}' chromium 2>/dev/null || echo '?')"
  exit 0
fi
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO=(sudo -n); else
    echo "not root and no passwordless sudo: cannot install chromium"; exit 1
  fi
fi
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
echo "installed chromium $(dpkg-query -W -f='${Version}' chromium)"
