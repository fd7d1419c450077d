import Foundation

/// Why a snapshot could not be written or read.
public enum SnapshotError: Error, CustomStringConvertible, Equatable {
    case io(path: String, reason: String)
    case notFound(String, available: [String])
    case damaged(path: String, reason: String)
    case foreign(path: String, reason: String)
    case incompatible(String)
    /// A diverged run, or one holding a non-finite tensor, writes no snapshot.
    case notWritten(reason: String)

    public var description: String {
        switch self {
        case .io(let path, let reason): "snapshot I/O failed for \(path): \(reason)"
        case .notFound(let name, let available):
            "no snapshot named '\(name)'" + (available.isEmpty ? "" : " (available: \(available.joined(separator: ", ")))")
        case .damaged(let path, let reason): "damaged snapshot \(path): \(reason)"
        case .foreign(let path, let reason): "\(path) is not a dartscope snapshot: \(reason)"
        case .incompatible(let reason): "snapshot does not fit this run: \(reason)"
        case .notWritten(let reason): "no snapshot written: \(reason)"
        }
    }
}

/// The JSON half of a snapshot: the ``SearchState`` and what a reader needs
/// to trust the tensor files beside it.
///
/// Version 2 nests the state under `state`, with the config as the parameter
/// table's keys. Version 1 (before the engine redesign) listed the same
/// fields at the top level and the config under Swift property names; it is
/// refused with a message naming both versions (see ``LoadedSnapshot``).
struct SnapshotManifest: Codable {
    static let formatName = "dartscope-snapshot"
    static let currentVersion = 2
    /// A manifest's size bound: its history is bounded (4 000 step events and
    /// 2 000 others, a few MB), so anything near this is not one of ours.
    static let maximumBytes = 64 << 20

    struct FileRecord: Codable, Equatable {
        var bytes: Int
        var crc32: UInt32
    }

    var format = formatName
    var version = currentVersion
    var name: String
    var created: String
    /// The genotype at the snapshot, for people and tools reading the folder.
    var genotype: String
    var state: SearchState
    var files: [String: FileRecord]
}

/// File names inside a snapshot folder.
enum SnapshotFile {
    /// Weights, BN buffers and α under the PyTorch names: loads with
    /// `safetensors.torch.load_file` into the reference network.
    static let model = "model.safetensors"
    /// Momentum buffers and Adam moments.
    static let optimizer = "optimizer.safetensors"
    static let manifest = "manifest.json"
}

extension SearchEngine {
    /// Writes a snapshot folder `directory/name` atomically: everything goes
    /// into a temporary folder first, is flushed to disk, and is renamed into
    /// place, so a crash never leaves a half-written snapshot under the name
    /// (an existing snapshot of that name is replaced only after the new one
    /// is complete).
    @discardableResult
    public func writeSnapshot(name: String, in directory: String) throws -> String {
        guard !name.isEmpty, !name.contains("/"), !name.hasPrefix(".") else {
            throw SnapshotError.io(path: name, reason: "snapshot names must be non-empty, without '/' and not start with '.'")
        }
        if let reason = divergence {
            throw SnapshotError.notWritten(reason: "the run diverged (\(reason)); roll back to an earlier snapshot to go on")
        }
        if let name = firstNonFiniteTensor() {
            throw SnapshotError.notWritten(reason: "\(name) holds a non-finite value")
        }
        let manager = FileManager.default
        do {
            try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw SnapshotError.io(path: directory, reason: error.localizedDescription)
        }
        let final = directory + "/" + name
        let temporary = directory + "/.\(name).partial-\(getpid())"
        try? manager.removeItem(atPath: temporary)
        do {
            try manager.createDirectory(atPath: temporary, withIntermediateDirectories: false)
        } catch {
            throw SnapshotError.io(path: temporary, reason: error.localizedDescription)
        }

        let model = SafeTensors.encode(modelEntries(), metadata: ["format": "pt", "producer": "dartscope"])
        let optimizer = SafeTensors.encode(optimizerEntries())
        try DurableFiles.write(model, to: temporary + "/" + SnapshotFile.model)
        try DurableFiles.write(optimizer, to: temporary + "/" + SnapshotFile.optimizer)
        let manifest = SnapshotManifest(
            name: name, created: ISO8601DateFormatter().string(from: Date()), genotype: supernet.genotype().description, state: state,
            files: [SnapshotFile.model: .init(bytes: model.count, crc32: DurableFiles.crc32(model)),
                    SnapshotFile.optimizer: .init(bytes: optimizer.count, crc32: DurableFiles.crc32(optimizer))])
        let encoder = TelemetryCoding.lineEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let manifestData: Data
        do { manifestData = try encoder.encode(manifest) } catch {
            throw SnapshotError.io(path: temporary, reason: "cannot encode manifest: \(error)")
        }
        try DurableFiles.write(manifestData, to: temporary + "/" + SnapshotFile.manifest)
        DurableFiles.syncDirectory(temporary)

        let replaced = directory + "/.\(name).replaced-\(getpid())"
        let hadPrevious = manager.fileExists(atPath: final)
        if hadPrevious { guard rename(final, replaced) == 0 else { throw SnapshotError.io(path: final, reason: String(cString: strerror(errno))) } }
        guard rename(temporary, final) == 0 else { throw SnapshotError.io(path: final, reason: String(cString: strerror(errno))) }
        DurableFiles.syncDirectory(directory)
        if hadPrevious { try? manager.removeItem(atPath: replaced) }
        return final
    }

    func modelEntries() -> [SafeTensors.Entry] {
        let store = supernet.parameters
        var entries: [SafeTensors.Entry] = []
        for entry in store.entries {
            switch entry {
            case .weight(let name):
                let tensor = store.weights[name]!
                entries.append(.init(name: name, shape: tensor.shape, data: .float32(tensor.scalars)))
            case .batchNorm(let prefix):
                let statistics = store.batchNorms[prefix]!
                entries.append(.init(name: prefix + ".running_mean", shape: [statistics.channels], data: .float32(statistics.runningMean.scalars)))
                entries.append(.init(name: prefix + ".running_var", shape: [statistics.channels], data: .float32(statistics.runningVariance.scalars)))
                entries.append(.init(name: prefix + ".num_batches_tracked", shape: [], data: .int64([Int64(statistics.batchesTracked)])))
            }
        }
        for name in store.alphaNames {
            entries.append(.init(name: name, shape: store.alphas[name]!.shape, data: .float32(store.alphas[name]!.scalars)))
        }
        return entries
    }

    func optimizerEntries() -> [SafeTensors.Entry] {
        var entries: [SafeTensors.Entry] = []
        for name in supernet.parameters.weightNames {
            if let buffer = weightOptimizer.buffers[name] {
                entries.append(.init(name: "momentum." + name, shape: [buffer.count], data: .float32(buffer)))
            }
        }
        for name in supernet.parameters.alphaNames {
            if let m = archOptimizer.firstMoments[name], let v = archOptimizer.secondMoments[name] {
                entries.append(.init(name: "adam.m." + name, shape: [m.count], data: .float32(m)))
                entries.append(.init(name: "adam.v." + name, shape: [v.count], data: .float32(v)))
            }
        }
        return entries
    }
}

extension DurableFiles {
    /// Removes the temporary folders (`.NAME.partial-PID`) of snapshot writes
    /// whose process is gone — killed mid-write — and returns their names. A
    /// live process's folder stays: it may be writing it now.
    public static func removeAbandonedPartials(in directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { name in
            guard name.hasPrefix("."), let marker = name.range(of: ".partial-", options: .backwards),
                  let pid = Int32(name[marker.upperBound...]), pid > 0 else { return false }
            guard kill(pid, 0) != 0 && errno == ESRCH else { return false }
            return (try? FileManager.default.removeItem(atPath: directory + "/" + name)) != nil
        }
    }
}
