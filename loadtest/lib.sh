# Sourced by the loadtest scripts that run one `tessera serve`: sets BIN to $TESSERA_BIN, or
# builds this tree's release binary and uses that; makes the scratch directory WORK.
if [ -z "${TESSERA_BIN:-}" ]; then
  echo "building the release binary..." >&2
  cargo build --release -q -p tessera
fi
BIN=${TESSERA_BIN:-./target/release/tessera}
WORK=$(mktemp -d)
