#!/bin/sh
# Builds durable_rules 2.0.28 into a wheelhouse, for Python 3.11 to 3.13.
#
# 2.0.28 is durable_rules' last release (2020); its C extension calls PyEval_CallObject, which
# Python 3.13 removed. The fix (jruizgit/rules #403) is merged upstream and in no release, so this
# takes the PyPI sdist, checks it against the hash below, applies that fix
# (durable-rules-py313.patch) and builds a wheel for PYTHON. The wheel's version carries a local
# label (2.0.28+ruralpost.1): pyproject's ==2.0.28 accepts it, constraints.txt asks for it, so an
# install never picks the unpatched sdist by mistake. `make setup` and deploy/Dockerfile install
# from the wheelhouse (pip --find-links). A wheel already there for this Python is kept.
#
# Usage: sh scripts/build-durable-rules.sh [PYTHON] [WHEELHOUSE]   (python3, wheelhouse/)
# Needs a C compiler, the Python headers, patch and sha256sum.
set -eu

PYTHON=${1:-python3}
WHEELHOUSE=${2:-wheelhouse}
VERSION=2.0.28
LABEL=ruralpost.1
SHA256=053b26f5e48d312d4fa27995243f954671be6eece477f150c059c364eb4d7d61
HERE=$(cd "$(dirname "$0")" && pwd)

tag=$("$PYTHON" -c 'import sys; print("cp%d%d" % sys.version_info[:2])')
mkdir -p "$WHEELHOUSE"
WHEELHOUSE=$(cd "$WHEELHOUSE" && pwd)
for wheel in "$WHEELHOUSE/durable_rules-$VERSION+$LABEL-$tag-"*.whl; do
  if [ -f "$wheel" ]; then
    echo "durable_rules $VERSION+$LABEL for $tag: $wheel"
    exit 0
  fi
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$PYTHON" -m pip download --quiet --no-deps --no-binary :all: "durable-rules==$VERSION" -d "$work"
sdist="$work/durable_rules-$VERSION.tar.gz"
echo "$SHA256  $sdist" | sha256sum --check --quiet -
tar -xzf "$sdist" -C "$work"
src="$work/durable_rules-$VERSION"
patch --quiet --forward -p1 -d "$src" < "$HERE/durable-rules-py313.patch"
sed -i "s/version = '$VERSION'/version = '$VERSION+$LABEL'/" "$src/setup.py"
grep -q "version = '$VERSION+$LABEL'" "$src/setup.py"
"$PYTHON" -m pip wheel --quiet --no-deps --wheel-dir "$WHEELHOUSE" "$src"
echo "durable_rules $VERSION+$LABEL for $tag: built in $WHEELHOUSE"
