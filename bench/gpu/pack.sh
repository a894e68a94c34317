#!/usr/bin/env bash
# Builds the carry folder of bench/gpu/run.sh (default out/gpu, ignored by git): this machine's
# node binary (xz), a node_modules tarball holding only the package's runtime dependencies (the
# webgpu package's Linux x64 binary alone, no source maps) plus the compiled package (dist/),
# and the Vulkan loader .debs (amd64). Then: run(command: 'bench/gpu/run.sh', carry: ['out/gpu']).
#
#   bench/gpu/pack.sh [dest]
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=${1:-out/gpu}
rm -rf "$dest"
mkdir -p "$dest/debs"

xz -T2 -6 -c "$(command -v node)" >"$dest/node.xz"

npx tsc -p tsconfig.build.json

# The runtime closure of package.json's dependencies and peers that are installed (tfjs-core, webgpu).
mods=$(node -e '
  const fs = require("fs"), path = require("path");
  const seen = new Set();
  const visit = (name) => {
    if (seen.has(name)) return;
    const dir = path.join("node_modules", name);
    if (!fs.existsSync(path.join(dir, "package.json"))) return;
    seen.add(name);
    const p = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
    for (const d of Object.keys({ ...p.dependencies, ...p.optionalDependencies })) visit(d);
  };
  const top = JSON.parse(fs.readFileSync("package.json", "utf8"));
  for (const d of [...Object.keys(top.dependencies ?? {}), "@tensorflow/tfjs-core", "webgpu"]) visit(d);
  // Not needed to compute: the WebGL backend, and the native tfjs-node builds.
  for (const d of seen) if (/tfjs-backend-webgl|tfjs-node/.test(d)) seen.delete(d);
  console.log([...seen].map((d) => "node_modules/" + d).join("\n"));
')
# node_modules is a link to a shared install here: -h stores what it points to.
tar -chf - --exclude='*.map' --exclude='node_modules/webgpu/dist/darwin-*' --exclude='node_modules/webgpu/dist/win32-*' \
  --exclude='node_modules/webgpu/dist/linux-arm64' $mods package.json dist/src | xz -T2 -6 >"$dest/modules.tar.xz"

# The Vulkan loader for amd64 (the GPU machine has the NVIDIA driver, not always the loader).
lists=/tmp/biflow-apt-amd64
mkdir -p "$lists/partial"
o="-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=$lists"
# shellcheck disable=SC2086
apt-get $o update >/dev/null
# shellcheck disable=SC2086
(cd "$dest/debs" && apt-get $o download libvulkan1 >/dev/null)

du -sh "$dest"/* "$dest"/debs/* >&2
