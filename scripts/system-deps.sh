#!/usr/bin/env bash
# Debian packages the integration and browser tests run for real: OpenLDAP's slapd and
# its clients, Chromium for the browser tests, OpenSSH for the push tests, fail2ban-regex
# for the brute-force log, and what the production-topology test runs (tests/deploy): Apache
# with Debian's default self-signed certificate (ssl-cert), redis-server for private Redis
# servers, systemd-analyze to verify the units; janus (janus, janus-cfgconv) and coturn
# (turnserver, turnutils_uclient), which parse and run the files rendered for WebRTC nodes.
# Installs only what is missing; needs root (or sudo) the first time.
set -euo pipefail
packages=(slapd ldap-utils chromium chromium-driver openssh-server fail2ban apache2 ssl-cert redis-server systemd janus coturn)
binaries=(/usr/sbin/slapd /usr/bin/ldapadd /usr/bin/chromium /usr/bin/chromedriver /usr/sbin/sshd /usr/bin/fail2ban-regex /usr/sbin/apache2 /usr/sbin/make-ssl-cert /usr/bin/redis-server /usr/bin/systemd-analyze /usr/bin/janus-cfgconv /usr/bin/turnutils_uclient)
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
missing=()
for i in "${!packages[@]}"; do
  [ -x "${binaries[$i]}" ] || missing+=("${packages[$i]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing Debian packages for the integration tests: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # janus and coturn come with system services listening on every address (janus's HTTP and
  # WebSockets transports, coturn on 3478 and a relay range): the tests start their own on
  # loopback with free ports, so the packaged ones are stopped and kept from starting.
  for service in janus coturn; do
    [[ " ${missing[*]} " == *" $service "* ]] || continue
    if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
      $sudo systemctl disable --now "$service" >/dev/null 2>&1 || true
    fi
    if [ -x "/etc/init.d/$service" ]; then
      $sudo "/etc/init.d/$service" stop >/dev/null 2>&1 || true
      $sudo update-rc.d "$service" disable >/dev/null 2>&1 || true
    fi
  done
fi
# ssl-cert makes this pair when it is installed; a system whose copy was removed gets it again
# (the shipped Apache site names it until an installer sets the host's own certificate).
if [ ! -s /etc/ssl/certs/ssl-cert-snakeoil.pem ] || [ ! -s /etc/ssl/private/ssl-cert-snakeoil.key ]; then
  $sudo make-ssl-cert generate-default-snakeoil --force-overwrite
fi
