import Foundation

/// A snapshot read from disk and verified (format, version, checksums).
public struct LoadedSnapshot {
    public let path: String
    let manifest: SnapshotManifest
    let model: [String: SafeTensors.Entry]
    let optimizer: [String: SafeTensors.Entry]

    public var state: SearchState { manifest.state }
    public var config: SearchConfig { manifest.state.config }
    public var step: Int { manifest.state.step }
    public var epoch: Int { manifest.state.epoch }
    public var genotype: String { manifest.genotype }
    public var journal: [JournalEntry] { manifest.state.journal }
    public var history: [TelemetryEvent] { manifest.state.history }

    /// Reads the snapshot folder at `path` (or the folder holding the given
    /// manifest or safetensors file).
    public init(path given: String) throws {
        let (folder, manifestData, object) = try Self.readManifest(at: given)
        path = folder
        let manifestPath = path + "/" + SnapshotFile.manifest
        if object["format"] as? String == ProbeSnapshotManifest.formatName {
            throw SnapshotError.foreign(path: manifestPath, reason: "it is a probe's snapshot of a PyTorch search: `dartscope genotype`, `export` and (when the probe declared its network) `hessian` read it; resume needs a snapshot of dartscope's own engine")
        }
        guard object["format"] as? String == SnapshotManifest.formatName else {
            throw SnapshotError.foreign(path: manifestPath, reason: "its format field is \(object["format"].map { "\($0)" } ?? "missing"), expected \(SnapshotManifest.formatName)")
        }
        guard let version = object["version"] as? Int, version == SnapshotManifest.currentVersion else {
            let found = object["version"].map { "\($0)" } ?? "?"
            let why = found == "1" ? " (written before the engine redesign; resume it with the dartscope that wrote it)" : ""
            throw SnapshotError.incompatible("\(manifestPath) has snapshot format version \(found)\(why); this dartscope reads version \(SnapshotManifest.currentVersion)")
        }
        do {
            manifest = try TelemetryCoding.decoder().decode(SnapshotManifest.self, from: manifestData)
        } catch {
            throw SnapshotError.damaged(path: manifestPath, reason: "manifest fields do not decode: \(error)")
        }

        model = try Self.verified(SnapshotFile.model, in: path, records: manifest.files)
        optimizer = try Self.verified(SnapshotFile.optimizer, in: path, records: manifest.files)
    }

    /// The snapshot folder of `given` (a folder, or a file inside one), its
    /// manifest's bytes and their JSON object — the manifest's size bounded
    /// before it is read, whichever writer it claims.
    static func readManifest(at given: String) throws -> (folder: String, data: Data, object: [String: Any]) {
        var path = given
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SnapshotError.notFound(given, available: [])
        }
        if !isDirectory.boolValue { path = (path as NSString).deletingLastPathComponent }
        let manifestPath = path + "/" + SnapshotFile.manifest
        // Bounded before it is read: the state's history is bounded, so a giant is no manifest of ours.
        if let size = (try? FileManager.default.attributesOfItem(atPath: manifestPath))?[.size] as? Int, size > SnapshotManifest.maximumBytes {
            throw SnapshotError.damaged(path: manifestPath, reason: "\(size) bytes, more than a manifest's \(SnapshotManifest.maximumBytes)")
        }
        guard let data = FileManager.default.contents(atPath: manifestPath) else {
            throw SnapshotError.foreign(path: path, reason: "no \(SnapshotFile.manifest)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw SnapshotError.damaged(path: manifestPath, reason: "the manifest is not valid JSON (truncated?)")
        }
        return (path, data, object)
    }

    /// A tensor file of the snapshot, after checking its size and crc32
    /// against the manifest's record of it.
    static func verified(_ file: String, in path: String, records: [String: SnapshotManifest.FileRecord]) throws -> [String: SafeTensors.Entry] {
        let filePath = path + "/" + file
        guard let record = records[file] else {
            throw SnapshotError.damaged(path: path, reason: "the manifest lists no checksum for \(file)")
        }
        // The size first, from the file system: a replaced or sparse giant is
        // refused without being read.
        guard let size = (try? FileManager.default.attributesOfItem(atPath: filePath))?[.size] as? Int else {
            throw SnapshotError.damaged(path: path, reason: "\(file) is missing")
        }
        guard size == record.bytes else {
            throw SnapshotError.damaged(path: filePath, reason: "\(size) bytes, the manifest says \(record.bytes) (truncated or replaced)")
        }
        guard let data = FileManager.default.contents(atPath: filePath), data.count == size else {
            throw SnapshotError.damaged(path: filePath, reason: "cannot read its \(size) bytes")
        }
        let crc = DurableFiles.crc32(data)
        guard crc == record.crc32 else {
            throw SnapshotError.damaged(path: filePath, reason: String(format: "crc32 %08x, the manifest says %08x (corrupted)", crc, record.crc32))
        }
        let entries: [String: SafeTensors.Entry]
        do { entries = try SafeTensors.decode(data).entries } catch {
            throw SnapshotError.damaged(path: filePath, reason: "\(error)")
        }
        // The divergence guard never lets a non-finite value into a snapshot,
        // so one here is damage, not a state to resume or export.
        if let poisoned = entries.values.filter({ !$0.data.isFinite }).map(\.name).min() {
            throw SnapshotError.damaged(path: filePath, reason: "\(poisoned) holds a non-finite value (NaN or ±∞)")
        }
        return entries
    }

    /// softmax(α) of the snapshot's α matrices: `alphas_normal`, then
    /// `alphas_reduce` when the space has one; with per-layer α every cell's
    /// (`cells.<i>.alphas`), each of which must be there.
    public func mixingWeights() throws -> [[[Double]]] {
        switch config.alphaLayout {
        case .shared:
            return try Self.mixingWeights(["alphas_normal", "alphas_reduce"], in: model, path: path)
        case .perLayer:
            let names = (0..<config.layers).map(AlphaLayout.perLayerName(cell:))
            if let missing = names.first(where: { model[$0] == nil }) {
                throw SnapshotError.damaged(path: path + "/" + SnapshotFile.model,
                                            reason: "no \(missing) (its config has per-layer α over \(config.layers) cells)")
            }
            return try Self.mixingWeights(names, in: model, path: path)
        }
    }

    /// softmax(α) of the named matrices (the first, the normal cell's, must
    /// exist; later ones are skipped when absent).
    static func mixingWeights(_ names: [String], in model: [String: SafeTensors.Entry], path: String) throws -> [[[Double]]] {
        guard let first = names.first, model[first] != nil else {
            throw SnapshotError.damaged(path: path + "/" + SnapshotFile.model, reason: "no \(names.first ?? "α") (every space has a normal cell)")
        }
        return try names.compactMap { name -> [[Double]]? in
            guard let entry = model[name] else { return nil }
            guard case .float32(let values) = entry.data, entry.shape.count == 2 else {
                throw SnapshotError.damaged(path: path, reason: "\(name) is not a float matrix")
            }
            return softmaxRows(Tensor(shape: entry.shape, scalars: values))
        }
    }

    /// The F32 tensor `name` of a tensor file, which must hold exactly
    /// `count` values. `role`: the network's own name for it, when the file
    /// calls it something else (a probe's model), named in the errors.
    static func floats(_ name: String, count: Int, from entries: [String: SafeTensors.Entry], file: String, role: String? = nil) throws -> [Float] {
        let needed = role.map { ", which dartscope's network needs as \($0)" } ?? ""
        guard let entry = entries[name] else { throw SnapshotError.incompatible("\(file) lacks \(name)\(needed)") }
        guard case .float32(let values) = entry.data, values.count == count else {
            throw SnapshotError.incompatible("\(name) in \(file) has shape \(entry.shape), this network needs \(count) floats\(needed)")
        }
        return values
    }

    /// The names of the snapshots in a run's snapshot folder, oldest first.
    public static func names(in directory: String) -> [String] {
        let manager = FileManager.default
        let names = ((try? manager.contentsOfDirectory(atPath: directory)) ?? []).filter { !$0.hasPrefix(".") }
        let dated = names.map { name -> (String, Date) in
            let attributes = try? manager.attributesOfItem(atPath: directory + "/" + name + "/" + SnapshotFile.manifest)
            return (name, attributes?[.modificationDate] as? Date ?? .distantPast)
        }
        return dated.sorted { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }.map(\.0)
    }
}

extension SearchEngine {
    /// Replaces the whole run state (weights, buffers, α, optimiser state,
    /// generators, data position, counters, journal, history, live
    /// parameters) with the snapshot's. The network structure must match.
    public func restore(_ snapshot: LoadedSnapshot, keepingJournal: Bool = false) throws {
        let store = supernet.parameters
        // Validate everything before changing anything.
        var weights = store.weights
        for name in store.weightNames {
            weights[name]!.scalars = try LoadedSnapshot.floats(name, count: weights[name]!.count, from: snapshot.model, file: SnapshotFile.model)
        }
        var alphas = store.alphas
        for name in store.alphaNames {
            alphas[name]!.scalars = try LoadedSnapshot.floats(name, count: alphas[name]!.count, from: snapshot.model, file: SnapshotFile.model)
        }
        var batchNorms: [(BatchNormStatistics<Float>, [Float], [Float], Int)] = []
        for (prefix, statistics) in store.batchNorms {
            let mean = try LoadedSnapshot.floats(prefix + ".running_mean", count: statistics.channels, from: snapshot.model, file: SnapshotFile.model)
            let variance = try LoadedSnapshot.floats(prefix + ".running_var", count: statistics.channels, from: snapshot.model, file: SnapshotFile.model)
            guard case .int64(let tracked)? = snapshot.model[prefix + ".num_batches_tracked"]?.data, tracked.count == 1 else {
                throw SnapshotError.incompatible("\(SnapshotFile.model) lacks \(prefix).num_batches_tracked")
            }
            guard tracked[0] >= 0, tracked[0] <= Int64(Int32.max) else {
                throw SnapshotError.damaged(path: snapshot.path + "/" + SnapshotFile.model, reason: "\(prefix).num_batches_tracked is \(tracked[0])")
            }
            batchNorms.append((statistics, mean, variance, Int(tracked[0])))
        }
        var momentum = MomentumSGD()
        for name in store.weightNames where snapshot.optimizer["momentum." + name] != nil {
            momentum.buffers[name] = try LoadedSnapshot.floats("momentum." + name, count: weights[name]!.count, from: snapshot.optimizer, file: SnapshotFile.optimizer)
        }
        var adam = Adam()
        adam.stepCount = snapshot.state.adamSteps
        for name in store.alphaNames where snapshot.optimizer["adam.m." + name] != nil {
            adam.firstMoments[name] = try LoadedSnapshot.floats("adam.m." + name, count: alphas[name]!.count, from: snapshot.optimizer, file: SnapshotFile.optimizer)
            adam.secondMoments[name] = try LoadedSnapshot.floats("adam.v." + name, count: alphas[name]!.count, from: snapshot.optimizer, file: SnapshotFile.optimizer)
        }
        let saved = snapshot.state
        guard saved.trainSampler.indices == state.trainSampler.indices, saved.validSampler.indices == state.validSampler.indices else {
            throw SnapshotError.incompatible("the snapshot's train/validation split (\(saved.trainSampler.indices.count)/\(saved.validSampler.indices.count) images) differs from this run's (\(state.trainSampler.indices.count)/\(state.validSampler.indices.count))")
        }
        if let problem = saved.inconsistency(stepsPerEpoch: stepsPerEpoch, validationIndices: validationIndices) {
            throw SnapshotError.damaged(path: snapshot.path + "/" + SnapshotFile.manifest, reason: problem)
        }

        store.weights = weights
        store.alphas = alphas
        for (statistics, mean, variance, tracked) in batchNorms {
            statistics.runningMean.scalars = mean
            statistics.runningVariance.scalars = variance
            statistics.batchesTracked = tracked
        }
        weightOptimizer = momentum
        archOptimizer = adam
        // The state comes back whole, except what belongs to this run rather
        // than to the point it returns to: its structural parameters (its
        // name, after a fork) and, on a rollback, the journal so far.
        var restored = saved
        restored.config = config
        for spec in SearchParameters.all where spec.isLive {
            spec.write(&restored.config, spec.read(saved.config))
        }
        if keepingJournal { restored.journal = state.journal }
        state = restored
    }
}
