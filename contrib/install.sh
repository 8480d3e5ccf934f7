#!/bin/sh
# Installs okms-cli from an okms-rs release: picks the static archive for this machine's
# architecture, checks the minisign signature of SHA256SUMS when `minisign` is installed and
# the archive's SHA-256 always, and only then puts okms-cli in ~/.local/bin (or --prefix).
# Any failed check stops it before anything is written to the install directory.
#
#   sh install.sh [--from DIR|URL] [--prefix DIR] [--pubkey FILE]
#
# --from    the release: a directory or an http(s) URL holding SHA256SUMS, SHA256SUMS.minisig
#           and the archives (default: the directory this script is in)
# --prefix  where okms-cli goes (default: ~/.local/bin)
# --pubkey  the minisign public key to trust (default: minisign.pub from the release; pass the
#           key published in the README to trust more than the release page itself)
set -eu

die() {
    printf 'install.sh: %s\n' "$1" >&2
    exit 1
}

usage() {
    sed -n '7,13s/^# \{0,1\}//p' "$0"
}

from=$(dirname "$0")
prefix="${HOME:-}/.local/bin"
pubkey=""
while [ $# -gt 0 ]; do
    case "$1" in
        --from)
            [ $# -ge 2 ] || die "--from needs a directory or URL"
            from=$2
            shift 2
            ;;
        --prefix)
            [ $# -ge 2 ] || die "--prefix needs a directory"
            prefix=$2
            shift 2
            ;;
        --pubkey)
            [ $# -ge 2 ] || die "--pubkey needs a file"
            pubkey=$2
            shift 2
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            usage >&2
            die "unknown argument: $1"
            ;;
    esac
done
[ -n "$prefix" ] || die "no install directory: HOME is not set, pass --prefix DIR"

os=$(uname -s)
[ "$os" = Linux ] || die "no okms-cli release archive for $os: the archives are for Linux (build from source elsewhere)"
machine=$(uname -m)
case "$machine" in
    x86_64 | amd64) target=x86_64-unknown-linux-musl ;;
    aarch64 | arm64) target=aarch64-unknown-linux-musl ;;
    *) die "unsupported architecture $machine: okms-cli archives exist for x86_64 and aarch64" ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# Copies one file of the release into the work directory, or fails naming it.
fetch() {
    case "$from" in
        http://* | https://*)
            if command -v curl >/dev/null 2>&1; then
                curl -fsSL -o "$work/$1" "${from%/}/$1" || die "could not download ${from%/}/$1"
            elif command -v wget >/dev/null 2>&1; then
                wget -q -O "$work/$1" "${from%/}/$1" || die "could not download ${from%/}/$1"
            else
                die "neither curl nor wget is installed to download ${from%/}/$1"
            fi
            ;;
        *)
            [ -f "$from/$1" ] || die "missing file: $from/$1"
            cp "$from/$1" "$work/$1"
            ;;
    esac
}

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | cut -d' ' -f1
    else
        die "no sha256sum or shasum to check the archive with"
    fi
}

fetch SHA256SUMS
if command -v minisign >/dev/null 2>&1; then
    fetch SHA256SUMS.minisig
    if [ -z "$pubkey" ]; then
        fetch minisign.pub
        pubkey=$work/minisign.pub
    fi
    [ -f "$pubkey" ] || die "missing file: $pubkey (the public key to check the signature with)"
    minisign -V -q -p "$pubkey" -m "$work/SHA256SUMS" -x "$work/SHA256SUMS.minisig" >/dev/null 2>&1 ||
        die "the signature of SHA256SUMS does not verify with $pubkey: the checksum file was tampered with or signed by another key; nothing installed"
    echo "install.sh: SHA256SUMS signature verified with $pubkey"
else
    echo "install.sh: minisign is not installed: the signature of SHA256SUMS is NOT checked (only the archive's checksum)" >&2
fi

# The checksum line of this target's okms-cli archive: `HASH  okms-cli-VERSION-TARGET.tar.gz`.
line=$(grep -E "^[0-9a-f]{64}  okms-cli-[0-9A-Za-z.+-]+-$target\\.tar\\.gz\$" "$work/SHA256SUMS" || true)
[ -n "$line" ] || die "the release has no okms-cli archive for $machine ($target)"
[ "$(printf '%s\n' "$line" | wc -l)" -eq 1 ] || die "SHA256SUMS lists more than one okms-cli archive for $target"
expected=${line%% *}
archive=${line##* }
fetch "$archive"
actual=$(sha256_of "$work/$archive")
[ "$actual" = "$expected" ] ||
    die "checksum mismatch for $archive (expected $expected, got $actual): the archive is damaged or tampered with; nothing installed"

stem=${archive%.tar.gz}
mkdir "$work/unpacked"
tar -xzf "$work/$archive" -C "$work/unpacked" "$stem/okms-cli" || die "$archive holds no $stem/okms-cli"
binary=$work/unpacked/$stem/okms-cli
[ -f "$binary" ] || die "$archive holds no $stem/okms-cli"

mkdir -p "$prefix" || die "could not create $prefix"
# Copy beside the destination, then rename: a failed copy never leaves a half-written okms-cli.
staged=$prefix/.okms-cli.install.$$
cp "$binary" "$staged" || die "could not write to $prefix"
chmod 755 "$staged"
mv -f "$staged" "$prefix/okms-cli" || {
    rm -f "$staged"
    die "could not install $prefix/okms-cli"
}
echo "install.sh: installed $prefix/okms-cli ($stem)"
case ":${PATH:-}:" in
    *":$prefix:"*) ;;
    *) echo "install.sh: $prefix is not on PATH; add it to run okms-cli by name" >&2 ;;
esac
