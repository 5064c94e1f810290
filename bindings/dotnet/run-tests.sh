#!/usr/bin/env bash
# Build the C ABI, compile the C# binding and its tests with Mono's compiler, and run them.
# Usage: bash bindings/dotnet/run-tests.sh   (from anywhere; needs mono-mcs and mono-runtime)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
out=target/bindings/dotnet
mkdir -p "$out"
model=$root/../shared/models/reference-torch/policy.onnx

cargo build --release -p arbpolicy-ffi -p arbpolicy-train
lib=$root/target/release
"$lib/arbpolicy" convert --model "$model" --out "$out/policy.arbpnet"

mcs -unsafe -target:library -warnaserror -doc:"$out/ArbPolicy.xml" -out:"$out/ArbPolicy.dll" bindings/dotnet/src/ArbPolicy/*.cs
mcs -warnaserror -r:"$out/ArbPolicy.dll" -out:"$out/ArbPolicy.Tests.exe" bindings/dotnet/tests/Tests.cs

echo "--- C# tests under Mono $(mono --version | sed -n 1p | sed 's/.*version \([0-9.]*\).*/\1/')"
LD_LIBRARY_PATH="$lib" mono "$out/ArbPolicy.Tests.exe" "$model" "$out/policy.arbpnet" include/arbpolicy.h
