import DartsEngine
import Foundation
import FuzzSupport

/// Fuzzes a snapshot's manifest: the input replaces `manifest.json` beside
/// the tensor files of a real snapshot (named by DARTSCOPE_FUZZ_SNAPSHOT,
/// written by scripts/fuzz.sh), and whatever loads is restored into an
/// engine of the seed's configuration and asked for its genotype. Every
/// step must succeed or throw; a trap, or an allocation the input's size
/// does not justify, is a finding.
private final class Workbench: @unchecked Sendable {
    let folder: String
    let engine: SearchEngine

    init() {
        guard let seed = ProcessInfo.processInfo.environment["DARTSCOPE_FUZZ_SNAPSHOT"] else {
            fatalError("set DARTSCOPE_FUZZ_SNAPSHOT to a snapshot folder (scripts/fuzz.sh does)")
        }
        folder = NSTemporaryDirectory() + "fuzz-manifest-\(getpid())"
        let files = FileManager.default
        try? files.removeItem(atPath: folder)
        try! files.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for file in ["model.safetensors", "optimizer.safetensors"] {
            try! files.copyItem(atPath: seed + "/" + file, toPath: folder + "/" + file)
        }
        let config = try! LoadedSnapshot(path: seed).config
        let dataset = Dataset.synthetic(count: config.subset, classes: config.syntheticClasses,
                                        size: config.syntheticImageSize, seed: UInt64(config.seed))
        engine = try! SearchEngine(config: config, dataset: dataset)
    }
}

private let workbench = Workbench()

@_cdecl("FuzzManifest_main")
public func fuzzerEntry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzManifest)
}

private func fuzzManifest(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let bytes = data else { return 0 }
    let manifest = workbench.folder + "/manifest.json"
    guard FileManager.default.createFile(atPath: manifest, contents: Data(bytes: bytes, count: count)) else { return 0 }
    // Both readers: the architecture (engine or probe manifest) and the full restore.
    _ = try? SnapshotArchitecture(path: workbench.folder).genotype
    guard let snapshot = try? LoadedSnapshot(path: workbench.folder) else { return 0 }
    _ = try? workbench.engine.restore(snapshot)
    return 0
}
