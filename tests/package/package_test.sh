#!/usr/bin/env bash
# The installed package as a host project sees it: `cmake --install` of this build into a temporary prefix,
# the installed tools train a small model, and C and C++ hosts built against the prefix (find_package, and
# pkg-config for C, shared and static) must all print the same answers. Usage: package_test.sh BUILD_DIR LIBDIR
set -euo pipefail
build=$1
libdir=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
fail() { echo "FAIL $*"; exit 1; }
ok() { echo "ok   $*"; }
# run LOG COMMAND...: quiet unless it fails.
run() {
  local log=$work/$1.log
  shift
  "$@" >"$log" 2>&1 || { cat "$log"; fail "$*"; }
}

run install cmake --install "$build" --prefix "$prefix"
ok "installed into a temporary prefix"

# Public headers: self-contained, and free of the private dependencies (Eigen, FlatBuffers, zstd).
if grep -nE '^[[:space:]]*#[[:space:]]*include.*(Eigen|eigen|flatbuffers|zstd|_generated|impl)' "$prefix/include/autorec/"*; then
  fail "an installed header includes a private dependency"
fi
for h in "$prefix/include/autorec/"*.hpp; do
  echo "#include <autorec/${h##*/}>" > "$work/header.cpp"
  run header c++ -std=c++20 -fsyntax-only -Wall -Wextra -Wpedantic -Werror -I"$prefix/include" "$work/header.cpp"
done
echo "#include <autorec/autorec.h>" > "$work/header.c"
run header-c cc -std=c99 -fsyntax-only -Wall -Wextra -Wpedantic -Werror -I"$prefix/include" "$work/header.c"
ok "installed headers compile on their own (C99 for autorec.h) without private includes"

# No training math in what a host includes (issue 17): each of these names must be unknown to a program that
# includes every installed header. A function and a type the headers do declare show that the probe compiles.
probe() {  # probe 'DECLARATION using NAME'
  { for h in "$prefix/include/autorec/"*.hpp; do echo "#include <autorec/${h##*/}>"; done
    echo "$1"; } > "$work/probe.cpp"
  c++ -std=c++20 -fsyntax-only -I"$prefix/include" "$work/probe.cpp" 2>/dev/null
}
probe "auto probe = &autorec::activate;" && probe "using probe = autorec::RatingUnits;" ||
  fail "the probe does not compile with names the headers declare (autorec::activate, autorec::RatingUnits)"
for name in adam_update activate_grad_from_output dropout_bits dropout_threshold normal_from_counter splitmix64; do
  if probe "auto probe = &autorec::$name;"; then fail "the installed headers declare autorec::$name (training math)"; fi
done
if probe "using probe = autorec::AdamStep;"; then fail "the installed headers declare autorec::AdamStep"; fi
ok "the installed headers declare no optimiser, dropout, initialisation or gradient code"

# Every tool the README's Tools section lists is installed (the lines of its command block that start with one).
readme=$here/../../README.md
tools=$(sed -n '/^## Tools/,/^## /p' "$readme" | grep -oE '^autorec-[a-z]+' | sort -u)
[ -n "$tools" ] || fail "no tools found in $readme's Tools section"
for t in $tools; do
  [ -x "$prefix/bin/$t" ] || fail "$t is listed in README.md but cmake --install did not install it"
done
ok "cmake --install installed every tool README.md lists ($(echo $tools | wc -w))"

# The installed tools: a run path into the install, and a small model trained in seconds.
readelf -d "$prefix/bin/autorec-train" | grep -q "\$ORIGIN/../$libdir" || fail "autorec-train lacks the run path \$ORIGIN/../$libdir"
run synth "$prefix/bin/autorec-synth" --users 200 --items 120 --density 0.1 --seed 5 --split-dir "$work/data" --split-seed 1
run train "$prefix/bin/autorec-train" "$work/data/train.data" -o "$work/m.fb" --hidden 16 --epochs 100 --batch 16 --threads 1
read -r user item _ < "$work/data/train.data"
ok "installed tools trained a model; querying user $user, item $item"

# Hosts: CMake find_package (C on the shared library; C++ on the shared and the static one)...
for consumer in consumer_c consumer_cpp; do
  run "configure-$consumer" cmake -S "$here/$consumer" -B "$work/$consumer" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release
  run "build-$consumer" cmake --build "$work/$consumer"
done
# ... and pkg-config for C: the shared library, then the archive with Libs.private.
export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
cflags=(-std=c99 -Wall -Wextra -Wpedantic -Werror)
read -r -a pc_shared <<< "$(pkg-config --cflags --libs autorec)"
read -r -a pc_static <<< "$(pkg-config --cflags --static --libs autorec)"
pc_static=("${pc_static[@]/#-lautorec_infer/-l:libautorec_infer.a}")
run cc-shared cc "${cflags[@]}" "$here/consumer_c/main.c" -o "$work/c_pc" "${pc_shared[@]}"
run cc-static cc "${cflags[@]}" "$here/consumer_c/main.c" -o "$work/c_pc_static" "${pc_static[@]}"
if readelf -d "$work/c_pc_static" | grep -q libautorec_infer; then fail "the static pkg-config build links the shared library"; fi
ok "consumers built with find_package and pkg-config (shared and static)"

# The C++ API through the shared library is the reference; every other host must print the same.
"$work/consumer_cpp/consumer_cpp" "$work/m.fb" "$user" "$item" > "$work/want.txt" || fail "consumer_cpp"
cat "$work/want.txt"
grep -qE "^predict $user $item [0-9.]+ model$" "$work/want.txt" || fail "no model prediction for a training pair"
grep -qE "^top( [^ ]+:[0-9.]+){5}$" "$work/want.txt" || fail "no top 5"
export LD_LIBRARY_PATH=$prefix/$libdir  # the plain cc build has no run path
for host in consumer_c/consumer_c consumer_cpp/consumer_cpp_static c_pc c_pc_static; do
  "$work/$host" "$work/m.fb" "$user" "$item" > "$work/got.txt" || fail "$host exited $?"
  cmp -s "$work/want.txt" "$work/got.txt" || { diff "$work/want.txt" "$work/got.txt"; fail "$host differs from the C++ API"; }
  ok "$host prints the C++ API's answers"
done

# An FFI host: Python's ctypes on the installed shared library, with no header at all.
python3 - "$prefix/$libdir/libautorec_infer.so" "$work/m.fb" "$user" "$item" > "$work/got.txt" <<'PY' || fail "ctypes host"
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
lib.autorec_last_error.restype = lib.autorec_source_name.restype = ctypes.c_char_p
model, rating, source = ctypes.c_void_p(), ctypes.c_float(), ctypes.c_int()
if (lib.autorec_model_load_file(sys.argv[2].encode(), None, ctypes.byref(model)) != 0 or
        lib.autorec_model_predict_ids(model, sys.argv[3].encode(), sys.argv[4].encode(), 1, ctypes.byref(rating),
                                      ctypes.byref(source)) != 0):
    sys.exit(lib.autorec_last_error().decode())
print(f"predict {sys.argv[3]} {sys.argv[4]} {rating.value:.6f} {lib.autorec_source_name(source.value).decode()}")
lib.autorec_model_free(model)
PY
grep "^predict" "$work/want.txt" | cmp -s - "$work/got.txt" || { cat "$work/got.txt"; fail "the ctypes host's prediction differs"; }
ok "python ctypes host prints the same prediction"

# A missing model: the C host reports the status and a message naming the file.
status=0
"$work/consumer_c/consumer_c" "$work/none.fb" "$user" "$item" 2> "$work/err.txt" || status=$?
[ "$status" -eq 3 ] || fail "missing model: exit $status, expected 3"
grep -q "bad input (-1): autorec_model_load_file: '$work/none.fb': cannot open" "$work/err.txt" || { cat "$work/err.txt"; fail "missing model message"; }
ok "missing model reported: $(cat "$work/err.txt")"
echo "package test passed"
