#!/bin/sh
# Fetches Swagger UI (npm's swagger-ui-dist at VERSION) into CACHE once,
# checks the package against SHA512 (npm's integrity string), and unpacks
# the two files /swagger/ serves: swagger-ui-bundle.js and swagger-ui.css.
# With the package already in CACHE it needs no network.
# usage: swagger_ui.sh VERSION SHA512 CACHE
set -eu
version=$1 sha512=$2 cache=$3
tgz="$cache/swagger-ui-dist-$version.tgz"
dir="$cache/swagger-ui-dist-$version"
mkdir -p "$cache"
sum() { openssl dgst -sha512 -binary "$1" | base64 | tr -d '\n'; }
if [ ! -f "$tgz" ] || [ "$(sum "$tgz")" != "$sha512" ]; then
    command -v npm >/dev/null 2>&1 || {
        echo "swagger_ui.sh: npm is needed once to fetch swagger-ui-dist@$version (scripts/deps.sh installs it)" >&2
        exit 1
    }
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && npm pack --silent "swagger-ui-dist@$version" >/dev/null) || {
        echo "swagger_ui.sh: could not fetch swagger-ui-dist@$version from npm" >&2
        exit 1
    }
    got=$(sum "$tmp/swagger-ui-dist-$version.tgz")
    if [ "$got" != "$sha512" ]; then
        echo "swagger_ui.sh: swagger-ui-dist-$version.tgz has sha512 $got, expected $sha512" >&2
        exit 1
    fi
    mv "$tmp/swagger-ui-dist-$version.tgz" "$tgz"
fi
mkdir -p "$dir"
tar -xzf "$tgz" -C "$dir" --strip-components=1 package/swagger-ui-bundle.js package/swagger-ui.css
touch "$dir/swagger-ui-bundle.js" "$dir/swagger-ui.css"
