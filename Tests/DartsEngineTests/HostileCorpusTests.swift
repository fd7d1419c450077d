@testable import DartsEngine
import CZlib
import Foundation
import Testing

/// The hostile corpus: crafted files of every class the hardening issue
/// found (tensor files, manifests, datasets, configs), each fed to the real
/// `dartscope` executable. Every case must end with exit 64 and one line on
/// standard error naming what is wrong — never a trap, a backtrace or a hang
/// — and must write nothing outside the run folder.
///
/// The corpus is generated here rather than committed: each case is a small
/// edit of a real snapshot written by the executable itself (with the
/// manifest's size and crc32 of an edited tensor file kept consistent, so the
/// edit reaches the reader behind the checksum), or a few bytes of IDX data.
@Suite("hostile corpus", .serialized)
struct HostileCorpusTests {
    /// One crafted input: what to do to a copy of the base snapshot (or a
    /// fresh folder), the command to run on it, and a fragment the error
    /// line must contain.
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var prepare: @Sendable (_ folder: String, _ snapshot: String) throws -> Void
        var arguments: @Sendable (_ snapshot: String) -> [String]
        var expected: String
        var testDescription: String { name }
    }

    static let tiny = HeadlessEndToEndTests.tiny

    /// A snapshot of 2 steps of a tiny synthetic search, written once.
    static let baseSnapshot: Result<String, DartscopeCallFailed> = {
        let directory = EngineFixture.temporaryDirectory()
        guard let result = try? DartscopeProcess.run(["run", "--config", "default", "--headless", "--set", "run.name=base", "--steps", "2"] + tiny, in: directory),
              result.status == 0 else { return .failure(DartscopeCallFailed()) }
        return .success(directory + "/runs/base/snapshots/steps-2")
    }()

    struct DartscopeCallFailed: Error {}

    static let cases: [Case] = tensorFileCases + manifestCases + probeManifestCases + datasetCases + configCases

    @Test(arguments: cases)
    func aCraftedInputIsRefusedWithOneLine(_ hostile: Case) throws {
        let base = try Self.baseSnapshot.get()
        let folder = EngineFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let snapshot = folder + "/runs/victim/snapshots/steps-2"
        try FileManager.default.createDirectory(atPath: folder + "/runs/victim/snapshots", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: base, toPath: snapshot)
        try hostile.prepare(folder, snapshot)
        let before = try Self.filesOutsideRuns(folder)

        let result = try DartscopeProcess.run(hostile.arguments(snapshot), in: folder)

        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: true)
        #expect(result.status == 64, "exit \(result.status): \(result.stderr.prefix(600))")
        #expect(lines.count == 1, "\(lines.count) lines: \(result.stderr.prefix(600))")
        #expect(result.stderr.contains(hostile.expected), "\(result.stderr.prefix(600))")
        #expect(!result.stderr.contains("Fatal error") && !result.stderr.contains("backtrace"))
        #expect(try Self.filesOutsideRuns(folder) == before, "files were written outside runs/")
        #expect(!FileManager.default.fileExists(atPath: (folder as NSString).deletingLastPathComponent + "/escaped"))
    }

    // MARK: - tensor files

    static let tensorFileCases: [Case] = [
        modelHeader("a shape whose product overflows", #"{"x":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,4]}}"#, expected: "shape"),
        modelHeader("a negative dimension", #"{"x":{"dtype":"F32","shape":[-1,4],"data_offsets":[0,4]}}"#, expected: "shape"),
        modelHeader("data offsets outside the file", #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4000000]}}"#, expected: "byte range"),
        modelHeader("an unknown dtype", #"{"x":{"dtype":"F13","shape":[1],"data_offsets":[0,4]}}"#, expected: "F13"),
        Case(name: "a header length of 2^62", prepare: { _, snapshot in
            try replaceModel(in: snapshot, with: Data([0, 0, 0, 0, 0, 0, 0, 0x40]) + Data(repeating: 0x20, count: 8))
        }, arguments: { ["genotype", $0] }, expected: "header"),
        Case(name: "a sparse 3 GB tensor file", prepare: { _, snapshot in
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: snapshot + "/model.safetensors"))
            try handle.truncate(atOffset: 3 << 30)
            try handle.close()
        }, arguments: { ["resume", $0, "--headless", "--steps", "1"] }, expected: "the manifest says"),
        Case(name: "α without alphas_normal", prepare: { _, snapshot in
            try editModel(in: snapshot) { entries in entries.removeAll { $0.name == "alphas_normal" } }
        }, arguments: { ["genotype", $0] }, expected: "alphas_normal"),
        Case(name: "NaN in α", prepare: { _, snapshot in
            try editModel(in: snapshot) { entries in
                let index = entries.firstIndex { $0.name == "alphas_normal" }!
                guard case .float32(var values) = entries[index].data else { return }
                values[0] = .nan
                entries[index].data = .float32(values)
            }
        }, arguments: { ["export", $0] }, expected: "alphas_normal"),
    ]

    static func modelHeader(_ name: String, _ header: String, expected: String) -> Case {
        Case(name: name, prepare: { _, snapshot in
            var bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Data($0) }
            bytes += Data(header.utf8) + Data(repeating: 0, count: 4)
            try replaceModel(in: snapshot, with: bytes)
        }, arguments: { ["genotype", $0] }, expected: expected)
    }

    // MARK: - manifests

    static let manifestCases: [Case] = [
        stateEdit("1e9 initial channels", expected: "network.init_channels") { $0["config"] = edited($0["config"]) { $0["network.init_channels"] = 1_000_000_000 } },
        stateEdit("a batch size of 0", expected: "search.batch_size") { $0["config"] = edited($0["config"]) { $0["search.batch_size"] = 0 } },
        stateEdit("100 000 threads", expected: "search.threads") { $0["config"] = edited($0["config"]) { $0["search.threads"] = 100_000 } },
        stateEdit("a run name leaving runs/", expected: "run.name") { $0["config"] = edited($0["config"]) { $0["run.name"] = "../../escaped" } },
        stateEdit("step -5", expected: "step -5") { $0["step"] = -5 },
        stateEdit("a step in epoch of 10^6", expected: "step in epoch") { $0["stepInEpoch"] = 1_000_000 },
        Case(name: "a truncated manifest", prepare: { _, snapshot in
            let url = URL(fileURLWithPath: snapshot + "/manifest.json")
            let data = try Data(contentsOf: url)
            try data.prefix(data.count / 2).write(to: url)
        }, arguments: { ["genotype", $0] }, expected: "not valid JSON"),
    ]

    // MARK: - probe manifests (dartscope-probe-snapshot, docs/attach.md)

    static let probeManifestCases: [Case] = [
        probeEdit("a node reading a later state", expected: "node 1 reads [1, 5]") { $0["node_inputs"] = [[0, 1], [1, 5]] },
        probeEdit("10^6 intermediate nodes", expected: "1000000 intermediate nodes") { $0["node_inputs"] = Array(repeating: [0], count: 1_000_000) },
        probeEdit("an operation dartscope does not know", expected: "conv_9x9") {
            $0["operations"] = ["normal": Array(repeating: ["none", "skip_connect", "conv_9x9"], count: 4)]
        },
        probeEdit("fewer edges than the wiring", expected: "3 normal edges, the wiring has 4") {
            $0["operations"] = ["normal": Array(repeating: ["none", "skip_connect", "sep_conv_3x3"], count: 3)]
        },
        probeEdit("edges of different widths", expected: "same number of candidate operations") {
            $0["operations"] = ["normal": [["none", "skip_connect"]] + Array(repeating: ["none", "skip_connect", "sep_conv_3x3"], count: 3)]
        },
        probeEdit("α that does not fit the wiring", expected: "does not fit") {
            $0["node_inputs"] = (0..<4).map { Array(0..<(2 + $0)) }
            $0["operations"] = ["normal": Array(repeating: ["none", "skip_connect", "sep_conv_3x3"], count: 14)]
        },
        probeEdit("α named after a tensor the model lacks", expected: "no alphas_nowhere") { $0["alphas"] = ["normal": "alphas_nowhere"] },
        probeEdit("step -5", expected: "never negative") { $0["step"] = -5 },
        probeEdit("per-layer α with fewer cells than matrices", expected: "layer_alphas names 2 matrices and cells 1 types") {
            $0["layer_alphas"] = ["alphas_normal", "alphas_normal"]
            $0["cells"] = ["normal"]
        },
        probeEdit("per-layer α of a cell type that does not exist", expected: "cell type 'sideways'") {
            $0["layer_alphas"] = ["alphas_normal"]
            $0["cells"] = ["sideways"]
        },
        probeEdit("per-layer α naming a tensor the model lacks", expected: "layer_alphas names 2 matrices, the file holds 1") {
            $0["layer_alphas"] = ["alphas_normal", "cells.9.alphas"]
            $0["cells"] = ["normal", "normal"]
        },
        probeEdit("a later probe format", expected: "probe snapshot version 2") { $0["version"] = 2 },
        Case(name: "resuming a probe snapshot", prepare: { _, snapshot in try rewriteAsProbeSnapshot(snapshot) { _ in } },
             arguments: { ["resume", $0, "--headless", "--steps", "1"] }, expected: "probe's snapshot"),
        probeHessian("the α-Hessian of a probe snapshot without a network", expected: "no network block") { $0["network"] = nil },
        probeHessian("a network of 10^9 channels", expected: "network.init_channels is 1000000000") {
            $0["network"] = edited($0["network"]) { $0["init_channels"] = 1_000_000_000 }
        },
        probeHessian("a network no model file could fill", expected: "needs at least") {
            $0["network"] = edited($0["network"]) { $0["init_channels"] = 1024; $0["layers"] = 200 }
        },
        probeHessian("cells that do not reduce where dartscope's do", expected: "reduction at L/3") {
            $0["cells"] = ["normal", "normal", "reduce"]
        },
        probeHessian("a weight mapped to a tensor the model lacks", expected: "lacks nowhere, which dartscope's network needs as stem.0.weight") {
            $0["network"] = edited($0["network"]) { $0["parameter_names"] = ["stem.0.weight": "nowhere"] }
        },
        probeHessian("a batch label of 200", expected: "label 200", labels: [0, 200, 1, 2]),
        probeHessian("a batch of the wrong channel count", expected: "inputs of shape [4, 3, 8, 8]", inputShape: [4, 3, 8, 8]),
        probeHessian("a batch of one image", expected: "at least 2", inputShape: [1, 1, 8, 8], labels: [0]),
    ]

    /// The base snapshot as a probe's with a network block (its own names)
    /// and a stored batch, then `change`d; read by `hessian`.
    static func probeHessian(_ name: String, expected: String, inputShape: [Int] = [4, 1, 8, 8], labels: [Int64] = [0, 1, 2, 3],
                             _ change: @escaping @Sendable (inout [String: Any]) -> Void = { _ in }) -> Case {
        Case(name: name, prepare: { _, snapshot in
            try rewriteAsProbeSnapshot(snapshot) { manifest in
                manifest["network"] = ["init_channels": 2, "layers": 3, "classes": 4, "in_channels": 1]
                change(&manifest)
            }
            try addHessianBatch(to: snapshot, inputShape: inputShape, labels: labels)
        }, arguments: { ["hessian", $0] }, expected: expected)
    }

    /// Writes `hessian_batch.safetensors` and records its size and crc32.
    static func addHessianBatch(to snapshot: String, inputShape: [Int], labels: [Int64]) throws {
        let count = inputShape.reduce(1, *)
        let bytes = SafeTensors.encode([
            SafeTensors.Entry(name: "inputs", shape: inputShape, data: .float32((0..<count).map { Float($0 % 7) / 7 })),
            SafeTensors.Entry(name: "labels", shape: [labels.count], data: .int64(labels)),
        ])
        try bytes.write(to: URL(fileURLWithPath: snapshot + "/" + ProbeSnapshotNetwork.batchFile))
        try editManifest(in: snapshot) { manifest in
            manifest["files"] = edited(manifest["files"]) { files in
                files[ProbeSnapshotNetwork.batchFile] = ["bytes": bytes.count, "crc32": Int(DurableFiles.crc32(bytes))]
            }
        }
    }

    /// The base snapshot's manifest rewritten as a probe's over the same
    /// model file (its size and crc32 kept), then `change`d; read by `genotype`.
    static func probeEdit(_ name: String, expected: String, _ change: @escaping @Sendable (inout [String: Any]) -> Void) -> Case {
        Case(name: name, prepare: { _, snapshot in try rewriteAsProbeSnapshot(snapshot, change) },
             arguments: { ["genotype", $0] }, expected: expected)
    }

    static func rewriteAsProbeSnapshot(_ snapshot: String, _ change: (inout [String: Any]) -> Void) throws {
        try editManifest(in: snapshot) { manifest in
            var probe: [String: Any] = [
                "format": "dartscope-probe-snapshot", "version": 1, "name": "steps-2", "step": 2, "epoch": 0, "space": "tiny-s3",
                "operations": ["normal": Array(repeating: ["none", "skip_connect", "sep_conv_3x3"], count: 4)],
                "node_inputs": [[0, 1], [1, 2]], "alphas": ["normal": "alphas_normal"], "files": manifest["files"] ?? [:],
            ]
            change(&probe)
            manifest = probe
        }
    }

    static func stateEdit(_ name: String, expected: String, _ change: @escaping @Sendable (inout [String: Any]) -> Void) -> Case {
        Case(name: name, prepare: { _, snapshot in
            try editManifest(in: snapshot) { manifest in manifest["state"] = edited(manifest["state"], change) }
        }, arguments: { ["resume", $0, "--headless", "--steps", "1"] }, expected: expected)
    }

    // MARK: - datasets

    static let datasetCases: [Case] = [
        idx("0×0 images", images: idxHeader([0x0803, 3, 0, 0]), labels: idxHeader([0x0801, 3]) + [0, 1, 2], expected: "at least 1"),
        idx("dimensions 0xFFFFFFFF", images: idxHeader([0x0803, 0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF]), labels: idxHeader([0x0801, 3]) + [0, 1, 2], expected: "declare more than"),
        idx("a label of 200", images: idxHeader([0x0803, 3, 8, 8]) + [UInt8](repeating: 9, count: 192), labels: idxHeader([0x0801, 3]) + [0, 200, 2], expected: "200"),
        idx("a gzip bomb", images: idxHeader([0x0803, 3, 8, 8]) + [UInt8](repeating: 0, count: 50_000_000), labels: idxHeader([0x0801, 3]) + [0, 1, 2], expected: "more than"),
        idx("truncated images", images: idxHeader([0x0803, 3, 8, 8]) + [UInt8](repeating: 9, count: 100), labels: idxHeader([0x0801, 3]) + [0, 1, 2], expected: "expected 208"),
    ]

    static func idx(_ name: String, images: [UInt8], labels: [UInt8], expected: String) -> Case {
        Case(name: name, prepare: { folder, _ in
            try FileManager.default.createDirectory(atPath: folder + "/data", withIntermediateDirectories: true)
            try gzipped(images).write(to: URL(fileURLWithPath: folder + "/data/train-images-idx3-ubyte.gz"))
            try gzipped(labels).write(to: URL(fileURLWithPath: folder + "/data/train-labels-idx1-ubyte.gz"))
        }, arguments: { snapshot in
            let folder = snapshot.components(separatedBy: "/runs/")[0]
            return ["run", "--headless", "--steps", "1", "--set", "run.name=idx", "--set", "data.dataset=fashion-mnist", "--set", "data.dir=\(folder)/data"]
        }, expected: expected)
    }

    static func idxHeader(_ words: [UInt32]) -> [UInt8] {
        words.flatMap { word in (0..<4).map { UInt8(truncatingIfNeeded: word >> (24 - 8 * $0)) } }
    }

    // MARK: - configs

    static let configCases: [Case] = [
        Case(name: "a config file with a syntax error", prepare: { folder, _ in
            try Data("[search\nepochs = 3\n".utf8).write(to: URL(fileURLWithPath: folder + "/broken.toml"))
        }, arguments: { snapshot in ["run", "--headless", "--config", snapshot.components(separatedBy: "/runs/")[0] + "/broken.toml"] }, expected: "broken.toml:1"),
        Case(name: "a batch of one image", prepare: { _, _ in }, arguments: { _ in
            ["run", "--headless", "--steps", "1"] + tiny + ["--set", "search.batch_size=1"]
        }, expected: "batch"),
        Case(name: "a run name with ..", prepare: { _, _ in }, arguments: { _ in
            ["run", "--headless", "--steps", "1"] + tiny + ["--set", "run.name=../../escaped"]
        }, expected: "run.name"),
    ]

    // MARK: - editing helpers

    static func filesOutsideRuns(_ folder: String) throws -> [String] {
        let all = FileManager.default.enumerator(atPath: folder)?.allObjects as? [String] ?? []
        return all.filter { !$0.hasPrefix("runs") }.sorted()
    }

    static func edited(_ value: Any?, _ change: (inout [String: Any]) -> Void) -> [String: Any] {
        var object = value as? [String: Any] ?? [:]
        change(&object)
        return object
    }

    static func editManifest(in snapshot: String, _ change: (inout [String: Any]) -> Void) throws {
        let url = URL(fileURLWithPath: snapshot + "/manifest.json")
        var manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        change(&manifest)
        try JSONSerialization.data(withJSONObject: manifest).write(to: url)
    }

    /// Replaces `model.safetensors` and records its size and crc32 in the
    /// manifest, as a careful forger would.
    static func replaceModel(in snapshot: String, with bytes: Data) throws {
        try bytes.write(to: URL(fileURLWithPath: snapshot + "/model.safetensors"))
        try editManifest(in: snapshot) { manifest in
            manifest["files"] = edited(manifest["files"]) { files in
                files["model.safetensors"] = ["bytes": bytes.count, "crc32": Int(DurableFiles.crc32(bytes))]
            }
        }
    }

    static func editModel(in snapshot: String, _ change: (inout [SafeTensors.Entry]) -> Void) throws {
        let decoded = try SafeTensors.decode(Data(contentsOf: URL(fileURLWithPath: snapshot + "/model.safetensors")))
        var entries = decoded.entries.values.sorted { $0.name < $1.name }
        change(&entries)
        try replaceModel(in: snapshot, with: SafeTensors.encode(entries, metadata: decoded.metadata))
    }

    static func gzipped(_ bytes: [UInt8]) throws -> Data {
        let path = NSTemporaryDirectory() + "corpus-\(UUID().uuidString)"
        guard let file = gzopen(path, "wb") else { throw DartscopeCallFailed() }
        _ = bytes.withUnsafeBytes { gzwrite(file, $0.baseAddress, UInt32($0.count)) }
        gzclose(file)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }
}
