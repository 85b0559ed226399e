#!/usr/bin/env bash
# Writes the hand-made hostile inputs of tests/fuzz/regressions/ (issue 7): damaged variants of the seed
# model tests/fuzz/corpus/model/item.fb (made by the project's tools, see make_corpus.sh) and malformed
# ratings files. No fuzzer has crashed so far; these give the replay tests (fuzz.replay_*) inputs that each
# stop at a different check. A crash the fuzzers find is added next to them by hand, not by this script.
# Usage: tests/fuzz/make_regressions.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
seed=$here/corpus/model/item.fb
content=$here/corpus/model/item.content
m=$here/regressions/model
r=$here/regressions/ratings
mkdir -p "$m" "$r"

# put FILE OFFSET BYTES: overwrite bytes (printf escapes) at OFFSET.
put() { printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
variant() { cp "$seed" "$m/$1"; put "$m/$1" "$2" "$3"; }
# le64 N: N as 8 little-endian bytes, in printf escapes.
le64() { for i in 0 1 2 3 4 5 6 7; do printf '\\x%02x' $(( ($1 >> (8 * i)) & 255 )); done; }

# The 32-byte header (container.hpp): magic, container version, schema version, frame size, content size.
: > "$m/empty.fb"
head -c 20 "$seed" > "$m/truncated-header.fb"
head -c 32 "$seed" > "$m/header-only.fb"
variant bad-magic.fb 0 'X'
variant container-version-99.fb 8 '\x63\x00\x00\x00'
variant schema-version-99.fb 12 '\x63\x00\x00\x00'
variant frame-size-huge.fb 16 '\x00\x00\x00\x00\x00\x00\x00\x40'
variant content-size-near-max.fb 24 '\xf0\xff\xff\xff\xff\xff\xff\xff'
variant content-size-short.fb 24 '\x10\x00\x00\x00\x00\x00\x00\x00'
variant content-size-zero.fb 24 '\x00\x00\x00\x00\x00\x00\x00\x00'
# The zstd frame: cut short (once with the header still declaring the whole frame, once with a header that
# agrees, so that zstd meets the cut), and a flipped checksum byte.
size=$(stat -c %s "$seed")
head -c $(( size - 16 )) "$seed" > "$m/truncated-frame.fb"
head -c $(( size - 16 )) "$seed" > "$m/truncated-frame-size-agrees.fb"
put "$m/truncated-frame-size-agrees.fb" 16 "$(le64 $(( size - 16 - 32 )))"
variant checksum-flipped.fb $(( size - 1 )) '\x5a'
{ cat "$seed"; printf 'trailing bytes'; } > "$m/trailing-bytes.fb"

# Decompressed contents (fuzz-model packs them into a valid container): the FlatBuffer cut in half, its root
# offset far past the end, and a run of 0xff bytes in the middle (offsets and vector lengths near 2^32).
head -c $(( $(stat -c %s "$content") / 2 )) "$content" > "$m/content-truncated.content"
cp "$content" "$m/content-root-offset-huge.content"; put "$m/content-root-offset-huge.content" 4 '\xf0\xff\xff\xff'
cp "$content" "$m/content-ff-run.content"
put "$m/content-ff-run.content" $(( $(stat -c %s "$content") / 2 )) "$(printf '\\xff%.0s' $(seq 64))"
cp "$content" "$m/content-zero-run.content"
put "$m/content-zero-run.content" $(( $(stat -c %s "$content") / 3 )) "$(printf '\\x00%.0s' $(seq 64))"

# Ratings: each line shape the parser must refuse or handle (issue 7's table of malformed inputs).
: > "$r/empty.txt"
printf 'user,item,rating,time\n' > "$r/header-only.csv"
printf '\xef\xbb\xbfuser,item,rating\r\n1,2,3\r\n2,1,4\r\n' > "$r/bom-crlf.csv"
printf '12345678901234567890\t98765432109876543210\t4\n1\t2\t3\n' > "$r/ids-20-digit.txt"
printf -- '-9223372036854775809 1 3\n9223372036854775808 2 4\n-1 -2 5\n' > "$r/ids-out-of-int64.txt"
printf '1 2 nan\n1 3 inf\n2 1 -inf\n3 3 1e39\n4 4 1e-45\n5 5 -0\n' > "$r/ratings-not-finite.txt"
printf '1\n1 2\n::\n1::2\n,,,\n1 2 3 4 5 6 7\n\n \t \n' > "$r/missing-fields.txt"
printf '1::2,3\t4\n1,2::3\n1\t2 3\n' > "$r/mixed-separators.txt"
printf '1 2 3\n1\0002 3\n\0\0\0\n' > "$r/nul-bytes.txt"
printf '\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xcb\x48\xcd\xc9\xc9\x07\x00\x86\xa6\x10\x36\x05\x00\x00\x00' > "$r/gzip-magic.txt"
for i in $(seq 50); do printf '7 9 %d\n' $(( i % 5 + 1 )); done > "$r/duplicates.txt"
printf '1 1 1\n1 2 5\n1 3 3\n' > "$r/one-user.txt"
printf '1 1 1\n2 1 5\n3 1 3\n' > "$r/one-item.txt"
# One 60 KB line without a newline: digits that no integer or float holds.
printf '1 2 %s' "$(head -c 61440 /dev/zero | tr '\0' '9')" > "$r/long-line.txt"
ls -l "$m" "$r"
