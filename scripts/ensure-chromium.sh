#!/bin/sh
# Debian's Chromium (and a CJK font, so screenshots show the Chinese) for the HTML report test.
# Idempotent: does nothing when /usr/bin/chromium is already there. Needs root (or sudo).
set -eu
if [ -x /usr/bin/chromium ] && fc-list :lang=zh 2>/dev/null | grep -q .; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-wqy-zenhei >/dev/null
/usr/bin/chromium --version
