#!/usr/bin/env bash
# Build the C ABI and run the C and C++ programs against the generated header: the C test linked
# statically and dynamically, the dynamic one under valgrind, and both examples.
# Usage: bash bindings/c/run-tests.sh   (from anywhere; needs gcc, g++, valgrind)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
out=target/bindings
mkdir -p "$out"
model=$root/../shared/models/reference-torch/policy.onnx
request=$root/examples/request.json

cargo build --release -p arbpolicy-ffi -p arbpolicy-train
lib=$root/target/release
"$lib/arbpolicy" convert --model "$model" --out "$out/policy.arbpnet"

flags=(-std=c11 -Wall -Wextra -Werror -O2 -I include)
gcc "${flags[@]}" bindings/c/test_arbpolicy.c "$lib/libarbpolicy.a" -lm -lpthread -ldl -o "$out/test_static"
gcc "${flags[@]}" bindings/c/test_arbpolicy.c -L "$lib" -larbpolicy -Wl,-rpath,"$lib" -lm -o "$out/test_dynamic"
gcc "${flags[@]}" bindings/c/example.c -L "$lib" -larbpolicy -Wl,-rpath,"$lib" -o "$out/example_c"
gcc "${flags[@]}" bindings/c/bench_decide.c -L "$lib" -larbpolicy -Wl,-rpath,"$lib" -o "$out/bench_decide"
g++ -std=c++17 -Wall -Wextra -Werror -O2 -I include bindings/cpp/example.cpp -L "$lib" -larbpolicy \
    -Wl,-rpath,"$lib" -o "$out/example_cpp"

echo "--- C test, static library"
"$out/test_static" "$model" "$out/policy.arbpnet" "$request"
echo "--- C test, shared library"
"$out/test_dynamic" "$model" "$out/policy.arbpnet" "$request"
echo "--- C test, shared library, under valgrind"
valgrind --quiet --error-exitcode=1 --suppressions=bindings/c/valgrind.supp --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect "$out/test_dynamic" "$model" "$out/policy.arbpnet" "$request"
echo "--- C example"
"$out/example_c" "$out/policy.arbpnet" "$request" > "$out/example_c.out"
grep -q "\"action\"" "$out/example_c.out" && head -4 "$out/example_c.out"
echo "--- C benchmark (short run here; run $out/bench_decide MODEL for 100,000 calls)"
"$out/bench_decide" "$out/policy.arbpnet" 2000
echo "--- C++ example"
"$out/example_cpp" "$model" "$request" | tail -1
