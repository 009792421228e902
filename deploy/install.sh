#!/usr/bin/env bash
# Install yail-server as a systemd service: the binary, a `yail` system user,
# the unit, and /etc/yail/ with the settings file and the env file. Safe to run again: it
# updates the binary and the unit, and never touches a settings file that
# already exists. deploy/README.md describes what it does.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: deploy/install.sh [OPTIONS]

Installs yail-server as a systemd service. Run it as root (sudo), or with
--root DIR to lay the files out under DIR instead (no root needed, nothing
started).

Options:
  --binary PATH   install this yail-server binary (default: build it with
                  `cargo install --locked` from this checkout)
  --root DIR      install under DIR instead of / (also read from DESTDIR);
                  implies --no-start
  --lan CIDR      a network whose Ataris may connect although the unit
                  denies private addresses, e.g. 192.168.1.0/24; repeatable.
                  `--lan none` allows none (a server for the internet only).
                  Default: the private networks of this machine's
                  default-route interface. Rewrites the unit's lan.conf.
  --no-start      install only; do not enable or (re)start the service
  -h, --help      this text
EOF
}

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(dirname "$script_dir")

root=${DESTDIR:-/}
binary=""
lan=()
lan_given=false
start=true

while [ $# -gt 0 ]; do
    case $1 in
        --binary) binary=${2:?--binary needs a path}; shift 2 ;;
        --binary=*) binary=${1#*=}; shift ;;
        --root) root=${2:?--root needs a directory}; shift 2 ;;
        --root=*) root=${1#*=}; shift ;;
        --lan) lan+=("${2:?--lan needs a network or none}"); lan_given=true; shift 2 ;;
        --lan=*) lan+=("${1#*=}"); lan_given=true; shift ;;
        --no-start) start=false; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "install.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done

say() { printf 'install.sh: %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

# Everything is written below $root; with --root the files are laid out for
# inspection or packaging, and no service is touched.
root=${root%/}
if [ -n "$root" ]; then
    mkdir -p "$root"
    root=$(cd "$root" && pwd)
    [ "$root" = / ] && root=""
fi
[ -n "$root" ] && start=false
is_root=false
[ "$(id -u)" -eq 0 ] && is_root=true
if [ -z "$root" ] && ! $is_root; then
    die "run as root (sudo deploy/install.sh ...), or pass --root DIR to install into a directory"
fi

bin_path=/usr/local/bin/yail-server
etc_dir=/etc/yail
env_file=$etc_dir/yail-server.env
# The settings file the unit passes with `--config`: installed when absent
# (every key commented out), never overwritten.
settings_file=$etc_dir/yail.toml
unit_file=/etc/systemd/system/yail-server.service
lan_dropin=/etc/systemd/system/yail-server.service.d/lan.conf

# Files whose content changed in this run; a running service is restarted
# only when something it reads did.
changed=()

# install_file SRC DEST MODE: copy SRC to $root/DEST unless DEST already
# holds the same bytes; written to a temporary name and renamed, so a
# running server's binary is never rewritten in place.
install_file() {
    local src=$1 dest=$root$2 mode=$3
    mkdir -p "$(dirname "$dest")"
    if [ -f "$dest" ] && cmp -s "$src" "$dest"; then
        chmod "$mode" "$dest"
        return
    fi
    local tmp
    tmp=$(mktemp "$dest.XXXXXX")
    cat "$src" > "$tmp"
    chmod "$mode" "$tmp"
    mv -f "$tmp" "$dest"
    changed+=("$2")
    say "installed $2"
}

# --- the binary -----------------------------------------------------------
build_dir=""
cleanup() { [ -n "$build_dir" ] && rm -rf "$build_dir"; return 0; }
trap cleanup EXIT
if [ -z "$binary" ]; then
    command -v cargo >/dev/null 2>&1 || die "cargo not found. Build as yourself first:
    cargo install --locked --path yail-server
then: sudo deploy/install.sh --binary ~/.cargo/bin/yail-server
(Rust 1.90 or newer; README.md, Installing, says how to get it.)"
    [ -f "$repo_dir/yail-server/Cargo.toml" ] || die "no yail-server/ beside deploy/: pass --binary PATH"
    build_dir=$(mktemp -d)
    say "building yail-server with cargo install --locked (several minutes)"
    cargo install --locked --path "$repo_dir/yail-server" --root "$build_dir"
    binary=$build_dir/bin/yail-server
fi
[ -f "$binary" ] || die "no such binary: $binary"
[ -x "$binary" ] || die "not executable: $binary"
install_file "$binary" "$bin_path" 0755

# --- the user ---------------------------------------------------------------
# A system user and group `yail`: no home, no login. systemd-sysusers does
# nothing when they exist and also works under --root without privileges.
user_line='u yail - "YAIL image server" /nonexistent /usr/sbin/nologin'
mkdir -p "$root/etc"
if grep -q '^yail:' "$root/etc/passwd" 2>/dev/null; then
    :
elif command -v systemd-sysusers >/dev/null 2>&1; then
    systemd-sysusers --root="${root:-/}" --inline "$user_line" >/dev/null
    say "created the system user yail"
elif $is_root; then
    useradd --system --user-group --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin --comment "YAIL image server" \
        ${root:+--root "$root"} yail
    say "created the system user yail"
else
    die "cannot create the user yail here: neither systemd-sysusers nor root"
fi

# Numeric ids from the target's own group file, so that --root DIR does not
# depend on the host's users.
yail_gid=$(awk -F: '$1 == "yail" { print $3 }' "$root/etc/group")
[ -n "$yail_gid" ] || die "the group yail is missing from $root/etc/group"

# own PATH: root:yail when we may; as a non-root --root install the files
# stay ours (their modes are still set).
own() { if $is_root; then chown "0:$yail_gid" "$root$1"; fi; }

# --- /etc/yail --------------------------------------------------------------
mkdir -p "$root$etc_dir"
chmod 0750 "$root$etc_dir"
own "$etc_dir"
if [ -e "$root$env_file" ]; then
    say "kept $env_file (compare with deploy/yail-server.env.example for new settings)"
else
    # 0600 and root's: it will hold the API keys and the admin token, and
    # systemd reads it before dropping privileges.
    install_file "$script_dir/yail-server.env.example" "$env_file" 0600
fi
if [ -e "$root$settings_file" ]; then
    say "kept $settings_file (compare with deploy/yail.toml.example for new keys)"
else
    # root:yail 0640: the server reads it, and may not change it (the admin
    # page's changes go to /var/lib/yail/runtime.toml).
    install_file "$script_dir/yail.toml.example" "$settings_file" 0640
    own "$settings_file"
fi

# --- the unit ---------------------------------------------------------------
# Ours to replace: an operator's changes belong in a drop-in
# (systemctl edit yail-server), which this script never writes except lan.conf.
install_file "$script_dir/yail-server.service" "$unit_file" 0644

# The unit denies private addresses both ways, so the Ataris of the LAN need
# their network allowed. Written once; an explicit --lan rewrites it.
default_route_networks() {
    command -v ip >/dev/null 2>&1 || return 0
    local family dev
    for family in -4 -6; do
        for dev in $(ip "$family" route show default 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") print $(i + 1) }' | sort -u); do
            ip -o "$family" addr show dev "$dev" scope global 2>/dev/null | awk '{ print $4 }'
        done
    done
}
# is_private CIDR: inside one of the ranges the unit denies.
is_private() {
    local a=${1%/*} b c
    case $a in
        10.* | 192.168.*) return 0 ;;
        172.*) b=${a#172.}; b=${b%%.*}; [ "$b" -ge 16 ] && [ "$b" -le 31 ] ;;
        100.*) c=${a#100.}; c=${c%%.*}; [ "$c" -ge 64 ] && [ "$c" -le 127 ] ;;
        [fF][cCdD]*:*) return 0 ;;
        *) return 1 ;;
    esac
}
if $lan_given || [ ! -e "$root$lan_dropin" ]; then
    networks=()
    if $lan_given; then
        for n in "${lan[@]}"; do
            [ "$n" = none ] || networks+=("$n")
        done
    else
        while read -r n; do
            [ -n "$n" ] && is_private "$n" && networks+=("$n")
        done < <(default_route_networks)
    fi
    dropin_tmp=$(mktemp)
    {
        echo "# Written by deploy/install.sh; yours to edit (it is kept on the next run"
        echo "# unless --lan is given). The unit denies private addresses in both"
        echo "# directions; these networks may reach the server (the Ataris of your LAN)"
        echo "# and be reached by it. Several networks: one line each, or space-separated."
        echo "[Service]"
        if [ ${#networks[@]} -eq 0 ]; then
            echo "# No LAN allowed: only public addresses and loopback reach the server."
            echo "#IPAddressAllow=192.168.1.0/24"
        else
            for n in "${networks[@]}"; do echo "IPAddressAllow=$n"; done
        fi
    } > "$dropin_tmp"
    install_file "$dropin_tmp" "$lan_dropin" 0644
    rm -f "$dropin_tmp"
    if [ ${#networks[@]} -eq 0 ]; then
        say "no LAN allowed in $lan_dropin: Ataris on private addresses cannot connect (--lan CIDR allows them)"
    else
        say "Ataris may connect from: ${networks[*]} ($lan_dropin)"
    fi
else
    say "kept $lan_dropin"
fi

# --- start ------------------------------------------------------------------
if $start; then
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
        systemctl daemon-reload
        systemctl enable --quiet yail-server
        if [ ${#changed[@]} -gt 0 ]; then
            systemctl restart yail-server
            say "restarted yail-server"
        else
            systemctl start yail-server
        fi
        say "running: systemctl status yail-server; journalctl -u yail-server -f"
    else
        say "systemd is not running here: start $bin_path yourself"
    fi
fi
say "done"
