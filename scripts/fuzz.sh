#!/usr/bin/env bash
# Fuzzes the readers of untrusted files with libFuzzer (not part of CI):
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
# Targets: FuzzSafeTensors, FuzzManifest, FuzzIDX (default: all three, one
# after another, 600 s each). Each target runs with AddressSanitizer; a trap
# or a sanitizer report stops it and leaves the input as
# Fuzz/findings/<target>/crash-*. Corpora grow in Fuzz/corpus/<target>/
# (not committed; the seeds are made here from a real snapshot). Leak
# detection is off: Foundation's FileManager.contents(atPath:) leaks a 4 KB
# buffer on an empty file (not ours; bounded growth is Benchmarks/soak.py's
# business). A finding,
# once fixed, belongs in the test suite's hostile cases.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(FuzzSafeTensors FuzzManifest FuzzIDX)

scratch=.build-fuzz
# Coverage and AddressSanitizer on the Swift code; libFuzzer's driver without
# its main (SwiftPM supplies the entry point; see Fuzz/Support).
fuzzer_library=$(dirname "$(readlink -f "$(command -v swiftc)")")/../lib/clang
fuzzer_library=$(ls "$fuzzer_library"/*/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a | head -1)
flags=(-Xswiftc -sanitize=address -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp
       -Xswiftc -parse-as-library -Xlinker "$fuzzer_library" -Xlinker -lstdc++)
export DARTSCOPE_FUZZ=1
# At exit as well as during the run (see above for the leak that is not ours).
export ASAN_OPTIONS=detect_leaks=0
for target in "${targets[@]}"; do
    swift build -c release --scratch-path "$scratch" --product "$target" "${flags[@]}" 2>&1 | grep -v "ld.gold: warning"
done
bin=$(swift build -c release --scratch-path "$scratch" --show-bin-path)

# Seeds: a real snapshot of a tiny synthetic search (built without sanitizers).
seed_dir=Fuzz/corpus/seed-run
if [ ! -d "$seed_dir/runs/fuzz-seed/snapshots" ]; then
    swift build -c release --product dartscope >/dev/null
    mkdir -p "$seed_dir"
    (cd "$seed_dir" && "$OLDPWD/.build/release/dartscope" run --config default --headless --steps 3 \
        --set run.name=fuzz-seed --set data.dataset=synthetic --set data.subset=64 --set data.synthetic_size=8 \
        --set network.init_channels=2 --set network.layers=3 --set search.batch_size=8 >/dev/null 2>&1)
fi
snapshot=$(ls -d "$seed_dir"/runs/fuzz-seed/snapshots/*/ | head -1)
snapshot=${snapshot%/}
export DARTSCOPE_FUZZ_SNAPSHOT="$PWD/$snapshot"
mkdir -p Fuzz/corpus/FuzzSafeTensors Fuzz/corpus/FuzzManifest Fuzz/corpus/FuzzIDX
cp "$snapshot/model.safetensors" "$snapshot/optimizer.safetensors" Fuzz/corpus/FuzzSafeTensors/
cp "$snapshot/manifest.json" Fuzz/corpus/FuzzManifest/
# A probe snapshot's manifest over the same model file (tiny-s3 wiring), so the
# probe-format reader is fuzzed from a valid start too.
python3 - "$snapshot" <<'PY'
import json, sys, zlib
model = open(sys.argv[1] + "/model.safetensors", "rb").read()
ops = [["none", "skip_connect", "sep_conv_3x3"]] * 4
manifest = {"format": "dartscope-probe-snapshot", "version": 1, "name": "seed", "step": 3, "epoch": 0, "space": "tiny-s3",
            "operations": {"normal": ops}, "node_inputs": [[0, 1], [1, 2]], "alphas": {"normal": "alphas_normal"},
            "files": {"model.safetensors": {"bytes": len(model), "crc32": zlib.crc32(model)}}}
open("Fuzz/corpus/FuzzManifest/probe-manifest.json", "w").write(json.dumps(manifest))
PY
python3 - <<'PY'
import gzip, struct
images = struct.pack(">IIII", 0x0803, 3, 4, 4) + bytes(range(48))
labels = struct.pack(">II", 0x0801, 3) + bytes([0, 1, 2])
for name, kind, body in [("images", 0, images), ("labels", 1, labels)]:
    open(f"Fuzz/corpus/FuzzIDX/{name}", "wb").write(bytes([kind]) + body)
    open(f"Fuzz/corpus/FuzzIDX/{name}-gz", "wb").write(bytes([kind]) + gzip.compress(body))
PY

status=0
for target in "${targets[@]}"; do
    mkdir -p "Fuzz/findings/$target"
    echo "== $target: ${seconds}s"
    "$bin/$target" "Fuzz/corpus/$target" -max_total_time="$seconds" -rss_limit_mb=4096 -max_len=65536 -detect_leaks=0 \
        -artifact_prefix="Fuzz/findings/$target/" -print_final_stats=1 2>"Fuzz/findings/$target/log.txt" || status=1
    grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|^#[0-9]+ +DONE|ERROR|SUMMARY|Fatal error" "Fuzz/findings/$target/log.txt" || true
done
exit $status
