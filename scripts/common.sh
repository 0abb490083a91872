# Shared by scripts/demo and scripts/test: installs what is missing, builds.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Installs the Debian packages given that are not installed yet.
ensure_packages() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# ensure_daemon_packages PACKAGE...: installs servers that the tests start
# themselves, without letting the packages start or enable them: a
# policy-rc.d that denies every start is in place during the install (and
# removed after if it was ours); Postfix is installed unconfigured.
ensure_daemon_packages() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  local policy=/usr/sbin/policy-rc.d ours=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    ours=1
  fi
  echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections
  if ! ensure_packages "$@"; then
    # inn2's configuration fails on a machine whose host name has no domain,
    # and when the unconfigured Postfix has no main.cf for newaliases.
    if [ -f /etc/news/inn.conf ] && ! grep -q '^domain:' /etc/news/inn.conf; then
      $sudo sed -i 's/^#* *domain:.*/domain: localdomain/' /etc/news/inn.conf
    fi
    if [ ! -f /etc/postfix/main.cf ] && [ -f /usr/share/postfix/main.cf.debian ]; then
      $sudo cp /usr/share/postfix/main.cf.debian /etc/postfix/main.cf
    fi
    $sudo dpkg --configure -a
  fi
  [ -z "$ours" ] || $sudo rm -f "$policy"
}

build_packages=(g++ cmake ninja-build libasio-dev libssl-dev libcli11-dev libgtest-dev
                ca-certificates)

# configure_and_build DIR [cmake options...]
configure_and_build() {
  local dir="$1"
  shift
  cmake -S "$root" -B "$dir" -G Ninja "$@" >/dev/null
  cmake --build "$dir" -j "$(nproc)"
}
