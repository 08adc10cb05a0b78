#!/usr/bin/env bash
# Debian packages the integration and browser tests run for real: OpenLDAP's slapd and
# its clients, Chromium for the browser tests, OpenSSH for the push tests, fail2ban-regex
# for the brute-force log.
# Installs only what is missing; needs root (or sudo) the first time.
set -euo pipefail
packages=(slapd ldap-utils chromium chromium-driver openssh-server fail2ban)
binaries=(/usr/sbin/slapd /usr/bin/ldapadd /usr/bin/chromium /usr/bin/chromedriver /usr/sbin/sshd /usr/bin/fail2ban-regex)
missing=()
for i in "${!packages[@]}"; do
  [ -x "${binaries[$i]}" ] || missing+=("${packages[$i]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "== installing Debian packages for the integration tests: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
